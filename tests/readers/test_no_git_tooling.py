"""Readers use hosts' HTTP APIs only: no module under scmreader/readers/ may run git.

Two checks: a source scan (imports of git tooling or process spawning, calls that run a
shell), and importing every reader module in a fresh interpreter to see that no git
library got loaded along the way.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import scmreader.readers

READERS = Path(scmreader.readers.__file__).resolve().parent
#: Top-level modules that are git tooling or spawn processes.
FORBIDDEN_MODULES = frozenset({"git", "dulwich", "pygit2", "subprocess", "sh", "pexpect"})
#: ``os`` functions that run other programs.
FORBIDDEN_OS_CALLS = frozenset(
    {"system", "popen", "spawnl", "spawnlp", "spawnv", "spawnvp", "posix_spawn", "posix_spawnp"}
    | {f"exec{suffix}" for suffix in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")}
)
GIT_LIBRARIES = ("git", "dulwich", "pygit2")


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Every forbidden import or call in ``source``, as ``file:line: what``."""
    found: list[str] = []
    tree = ast.parse(source, filename)
    for node in ast.walk(tree):
        names: list[str] = []
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.module is None and node.level == 0:
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Call):
            names = _called_modules(node)
            if _os_call(node):
                found.append(f"{filename}:{line}: calls os.{_os_call(node)}")
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{filename}:{line}: imports {name}")
    return found


def _os_call(node: ast.Call) -> str | None:
    func = node.func
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id == "os"
        and func.attr in FORBIDDEN_OS_CALLS
    ):
        return func.attr
    return None


def _called_modules(node: ast.Call) -> list[str]:
    """Module names given as literals to ``__import__``/``import_module``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in ("__import__", "import_module") or not node.args:
        return []
    first = node.args[0]
    return [first.value] if isinstance(first, ast.Constant) and isinstance(first.value, str) else []


def reader_sources() -> list[Path]:
    return sorted(READERS.rglob("*.py"))


def test_the_scan_sees_the_reader_modules() -> None:
    names = {p.relative_to(READERS).as_posix() for p in reader_sources()}
    assert {"__init__.py", "base.py", "gerrit.py"} <= names


@pytest.mark.parametrize(
    "snippet",
    [
        "import git",
        "import git.cmd as cmd",
        "from git import Repo",
        "from dulwich.repo import Repo",
        "import pygit2",
        "import subprocess",
        "from subprocess import run",
        "def f():\n    import subprocess\n    subprocess.run(['git', 'clone', url])",
        "import os\nos.system('git clone x')",
        "import os\nos.popen('git archive HEAD')",
        "import os\nos.execvp('git', ['git'])",
        "import importlib\nimportlib.import_module('git')",
        "__import__('dulwich')",
    ],
)
def test_the_scan_catches_git_tooling(snippet: str) -> None:
    assert violations(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        "import os\nos.path.join('a', 'b')",
        "from scmreader.urls import parse_git_url",
        "import gitlab_helpers",
        "from . import git",  # a relative sibling module, not the git library
        "x = 'import git'",
    ],
)
def test_the_scan_allows_the_harmless(snippet: str) -> None:
    assert violations(snippet) == [], snippet


@pytest.mark.parametrize("path", reader_sources(), ids=lambda p: p.relative_to(READERS).as_posix())
def test_reader_module_does_not_use_git_tooling(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), str(path)) == []


def import_readers(extra: str = "") -> dict[str, list[str]]:
    """Import every reader module in a fresh interpreter (after ``extra`` code); report
    the module names and the git libraries found in ``sys.modules`` afterwards."""
    script = textwrap.dedent(
        f"""
        import importlib, json, pkgutil, sys
        {extra}
        import scmreader.readers as readers
        names = [m.name for m in pkgutil.walk_packages(readers.__path__, "scmreader.readers.")]
        for name in names:
            importlib.import_module(name)
        readers.reader_factories()
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {GIT_LIBRARIES!r})
        print(json.dumps({{"modules": names, "loaded": loaded}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_importing_every_reader_loads_no_git_library() -> None:
    report = import_readers()
    assert "scmreader.readers.gerrit" in report["modules"]
    assert report["loaded"] == []


def test_the_import_probe_notices_a_loaded_git_library() -> None:
    pytest.importorskip("git")
    assert "git" in import_readers("import git")["loaded"]
