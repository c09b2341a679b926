"""From raw archive entries to the files of the requested tree: name checks, first-folder
stripping, sub-path, the caller's filter, link rules and collision checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from scmreader.errors import ArchiveLimitError, UnsafeArchiveError
from scmreader.readers.tree._limits import ArchiveLimits
from scmreader.readers.tree._names import (
    DIR,
    HARDLINK,
    SYMLINK,
    Layout,
    PathRules,
    describe,
)
from scmreader.readers.types import FileInfo, TreeFilter

#: An mtime: seconds since the epoch (tar, zip), a datetime as given (``from_files``), or
#: None when unknown.
Mtime = float | datetime | None
#: ``(kind, name, size, mode, mtime, link)`` as a source reads it.
RawEntry = tuple[int, str, int, int, Mtime, str]
#: ``(kind, path, size, mode, mtime, link, new_dirs)`` of a selected file. For a symlink
#: ``link`` is its target text; for a hard link, the tree path of the earlier file.
Selected = tuple[int, str, int, int, Mtime, str, tuple[str, ...]]


class EntrySource(Protocol):
    """An archive read entry by entry; data of the current entry is read on demand."""

    def entries(self) -> Iterator[RawEntry]:
        """Yield every entry in archive order."""
        ...

    def copy_to_fd(self, fd: int, size: int) -> None:
        """Write the next ``size`` data bytes of the current entry to ``fd``."""
        ...

    def read_bytes(self, size: int) -> bytes:
        """The next ``size`` data bytes of the current entry."""
        ...

    def close(self) -> None:
        """Release the input (and any temporary files)."""
        ...


class Selection:
    """What to take from an archive: first-folder stripping, sub-path, filter, limits."""

    def __init__(
        self,
        *,
        limits: ArchiveLimits,
        strip_first_directory: bool,
        subpath: str,
        filter: TreeFilter | None,
    ) -> None:
        self.limits = limits
        self.strip = strip_first_directory
        self.subpath = subpath
        self.filter = filter

    def select(self, source: EntrySource) -> Iterator[Selected]:
        """Yield the selected files of ``source``; raise on anything unsafe."""
        rules = PathRules(self.limits)
        clean = rules.clean
        layout = Layout()
        add_file = layout.add_file
        strip = self.strip
        sub = self.subpath
        sub_len = len(sub)
        keep = self.filter
        max_entries = self.limits.max_entries
        count = 0
        for kind, raw, size, mode, mtime, link in source.entries():
            count += 1
            if count > max_entries:
                raise ArchiveLimitError(
                    f"The archive has more than {max_entries} entries; raise "
                    "ArchiveLimits.max_entries if this is expected."
                )
            path = clean(raw)
            if strip:
                cut = path.find("/")
                if cut < 0:
                    continue
                path = path[cut + 1 :]
            if sub:
                if path[:sub_len] != sub:
                    continue
                path = path[sub_len:]
            if not path or kind == DIR:
                continue
            if kind == SYMLINK:
                size = len(link.encode("utf-8", "surrogateescape"))
            elif kind == HARDLINK:
                link, size = self._hardlink_target(rules, layout, raw, link)
            if keep is not None and not keep(path, FileInfo(size)):
                continue
            yield kind, path, size, mode, mtime, link, add_file(path, kind, size)

    def _hardlink_target(
        self, rules: PathRules, layout: Layout, raw: str, link: str
    ) -> tuple[str, int]:
        try:
            target = rules.clean(link) if link else ""
        except UnsafeArchiveError:
            target = ""
        if self.strip:
            cut = target.find("/")
            target = target[cut + 1 :] if cut >= 0 else ""
        if self.subpath:
            target = target[len(self.subpath) :] if target.startswith(self.subpath) else ""
        size = layout.earlier_file(target) if target else None
        if size is None:
            raise UnsafeArchiveError(
                f"The archive entry {describe(raw)} is a hard link to {describe(link)}, which is "
                "not an earlier file of the selected tree; refusing to extract it."
            )
        return target, size
