"""A lean streaming tar reader: ustar, GNU and pax, 512-byte blocks, no ``tarfile``.

Headers are decoded with one ``struct.unpack_from`` straight out of the inflated chunk;
file data is handed to the caller as memoryview slices of the same chunk, so a file is
written with no copy in between.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator

from scmreader.errors import ArchiveLimitError, UnsafeArchiveError, UpstreamError
from scmreader.readers.tree._chunks import ChunkPipe
from scmreader.readers.tree._limits import ArchiveLimits
from scmreader.readers.tree._names import DIR, FILE, HARDLINK, SYMLINK, describe
from scmreader.readers.tree._select import RawEntry

# name, mode, (uid, gid), size, mtime, chksum, typeflag, linkname, magic, (version, uname,
# gname, devmajor, devminor), prefix, (pad)
_HEADER = struct.Struct("100s8s16x12s12s8sc100s6s2x64x16x155s12x")
_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_EMPTY_CHKSUM = bytes(8)
_POSIX_MAGIC = b"ustar\x00"
_REGULAR = (b"0", b"\x00", b"7")
_META = (b"x", b"g", b"L", b"K")
_ADLER_MOD = 65521
_CHKSUM_BLANK = 8 * 0x20


def _num(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the top bit is set."""
    if field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        if field[0] == 0xFF:
            value -= 1 << (8 * (len(field) - 1))
        return value
    text = field.split(b"\x00", 1)[0].strip()
    return int(text, 8) if text else 0


def _octal(field: bytes, digits: int) -> int:
    """``_num`` for the usual layout (``digits`` octal digits, then NUL or space), faster."""
    if field[digits] in (0, 32):
        try:
            return int(field[:digits], 8)
        except ValueError:
            pass
    return _num(field)


def _checksum_ok(view: memoryview, off: int, chksum: bytes) -> bool:
    try:
        stored = _octal(chksum, 6)
    except ValueError:
        return False
    # The unsigned byte sum, taken from adler32 (A = 1 + sum mod 65521): far cheaper than
    # summing 512 bytes in Python, exact except for sums 65521 apart.
    total = (zlib.adler32(view[off : off + _BLOCK]) & 0xFFFF) - 1
    unsigned = total - sum(chksum) + _CHKSUM_BLANK
    if (unsigned - stored) % _ADLER_MOD == 0:
        return True
    # Some old writers used a signed sum.
    block = bytes(view[off : off + _BLOCK])
    signed = sum(b - 256 if b > 127 else b for b in block[:148] + block[156:]) + _CHKSUM_BLANK
    return signed == stored


def looks_like_tar(block: bytes) -> bool:
    """Whether a 512-byte block is a tar header (valid checksum) or the end marker."""
    if len(block) < _BLOCK:
        return False
    if block[:_BLOCK] == _ZERO_BLOCK:
        return True
    return _checksum_ok(memoryview(block), 0, block[148:156])


def _truncated() -> UnsafeArchiveError:
    return UnsafeArchiveError(
        "The tar archive ended in the middle of an entry (truncated); the download was cut "
        "off or the archive is corrupt. Try again."
    )


def _parse_pax(data: bytes, into: dict[str, bytes]) -> None:
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] == 0:
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        record_end = pos + length
        if length <= 0 or record_end > end or data[record_end - 1] != 0x0A:
            raise UnsafeArchiveError(
                "The tar archive has a corrupt pax extended header; the archive is damaged."
            )
        key, eq, value = data[space + 1 : record_end - 1].partition(b"=")
        if not eq:
            raise UnsafeArchiveError(
                "The tar archive has a corrupt pax extended header; the archive is damaged."
            )
        into[key.decode("utf-8", "replace")] = value
        pos = record_end


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafeArchiveError(
            f"The tar archive has an entry whose {what} is not valid UTF-8 "
            f"({describe(raw.decode('utf-8', 'backslashreplace'))}); refusing to guess its "
            "encoding."
        ) from None


class TarSource:
    """Entries of a tar stream. Iterate ``entries()``; while positioned on an entry,
    ``copy_to_fd``/``read_bytes`` consume its data (unread data is skipped)."""

    def __init__(self, pipe: ChunkPipe, limits: ArchiveLimits) -> None:
        self._pipe = pipe
        self._limits = limits
        self._buf = b""
        self._view = memoryview(self._buf)
        self._pos = 0
        self._left = 0  # data bytes of the current entry not consumed yet
        self._pad = 0  # padding after the current entry's data
        self.total = 0  # declared bytes of entries and meta records so far

    def close(self) -> None:
        """Stop reading; the input stream is closed."""
        self._pipe.close()

    # --- low-level reading -----------------------------------------------------------

    def _fill(self) -> bool:
        chunk = self._pipe.get()
        if not chunk:
            return False
        self._buf = chunk
        self._view = memoryview(chunk)
        self._pos = 0
        return True

    def _take(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end <= len(self._buf):
            self._pos = end
            return self._buf[pos:end]
        parts = [self._buf[pos:]]
        need = n - len(parts[0])
        while need:
            if not self._fill():
                raise _truncated()
            piece = self._buf[:need]
            parts.append(piece)
            self._pos = len(piece)
            need -= len(piece)
        return b"".join(parts)

    def _skip(self, n: int) -> None:
        while n:
            avail = len(self._buf) - self._pos
            if avail >= n:
                self._pos += n
                return
            n -= avail
            self._pos = len(self._buf)
            if not self._fill():
                raise _truncated()

    def copy_to_fd(self, fd: int, size: int) -> None:
        """Write the next ``size`` data bytes of the current entry to ``fd``."""
        if size > self._left:
            raise ValueError("copy_to_fd past the end of the entry")
        self._left -= size
        write = os.write
        while size:
            pos = self._pos
            avail = len(self._buf) - pos
            if not avail:
                if not self._fill():
                    raise _truncated()
                continue
            n = avail if avail < size else size
            view = self._view[pos : pos + n]
            while view:
                view = view[write(fd, view) :]
            self._pos = pos + n
            size -= n

    def read_bytes(self, size: int) -> bytes:
        """The next ``size`` data bytes of the current entry."""
        if size > self._left:
            raise ValueError("read_bytes past the end of the entry")
        self._left -= size
        return self._take(size)

    # --- entries ---------------------------------------------------------------------

    def _header(self, first: bool) -> tuple[memoryview, int]:
        pos = self._pos
        if len(self._buf) - pos >= _BLOCK:
            self._pos = pos + _BLOCK
            return self._view, pos
        if pos == len(self._buf) and not self._fill():
            if first:
                raise UpstreamError(
                    "The host sent an empty response where a tar archive was expected "
                    "(not an archive)."
                )
            raise UnsafeArchiveError(
                "The tar archive ended without its end-of-archive marker (truncated); the "
                "download was cut off. Try again."
            )
        if len(self._buf) - self._pos >= _BLOCK:
            return self._header(first)
        try:
            block = self._take(_BLOCK)
        except UnsafeArchiveError:
            if first:
                raise _not_tar() from None
            raise
        return memoryview(block), 0

    def entries(self) -> Iterator[RawEntry]:
        """Yield ``(kind, name, size, mode, mtime, link)`` for each entry, in order."""
        limits = self._limits
        max_total = limits.max_total_bytes
        max_meta = limits.max_header_bytes
        unpack = _HEADER.unpack_from
        first = True
        meta_records = 0
        long_name: bytes | None = None
        long_link: bytes | None = None
        pax: dict[str, bytes] | None = None
        last_name = ""
        while True:
            skip = self._left + self._pad
            if skip:
                self._left = self._pad = 0
                self._skip(skip)
            view, off = self._header(first)
            name_b, mode_b, size_b, mtime_b, chk_b, type_b, link_b, magic, prefix_b = unpack(
                view, off
            )
            if chk_b == _EMPTY_CHKSUM and view[off : off + _BLOCK] == _ZERO_BLOCK:
                self._finish()
                return
            if not _checksum_ok(view, off, chk_b):
                if first:
                    raise _not_tar()
                raise UnsafeArchiveError(
                    f"The tar archive has a corrupt header (checksum mismatch) after "
                    f"{describe(last_name)}; the archive is damaged."
                )
            first = False
            try:
                size = _octal(size_b, 11)
                mode = _octal(mode_b, 7)
                mtime: float = _octal(mtime_b, 11)
            except ValueError:
                raise UnsafeArchiveError(
                    f"The tar archive has a corrupt header after {describe(last_name)}."
                ) from None
            if size < 0:
                raise UnsafeArchiveError("The tar archive has an entry with a negative size.")
            if type_b in _META:
                meta_records += 1
                if meta_records > limits.max_entries:
                    raise ArchiveLimitError(
                        f"The tar archive has more than {limits.max_entries} extended header "
                        "records; raise ArchiveLimits.max_entries if this is expected."
                    )
                if size > max_meta:
                    raise ArchiveLimitError(
                        f"The tar archive has a {size}-byte extended header record, over the "
                        f"limit of {max_meta}; the archive is hostile or broken."
                    )
                self.total += size
                data = self._take(size)
                self._pad = -size % _BLOCK
                if type_b == b"x":
                    if pax is None:
                        pax = {}
                    _parse_pax(data, pax)
                elif type_b == b"L":
                    long_name = data.split(b"\x00", 1)[0]
                elif type_b == b"K":
                    long_link = data.split(b"\x00", 1)[0]
                # Global pax headers (git's commit id comment) carry nothing we use.
                continue
            if long_name is not None:
                raw_name = long_name
            else:
                raw_name = name_b.split(b"\x00", 1)[0]
                if magic == _POSIX_MAGIC and prefix_b[0]:
                    raw_name = prefix_b.split(b"\x00", 1)[0] + b"/" + raw_name
            raw_link = long_link if long_link is not None else link_b.split(b"\x00", 1)[0]
            if pax is not None:
                raw_name = pax.get("path", raw_name)
                raw_link = pax.get("linkpath", raw_link)
                size, mtime = self._apply_pax(pax, size, mtime)
            long_name = long_link = pax = None
            name = _text(raw_name, "name")
            last_name = name
            if type_b in _REGULAR:
                kind = DIR if name[-1:] == "/" and type_b != b"7" else FILE
            elif type_b == b"5":
                kind = DIR
            elif type_b == b"2":
                kind = SYMLINK
            elif type_b == b"1":
                kind = HARDLINK
            elif type_b == b"V":
                # A volume label: no file, but counted like every other entry and record.
                meta_records += 1
                if meta_records > limits.max_entries:
                    raise ArchiveLimitError(
                        f"The tar archive has more than {limits.max_entries} volume and "
                        "extended header records; the archive is hostile or broken."
                    )
                self.total += size
                if self.total > max_total:
                    raise ArchiveLimitError(
                        f"The tar archive holds more than {max_total} bytes (at a volume "
                        "label); raise ArchiveLimits.max_total_bytes if this is expected."
                    )
                self._left = size
                self._pad = -size % _BLOCK
                continue
            else:
                raise _special(type_b, name)
            self.total += size
            if self.total > max_total:
                raise ArchiveLimitError(
                    f"The tar archive holds more than {max_total} bytes (at {describe(name)}); "
                    "raise ArchiveLimits.max_total_bytes if this is expected."
                )
            self._left = size
            self._pad = -size % _BLOCK
            link = _text(raw_link, "link target") if kind >= SYMLINK else ""
            yield kind, name, size, mode, mtime, link

    @staticmethod
    def _apply_pax(pax: dict[str, bytes], size: int, mtime: float) -> tuple[int, float]:
        if any(key.startswith("GNU.sparse") for key in pax):
            raise UnsafeArchiveError(
                "The tar archive has a sparse file, which is not supported; re-create the "
                "archive without --sparse."
            )
        try:
            if "size" in pax:
                size = int(pax["size"])
            if "mtime" in pax:
                mtime = float(pax["mtime"])
        except ValueError:
            raise UnsafeArchiveError(
                "The tar archive has a corrupt pax extended header (size or mtime)."
            ) from None
        if size < 0:
            raise UnsafeArchiveError("The tar archive has an entry with a negative size.")
        return size, mtime

    def _finish(self) -> None:
        """After the end-of-archive marker: drain the rest (so the gzip trailer and CRC are
        checked) without letting it grow without bound."""
        trailing = len(self._buf) - self._pos
        cap = self._limits.max_trailing_bytes
        while trailing <= cap:
            chunk = self._pipe.get()
            if not chunk:
                return
            trailing += len(chunk)
        raise ArchiveLimitError(
            f"The tar archive is followed by more than {cap} bytes of other data; refusing it."
        )


def _not_tar() -> UpstreamError:
    return UpstreamError(
        "The host sent something that is not an archive (not an archive: no tar header where "
        "one was expected); check the URL and the credentials."
    )


def _special(type_b: bytes, name: str) -> UnsafeArchiveError:
    kinds = {b"3": "a character device", b"4": "a block device", b"6": "a FIFO"}
    what = kinds.get(type_b)
    if what:
        return UnsafeArchiveError(
            f"The archive entry {describe(name)} is {what}; only files, folders and links can "
            "be extracted. The archive is hostile."
        )
    return UnsafeArchiveError(
        f"The archive entry {describe(name)} has the unsupported tar type {type_b!r}; only "
        "files, folders and links can be extracted."
    )
