"""Trees given as a list of files (bucket and CodeCommit readers): ``TreeEntry``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from scmreader.errors import ArchiveLimitError
from scmreader.readers.tree._limits import ArchiveLimits
from scmreader.readers.tree._names import FILE
from scmreader.readers.tree._select import RawEntry

_CHUNK = 1024 * 1024
_IN_MEMORY = 1024 * 1024


@dataclass
class TreeEntry:
    """One file of a tree built from separate objects (``from_files``).

    ``path`` is relative to the tree root, ``/``-separated (a path ending in ``/`` is a
    folder marker and is skipped); ``open()`` returns a binary stream of the content, which
    the engine reads once and closes.
    """

    path: str
    open: Callable[[], BinaryIO]
    last_modified_at: datetime | None = None


class FilesSource:
    """Entries from ``TreeEntry`` objects. Each content is read when its entry comes up,
    into memory up to 1 MiB and into an anonymous temporary file beyond."""

    def __init__(
        self, entries: Iterable[TreeEntry], *, work_dir: Path, limits: ArchiveLimits
    ) -> None:
        self._entries = entries
        self._work_dir = work_dir
        self._limits = limits
        self._spool: tempfile.SpooledTemporaryFile[bytes] | None = None
        self._total = 0

    def close(self) -> None:
        """Drop the current spool."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def entries(self) -> Iterator[RawEntry]:
        """Yield each entry after reading its content."""
        for entry in self._entries:
            if entry.path.endswith("/"):
                continue
            self.close()
            spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY, dir=str(self._work_dir))  # noqa: SIM115 - outlives this call
            self._spool = spool
            stream = entry.open()
            try:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    self._total += len(chunk)
                    if self._total > self._limits.max_total_bytes:
                        raise ArchiveLimitError(
                            f"The tree holds more than {self._limits.max_total_bytes} bytes; "
                            "raise ArchiveLimits.max_total_bytes if this is expected."
                        )
                    spool.write(chunk)
            finally:
                with contextlib.suppress(Exception):
                    stream.close()
            size = spool.tell()
            spool.seek(0)
            yield FILE, entry.path, size, 0o644, entry.last_modified_at, ""
        self.close()

    def copy_to_fd(self, fd: int, size: int) -> None:
        """Write ``size`` bytes of the current entry to ``fd``."""
        assert self._spool is not None
        while size:
            chunk = self._spool.read(min(size, _CHUNK))
            size -= len(chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]

    def read_bytes(self, size: int) -> bytes:
        """``size`` bytes of the current entry."""
        assert self._spool is not None
        return self._spool.read(size)
