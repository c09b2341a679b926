"""The three ways to consume a selected tree: files(), dir() and archive()."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from scmreader.errors import (
    ArchiveLimitError,
    ConflictError,
    ScmReaderError,
    TargetWriteError,
    UnsafeArchiveError,
)
from scmreader.readers.tree._names import FILE, SYMLINK, describe
from scmreader.readers.tree._select import EntrySource, Mtime, Selected
from scmreader.readers.types import ReadTreeFile

IN_MEMORY_MAX = 1024 * 1024
_CHUNK = 1024 * 1024
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_BLOCK = 512


def to_datetime(mtime: Mtime) -> datetime | None:
    """An entry's mtime as an aware UTC datetime (``from_files`` datetimes as given)."""
    if mtime is None or isinstance(mtime, datetime):
        return mtime
    try:
        return datetime.fromtimestamp(mtime, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _timestamp(mtime: Mtime) -> float | None:
    if isinstance(mtime, datetime):
        return mtime.timestamp()
    return mtime


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# --- files() ---------------------------------------------------------------------------


class _Spool:
    """The contents of all files yielded by one ``files()`` call, appended to one buffer:
    in memory up to 1 MiB, then in an anonymous temporary file in the work dir. Memory
    stays bounded however many ReadTreeFile objects the caller keeps; the disk space is
    freed when the last of them (and the iteration) is gone."""

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self._memory: bytearray | None = bytearray()
        self._file: IO[bytes] | None = None
        self._fd = -1
        self.size = 0

    def _to_disk(self) -> None:
        assert self._memory is not None
        self._file = tempfile.TemporaryFile(dir=self._work_dir)  # noqa: SIM115 - outlives this call
        self._fd = self._file.fileno()
        _write_all(self._fd, bytes(self._memory))
        self._memory = None

    def append(self, source: EntrySource | None, size: int, data: bytes = b"") -> int:
        """Append ``size`` bytes (from ``source``, else ``data``); return their offset."""
        offset = self.size
        if self._memory is not None and offset + size > IN_MEMORY_MAX:
            self._to_disk()
        if self._memory is not None:
            self._memory += source.read_bytes(size) if source is not None else data
        elif source is not None:
            source.copy_to_fd(self._fd, size)
        else:
            _write_all(self._fd, data)
        self.size += size
        return offset

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``."""
        if self._memory is not None:
            return bytes(self._memory[offset : offset + size])
        parts = []
        end = offset + size
        while offset < end:
            part = os.pread(self._fd, end - offset, offset)
            if not part:
                break
            parts.append(part)
            offset += len(part)
        return b"".join(parts)


class _Content:
    """``content()`` of one yielded file: a slice of the spool."""

    __slots__ = ("_offset", "_size", "_spool")

    def __init__(self, spool: _Spool, offset: int, size: int) -> None:
        self._spool = spool
        self._offset = offset
        self._size = size

    def __call__(self) -> bytes:
        return self._spool.read(self._offset, self._size)


def iter_files(
    selected: Iterator[Selected], source: EntrySource, work_dir: Path
) -> Iterator[ReadTreeFile]:
    """Yield the selected files as they stream in (see :class:`_Spool` for the contents)."""
    spool = _Spool(work_dir)
    contents: dict[str, _Content] = {}
    for kind, path, size, _mode, mtime, link, _new in selected:
        if kind == FILE:
            content = _Content(spool, spool.append(source, size), size)
        elif kind == SYMLINK:
            data = link.encode("utf-8", "surrogateescape")
            content = _Content(spool, spool.append(None, len(data), data), len(data))
        else:
            content = contents[link]
        if kind != SYMLINK:
            contents[path] = content
        yield ReadTreeFile(path, content, to_datetime(mtime))


# --- dir() -----------------------------------------------------------------------------


def _write_error(exc: OSError, path: str) -> ScmReaderError:
    if exc.errno == errno.ENAMETOOLONG:
        return ArchiveLimitError(
            f"The archive entry {describe(path)} is too long a path for this file system."
        )
    if exc.errno in (errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.ENOTEMPTY):
        return ConflictError(
            f"The target folder already holds something at {describe(path)} that the tree "
            "cannot replace; extract into an empty folder."
        )
    return TargetWriteError(
        f"Could not write {describe(path)} into the target folder ({exc.strerror}); check its "
        "free space and permissions."
    )


class DirWriter:
    """Writes selected files under ``root`` as they stream in.

    ``owned``: the folder was created for this call, so it is removed whole on failure and
    files are written in place. Otherwise (a caller's existing folder) every file is
    written to a temporary name and renamed, existing folders are checked not to be
    symlinks, and on failure every file and folder this call created is removed again.
    """

    def __init__(self, root: Path, *, owned: bool) -> None:
        self._root = root
        self._owned = owned
        self._written: list[str] = []
        self._created: list[str] = []
        self._tmp: str | None = None
        self._token = os.urandom(4).hex()
        self._root_fd = -1

    def run(self, selected: Iterator[Selected], source: EntrySource) -> None:
        """Write everything; on failure undo what was written, then re-raise."""
        self._root_fd = os.open(self._root, _DIR_FLAGS)
        try:
            self._write_all(selected, source)
        except BaseException:
            if not self._owned:
                self._undo()
            raise
        finally:
            os.close(self._root_fd)

    def _write_all(self, selected: Iterator[Selected], source: EntrySource) -> None:
        root_fd = self._root_fd
        owned = self._owned
        mkdir = os.mkdir
        open_ = os.open
        close = os.close
        utime = os.utime
        copy = source.copy_to_fd
        path = ""
        for kind, path, size, mode, mtime, link, new_dirs in selected:
            try:
                for folder in new_dirs:
                    if owned:
                        mkdir(folder, 0o755, dir_fd=root_fd)
                    else:
                        self._mkdir(folder)
                perm = 0o755 if mode & 0o111 else 0o644
                name = path if owned else self._temp_name(path)
                fd = open_(name, _NEW_FILE, perm, dir_fd=root_fd)
                try:
                    if kind == FILE:
                        copy(fd, size)
                    elif kind == SYMLINK:
                        _write_all(fd, link.encode("utf-8", "surrogateescape"))
                    else:
                        self._copy_earlier(link, fd)
                    when = _timestamp(mtime)
                    if when is not None:
                        try:
                            utime(fd, (when, when))
                        except (OverflowError, ValueError):
                            pass  # an absurd mtime is not worth failing the tree for
                finally:
                    close(fd)
                if not owned:
                    os.rename(name, path, src_dir_fd=root_fd, dst_dir_fd=root_fd)
                    self._tmp = None
                    self._written.append(path)
            except OSError as exc:
                raise _write_error(exc, path) from None

    def _temp_name(self, path: str) -> str:
        cut = path.rfind("/") + 1
        name = f"{path[:cut]}.scmreader-{self._token}-{len(self._written)}.tmp"
        self._tmp = name
        return name

    def _mkdir(self, folder: str) -> None:
        try:
            os.mkdir(folder, 0o755, dir_fd=self._root_fd)
            self._created.append(folder)
        except FileExistsError:
            info = os.lstat(folder, dir_fd=self._root_fd)
            if stat.S_ISLNK(info.st_mode):
                raise UnsafeArchiveError(
                    f"The target folder has a symlink at {describe(folder)}; refusing to "
                    "write through it. Extract into an empty folder."
                ) from None
            if not stat.S_ISDIR(info.st_mode):
                raise ConflictError(
                    f"The target folder has a file at {describe(folder)} where the tree has a "
                    "folder; extract into an empty folder."
                ) from None

    def _copy_earlier(self, earlier: str, fd: int) -> None:
        src = os.open(earlier, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self._root_fd)
        try:
            while chunk := os.read(src, _CHUNK):
                _write_all(fd, chunk)
        finally:
            os.close(src)

    def _undo(self) -> None:
        fd = self._root_fd
        for name in ([self._tmp] if self._tmp else []) + self._written[::-1]:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=fd)
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                os.rmdir(folder, dir_fd=fd)


# --- archive() -------------------------------------------------------------------------


def write_archive(selected: Iterator[Selected], source: EntrySource, out: IO[bytes]) -> None:
    """Write the selected files as an uncompressed pax tar to ``out`` (paths relative to
    the tree root; regular files only, mode 0644/0755, owner 0). A failed write (disk
    full...) raises TargetWriteError naming the entry."""
    import tarfile  # only archive() needs it, and only for headers

    fd = out.fileno()
    offset = 0
    data_at: dict[str, int] = {}
    path = ""
    try:
        for kind, path, size, mode, mtime, link, _new in selected:
            info = tarfile.TarInfo(path)
            info.size = size
            info.mode = 0o755 if mode & 0o111 else 0o644
            when = _timestamp(mtime)
            info.mtime = int(when) if when is not None and 0 <= when < 8**11 else 0
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            _write_all(fd, header)
            offset += len(header)
            if kind == FILE:
                source.copy_to_fd(fd, size)
            elif kind == SYMLINK:
                _write_all(fd, link.encode("utf-8", "surrogateescape"))
            else:
                start = data_at[link]
                copied = 0
                while copied < size:
                    chunk = os.pread(fd, min(_CHUNK, size - copied), start + copied)
                    _write_all(fd, chunk)
                    copied += len(chunk)
            data_at[path] = offset
            pad = -size % _BLOCK
            _write_all(fd, bytes(pad))
            offset += size + pad
        _write_all(fd, bytes(2 * _BLOCK))
    except OSError as exc:
        where = f"{describe(path)} into " if path else ""
        raise TargetWriteError(
            f"Could not write {where}the archive in the work dir ({exc.strerror}); check the "
            "work dir's free space and permissions, or pass another work_dir."
        ) from None
