"""Tree responses and the factory that makes them from archives or file lists."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from scmreader.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    ScmReaderError,
    TargetWriteError,
    UpstreamError,
)
from scmreader.readers.tree._chunks import GZIP_MAGIC, ChunkPipe, inflate_start, read_prefix
from scmreader.readers.tree._files import FilesSource, TreeEntry
from scmreader.readers.tree._limits import ArchiveLimits
from scmreader.readers.tree._names import normalize_subpath
from scmreader.readers.tree._output import DirWriter, iter_files, write_archive
from scmreader.readers.tree._select import EntrySource, RawEntry, Selection
from scmreader.readers.tree._tar import TarSource, looks_like_tar
from scmreader.readers.types import (
    FileInfo,
    ReadTreeFile,
    ReadTreeResponse,
    TreeFilter,
    UrlReaderService,
)
from scmreader.redact import redact_url

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_SNIFF = 4096


def _sniff(prefix: bytes) -> str:
    """'gzip', 'zip' or 'tar' from the first bytes; UpstreamError for anything else."""
    if not prefix:
        raise UpstreamError(
            "The host sent an empty response where an archive was expected (not an archive)."
        )
    if prefix[:2] == GZIP_MAGIC:
        return "gzip"
    if prefix[:4] in _ZIP_MAGICS:
        return "zip"
    if prefix[257:262] == b"ustar":
        return "tar"
    head = prefix.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body", b"<")):
        raise UpstreamError(
            "The host sent an HTML page where an archive was expected (not an archive); "
            "this is usually a login, proxy or error page. Check the URL and the credentials."
        )
    if head.startswith((b"{", b"[")):
        raise UpstreamError(
            "The host sent JSON where an archive was expected (not an archive); check the URL "
            "and the credentials."
        )
    return "tar"


def _check_tar_start(start: bytes) -> None:
    """Refuse early what cannot be a tar (a full first block that is no tar header); a
    short or undecodable start is left for the reader to judge."""
    if len(start) >= 512 and not looks_like_tar(start):
        raise UpstreamError(
            "The host sent something that is not an archive (not an archive: no tar header "
            "where one was expected); check the URL and the credentials."
        )


class _Watch:
    """Counts, while a tree is consumed, the archive's entries and those inside the
    requested sub-path (before the caller's filter): entries but none inside means the
    sub-path does not exist (or names a file)."""

    __slots__ = ("entries", "inside", "subpath")

    def __init__(self, subpath: str) -> None:
        self.subpath = subpath
        self.entries = 0
        self.inside = 0

    def filter(self, keep: TreeFilter | None) -> TreeFilter:
        """``keep`` wrapped so that every entry inside the sub-path is counted."""

        def counted(path: str, info: FileInfo) -> bool:
            self.inside += 1
            return keep is None or keep(path, info)

        return counted

    def source(self, source: EntrySource) -> EntrySource:
        """``source`` with its entries counted."""
        return _CountedSource(source, self)


class _CountedSource:
    """An EntrySource that counts the entries it yields into a :class:`_Watch`."""

    def __init__(self, source: EntrySource, watch: _Watch) -> None:
        self._source = source
        self._watch = watch
        self.copy_to_fd = source.copy_to_fd
        self.read_bytes = source.read_bytes
        self.close = source.close

    def entries(self) -> Iterator[RawEntry]:
        watch = self._watch
        for entry in self._source.entries():
            watch.entries += 1
            yield entry


class MissingTree(Protocol):
    """Makes the error raised when a tree has entries but none at the requested path."""

    def __call__(self) -> ScmReaderError: ...


class ArchiveTreeResponse(ReadTreeResponse):
    """A tree read from an archive or a file list. Consume it once: ``files()``,
    ``dir()`` or ``archive()``; a second call raises ConflictError."""

    def __init__(
        self,
        open_source: Callable[[], EntrySource],
        selection: Selection,
        *,
        etag: str,
        work_dir: Path,
        discard: Callable[[], None] | None = None,
        watch: _Watch | None = None,
    ) -> None:
        self.etag = etag
        #: Called when the archive has entries but none at the requested path; readers
        #: (``UrlReaders.read_tree``) set it to name the URL. None: a NotFoundError naming
        #: the sub-path when there is one, else an empty tree.
        self.on_missing: MissingTree | None = None
        self._watch = watch
        self._open_source = open_source
        self._discard = discard
        self._selection = selection
        self._work_dir = work_dir
        self._used = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(etag={self.etag!r})"

    def _claim(self) -> None:
        if self._used:
            raise ConflictError("Response has already been read")
        self._used = True

    def _source(self) -> EntrySource:
        source = self._open_source()
        return source if self._watch is None else self._watch.source(source)

    def _check_found(self) -> None:
        """NotFoundError (or what ``on_missing`` makes) when the archive had entries but
        none inside the requested path: a wrong path, or the path of a file."""
        watch = self._watch
        if watch is None or watch.inside or not watch.entries:
            return
        if self.on_missing is not None:
            raise self.on_missing()
        if watch.subpath:
            raise NotFoundError(
                f"The tree has no files at {watch.subpath.rstrip('/')!r}: no such folder at "
                "that ref. Check the path and the branch in the URL."
            )

    def files(self) -> Iterator[ReadTreeFile]:
        """Yield the files as the archive streams (archive order). Paths are relative to
        the tree root; ``last_modified_at`` is the entry's mtime (UTC) for tar and zip."""
        self._claim()
        return self._files()

    def _files(self) -> Iterator[ReadTreeFile]:
        source = self._source()
        try:
            yield from iter_files(self._selection.select(source), source, self._work_dir)
        finally:
            source.close()
        self._check_found()

    def dir(self, target_dir: str | os.PathLike[str] | None = None) -> Path:
        """Write the tree into ``target_dir`` (created when missing) or a fresh
        ``scmreader-*`` folder in the work dir, while it downloads; return the folder.

        On failure a folder this call created is removed; an existing ``target_dir`` is
        left in place with nothing from this archive in it (an empty one is emptied again;
        in a non-empty one each file was written to a temporary name and renamed, and the
        files this call wrote are removed; files it replaced are not restored).

        Files get mode 0644, or 0755 when the archive marks them executable, and the
        archive's mtime. Links become regular files (see :class:`TreeResponseFactory`);
        folders are created only to hold files.
        """
        self._claim()
        try:
            if target_dir is None:
                target = _make_temp_dir(self._work_dir)
                remove: Path | None = target
            else:
                target = Path(target_dir)
                remove = _make_target(target)
        except BaseException:
            if self._discard is not None:
                self._discard()
            raise
        # A folder that is new or empty holds only what this call writes: files go in
        # place and a failure empties it. Otherwise files are written under temporary
        # names and renamed, and a failure removes exactly what this call wrote.
        ours = remove is not None or _is_empty(target)
        try:
            source = self._source()
            try:
                DirWriter(target, owned=ours).run(self._selection.select(source), source)
            finally:
                source.close()
            self._check_found()
        except BaseException:
            if remove is not None:
                shutil.rmtree(remove, ignore_errors=True)
            elif ours:
                _empty(target)
            raise
        return target

    def archive(self) -> BinaryIO:
        """An uncompressed tar of the selected files, paths relative to the tree root,
        built in an anonymous temporary file in the work dir (not in memory)."""
        self._claim()
        try:
            out = tempfile.TemporaryFile(dir=self._work_dir)  # noqa: SIM115 - outlives this call
        except OSError as exc:
            if self._discard is not None:
                self._discard()
            raise _work_dir_error(self._work_dir, "a temporary file", exc) from None
        try:
            source = self._source()
            try:
                write_archive(self._selection.select(source), source, out)
            finally:
                source.close()
            self._check_found()
            out.seek(0)
        except BaseException:
            out.close()
            raise
        return out


def missing_tree_error(reader: UrlReaderService, url: str, token: str | None) -> ScmReaderError:
    """The error for a tree URL whose path holds no files: an InputError suggesting
    ``read_url`` when ``reader`` reads the URL as a file, else a NotFoundError naming it.
    Costs one request, made only in that failure case."""
    shown = redact_url(url)
    try:
        reader.read_url(url, token=token).stream().close()
    except ScmReaderError:
        return NotFoundError(
            f"{shown} names no folder: the path does not exist at that ref. Check the path "
            "and the branch in the URL."
        )
    return InputError(
        f"{shown} is a file, not a folder: read it with read_url() ('scmreader read URL'), "
        "or give read_tree the URL of the folder that holds it."
    )


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def _empty(folder: Path) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)


def _make_target(target: Path) -> Path | None:
    """Create ``target`` if missing; return the top-most folder created (to remove on
    failure), or None when it already existed."""
    if target.is_dir():
        return None
    if target.exists() or target.is_symlink():
        raise InputError(f"target_dir {str(target)!r} exists and is not a folder")
    top = target
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    try:
        target.mkdir(parents=True)
    except OSError as exc:
        raise TargetWriteError(
            f"Cannot create the target folder {str(target)!r} ({exc.strerror}); check that "
            "the folders above it are folders (not files) and writable and that the disk has "
            "space, or choose another target."
        ) from None
    return top


def _make_temp_dir(work_dir: Path) -> Path:
    """A fresh ``scmreader-*`` folder in the work dir."""
    try:
        return Path(tempfile.mkdtemp(prefix="scmreader-", dir=work_dir))
    except OSError as exc:
        raise _work_dir_error(work_dir, "a temporary folder", exc) from None


def _work_dir_error(work_dir: Path, what: str, exc: OSError) -> TargetWriteError:
    return TargetWriteError(
        f"Cannot create {what} in the work dir {str(work_dir)!r} ({exc.strerror}); check its "
        "free space and permissions, or pass another work_dir."
    )


def files_response(
    entries: Iterable[TreeEntry], *, etag: str, work_dir: Path, limits: ArchiveLimits
) -> ReadTreeResponse:
    """The response of :meth:`TreeResponseFactory.from_files`."""

    def open_source() -> EntrySource:
        return FilesSource(entries, work_dir=work_dir, limits=limits)

    watch = _Watch("")
    return ArchiveTreeResponse(
        open_source,
        _selection(limits, None, False, watch),
        etag=etag,
        work_dir=work_dir,
        watch=watch,
    )


def stream_response(
    stream: BinaryIO,
    *,
    etag: str,
    subpath: str | None,
    filter: TreeFilter | None,
    strip: bool | None,
    expected: str | None,
    work_dir: Path,
    limits: ArchiveLimits,
) -> ReadTreeResponse:
    """The response of :meth:`TreeResponseFactory.from_archive` and its kin: the archive
    kind is told from the first bytes (``expected`` 'tar' or 'zip' narrows it)."""
    try:
        expect = getattr(stream, "expect", None)
        if callable(expect):  # scmreader.http's body stream: the archive size cap
            expect("archive")
        prefix = read_prefix(stream, _SNIFF)
        kind = _sniff(prefix)
        if expected == "tar" and kind == "zip":
            raise UpstreamError(
                "The host sent a zip archive where a tar archive was expected; use "
                "from_zip_archive() or from_archive()."
            )
        if expected == "zip" and kind != "zip":
            raise UpstreamError(
                "The host sent something that is not a zip archive (not an archive); "
                "check the URL and the credentials."
            )
        if kind != "zip":
            _check_tar_start(prefix if kind == "tar" else inflate_start(prefix, 512))
        if strip is None:
            strip = kind != "zip"
        watch = _Watch(normalize_subpath(subpath))
        selection = _selection(limits, filter, strip, watch)
    except BaseException:
        with contextlib.suppress(Exception):
            stream.close()
        raise

    def open_source() -> EntrySource:
        if kind == "zip":
            from scmreader.readers.tree._zip import ZipSource

            return ZipSource(stream, prefix, work_dir=work_dir, limits=limits)
        pipe = ChunkPipe(stream, prefix, gzip=kind == "gzip", limits=limits)
        return TarSource(pipe, limits)

    def discard() -> None:
        with contextlib.suppress(Exception):
            stream.close()

    return ArchiveTreeResponse(
        open_source, selection, etag=etag, work_dir=work_dir, discard=discard, watch=watch
    )


def _selection(
    limits: ArchiveLimits, filter: TreeFilter | None, strip: bool, watch: _Watch
) -> Selection:
    return Selection(
        limits=limits,
        strip_first_directory=strip,
        subpath=watch.subpath,
        filter=watch.filter(filter),
    )
