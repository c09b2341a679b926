"""Every ```python block of README.md runs as written.

The blocks run in a folder whose ``app-config.yaml`` points the github.com integration at
a FakeScmHost (its ``apiBaseUrl``), with the repositories the examples name; there is no
``app-config.local.yaml``. Name resolution is limited to loopback, so an example that
would reach the internet fails instead.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scmreader.testing import FakeScmHost
from scmreader.testing.routes.github import integration_config

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)
CATALOG = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: example\n"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture
def readme_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeScmHost, Path]]:
    resolve = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK:
            raise OSError(f"README example tried to reach {host!r}")
        return resolve(host, *args, **kwargs)

    with FakeScmHost(providers=["github"]) as host:
        host.add_repo(
            "backstage/backstage", {"catalog-info.yaml": CATALOG}, default_branch="master"
        )
        host.add_repo(
            "o/r",
            {
                "catalog-info.yaml": CATALOG,
                "docs/index.md": "# Docs\n",
                "docs/guide/setup.md": "# Setup\n",
                "services/api/catalog-info.yaml": CATALOG,
            },
        )
        entry = {**integration_config(host), "host": "github.com"}
        config = {"integrations": {"github": [entry]}}
        work = tmp_path / "work"
        work.mkdir()
        (work / "app-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        monkeypatch.chdir(work)
        monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
        yield host, work


def test_the_readme_has_python_examples() -> None:
    assert BLOCKS, "README.md has no ```python block"
    assert any("load_config(" in block for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs_as_written(
    block: str, readme_world: tuple[FakeScmHost, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    host, work = readme_world
    assert not (work / "app-config.local.yaml").exists()
    exec(compile(block, str(README), "exec"), {"__name__": "readme_example"})
    assert not host.errors
    capsys.readouterr()


def test_the_library_example_reads_through_the_configured_host(
    readme_world: tuple[FakeScmHost, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    host, _ = readme_world
    block = next(b for b in BLOCKS if "load_config(" in b and "read_tree(" in b)
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "kind: Component" in out
    assert "unchanged" in out  # the conditional re-read raised NotModifiedError
    assert sorted(p.name for p in Path(namespace["folder"]).rglob("*.md")) == [
        "index.md",
        "setup.md",
    ]
    assert sorted(f.url for f in namespace["found"].files) == [
        "https://github.com/o/r/blob/main/catalog-info.yaml",
        "https://github.com/o/r/blob/main/services/api/catalog-info.yaml",
    ]
    assert host.requests
