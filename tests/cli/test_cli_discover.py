"""``scmreader discover`` end to end against FakeScmHost's GitHub emulation."""

from __future__ import annotations

import json

import yaml

from scmreader.cli import main
from scmreader.testing import FakeScmHost
from scmreader.testing.routes.github import integration_config


def test_discover_json_out_and_state(fake_scm_host: FakeScmHost, tmp_path, capsys):
    fake_scm_host.enable("github")
    for name in ("api", "web"):
        fake_scm_host.add_repo(f"acme/{name}", {"catalog-info.yaml": f"name: {name}\n"})
    fake_scm_host.add_repo("acme/bare", {"README.md": "x\n"})
    config = tmp_path / "app-config.yaml"
    config.write_text(
        yaml.safe_dump({"integrations": {"github": [integration_config(fake_scm_host)]}})
    )
    url = f"{fake_scm_host.base_url}/acme/*/blob/-/catalog-info.yaml"
    state, out = tmp_path / "state.json", tmp_path / "out"
    argv = ["discover", url, "--config", str(config), "--state", str(state), "--json"]
    assert main([*argv, "--out", str(out)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted((r["repository"], r["status"]) for r in records) == [
        ("acme/api", "added"),
        ("acme/web", "added"),
    ]
    assert (out / "acme/api/catalog-info.yaml").read_text() == "name: api\n"
    assert json.loads(state.read_text())["repositories"]["acme/web"]["etag"]
    assert main(argv) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["status"] for r in again} == {"unchanged"}


def test_discover_listing_failure_exit_code(fake_scm_host: FakeScmHost, tmp_path, capsys):
    fake_scm_host.enable("github")
    config = tmp_path / "app-config.yaml"
    config.write_text(
        yaml.safe_dump({"integrations": {"github": [integration_config(fake_scm_host)]}})
    )
    url = f"{fake_scm_host.base_url}/nobody/*/blob/-/catalog-info.yaml"
    assert main(["discover", url, "--config", str(config)]) == 6  # NotFoundError's code
    assert "nobody" in capsys.readouterr().err


def test_discover_out_paths_per_host_form():
    from scmreader.cli._discover import _repo_path
    from scmreader.readers._discover import DiscoveryResult

    cases = [
        ("https://gitlab.example.com/g/p/-/blob/main/docs/a%20b.yaml", "main", "docs/a b.yaml"),
        (
            "https://dev.azure.com/o/p/_git/r?path=%2Fdir%2Fc.yaml&version=GBmain",
            "main",
            "dir/c.yaml",
        ),
        (
            "https://h.example/ng/account/a/module/code/repos/r/files/dev/~/x/c.yaml",
            "dev",
            "x/c.yaml",
        ),
        ("https://bb.example/projects/P/repos/r/browse/c.yaml", "", "c.yaml"),
    ]
    for url, branch, expected in cases:
        assert _repo_path(DiscoveryResult("o/r", branch, url)) == expected
