"""Hostile and broken archives (reliability catalogue A01-A22): every case raises a typed
error in every mode, leaves nothing outside the target, nothing partial inside it, no
temporary files behind, and closes the input stream."""

from __future__ import annotations

import io
import stat
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tree_support import FakeStream, Sandbox, fixture, mk, snapshot, stream, tree_of

from scmreader.errors import (
    ArchiveLimitError,
    ScmReaderError,
    TransportError,
    UnsafeArchiveError,
)
from scmreader.readers.types import FileInfo

M = mk.Member
Z = mk.ZipMember
R = "root/"


def tgz(*members: Any, fmt: int = tarfile.PAX_FORMAT) -> Callable[[], bytes]:
    return lambda: mk.gz(mk.tar_bytes(list(members), fmt=fmt))


def zipped(*members: Any) -> Callable[[], bytes]:
    return lambda: mk.zip_bytes(list(members))


def raw_tar(build: Callable[[tarfile.TarFile], None]) -> Callable[[], bytes]:
    """A tar.gz written by ``build`` with tarfile directly (pax headers, odd names)."""

    def make() -> bytes:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            build(tar)
        return bytes(mk.gz(out.getvalue()))

    return make


def pax_member(
    name: str, pax: dict[str, str], data: bytes = b"x"
) -> Callable[[tarfile.TarFile], None]:
    def build(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.pax_headers = pax
        tar.addfile(info, io.BytesIO(data))

    return build


def without_end_marker() -> bytes:
    data = bytes(mk.tar_bytes([M(R + "a.txt", b"abc")]))
    return data[: 512 + 512]  # header + one data block, no zero blocks


def size_lies() -> bytes:
    data = mk.tar_bytes([M(R + "a.txt", b"x" * 5000)])
    return bytes(mk.gz(data[: 512 + 1024]))


def zip_size_lie() -> bytes:
    """Central and local headers claim 1000 bytes; the data inflates to 1 MB."""
    data = bytearray(mk.zip_bytes([Z("zeros.bin", bytes(1_000_000))]))
    for magic, at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = data.find(magic)
        data[pos + at : pos + at + 4] = (1000).to_bytes(4, "little")
    return bytes(data)


def zip_nul_name() -> bytes:
    data = bytes(mk.zip_bytes([Z("evil.txtXsafe.txt", b"x")]))
    return data.replace(b"evil.txtXsafe.txt", b"evil.txt\x00safe.txt")


def many_gzip_members_then_garbage() -> bytes:
    return bytes(mk.gz(b"") * 500 + mk.gz(mk.tar_bytes([M(R + "a", b"a")])) + b"NOT GZIP")


@dataclass
class Case:
    id: str
    data: Callable[[], bytes]
    error: type[ScmReaderError] = UnsafeArchiveError
    kwargs: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    method: str = "from_archive"


CASES = [
    # A01 absolute names
    Case("A01-fixture-tar", lambda: fixture("absolute.tar.gz")),
    Case("A01-fixture-zip", lambda: fixture("absolute.zip")),
    Case("A01-many-slashes", tgz(M("////tmp/scmreader-fixture-abs", b"x"))),
    Case("A01-drive", tgz(M("C:/tmp/scmreader-fixture-abs", b"x"))),
    Case("A01-drive-relative", tgz(M(R + "ok.txt", b"x"), M("C:../x", b"x"))),
    Case("A01-backslash-root", tgz(M("\\tmp\\scmreader-fixture-abs", b"x"))),
    Case("A01-unc", tgz(M("\\\\server\\share\\x", b"x"))),
    # A02 traversal
    Case("A02-fixture-tar", lambda: fixture("mallory.tar.gz")),
    Case("A02-fixture-zip", lambda: fixture("mallory.zip")),
    Case("A02-nested", tgz(M(R + "a.txt", b"x"), M("a/../../side.txt", b"x"))),
    Case("A02-dot-nested", tgz(M("a/./../../side.txt", b"x"))),
    Case("A02-percent", tgz(M(R + "%2e%2e/%2e%2e/side.txt", b"x"))),
    Case("A02-double-percent", tgz(M(R + "%252e%252e/%252e%252e/side.txt", b"x"))),
    Case("A02-percent-slash", tgz(M(R + "..%2f..%2fside.txt", b"x"))),
    Case("A02-backslash", lambda: fixture("backslash.zip")),
    Case("A02-backslash-tar", tgz(M(R + "a\\..\\..\\side.txt", b"x"))),
    Case("A02-dotdot-member", tgz(M(R + "..", b"x"))),
    # A03 after strip / sub-path
    Case("A03-strip", tgz(M("root/../side.txt", b"x"))),
    Case("A03-subpath", tgz(M("root/docs/../../side.txt", b"x")), kwargs={"subpath": "docs"}),
    # A06-A08 links used as folders
    Case(
        "A06-chain",
        tgz(
            M(R + "a", type=tarfile.SYMTYPE, linkname="b"),
            M(R + "b", type=tarfile.SYMTYPE, linkname="../../outside"),
            M(R + "a/x", b"x"),
        ),
    ),
    Case("A07-fixture", lambda: fixture("symlink_write_through.tar.gz")),
    Case(
        "A08-dotdot-link",
        tgz(M(R + "l", type=tarfile.SYMTYPE, linkname=".."), M(R + "l/side.txt", b"x")),
    ),
    Case(
        "A08-zip-link-then-write",
        zipped(
            Z("d", b"/tmp", unix_mode=stat.S_IFLNK | 0o777), Z("d/scmreader-fixture-evil", b"x")
        ),
    ),
    # A09 hard links
    Case("A09-fixture", lambda: fixture("hardlink_outside.tar.gz")),
    Case("A09-parent", tgz(M(R + "h", type=tarfile.LNKTYPE, linkname="../x"))),
    Case(
        "A09-later",
        tgz(M(R + "h", type=tarfile.LNKTYPE, linkname=R + "later"), M(R + "later", b"x")),
    ),
    Case("A09-missing", tgz(M(R + "h", type=tarfile.LNKTYPE, linkname=R + "nothing"))),
    Case(
        "A09-to-symlink",
        tgz(
            M(R + "s", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
            M(R + "h", type=tarfile.LNKTYPE, linkname=R + "s"),
        ),
    ),
    Case(
        "A09-outside-subpath",
        tgz(M(R + "a.txt", b"x"), M(R + "docs/h", type=tarfile.LNKTYPE, linkname=R + "a.txt")),
        kwargs={"subpath": "docs"},
    ),
    # A10 special files
    Case("A10-char", lambda: fixture("device.tar.gz")),
    Case("A10-block", tgz(M(R + "sda", type=tarfile.BLKTYPE))),
    Case("A10-fifo", lambda: fixture("fifo.tar.gz")),
    Case("A10-zip-char", lambda: fixture("device.zip")),
    Case("A10-zip-fifo", zipped(Z("pipe", unix_mode=stat.S_IFIFO | 0o644))),
    Case("A10-zip-socket", zipped(Z("sock", unix_mode=stat.S_IFSOCK | 0o644))),
    Case("A10-sparse", tgz(M(R + "s", b"x", type=tarfile.GNUTYPE_SPARSE), fmt=tarfile.GNU_FORMAT)),
    # A12/A13 duplicates and collisions
    Case("A12-tar", lambda: fixture("duplicate.tar.gz")),
    Case("A12-zip", lambda: fixture("duplicate.zip")),
    Case("A12-normalised", tgz(M(R + "a/b.txt", b"1"), M(R + "a//./b.txt", b"2"))),
    Case("A13-case", lambda: fixture("case_collision.tar.gz")),
    Case("A13-nfc", lambda: fixture("nfc_collision.tar.gz")),
    Case("A13-case-folder", tgz(M(R + "Docs/a.md", b"1"), M(R + "docs/b.md", b"2"))),
    Case("A13-file-then-folder", tgz(M(R + "a", b"1"), M(R + "a/b", b"2"))),
    Case("A13-folder-then-file", tgz(M(R + "a/b", b"1"), M(R + "a", b"2"))),
    # A14/A15 bombs
    Case("A14-gzip-bomb", lambda: fixture("bomb.tar.gz"), ArchiveLimitError),
    Case(
        "A14-total",
        tgz(M(R + "a", b"x" * 5000), M(R + "b", b"y" * 5000)),
        ArchiveLimitError,
        limits={"max_total_bytes": 8000},
    ),
    Case(
        "A14-trailing-zeros",
        lambda: mk.gz(mk.tar_bytes([M(R + "a", b"a")]) + bytes(300_000)),
        ArchiveLimitError,
        limits={"max_trailing_bytes": 100_000},
    ),
    Case("A15-zip-overlap", lambda: fixture("overlap.zip")),
    Case("A15-zip-size-lie", zip_size_lie),
    Case(
        "A15-zip-total",
        zipped(Z("a", b"x" * 5000), Z("b", b"y" * 5000)),
        ArchiveLimitError,
        limits={"max_total_bytes": 8000},
    ),
    Case(
        "A15-zip-ratio",
        zipped(Z("z", bytes(3_000_000))),
        ArchiveLimitError,
        limits={"ratio_threshold": 1_000_000, "max_ratio": 50},
    ),
    # A16 counts and depth
    Case(
        "A16-entries",
        tgz(*[M(f"{R}f{i}", b"") for i in range(120)]),
        ArchiveLimitError,
        limits={"max_entries": 100},
    ),
    Case(
        "A16-zip-entries",
        zipped(*[Z(f"f{i}") for i in range(120)]),
        ArchiveLimitError,
        limits={"max_entries": 100},
    ),
    Case("A16-depth", tgz(M(R + "a/" * 300 + "x", b"x")), ArchiveLimitError),
    # A17 names
    Case("A17-long-path", tgz(M(R + ("d" * 200 + "/") * 25 + "x", b"x")), ArchiveLimitError),
    Case("A17-long-component", tgz(M(R + "c" * 300, b"x")), ArchiveLimitError),
    Case(
        "A17-gnu-longname-2mb",
        tgz(M(R + "n" * 2_000_000, b"x"), fmt=tarfile.GNU_FORMAT),
        ArchiveLimitError,
    ),
    Case(
        "A17-pax-path-2mb", raw_tar(pax_member("x", {"path": "p/" * 1_000_000})), ArchiveLimitError
    ),
    # A18 odd bytes in names
    Case("A18-invalid-utf8", tgz(M(R + "bad\udcff.txt", b"x"), fmt=tarfile.GNU_FORMAT)),
    Case("A18-nul-in-pax", raw_tar(pax_member("x", {"path": R + "evil\x00.txt"}))),
    Case("A18-control", tgz(M(R + "bell\x07.txt", b"x"))),
    Case("A18-newline", tgz(M(R + "line\nbreak.txt", b"x"))),
    Case("A18-zip-nul", zip_nul_name),
    # A19 broken streams
    Case("A19-truncated-gzip", lambda: fixture("truncated.tar.gz")),
    Case("A19-corrupt-gzip", lambda: fixture("corrupt.tar.gz")),
    Case("A19-corrupt-header", lambda: fixture("corrupt_header.tar")),
    Case("A19-trailing-garbage", many_gzip_members_then_garbage),
    Case("A19-size-lies", size_lies),
    Case("A19-no-end-marker", without_end_marker),
    Case("A19-truncated-zip", lambda: fixture("normal.zip")[:-30]),
    Case(
        "A19-corrupt-zip-data",
        lambda: fixture("normal.zip")[:200] + b"\xff" * 50 + fixture("normal.zip")[250:],
    ),
    # A20 zip features
    Case("A20-encrypted", lambda: fixture("encrypted.zip")),
    Case("A20-lzma", lambda: fixture("lzma.zip")),
]

MODES = ["files", "dir-temp", "dir-empty", "dir-nonempty", "archive"]


def _consume(response: Any, mode: str, target: Path) -> None:
    if mode == "files":
        for f in response.files():
            f.content()
    elif mode == "dir-temp":
        response.dir()
    elif mode == "archive":
        response.archive()
    else:
        response.dir(target)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_archive_is_refused_and_leaves_no_trace(
    tmp_path: Path, case: Case, mode: str
) -> None:
    box = Sandbox.create(tmp_path)
    if mode == "dir-nonempty":
        (box.target / "keep.txt").write_text("mine\n")
        (box.target / "docs").mkdir()
        (box.target / "docs" / "mine.md").write_text("mine\n")
    before_outside = box.outside_state()
    before_target = snapshot(box.target)
    body = FakeStream(case.data(), chunk=4096)
    started = time.monotonic()
    with pytest.raises(case.error) as caught:
        response = getattr(box.factory(**case.limits), case.method)(body, etag="", **case.kwargs)
        _consume(response, mode, box.target)
    assert time.monotonic() - started < 5
    assert str(caught.value)
    assert box.outside_state() == before_outside
    assert snapshot(box.target) == before_target
    assert box.work_entries() == []
    assert body.closed


# --- links that are allowed, but never become links -----------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("symlink_passwd.tar.gz", {"passwd": b"/etc/passwd"}),
        ("symlink_parent.tar.gz", {"up": b"../../"}),
        ("symlink.zip", {"passwd": b"/etc/passwd", "readme.txt": b"hello\n"}),
    ],
)
def test_symlinks_become_files_holding_their_target(
    tmp_path: Path, name: str, expected: dict[str, bytes]
) -> None:
    box = Sandbox.create(tmp_path)
    before = box.outside_state()
    files = {
        f.path: f.content()
        for f in box.factory().from_archive(stream(fixture(name)), etag="").files()
    }
    assert files == expected
    out = box.factory().from_archive(stream(fixture(name)), etag="").dir(box.target)
    assert tree_of(out) == expected  # tree_of fails on any symlink
    archive = box.factory().from_archive(stream(fixture(name)), etag="").archive()
    with tarfile.open(fileobj=archive) as tar:
        assert all(m.isreg() for m in tar.getmembers())
    assert box.outside_state() == before


def test_dangling_link_to_a_later_member_is_just_text(tmp_path: Path) -> None:
    box = Sandbox.create(tmp_path)
    data = tgz(M(R + "l", type=tarfile.SYMTYPE, linkname="later"), M(R + "later", b"real"))()
    out = box.factory().from_archive(stream(data), etag="").dir()
    assert tree_of(out) == {"l": b"later", "later": b"real"}


@pytest.mark.parametrize("how", ["files", "dir", "archive"])
def test_hardlink_to_an_earlier_file_is_a_copy(tmp_path: Path, how: str) -> None:
    box = Sandbox.create(tmp_path)
    expected = {"a.txt": b"shared content\n", "b.txt": b"shared content\n"}
    response = box.factory().from_archive(stream(fixture("hardlink_earlier.tar.gz")), etag="")
    if how == "files":
        assert {f.path: f.content() for f in response.files()} == expected
    elif how == "dir":
        out = response.dir(box.target)
        assert tree_of(out) == expected
        assert (out / "a.txt").stat().st_ino != (out / "b.txt").stat().st_ino
    else:
        with tarfile.open(fileobj=response.archive()) as tar:
            got = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
        assert got == expected


def test_hardlink_whose_target_was_filtered_out_is_refused(tmp_path: Path) -> None:
    box = Sandbox.create(tmp_path)

    def skip_a(path: str, info: FileInfo) -> bool:
        return path != "a.txt"

    response = box.factory().from_archive(
        stream(fixture("hardlink_earlier.tar.gz")),
        etag="",
        filter=skip_a,
    )
    with pytest.raises(UnsafeArchiveError, match="hard link"):
        response.dir(box.target)
    assert list(box.target.iterdir()) == []


@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o1777, 0o777, 0o666, 0o600])
def test_modes_are_sanitised(tmp_path: Path, mode: int) -> None:
    box = Sandbox.create(tmp_path)
    data = tgz(M(R + "f", b"x", mode=mode))()
    out = box.factory().from_archive(stream(data), etag="").dir(box.target)
    got = stat.S_IMODE((out / "f").stat().st_mode)
    assert got == (0o755 if mode & 0o111 else 0o644) & ~0o022


# --- transport errors ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["normal.tar.gz", "normal.zip"])
@pytest.mark.parametrize("mode", ["files", "dir-temp", "dir-empty"])
def test_transport_error_propagates_as_is(tmp_path: Path, name: str, mode: str) -> None:
    box = Sandbox.create(tmp_path)
    error = TransportError("connection reset by peer")
    data = fixture(name)
    body = FakeStream(data, chunk=100, fail_after=len(data) // 2, error=error)
    with pytest.raises(TransportError) as caught:
        response = box.factory().from_archive(body, etag="")  # type: ignore[arg-type]
        _consume(response, mode, box.target)
    assert caught.value is error
    assert list(box.target.iterdir()) == []
    assert box.work_entries() == []
    assert body.closed


def test_bomb_is_stopped_quickly_with_bounded_memory(tmp_path: Path) -> None:
    import resource

    box = Sandbox.create(tmp_path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ArchiveLimitError, match="decompression bomb"):
        box.factory().from_archive(stream(fixture("bomb.tar.gz")), etag="").dir()
    assert time.monotonic() - started < 5
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64
    assert box.work_entries() == []


def test_zip_bomb_ratio_counts_declared_sizes(tmp_path: Path) -> None:
    box = Sandbox.create(tmp_path)
    data = mk.zip_bytes([Z("z", bytes(3_000_000))])
    ok = box.factory(ratio_threshold=10_000_000).from_zip_archive(stream(data), etag="")
    assert [f.path for f in ok.files()] == ["z"]
    assert zipfile.is_zipfile(io.BytesIO(data))
