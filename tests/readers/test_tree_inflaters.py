"""The tree engine gives the same results with zlib and with python-isal (the fast path)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from scmreader.errors import UnsafeArchiveError
from scmreader.readers.tree import TreeResponseFactory
from scmreader.readers.tree._chunks import _inflater

ARCHIVES = Path(__file__).resolve().parents[2] / "fixtures" / "archives"


@pytest.fixture(params=["zlib", "isal"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name = str(request.param)
    if name == "isal":  # the fast extra is part of the test extra: no skipping here
        monkeypatch.delenv("SCMREADER_INFLATE", raising=False)
    else:
        monkeypatch.setenv("SCMREADER_INFLATE", "zlib")
    return name


def test_the_chosen_inflater_is_used(inflater: str) -> None:
    decompressobj, _ = _inflater()
    assert (decompressobj.__module__ or "").startswith("isal" if inflater == "isal" else "zlib")


def test_normal_archive_reads_the_same(inflater: str) -> None:
    data = (ARCHIVES / "normal.tar.gz").read_bytes()
    tree = TreeResponseFactory().from_tar_archive(io.BytesIO(data), etag="e")
    files = {f.path: f.content() for f in tree.files()}
    assert files
    reference = TreeResponseFactory().from_zip_archive(
        io.BytesIO((ARCHIVES / "normal.zip").read_bytes()), etag="e", strip_first_directory=True
    )
    assert files == {f.path: f.content() for f in reference.files()}


@pytest.mark.parametrize("name", ["truncated.tar.gz", "corrupt.tar.gz"])
def test_broken_gzip_is_rejected(inflater: str, name: str, tmp_path: Path) -> None:
    data = (ARCHIVES / name).read_bytes()
    with pytest.raises(UnsafeArchiveError):
        TreeResponseFactory().from_tar_archive(io.BytesIO(data), etag="e").dir(tmp_path / "t")
    assert not (tmp_path / "t").exists()
