"""Helpers shared by the CLI tests (imported by module name: tests have no packages)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scmreader.testing import FakeScmHost

REPO_ROOT = Path(__file__).resolve().parents[2]
VALIDATE_FIXTURES = REPO_ROOT / "fixtures" / "configs" / "validate"


@dataclass
class Result:
    """Exit code and captured output of one run."""

    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.stdout)

    def error_json(self) -> Any:
        return json.loads(self.stderr)


Cli = Callable[..., Result]


def run_subprocess(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """``python -m scmreader ARGS`` in a fresh interpreter."""
    full_env = {k: v for k, v in os.environ.items() if k != "SCMREADER_TOKEN"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "scmreader", *args],
        cwd=cwd or REPO_ROOT,
        env=full_env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class GithubSite:
    """A FakeScmHost playing GitHub with one repository, and a config file pointing at it."""

    host: FakeScmHost
    config: str
    repo: str = "octo/service"

    @property
    def base(self) -> str:
        return f"{self.host.base_url}/{self.repo}"

    def blob(self, path: str, ref: str = "main") -> str:
        return f"{self.base}/blob/{ref}/{path}"

    def tree(self, path: str = "", ref: str = "main") -> str:
        return f"{self.base}/tree/{ref}/{path}".rstrip("/")


SERVICE_FILES = {
    "catalog-info.yaml": "kind: Component\nmetadata:\n  name: service\n",
    "mkdocs.yml": "site_name: service\n",
    "docs/index.md": "# Service\n",
    "docs/guide/setup.md": "# Setup\n",
    "docs/api/catalog-info.yaml": "kind: API\n",
    "src/main.py": "print('hi')\n",
}
