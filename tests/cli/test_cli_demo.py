"""``scmreader demo``: the README's offline main job."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cli_helpers import Cli, run_subprocess

from scmreader.demo import FILES, REPO


def test_demo_text(cli: Cli) -> None:
    result = cli("demo")
    assert result.code == 0, result.stderr
    text = result.out
    for title in (
        "== read_url\n",
        "== read_url again with the etag\n",
        "== read_tree\n",
        "== read_tree again with the etag\n",
        "== search **/catalog-info.yaml\n",
        "== search docs/*.md\n",
        "== resolve a relative link\n",
    ):
        assert title in text
    assert f"/{REPO}/blob/main/catalog-info.yaml" in text
    assert "not modified: same version, content not read" in text
    assert "not modified: no archive downloaded" in text
    for name in ("api/catalog-info.yaml", "index.md", "setup.md"):
        assert f"     {name} ({len(FILES['docs/' + name])} bytes)" in text
    # the raw host sends no ETag (none is documented): the version comes from the contents API
    assert "   requests: 2\n     GET /raw/" in text
    assert text.rstrip().splitlines()[-1].startswith("done: 7 steps, ")
    assert result.stderr == ""


def test_demo_json(cli: Cli) -> None:
    data = cli("demo", "--json").json()
    steps = {s["step"]: s for s in data["steps"]}
    assert steps["read_url"]["size"] == len(FILES["catalog-info.yaml"])
    assert steps["read_url again with the etag"]["not_modified"] is True
    assert steps["read_url again with the etag"]["requests"] == [
        f"GET /raw/{REPO}/main/catalog-info.yaml",
        f"GET /api/v3/repos/{REPO}/contents/catalog-info.yaml",
    ]
    assert steps["read_tree"]["files"] == ["api/catalog-info.yaml", "index.md", "setup.md"]
    assert steps["read_tree"]["etag"] == steps["search **/catalog-info.yaml"]["etag"]
    assert steps["read_tree again with the etag"]["not_modified"] is True
    assert len(steps["read_tree again with the etag"]["requests"]) == 1
    assert [u.rsplit("/main/", 1)[1] for u in steps["search **/catalog-info.yaml"]["files"]] == [
        "catalog-info.yaml",
        "docs/api/catalog-info.yaml",
    ]
    assert steps["resolve a relative link"]["resolved"].endswith("/tree/main/docs/index.md")
    assert data["requests"] == sum(len(s["requests"]) for s in data["steps"])


def test_demo_in_a_fresh_process_without_git_config(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "scmreader"
    env = {"HOME": str(tmp_path), "GIT_CONFIG_NOSYSTEM": "1"}
    if script.exists():
        import subprocess

        clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        done = subprocess.run(
            [str(script), "demo"],
            cwd=tmp_path,
            env={**clean, **env},
            capture_output=True,
            timeout=120,
            check=False,
        )
    else:  # pragma: no cover - not installed as a console script
        done = run_subprocess("demo", cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert b"done: 7 steps" in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working directory
