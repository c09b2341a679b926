"""Catalogue: archive abuse (issue items 3, 4, 8, 9; A14-A18 shapes). Each case asserts
the typed error, that nothing landed outside the target, and that the target holds nothing
from the archive."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import hostile
import pytest
from tree_support import Sandbox, stream

from scmreader.errors import ArchiveLimitError, ScmReaderError, UnsafeArchiveError
from scmreader.http import HttpClient, HttpSettings, body_stream
from scmreader.readers.tree import TreeResponseFactory, _zip
from scmreader.testing import FakeResponse, FakeScmHost


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox.create(tmp_path)


def no_zipfile(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, fail if zipfile gets to load a central directory at all."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("zipfile.ZipFile was reached: the directory was loaded first")

    monkeypatch.setattr(_zip.zipfile, "ZipFile", refuse)


def _refused(box: Sandbox, data: bytes, error: type[Exception], **limits: Any) -> ScmReaderError:
    before = box.outside_state()
    with pytest.raises(error) as caught:
        box.factory(**limits).from_archive(stream(data), etag="x").dir(box.target)
    assert box.outside_state() == before
    assert list(box.target.iterdir()) == []
    assert box.work_entries() == []
    assert isinstance(caught.value, ScmReaderError)
    return caught.value


@pytest.mark.parametrize("declared", [60_000, 2_000_000])
def test_zip_end_record_count_is_checked_before_the_directory_is_read(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch, declared: int
) -> None:
    """Issue item 3: 2 million entries cost 600 MB before the limit fired."""
    data = hostile.zip_declaring(declared)
    no_zipfile(monkeypatch)
    _refused(box, data, ArchiveLimitError, max_entries=50_000)


def test_zip_directory_holding_more_entries_than_its_end_record_says(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = hostile.zip_of([f"f{i}.txt" for i in range(500)], declared_entries=1)
    no_zipfile(monkeypatch)
    _refused(box, data, ArchiveLimitError, max_entries=100)


def test_zip_within_the_limit_still_reads(box: Sandbox) -> None:
    data = hostile.zip_of([f"d/f{i}.txt" for i in range(100)])
    out = box.factory(max_entries=100).from_archive(stream(data), etag="x").dir(box.target)
    assert len(list((out / "d").iterdir())) == 100


def test_tar_volume_entries_count_toward_max_entries(box: Sandbox) -> None:
    _refused(box, gzip.compress(hostile.volume_header_tar(60)), ArchiveLimitError, max_entries=50)


def test_tar_volume_entries_count_toward_max_total_bytes(box: Sandbox) -> None:
    data = gzip.compress(hostile.volume_header_tar(1, size=3 * hostile.MIB))
    _refused(box, data, ArchiveLimitError, max_total_bytes=2 * hostile.MIB)


INVISIBLE = {
    "C1 control CSI": "\u009b",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "zero-width space": "\u200b",
    "byte order mark": "\ufeff",
    "line separator": "\u2028",
}


def _tar_named(name: str) -> bytes:
    info = tarfile.TarInfo(f"top/{name}")
    return gzip.compress(hostile.tar_with([info], {info.name: b"x"}))


def _zip_named(name: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, b"x")
    return out.getvalue()


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_names_with_invisible_or_bidi_controls_are_refused(
    box: Sandbox, kind: str, char: str
) -> None:
    """Issue item 9: U+009B and U+202E were extracted and printed raw by ``tree --json``."""
    name = f"evil{char}txt.exe"
    data = _tar_named(name) if kind == "tar" else _zip_named(name)
    error = _refused(box, data, UnsafeArchiveError)
    assert f"U+{ord(char):04X}" in str(error)
    with pytest.raises(UnsafeArchiveError):
        list(box.factory().from_archive(stream(data), etag="x").files())


@pytest.mark.parametrize(
    "name", ["caf\u00e9.md", "\u65e5\u672c/\u8a9e.txt", "a b.txt", "no\u00a0break.txt"]
)
def test_ordinary_unicode_names_still_extract(box: Sandbox, name: str) -> None:
    files = {f.path for f in box.factory().from_archive(stream(_tar_named(name)), etag="x").files()}
    assert files == {name}


@pytest.mark.parametrize(
    ("coding", "http_ratio", "error"),
    [
        ("gzip", 200.0, ScmReaderError),
        ("deflate", 200.0, ScmReaderError),
        # With the HTTP layer's own ratio cap lifted, the archive engine still takes its
        # ratio against the bytes on the wire, not against the transport-decoded stream.
        ("gzip", 1e9, ArchiveLimitError),
    ],
)
def test_content_encoding_on_an_archive_cannot_bypass_the_ratio(
    fake_scm_host: FakeScmHost, box: Sandbox, coding: str, http_ratio: float, error: type
) -> None:
    """Issue item 4: 1 MB on the wire wrote 1 GiB to disk. The wire carries a tar of zeros
    gzip-compressed by the transport; the answer is refused after a few MB."""
    tar = hostile.tar_with([tarfile.TarInfo("top/zeros")], {"top/zeros": bytes(64 * hostile.MIB)})
    body = gzip.compress(tar, 9) if coding == "gzip" else __import__("zlib").compress(tar, 9)
    fake_scm_host.route(
        "GET", r"/archive", lambda r: FakeResponse(200, body, {"Content-Encoding": coding})
    )
    client = HttpClient(HttpSettings(max_attempts=1, max_decoded_ratio=http_ratio))
    response = client.get(fake_scm_host.url("/archive"))
    tree = box.factory(ratio_threshold=4 * hostile.MIB).from_archive(
        body_stream(response, client), etag="x"
    )
    before = box.outside_state()
    with pytest.raises(error, match="times its"):
        tree.dir(box.target)
    assert list(box.target.iterdir()) == []
    assert box.outside_state() == before


def test_a_transport_encoded_tar_gz_is_read(fake_scm_host: FakeScmHost, box: Sandbox) -> None:
    """Double compression (H12): a tar.gz sent with Content-Encoding: gzip is fine."""
    inner = _tar_named("readme.md")
    fake_scm_host.route(
        "GET",
        r"/archive",
        lambda r: FakeResponse(200, gzip.compress(inner), {"Content-Encoding": "gzip"}),
    )
    client = HttpClient()
    tree = TreeResponseFactory(work_dir=box.work).from_archive(
        body_stream(client.get(fake_scm_host.url("/archive")), client), etag="x"
    )
    assert (tree.dir(box.target) / "readme.md").read_bytes() == b"x"


def test_the_archive_cap_applies_to_archive_bodies(
    fake_scm_host: FakeScmHost, box: Sandbox
) -> None:
    tar = hostile.tar_with([tarfile.TarInfo("top/big")], {"top/big": bytes(3 * hostile.MIB)})
    fake_scm_host.route("GET", r"/archive", lambda r: FakeResponse(200, tar))
    client = HttpClient(HttpSettings(max_archive_bytes=2 * hostile.MIB, max_attempts=1))
    stream_ = body_stream(client.get(fake_scm_host.url("/archive")), client)
    with pytest.raises(ScmReaderError, match="max_archive_bytes"):
        TreeResponseFactory(work_dir=box.work).from_archive(stream_, etag="x").dir(box.target)
    assert list(box.target.iterdir()) == []
