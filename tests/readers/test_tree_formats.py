"""Archive format details: pax and GNU long names, base-256 numbers, gzip members,
chunk boundaries, zip timestamps and layouts, and the name rules (with hypothesis)."""

from __future__ import annotations

import io
import os
import posixpath
import struct
import tarfile
import unicodedata
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_support import Sandbox, fixture, mk, stream, tree_of

from scmreader.errors import ArchiveLimitError, UnsafeArchiveError
from scmreader.readers.tree import ArchiveLimits, TreeResponseFactory
from scmreader.readers.tree._names import Layout, PathRules, fold, normalize_subpath
from scmreader.urls import MAX_DECODE_ROUNDS

M = mk.Member
Z = mk.ZipMember


def files_of(data: bytes, **kwargs: Any) -> dict[str, bytes]:
    response = TreeResponseFactory().from_archive(stream(data, chunk=1000), etag="", **kwargs)
    return {f.path: f.content() for f in response.files()}


# --- tar flavours ----------------------------------------------------------------------

LONG_COMPONENT = "l" * 255
LONG_PATH = "/".join(["segment-" + "x" * 90] * 40)  # ~3,960 bytes, legal
UNICODE = "docs/\u00fcber/\u65e5\u672c\u8a9e/caf\u00e9 \U0001f600.md"


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
@pytest.mark.parametrize("name", [LONG_COMPONENT, LONG_PATH, UNICODE], ids=["255", "4k", "uni"])
def test_long_and_unicode_names(tmp_path: Path, fmt: int, name: str) -> None:
    data = mk.gz(mk.tar_bytes([M("top/" + name, b"content"), M("top/short", b"s")], fmt=fmt))
    assert files_of(data) == {name: b"content", "short": b"s"}
    out = TreeResponseFactory(work_dir=tmp_path).from_archive(stream(data), etag="").dir()
    assert tree_of(out) == {name: b"content", "short": b"s"}


def test_long_link_targets(tmp_path: Path) -> None:
    target = "t/" + "z" * 300
    data = mk.tar_bytes(
        [M("top/link", type=tarfile.SYMTYPE, linkname=target)], fmt=tarfile.GNU_FORMAT
    )
    assert files_of(data) == {"link": target.encode()}


def test_ustar_prefix_field() -> None:
    name = "top/" + "p" * 120 + "/file.txt"  # fits ustar only with the prefix field
    data = mk.tar_bytes([M(name, b"x")], fmt=tarfile.USTAR_FORMAT)
    assert files_of(data) == {"p" * 120 + "/file.txt": b"x"}


def test_names_are_not_normalised_but_kept_as_written() -> None:
    nfd = unicodedata.normalize("NFD", "caf\u00e9.md")
    data = mk.tar_bytes([M("top/" + nfd, b"x")])
    assert list(files_of(data)) == [nfd]


def test_pax_size_and_mtime_override_the_header() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("top/f")
        info.size = 3
        info.mtime = 1_234_567_890.5  # fractional: written as a pax record
        tar.addfile(info, io.BytesIO(b"abc"))
    response = TreeResponseFactory().from_archive(stream(out.getvalue()), etag="")
    (only,) = list(response.files())
    assert only.content() == b"abc"
    assert only.last_modified_at == datetime.fromtimestamp(1_234_567_890.5, UTC)


def test_base256_size_field() -> None:
    data = bytearray(mk.tar_bytes([M("top/f", b"hello")], fmt=tarfile.GNU_FORMAT))
    data[124:136] = b"\x80" + (5).to_bytes(11, "big")
    data[148:156] = b"        "
    checksum = sum(data[:512])
    data[148:156] = b"%06o\x00 " % checksum
    assert files_of(bytes(data)) == {"f": b"hello"}


def test_base256_huge_size_hits_the_total_limit() -> None:
    data = bytearray(mk.tar_bytes([M("top/f", b"hello")], fmt=tarfile.GNU_FORMAT))
    data[124:136] = b"\x80" + (1 << 60).to_bytes(11, "big")
    data[148:156] = b"        "
    data[148:156] = b"%06o\x00 " % sum(data[:512])
    with pytest.raises(ArchiveLimitError):
        files_of(bytes(data))


def test_old_v7_tar_without_magic_and_a_lone_zero_block() -> None:
    header = bytearray(512)
    header[0:5] = b"top/f"
    header[100:108] = b"0000644\x00"
    header[124:136] = b"00000000003\x00"
    header[136:148] = b"14533401450\x00"
    header[148:156] = b"        "
    header[156:157] = b"0"
    header[148:156] = b"%06o\x00 " % sum(header)
    data = bytes(header) + b"abc".ljust(512, b"\x00") + bytes(512)
    assert files_of(data) == {"f": b"abc"}


def test_signed_checksum_of_old_writers() -> None:
    data = bytearray(mk.tar_bytes([M("top/\u00e9", b"x")], fmt=tarfile.GNU_FORMAT))
    data[148:156] = b"        "
    signed = sum(b - 256 if b > 127 else b for b in data[:512])
    data[148:156] = b"%06o\x00 " % signed
    assert files_of(bytes(data)) == {"\u00e9": b"x"}


def test_git_archive_global_header_and_folders_are_skipped() -> None:
    assert files_of(fixture("normal.tar.gz")) == {
        path: data for path, (data, _) in mk.NORMAL_TREE.items()
    }


@pytest.mark.parametrize("chunk", [1, 7, 511, 512, 513, 4096])
def test_every_chunk_boundary(chunk: int) -> None:
    members = [M(f"top/f{i}", os.urandom(i * 37)) for i in range(30)]
    members.append(M("top/" + "n" * 150, b"long name"))
    plain = mk.tar_bytes(members)
    expected = {m.name[4:]: m.data for m in members}
    for data in (plain, mk.gz(plain)):
        response = TreeResponseFactory().from_archive(stream(data, chunk=chunk), etag="")
        assert {f.path: f.content() for f in response.files()} == expected


# --- gzip members ----------------------------------------------------------------------


def test_concatenated_gzip_members() -> None:
    plain = mk.tar_bytes([M("top/a", b"a" * 10_000), M("top/b", b"b" * 10_000)])
    data = mk.gz(plain[:3000]) + mk.gz(b"") + mk.gz(plain[3000:])
    assert files_of(data) == {"a": b"a" * 10_000, "b": b"b" * 10_000}


def test_many_empty_gzip_members_and_trailing_zeros_are_fine() -> None:
    data = mk.gz(b"") * 2000 + mk.gz(mk.tar_bytes([M("top/a", b"a")])) + bytes(5000)
    assert files_of(data) == {"a": b"a"}


def test_trailing_data_after_the_tar_end_marker_is_tolerated_up_to_the_limit() -> None:
    plain = mk.tar_bytes([M("top/a", b"a")]) + b"junk after the end" * 10
    assert files_of(mk.gz(plain)) == {"a": b"a"}


def test_ratio_is_only_enforced_past_the_threshold(tmp_path: Path) -> None:
    zeros = mk.gz(mk.tar_bytes([M("top/z", bytes(20_000_000))]))
    out = TreeResponseFactory(work_dir=tmp_path).from_archive(stream(zeros), etag="").dir()
    assert (out / "z").stat().st_size == 20_000_000
    strict = TreeResponseFactory(limits=ArchiveLimits(ratio_threshold=1_000_000))
    with pytest.raises(ArchiveLimitError, match="times its compressed size"):
        list(strict.from_archive(stream(zeros), etag="").files())


# --- zip details -----------------------------------------------------------------------


def test_zip_extended_timestamp_wins_over_dos_time() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo("f.txt", date_time=(2000, 1, 1, 0, 0, 0))
        info.extra = struct.pack("<HHBi", 0x5455, 5, 1, 1_600_000_000)
        zf.writestr(info, b"x")
    (only,) = TreeResponseFactory().from_zip_archive(stream(out.getvalue()), etag="").files()
    assert only.last_modified_at == datetime.fromtimestamp(1_600_000_000, UTC)


def test_zip64_and_data_descriptors() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("streamed.txt", "w", force_zip64=True) as f:
            f.write(b"streamed " * 1000)
        zf.writestr("plain.txt", b"plain")
    raw = out.getvalue()

    class Unseekable(io.RawIOBase):
        """zipfile writes data descriptors when the output cannot seek."""

        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.data += b
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", b"a" * 5000)
        zf.writestr("b.txt", b"b" * 5000)
    for data, expected in (
        (raw, {"streamed.txt": b"streamed " * 1000, "plain.txt": b"plain"}),
        (bytes(sink.data), {"a.txt": b"a" * 5000, "b.txt": b"b" * 5000}),
    ):
        files = TreeResponseFactory().from_zip_archive(stream(data), etag="").files()
        assert {f.path: f.content() for f in files} == expected


def test_zip_exec_bit_and_stored_entries(tmp_path: Path) -> None:
    data = mk.zip_bytes(
        [Z("run.sh", b"#!/bin/sh\n", unix_mode=0o100755, method=zipfile.ZIP_STORED), Z("a", b"a")]
    )
    out = TreeResponseFactory().from_zip_archive(stream(data), etag="").dir(tmp_path / "o")
    assert (out / "run.sh").stat().st_mode & 0o111
    assert not (out / "a").stat().st_mode & 0o111


def test_zip_from_a_windows_tool_without_unix_modes() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo("dir\\")  # some tools write folders like this
        info.create_system = 0
        info.external_attr = 0x10
        zf.writestr(zipfile.ZipInfo("docs/"), b"")
        zf.writestr(zipfile.ZipInfo("docs/a.txt"), b"a")
    assert files_of(out.getvalue()) == {"docs/a.txt": b"a"}


def test_zip_work_dir_spool_is_anonymous(tmp_path: Path) -> None:
    box = Sandbox.create(tmp_path)
    response = box.factory().from_zip_archive(stream(fixture("normal.zip")), etag="")
    iterator = response.files()
    next(iterator)
    assert box.work_entries() == []  # the spool file has no name
    list(iterator)


# --- name rules ------------------------------------------------------------------------

RULES = PathRules(ArchiveLimits())


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a/b/c.txt", "a/b/c.txt"),
        ("./a/b", "a/b"),
        ("a/./b", "a/b"),
        ("a//b", "a/b"),
        ("dir/", "dir"),
        ("./", ""),
        (".", ""),
        ("100%.txt", "100%.txt"),
        ("%41.txt", "%41.txt"),
        ("ab:c.txt", "ab:c.txt"),
        ("..foo/bar..", "..foo/bar.."),
        ("a/...", "a/..."),
        ("caf\u00e9", "caf\u00e9"),
        ("nbsp\u00a0name", "nbsp\u00a0name"),
    ],
)
def test_clean_names(raw: str, clean: str) -> None:
    assert RULES.clean(raw) == clean


@pytest.mark.parametrize(
    "raw",
    [
        "/etc/passwd",
        "////x",
        "\\x",
        "C:x",
        "a:b",
        "c:\\x",
        "C:../x",
        "..",
        "../x",
        "a/../../x",
        "a/..",
        "a\\..\\b",
        "%2e%2e/x",
        "%252E%252E/x",
        "..%2Fx",
        "%2Fetc",
        "a\x00b",
        "a\x1fb",
        "a\x7fb",
        "%00x",
    ],
)
def test_unsafe_names(raw: str) -> None:
    with pytest.raises(UnsafeArchiveError):
        RULES.clean(raw)


def _nested(text: str, levels: int) -> str:
    """``text`` with each ``%`` percent-encoded ``levels`` more times."""
    for _ in range(levels):
        text = text.replace("%", "%25")
    return text


@pytest.mark.parametrize("levels", [1, 5, MAX_DECODE_ROUNDS - 1])
def test_encoded_dot_dot_is_refused_up_to_the_decoding_bound(levels: int) -> None:
    with pytest.raises(UnsafeArchiveError, match="leaves the tree"):
        RULES.clean(_nested("a/%2e%2e/%2e%2e/x", levels))


def test_names_encoded_deeper_than_the_bound_are_refused() -> None:
    deepest = _nested("a%20b", MAX_DECODE_ROUNDS - 1)  # MAX_DECODE_ROUNDS levels of escapes
    assert RULES.clean(deepest) == deepest
    with pytest.raises(UnsafeArchiveError, match="levels deep"):
        RULES.clean(_nested("a%20b", MAX_DECODE_ROUNDS))
    with pytest.raises(UnsafeArchiveError, match="levels deep"):
        RULES.clean(_nested("%2e%2e/x", MAX_DECODE_ROUNDS + 5))


def test_length_limits() -> None:
    assert RULES.clean("\u00e9" * 127) == "\u00e9" * 127  # 254 bytes
    with pytest.raises(ArchiveLimitError):
        RULES.clean("\u00e9" * 128)  # 256 bytes in one component
    with pytest.raises(ArchiveLimitError):
        RULES.clean("/".join(["d"] * 257))
    with pytest.raises(ArchiveLimitError):
        RULES.clean("/".join(["d" * 250] * 17))  # 4,266 bytes


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./\\%2eE:C\x00\u00e9 ")), max_size=24))
def test_clean_never_escapes(raw: str) -> None:
    try:
        cleaned = RULES.clean(raw)
    except UnsafeArchiveError:
        return
    assert not cleaned.startswith("/")
    assert "\x00" not in cleaned
    assert ".." not in cleaned.replace("\\", "/").split("/")
    joined = posixpath.normpath(posixpath.join("/base/target", cleaned))
    assert joined == "/base/target" or joined.startswith("/base/target/")


@pytest.mark.parametrize(
    ("given_", "expected"),
    [(None, ""), ("", ""), ("docs", "docs/"), ("docs/", "docs/"), ("a/b//", "a/b/"), ("./a", "a/")],
)
def test_normalize_subpath(given_: str | None, expected: str) -> None:
    assert normalize_subpath(given_) == expected


def test_layout_reports_new_folders_once() -> None:
    layout = Layout()
    assert layout.add_file("a/b/c.txt", 0, 1) == ("a", "a/b")
    assert layout.add_file("a/b/d.txt", 0, 1) == ()
    assert layout.add_file("a/e/f.txt", 0, 1) == ("a/e",)
    assert layout.earlier_file("a/b/c.txt") == 1
    assert layout.earlier_file("a/b") is None


def test_fold() -> None:
    assert fold("README") == fold("readme")
    assert fold("caf\u00e9") == fold("cafe\u0301") == fold("CAF\u00c9")
    assert fold("stra\u00dfe") == fold("STRASSE")
