"""Zip archives: spooled to an anonymous temporary file (zip needs random access), checked
as a whole (entry count, sizes, ratio, overlapping entries, encryption, methods), then read
entry by entry with ``zipfile``."""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, BinaryIO

from scmreader.errors import ArchiveLimitError, UnsafeArchiveError
from scmreader.readers.tree._limits import ArchiveLimits
from scmreader.readers.tree._names import DIR, FILE, SYMLINK, describe
from scmreader.readers.tree._select import RawEntry

_CHUNK = 1024 * 1024
_SUPPORTED_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_LOCAL_MAGIC = b"PK\x03\x04"
# signature, (versions, flags, method, time, date, crc, sizes, 20 bytes), name, extra and
# comment lengths, (disk, attributes, offset, 12 bytes)
_CD_HEADER = struct.Struct("<4s24xHHH12x")
_CD_MAGIC = b"PK\x01\x02"
_EXTENDED_TIMESTAMP = 0x5455
_SPECIAL = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError)


def _too_many(count: int, limit: int) -> ArchiveLimitError:
    return ArchiveLimitError(
        f"The zip archive has {count} entries or more, more than {limit}; raise "
        "ArchiveLimits.max_entries if this is expected."
    )


def _corrupt(detail: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"The zip archive is corrupt ({detail}); the download was damaged or the host sent "
        "something else. Try again."
    )


def _mtime(info: zipfile.ZipInfo) -> float:
    """The entry's mtime: the extended-timestamp (UT) field when present, else the DOS time
    read as UTC (DOS times carry no zone; UTC keeps the result independent of the host)."""
    extra = info.extra
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == _EXTENDED_TIMESTAMP and len(body) >= 5 and body[0] & 1:
            return float(struct.unpack_from("<i", body, 1)[0])
        pos += 4 + size
    try:
        return datetime(*info.date_time, tzinfo=UTC).timestamp()
    except ValueError:
        return 315532800.0  # 1980-01-01, the DOS epoch


class ZipSource:
    """Entries of a zip archive read from ``stream``."""

    def __init__(
        self, stream: BinaryIO, prefix: bytes, *, work_dir: Path, limits: ArchiveLimits
    ) -> None:
        self._stream = stream
        self._prefix = prefix
        self._work_dir = work_dir
        self._limits = limits
        self._spool: IO[bytes] | None = None
        self._zip: zipfile.ZipFile | None = None
        self._info: zipfile.ZipInfo | None = None
        self._reader: IO[bytes] | None = None
        self._read = 0

    def close(self) -> None:
        """Close the input, the zip and its spool file (which has no name on disk)."""
        with contextlib.suppress(Exception):
            self._stream.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                self._reader.close()
        if self._zip is not None:
            self._zip.close()
        if self._spool is not None:
            self._spool.close()

    def _spool_input(self) -> IO[bytes]:
        spool = tempfile.TemporaryFile(dir=self._work_dir)  # noqa: SIM115 - outlives this call
        self._spool = spool
        cap = self._limits.max_total_bytes
        size = len(self._prefix)
        spool.write(self._prefix)
        try:
            while True:
                chunk = self._stream.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise ArchiveLimitError(
                        f"The zip archive is larger than {cap} bytes; raise "
                        "ArchiveLimits.max_total_bytes if this is expected."
                    )
                spool.write(chunk)
        finally:
            with contextlib.suppress(Exception):
                self._stream.close()
        spool.flush()
        return spool

    def _count_directory(self, spool: IO[bytes]) -> None:
        """Count the central directory's entries before ``zipfile`` loads it: the
        end-of-central-directory record's count first, then the records themselves
        (``zipfile`` reads as many as the directory's size holds, whatever the count
        says), stopping as soon as ``max_entries`` is passed."""
        limit = self._limits.max_entries
        try:
            end = zipfile._EndRecData(spool)  # type: ignore[attr-defined]
        except OSError as exc:
            raise _corrupt(str(exc)) from None
        if not end:
            raise _corrupt("no end-of-central-directory record")
        declared, cd_size = end[4], end[5]
        if declared > limit:
            raise _too_many(declared, limit)
        start = end[9] - cd_size  # where zipfile starts reading the directory
        if end[0] == zipfile.stringEndArchive64:  # type: ignore[attr-defined]
            start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator  # type: ignore[attr-defined]
        if start < 0:
            raise _corrupt("the central directory's size is larger than the archive")
        spool.seek(start)
        count = pos = 0
        buf = b""
        while cd_size >= _CD_HEADER.size:
            if len(buf) - pos < _CD_HEADER.size:
                buf = buf[pos:] + spool.read(_CHUNK)
                pos = 0
                if len(buf) < _CD_HEADER.size:
                    break  # zipfile reports the damage
            magic, name_len, extra_len, comment_len = _CD_HEADER.unpack_from(buf, pos)
            if magic != _CD_MAGIC:
                break
            count += 1
            if count > limit:
                raise _too_many(count, limit)
            step = _CD_HEADER.size + name_len + extra_len + comment_len
            cd_size -= step
            pos += step
            if pos > len(buf):
                spool.seek(pos - len(buf), os.SEEK_CUR)
                buf, pos = b"", 0
        spool.seek(0)

    def _open(self) -> list[zipfile.ZipInfo]:
        spool = self._spool_input()
        archive_size = getattr(self._stream, "wire_bytes", 0) or spool.tell()
        self._count_directory(spool)
        try:
            self._zip = zipfile.ZipFile(spool)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
            raise _corrupt(str(exc)) from None
        except UnicodeDecodeError:
            raise _corrupt("an entry name is not valid UTF-8") from None
        limits = self._limits
        if len(infos) > limits.max_entries:
            raise ArchiveLimitError(
                f"The zip archive has {len(infos)} entries, more than {limits.max_entries}; "
                "raise ArchiveLimits.max_entries if this is expected."
            )
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_bytes:
            raise ArchiveLimitError(
                f"The zip archive unpacks to {total} bytes, more than "
                f"{limits.max_total_bytes}; raise ArchiveLimits.max_total_bytes if expected."
            )
        if total > limits.ratio_threshold and total > limits.max_ratio * max(archive_size, 1):
            raise ArchiveLimitError(
                f"The zip archive unpacks to more than {limits.max_ratio:g} times its size "
                f"({total} bytes from {archive_size}); refusing a likely decompression bomb."
            )
        for info in infos:
            if info.flag_bits & 0x1:
                raise UnsafeArchiveError(
                    f"The zip entry {describe(info.orig_filename)} is encrypted; encrypted "
                    "archives are not supported."
                )
            if info.compress_type not in _SUPPORTED_METHODS:
                raise UnsafeArchiveError(
                    f"The zip entry {describe(info.orig_filename)} uses compression method "
                    f"{info.compress_type}, which is not supported (only stored and deflate)."
                )
        self._check_overlaps(spool, infos, self._zip.start_dir)
        return infos

    @staticmethod
    def _check_overlaps(spool: IO[bytes], infos: list[zipfile.ZipInfo], end: int) -> None:
        """Refuse entries whose data overlap (the "quoted overlap" bomb, CVE-2024-0450)."""
        fd = spool.fileno()
        previous_end = 0
        previous = ""
        for info in sorted(infos, key=lambda i: i.header_offset):
            offset = info.header_offset
            if offset < previous_end:
                raise UnsafeArchiveError(
                    f"The zip entries {describe(previous)} and {describe(info.orig_filename)} "
                    "overlap; refusing a likely zip bomb."
                )
            header = os.pread(fd, _LOCAL_HEADER.size, offset)
            if len(header) < _LOCAL_HEADER.size:
                raise _corrupt(f"local header of {describe(info.orig_filename)} is cut off")
            magic, name_len, extra_len = _LOCAL_HEADER.unpack(header)
            if magic != _LOCAL_MAGIC:
                raise _corrupt(f"bad local header of {describe(info.orig_filename)}")
            previous_end = offset + _LOCAL_HEADER.size + name_len + extra_len + info.compress_size
            previous = info.orig_filename
        if previous_end > end:
            raise UnsafeArchiveError(
                f"The zip entry {describe(previous)} overlaps the central directory; refusing "
                "a malformed archive."
            )

    def entries(self) -> Iterator[RawEntry]:
        """Yield every entry in central-directory order."""
        for info in self._open():
            self._close_reader()
            self._info = info
            self._read = 0
            name = info.orig_filename
            mode = (info.external_attr >> 16) & 0xFFFF
            fmt = stat.S_IFMT(mode)
            link = ""
            if name.endswith("/") or fmt == stat.S_IFDIR:
                kind = DIR
            elif fmt == stat.S_IFLNK:
                kind = SYMLINK
                link = self._link_text(info)
            elif fmt in _SPECIAL:
                raise UnsafeArchiveError(
                    f"The archive entry {describe(name)} is {_SPECIAL[fmt]}; only files, folders "
                    "and links can be extracted. The archive is hostile."
                )
            else:
                kind = FILE
            yield kind, name, info.file_size, mode, _mtime(info), link
        self._close_reader()

    def _link_text(self, info: zipfile.ZipInfo) -> str:
        if info.file_size > self._limits.max_name_length:
            raise ArchiveLimitError(
                f"The zip symlink {describe(info.orig_filename)} has a {info.file_size}-byte "
                "target, longer than any valid path."
            )
        data = self.read_bytes(info.file_size)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise UnsafeArchiveError(
                f"The zip symlink {describe(info.orig_filename)} has a target that is not "
                "valid UTF-8."
            ) from None

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _chunks(self, size: int) -> Iterator[bytes]:
        info = self._info
        assert info is not None and self._zip is not None
        try:
            if self._reader is None:
                self._reader = self._zip.open(info)
            while size:
                chunk = self._reader.read(min(size, _CHUNK))
                if not chunk:
                    raise _corrupt(f"{describe(info.orig_filename)} is shorter than declared")
                size -= len(chunk)
                self._read += len(chunk)
                yield chunk
        except _READ_ERRORS as exc:
            raise _corrupt(f"cannot read {describe(info.orig_filename)}: {exc}") from None

    def copy_to_fd(self, fd: int, size: int) -> None:
        """Write the next ``size`` bytes of the current entry to ``fd``."""
        for chunk in self._chunks(size):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]

    def read_bytes(self, size: int) -> bytes:
        """The next ``size`` bytes of the current entry."""
        return b"".join(self._chunks(size))
