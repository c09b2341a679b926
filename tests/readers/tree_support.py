"""Helpers for the test_tree_* modules: fixture builders, fake streams and a sandbox.

No tests live here; the module is imported by its siblings.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO, cast

from scmreader.readers.tree import ArchiveLimits, TreeResponseFactory

ROOT = Path(__file__).resolve().parents[2]
ARCHIVES = ROOT / "fixtures" / "archives"


def _load_builders() -> ModuleType:
    name = "scmreader_fixture_make_archives"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ARCHIVES / "make_archives.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: fixtures/archives/make_archives.py, for its builders (tar_bytes, gz, zip_bytes, ...).
mk: Any = _load_builders()


class FakeStream:
    """A body stream over ``data``: short reads of at most ``chunk`` bytes, records
    ``close()``, and raises ``error`` once ``fail_after`` bytes were read."""

    def __init__(
        self,
        data: bytes,
        *,
        chunk: int = 64 * 1024,
        fail_after: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        self._data = data
        self._pos = 0
        self._chunk = chunk
        self._fail_after = fail_after
        self._error = error
        self.closed = False
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed stream")
        if self._fail_after is not None and self._pos >= self._fail_after:
            assert self._error is not None
            raise self._error
        if n < 0:
            n = len(self._data)
        n = min(n, self._chunk)
        if self._fail_after is not None:
            n = min(n, max(self._fail_after - self._pos, 1))
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        self.bytes_read += len(out)
        return out

    def close(self) -> None:
        self.closed = True


def stream(data: bytes, **kwargs: Any) -> BinaryIO:
    """A FakeStream typed as what the engine accepts."""
    return cast(BinaryIO, FakeStream(data, **kwargs))


def fixture(name: str) -> bytes:
    """The bytes of ``fixtures/archives/<name>``."""
    return (ARCHIVES / name).read_bytes()


def tree_of(folder: Path) -> dict[str, bytes]:
    """Relative path -> content of every file under ``folder`` (no links expected)."""
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            full = Path(dirpath, name)
            assert not full.is_symlink(), f"symlink on disk: {full}"
            out[full.relative_to(folder).as_posix()] = full.read_bytes()
    return out


def snapshot(root: Path, exclude: Path | None = None) -> dict[str, tuple[Any, ...]]:
    """Path -> (type, size, sha256, mtime_ns, link target) of everything under ``root``."""
    result: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirs, names in os.walk(root):
        if exclude is not None and Path(dirpath) == exclude:
            dirs[:] = []
            continue
        for name in dirs + names:
            full = Path(dirpath, name)
            if exclude is not None and full == exclude:
                continue
            info = full.lstat()
            digest = ""
            link = ""
            if stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(full.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                link = os.readlink(full)
            is_dir = stat.S_ISDIR(info.st_mode)
            result[str(full.relative_to(root))] = (
                stat.S_IFMT(info.st_mode),
                0 if is_dir else info.st_size,
                digest,
                0 if is_dir else info.st_mtime_ns,  # a folder's mtime moves with its entries
                link,
            )
    return result


#: Absolute paths the hostile fixtures aim at; they must never appear.
TARGETS_OUTSIDE = (
    Path("/tmp/scmreader-fixture-abs"),
    Path("/tmp/scmreader-fixture-evil"),
)


@dataclass
class Sandbox:
    """tmp/ with target/ (where trees go), outside/ (a decoy), a sentinel file and work/
    (the engine's work dir)."""

    root: Path
    target: Path
    outside: Path
    work: Path

    @classmethod
    def create(cls, base: Path) -> Sandbox:
        root = base / "sandbox"
        box = cls(root, root / "target", root / "outside", root / "work")
        for folder in (box.target, box.outside, box.work):
            folder.mkdir(parents=True)
        (root / "sentinel.txt").write_text("sentinel\n")
        (box.outside / "decoy.txt").write_text("decoy\n")
        (box.outside / "side.txt").write_text("original side\n")
        return box

    def factory(self, **limits: Any) -> TreeResponseFactory:
        return TreeResponseFactory(work_dir=self.work, limits=ArchiveLimits(**limits))

    def outside_state(self) -> dict[str, tuple[Any, ...]]:
        """Everything in the sandbox except target/ and work/, plus the absolute targets."""
        state = snapshot(self.root, exclude=self.target)
        state = {k: v for k, v in state.items() if not k.startswith("work")}
        for path in TARGETS_OUTSIDE:
            state[str(path)] = (path.exists() or path.is_symlink(),)
        return state

    def work_entries(self) -> list[str]:
        return sorted(os.listdir(self.work))
