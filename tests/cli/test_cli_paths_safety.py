"""`scmreader search --out` never writes outside its folder, even through a planted symlink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scmreader.cli._search import _write_below
from scmreader.errors import InputError, TargetWriteError


def test_symlinked_folder_inside_out_cannot_redirect_writes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    os.symlink(outside, out / "docs")
    with pytest.raises(InputError, match="would leave"):
        _write_below(out, "docs/new/deep/file.md", b"x")
    assert list(outside.iterdir()) == []


def test_normal_nested_write(tmp_path: Path) -> None:
    path = _write_below(tmp_path / "out", "a/b/c.md", b"hello")
    assert path.read_bytes() == b"hello"


def test_unwritable_target_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TargetWriteError, match="free space and permissions"):
        _write_below(blocker, "a.md", b"x")
