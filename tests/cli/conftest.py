"""Fixtures of the CLI tests: run ``main()`` in-process with output captured."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from scmreader.cli import main

# The project runs pytest with --import-mode=importlib, which leaves sys.path alone: make
# the helpers module next to this file importable by name for the test modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_helpers import Cli, GithubSite, Result

if TYPE_CHECKING:
    from scmreader.testing import FakeScmHost


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """``cli("read", url, cwd=...)`` runs ``main()`` with stdout/stderr captured.

    The working directory defaults to an empty temporary folder, so no app-config.yaml of
    the developer's is picked up; ``$SCMREADER_TOKEN`` is unset.
    """
    monkeypatch.delenv("SCMREADER_TOKEN", raising=False)
    home = tmp_path / "cwd"
    home.mkdir()

    def run(*args: str, cwd: Path | None = None) -> Result:
        out, err = io.BytesIO(), io.BytesIO()
        stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
        stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
        with monkeypatch.context() as m:
            m.chdir(cwd or home)
            m.setattr(sys, "stdout", stdout)
            m.setattr(sys, "stderr", stderr)
            code = main(list(args))
            stdout.flush()
            stderr.flush()
        return Result(code, out.getvalue(), err.getvalue().decode("utf-8"))

    return run


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., str]:
    """``write_config({...}, name="app-config.yaml")`` writes YAML and returns its path."""

    def write(data: dict[str, Any], name: str = "app-config.yaml") -> str:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def github_site(fake_scm_host: FakeScmHost, write_config: Callable[..., str]) -> GithubSite:
    """GitHub emulation with ``octo/service`` (see SERVICE_FILES) and its config file."""
    from scmreader.testing.routes.github import integration_config

    fake_scm_host.enable("github")
    from cli_helpers import SERVICE_FILES

    fake_scm_host.add_repo("octo/service", SERVICE_FILES)
    path = write_config({"integrations": {"github": [integration_config(fake_scm_host)]}})
    return GithubSite(fake_scm_host, path)
