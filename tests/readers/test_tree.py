"""The tree engine on well-formed archives: files(), dir(), archive(), sub-paths,
filters, once-only, detection, from_files."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tree_support import FakeStream, Sandbox, fixture, mk, stream, tree_of

from scmreader.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    ScmReaderError,
    TargetWriteError,
    UpstreamError,
)
from scmreader.readers.tree import ArchiveLimits, TreeEntry, TreeResponseFactory, _output
from scmreader.readers.types import FileInfo, ReadTreeResponse

NORMAL = {path: data for path, (data, _mode) in mk.NORMAL_TREE.items()}
MTIME = datetime.fromtimestamp(mk.MTIME, UTC)


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox.create(tmp_path)


def normal(box: Sandbox, kind: str = "tar", **kwargs: Any) -> ReadTreeResponse:
    factory = box.factory()
    if kind == "tar":
        return factory.from_tar_archive(stream(fixture("normal.tar.gz")), etag="e1", **kwargs)
    kwargs.setdefault("strip_first_directory", True)
    return factory.from_zip_archive(stream(fixture("normal.zip")), etag="e1", **kwargs)


# --- files() ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_files_yields_the_tree_without_its_top_folder(box: Sandbox, kind: str) -> None:
    response = normal(box, kind)
    assert response.etag == "e1"
    files = {f.path: f.content() for f in response.files()}
    assert files == NORMAL


def test_tar_and_zip_give_identical_files(box: Sandbox) -> None:
    tar = [(f.path, f.content()) for f in normal(box, "tar").files()]
    zip_ = [(f.path, f.content()) for f in normal(box, "zip").files()]
    assert tar == zip_
    assert [p for p, _ in tar] == list(NORMAL)  # archive order


def test_files_last_modified_at(box: Sandbox) -> None:
    tar_times = {f.last_modified_at for f in normal(box, "tar").files()}
    assert tar_times == {MTIME}
    zip_times = {f.last_modified_at for f in normal(box, "zip").files()}
    assert zip_times == {datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)}


def test_files_contents_stay_readable_after_iteration(box: Sandbox) -> None:
    files = list(normal(box).files())
    assert [f.content() for f in files] == list(NORMAL.values())
    assert files[0].content() == files[0].content()  # repeatable


def test_files_is_lazy(box: Sandbox) -> None:
    data = mk.gz(mk.tar_bytes([mk.Member(f"top/f{i}", os.urandom(300_000)) for i in range(100)]))
    body = FakeStream(data, chunk=16 * 1024)
    response = box.factory().from_tar_archive(body, etag="")  # type: ignore[arg-type]
    iterator = response.files()
    first = next(iterator)
    assert first.path == "f0"
    assert body.bytes_read < len(data) // 2
    rest = list(iterator)
    assert len(rest) == 99
    assert body.closed


def test_strip_first_directory_false_keeps_the_top_folder(box: Sandbox) -> None:
    response = normal(box, strip_first_directory=False)
    paths = [f.path for f in response.files()]
    assert paths == [f"{mk.TOP}/{p}" for p in NORMAL]


def test_zip_keeps_paths_as_they_are_by_default(box: Sandbox) -> None:
    response = box.factory().from_zip_archive(stream(fixture("normal.zip")), etag="")
    assert next(f.path for f in response.files()) == f"{mk.TOP}/README.md"


def test_strip_skips_top_level_files_and_merges_several_top_folders(box: Sandbox) -> None:
    data = mk.tar_bytes(
        [
            mk.Member("loose.txt", b"top-level"),
            mk.Member("one/a.txt", b"a"),
            mk.Member("two/b.txt", b"b"),
        ]
    )
    files = {f.path: f.content() for f in box.factory().from_archive(stream(data), etag="").files()}
    assert files == {"a.txt": b"a", "b.txt": b"b"}


# --- sub-paths and filters -------------------------------------------------------------


@pytest.mark.parametrize("subpath", ["docs", "docs/", "docs//"])
@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_subpath_keeps_only_that_folder(box: Sandbox, kind: str, subpath: str) -> None:
    files = {f.path: f.content() for f in normal(box, kind, subpath=subpath).files()}
    assert files == {
        "index.md": NORMAL["docs/index.md"],
        "guide/setup.md": NORMAL["docs/guide/setup.md"],
        "caf\u00e9.md": NORMAL["docs/caf\u00e9.md"],
    }


def test_nested_subpath_and_a_file_named_like_the_subpath(box: Sandbox) -> None:
    data = mk.tar_bytes(
        [
            mk.Member("r/docs", b"not a folder"),
            mk.Member("r/docsx/a", b"x"),
            mk.Member("r/docs2/guide/a.md", b"a"),
        ]
    )
    files = box.factory().from_tar_archive(stream(data), etag="", subpath="docs2/guide").files()
    assert [f.path for f in files] == ["a.md"]
    # Entries, but none inside the sub-path: the folder does not exist (issue 12).
    files = box.factory().from_tar_archive(stream(data), etag="", subpath="docs").files()
    with pytest.raises(NotFoundError, match="'docs'"):
        list(files)


@pytest.mark.parametrize("bad", ["/docs", "/", "docs/../..", "../x", "a\\..\\..\\b"])
def test_unsafe_subpath_is_an_input_error(box: Sandbox, bad: str) -> None:
    body = FakeStream(fixture("normal.tar.gz"))
    with pytest.raises(InputError):
        box.factory().from_tar_archive(body, etag="", subpath=bad)  # type: ignore[arg-type]
    assert body.closed


def test_filter_gets_relative_paths_and_sizes_before_content(box: Sandbox) -> None:
    seen: list[tuple[str, FileInfo]] = []

    def keep(path: str, info: FileInfo) -> bool:
        seen.append((path, info))
        return path.endswith(".md")

    files = {f.path for f in normal(box, subpath="docs", filter=keep).files()}
    assert files == {"index.md", "guide/setup.md", "caf\u00e9.md"}
    assert seen == [
        ("index.md", FileInfo(len(NORMAL["docs/index.md"]))),
        ("guide/setup.md", FileInfo(len(NORMAL["docs/guide/setup.md"]))),
        ("caf\u00e9.md", FileInfo(len(NORMAL["docs/caf\u00e9.md"]))),
    ]


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_filter_applies_to_dir_and_archive(box: Sandbox, kind: str) -> None:
    def only_py(path: str, info: FileInfo) -> bool:
        return path.endswith(".py")

    out = normal(box, kind, filter=only_py).dir(box.target)
    assert tree_of(out) == {"src/app/main.py": NORMAL["src/app/main.py"]}
    with tarfile.open(fileobj=normal(box, kind, filter=only_py).archive()) as tar:
        assert tar.getnames() == ["src/app/main.py"]


class FilterBoom(Exception):
    pass


def test_filter_raising_removes_the_temporary_folder(box: Sandbox) -> None:
    def explode(path: str, info: FileInfo) -> bool:
        if path.startswith("docs/guide"):
            raise FilterBoom(path)
        return True

    with pytest.raises(FilterBoom):
        normal(box, filter=explode).dir()
    assert box.work_entries() == []


def test_filter_raising_leaves_the_callers_folder_in_place_and_empty(box: Sandbox) -> None:
    def explode(path: str, info: FileInfo) -> bool:
        if path.startswith("docs/guide"):
            raise FilterBoom(path)
        return True

    with pytest.raises(FilterBoom):
        normal(box, filter=explode).dir(box.target)
    assert box.target.is_dir()
    assert list(box.target.iterdir()) == []


def test_filter_raising_in_a_non_empty_folder_keeps_only_what_was_there(box: Sandbox) -> None:
    (box.target / "keep.txt").write_text("mine\n")
    (box.target / "docs").mkdir()
    (box.target / "docs" / "mine.md").write_text("mine\n")

    def explode(path: str, info: FileInfo) -> bool:
        if path.startswith("src"):
            raise FilterBoom(path)
        return True

    with pytest.raises(FilterBoom):
        normal(box, filter=explode).dir(box.target)
    assert tree_of(box.target) == {"keep.txt": b"mine\n", "docs/mine.md": b"mine\n"}
    assert sorted(os.listdir(box.target)) == ["docs", "keep.txt"]


# --- dir() -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_dir_into_a_fresh_temporary_folder(box: Sandbox, kind: str) -> None:
    out = normal(box, kind).dir()
    assert out.parent == box.work
    assert out.name.startswith("scmreader-")
    assert tree_of(out) == NORMAL


def test_dir_modes_and_mtimes(box: Sandbox) -> None:
    out = normal(box).dir(box.target)
    script = (out / "scripts/build.sh").stat()
    readme = (out / "README.md").stat()
    assert script.st_mode & 0o111
    assert not readme.st_mode & 0o111
    assert readme.st_mtime == mk.MTIME
    for path in out.rglob("*"):
        mode = path.lstat().st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | 0o022)


def test_dir_creates_a_missing_target_and_its_parents(box: Sandbox) -> None:
    target = box.target / "a" / "b"
    assert normal(box).dir(str(target)) == target
    assert tree_of(target) == NORMAL


def test_dir_into_a_non_empty_folder_merges(box: Sandbox) -> None:
    (box.target / "keep.txt").write_text("mine\n")
    (box.target / "README.md").write_text("old readme\n")
    (box.target / "docs").mkdir()
    out = normal(box).dir(box.target)
    result = tree_of(out)
    assert result.pop("keep.txt") == b"mine\n"
    assert result == NORMAL
    assert not [n for n in os.listdir(out) if n.startswith(".scmreader-")]


def test_dir_target_that_is_a_file_is_an_input_error(box: Sandbox) -> None:
    (box.target / "file").write_text("x")
    body = FakeStream(fixture("normal.tar.gz"))
    response = box.factory().from_tar_archive(body, etag="")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        response.dir(box.target / "file")
    assert body.closed


def test_dir_refuses_to_write_through_a_symlink_in_the_callers_folder(box: Sandbox) -> None:
    (box.target / "keep.txt").write_text("mine\n")
    (box.target / "docs").symlink_to(box.outside, target_is_directory=True)
    before = box.outside_state()
    with pytest.raises(ScmReaderError):
        normal(box).dir(box.target)
    assert box.outside_state() == before
    assert (box.target / "docs").is_symlink()
    assert (box.target / "keep.txt").read_text() == "mine\n"
    assert sorted(os.listdir(box.target)) == ["docs", "keep.txt"]


def test_dir_replaces_a_symlink_file_in_the_callers_folder_without_following_it(
    box: Sandbox,
) -> None:
    (box.target / "keep.txt").write_text("mine\n")
    (box.target / "README.md").symlink_to(box.outside / "decoy.txt")
    before = box.outside_state()
    normal(box).dir(box.target)
    assert box.outside_state() == before
    assert not (box.target / "README.md").is_symlink()
    assert (box.target / "README.md").read_bytes() == NORMAL["README.md"]


def test_dir_target_below_a_file_is_a_target_write_error(box: Sandbox) -> None:
    # Deterministic even as root (who ignores permissions): mkdir fails with ENOTDIR.
    (box.target / "file").write_text("x")
    body = FakeStream(fixture("normal.tar.gz"))
    response = box.factory().from_tar_archive(body, etag="")  # type: ignore[arg-type]
    with pytest.raises(TargetWriteError, match=r"target folder .*file/sub.* choose another") as e:
        response.dir(box.target / "file" / "sub")
    assert e.value.exit_code == 12
    assert body.closed
    assert sorted(os.listdir(box.target)) == ["file"]


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make DirWriter's file creation fail as on a full disk (ENOSPC)."""
    real_open = os.open

    def open_(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if flags == _output._NEW_FILE and dir_fd is not None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", open_)


@pytest.mark.parametrize("existing", [False, True])
def test_dir_on_a_full_disk_is_a_target_write_error_naming_the_entry(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    target = box.target / "out"
    if existing:
        target.mkdir()
        (target / "keep.txt").write_text("mine\n")
    with monkeypatch.context() as m:
        _full_disk(m)
        with pytest.raises(TargetWriteError, match="No space left on device") as e:
            normal(box).dir(target)
    assert any(repr(path) in str(e.value) for path in NORMAL)
    assert "free space" in str(e.value)
    if existing:
        assert sorted(os.listdir(target)) == ["keep.txt"]
    else:
        assert not target.exists()


def test_dir_into_a_work_dir_that_is_a_file_is_a_target_write_error(box: Sandbox) -> None:
    not_a_folder = box.root / "work-file"
    not_a_folder.write_text("x")
    body = FakeStream(fixture("normal.tar.gz"))
    factory = TreeResponseFactory(work_dir=not_a_folder)
    response = factory.from_tar_archive(body, etag="")  # type: ignore[arg-type]
    with pytest.raises(TargetWriteError, match="work dir"):
        response.dir()
    assert body.closed


# --- archive() -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("subpath", [None, "docs"])
def test_archive_round_trip(box: Sandbox, kind: str, subpath: str | None) -> None:
    expected = {f.path: f.content() for f in normal(box, kind, subpath=subpath).files()}
    out = normal(box, kind, subpath=subpath).archive()
    with tarfile.open(fileobj=out) as tar:
        members = tar.getmembers()
        assert all(m.isreg() for m in members)
        assert not any(m.name.startswith(("/", mk.TOP)) for m in members)
        got = {m.name: tar.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    assert got == expected
    repacked = normal(box, kind, subpath=subpath).archive().read()
    again = box.factory().from_archive(stream(repacked), etag="", strip_first_directory=False)
    assert {f.path: f.content() for f in again.files()} == expected
    assert box.work_entries() == []


def test_archive_keeps_exec_bits_and_mtimes(box: Sandbox) -> None:
    with tarfile.open(fileobj=normal(box).archive()) as tar:
        script = tar.getmember("scripts/build.sh")
        readme = tar.getmember("README.md")
    assert script.mode == 0o755
    assert readme.mode == 0o644
    assert readme.mtime == mk.MTIME


def test_archive_in_a_work_dir_that_is_a_file_is_a_target_write_error(box: Sandbox) -> None:
    not_a_folder = box.root / "work-file"
    not_a_folder.write_text("x")
    body = FakeStream(fixture("normal.tar.gz"))
    factory = TreeResponseFactory(work_dir=not_a_folder)
    response = factory.from_tar_archive(body, etag="")  # type: ignore[arg-type]
    with pytest.raises(TargetWriteError, match=r"work dir.*another work_dir"):
        response.archive()
    assert body.closed


def test_archive_on_a_full_disk_is_a_target_write_error_naming_the_entry(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(_output, "_write_all", full)
    with pytest.raises(TargetWriteError, match="No space left on device") as e:
        normal(box).archive()
    assert any(repr(path) in str(e.value) for path in NORMAL)
    assert box.work_entries() == []


# --- once only -------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["files", "dir", "archive"])
@pytest.mark.parametrize("second", ["files", "dir", "archive"])
def test_a_response_can_be_read_once(box: Sandbox, first: str, second: str) -> None:
    response = normal(box)
    result = getattr(response, first)()
    if first == "files":
        list(result)
    with pytest.raises(ConflictError, match="Response has already been read"):
        getattr(response, second)()


# --- detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "strip"),
    [
        (fixture("normal.tar.gz"), None),
        (mk.tar_bytes(mk.tree_members(mk.NORMAL_TREE)), None),
        (fixture("normal.zip"), True),
    ],
    ids=["tar.gz", "tar", "zip"],
)
def test_from_archive_detects_the_format(box: Sandbox, data: bytes, strip: bool | None) -> None:
    response = box.factory().from_archive(stream(data), etag="", strip_first_directory=strip)
    assert {f.path: f.content() for f in response.files()} == NORMAL


@pytest.mark.parametrize(
    "body",
    [
        fixture("not_an_archive.html"),
        b"  \n<html><body>proxy</body></html>",
        b'{"message": "Not Found"}',
        b"",
        b"Not Found",
        os.urandom(2048),
    ],
    ids=["html", "html-ws", "json", "empty", "text", "random"],
)
@pytest.mark.parametrize("method", ["from_archive", "from_tar_archive"])
def test_non_archives_are_upstream_errors(box: Sandbox, body: bytes, method: str) -> None:
    data = FakeStream(body)
    with pytest.raises(UpstreamError, match="not an archive"):
        response = getattr(box.factory(), method)(data, etag="")
        list(response.files())
    assert data.closed


def test_from_tar_archive_refuses_a_zip_and_from_zip_archive_a_tar(box: Sandbox) -> None:
    with pytest.raises(UpstreamError, match="zip"):
        box.factory().from_tar_archive(stream(fixture("normal.zip")), etag="")
    with pytest.raises(UpstreamError, match="not a zip"):
        box.factory().from_zip_archive(stream(fixture("normal.tar.gz")), etag="")


@pytest.mark.parametrize("name", ["empty.tar.gz"])
def test_empty_archives_are_empty_trees(box: Sandbox, name: str) -> None:
    assert list(box.factory().from_archive(stream(fixture(name)), etag="").files()) == []
    empty_zip = b"PK\x05\x06" + bytes(18)
    assert list(box.factory().from_archive(stream(empty_zip), etag="").files()) == []
    out = box.factory().from_archive(stream(fixture(name)), etag="").dir()
    assert list(out.iterdir()) == []


# --- streams ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("how", ["files", "dir", "archive"])
def test_the_input_stream_is_closed(box: Sandbox, kind: str, how: str) -> None:
    body = FakeStream(fixture("normal.tar.gz" if kind == "tar" else "normal.zip"), chunk=100)
    response = box.factory().from_archive(body, etag="")  # type: ignore[arg-type]
    result = getattr(response, how)()
    if how == "files":
        list(result)
    assert body.closed


def test_abandoning_files_closes_the_stream(box: Sandbox) -> None:
    data = mk.gz(mk.tar_bytes([mk.Member(f"top/f{i}", os.urandom(100_000)) for i in range(50)]))
    body = FakeStream(data, chunk=8192)
    iterator = box.factory().from_tar_archive(body, etag="").files()  # type: ignore[arg-type]
    next(iterator)
    iterator.close()  # type: ignore[attr-defined]
    assert body.closed


def test_large_archive_streams_with_bounded_reads(box: Sandbox) -> None:
    blobs = {f"big/{i}.bin": os.urandom(1024 * 1024) for i in range(10)}
    data = mk.gz(mk.tar_bytes([mk.Member(f"top/{p}", b) for p, b in blobs.items()]))
    files = box.factory().from_tar_archive(stream(data, chunk=50_000), etag="").files()
    digests = {f.path: hashlib.sha256(f.content()).hexdigest() for f in files}
    assert digests == {p: hashlib.sha256(b).hexdigest() for p, b in blobs.items()}
    out = box.factory().from_tar_archive(stream(data, chunk=50_000), etag="").dir()
    assert tree_of(out) == blobs
    zipped = mk.zip_bytes([mk.ZipMember(p, b) for p, b in blobs.items()])
    out = box.factory().from_zip_archive(stream(zipped), etag="").dir(box.target / "z")
    assert tree_of(out) == blobs


# --- from_files ------------------------------------------------------------------------


def entries() -> list[TreeEntry]:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    return [
        TreeEntry("docs/", lambda: io.BytesIO(b"")),
        TreeEntry("docs/a.md", lambda: io.BytesIO(b"# A\n"), when),
        TreeEntry("docs/sub/b.md", lambda: io.BytesIO(b"# B\n")),
        TreeEntry("big.bin", lambda: io.BytesIO(b"\x01" * (3 * 1024 * 1024))),
    ]


def test_from_files(box: Sandbox) -> None:
    response = box.factory().from_files(entries())
    assert response.etag == ""
    files = list(response.files())
    assert [f.path for f in files] == ["docs/a.md", "docs/sub/b.md", "big.bin"]
    assert files[0].content() == b"# A\n"
    assert files[0].last_modified_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert files[1].last_modified_at is None
    assert files[2].content() == b"\x01" * (3 * 1024 * 1024)
    out = box.factory().from_files(entries(), etag="abc").dir()
    assert tree_of(out)["docs/sub/b.md"] == b"# B\n"
    with tarfile.open(fileobj=box.factory().from_files(entries()).archive()) as tar:
        assert tar.getnames() == ["docs/a.md", "docs/sub/b.md", "big.bin"]


def test_from_files_applies_the_path_rules(box: Sandbox) -> None:
    from scmreader.errors import UnsafeArchiveError

    bad = [TreeEntry("../escape.txt", lambda: io.BytesIO(b"x"))]
    with pytest.raises(UnsafeArchiveError):
        box.factory().from_files(bad).dir(box.target)
    assert list(box.target.iterdir()) == []


# --- factory ---------------------------------------------------------------------------


def test_factory_defaults_and_repr(tmp_path: Path) -> None:
    factory = TreeResponseFactory()
    assert factory.limits == ArchiveLimits()
    assert factory.work_dir.is_dir()
    response = factory.from_archive(stream(fixture("normal.tar.gz")), etag="x")
    assert "x" in repr(response)
    list(response.files())


@pytest.mark.parametrize("field", ["max_entries", "max_total_bytes", "max_ratio"])
@pytest.mark.parametrize("value", [0, -1, True, "10"])
def test_limits_must_be_positive_numbers(field: str, value: Any) -> None:
    with pytest.raises(InputError, match=field):
        ArchiveLimits(**{field: value})


def test_a_folder_in_the_way_is_a_conflict_and_nothing_is_left(box: Sandbox) -> None:
    from scmreader.errors import ConflictError as Conflict

    (box.target / "keep.txt").write_text("mine\n")
    (box.target / "src").mkdir()
    (box.target / "src" / "app").write_text("a file where the tree has a folder\n")
    with pytest.raises(Conflict):
        normal(box).dir(box.target)
    assert tree_of(box.target) == {
        "keep.txt": b"mine\n",
        "src/app": b"a file where the tree has a folder\n",
    }
    assert sorted(os.listdir(box.target)) == ["keep.txt", "src"]


def test_absurd_mtimes_do_not_fail_the_tree(box: Sandbox) -> None:
    data = bytearray(mk.tar_bytes([mk.Member("top/f", b"x")], fmt=tarfile.GNU_FORMAT))
    data[136:148] = b"\x80" + (1 << 80).to_bytes(11, "big")
    data[148:156] = b"        "
    data[148:156] = b"%06o\x00 " % sum(data[:512])
    (only,) = box.factory().from_archive(stream(bytes(data)), etag="").files()
    assert only.content() == b"x"
    assert only.last_modified_at is None
    out = box.factory().from_archive(stream(bytes(data)), etag="").dir()
    assert tree_of(out) == {"f": b"x"}
    with tarfile.open(
        fileobj=box.factory().from_archive(stream(bytes(data)), etag="").archive()
    ) as tar:
        assert tar.getmember("f").mtime == 0


def test_checked_in_fixtures_match_their_generator() -> None:
    stale = [name for name, build in mk.fixtures().items() if build() != fixture(name)]
    assert stale == []
    assert fixture(mk.BOMB_NAME)[:2] == b"\x1f\x8b"


@pytest.mark.parametrize(
    "body",
    [os.urandom(4096), mk.gz(b"<html>" + b"x" * 2000 + b"</html>"), b"\x00" * 100 + b"junk" * 200],
    ids=["random", "gzipped-html", "zeros-then-junk"],
)
def test_non_tar_is_refused_before_anything_is_consumed(box: Sandbox, body: bytes) -> None:
    data = FakeStream(body)
    with pytest.raises(UpstreamError, match="not an archive"):
        box.factory().from_archive(data, etag="")  # type: ignore[arg-type]
    assert data.closed
