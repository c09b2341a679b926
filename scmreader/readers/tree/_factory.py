"""The tree engine's entry point, cheap to build: every reader holds one, and the engine
itself (:mod:`scmreader.readers.tree._response` and the archive parsers) is imported by the
first tree read."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from scmreader.readers.tree._files import TreeEntry
    from scmreader.readers.tree._limits import ArchiveLimits
    from scmreader.readers.types import ReadTreeResponse, TreeFilter


class TreeResponseFactory:
    """Builds tree responses (Backstage's ``DefaultReadTreeResponseFactory``).

    ``work_dir`` holds temporary folders and spool files (default: the system temp dir;
    readers pass ``backend.workingDirectory``). ``limits`` guard against hostile archives
    (default :class:`ArchiveLimits`).

    Safety rules, the same for tar and zip and for ``files()``, ``dir()`` and
    ``archive()`` (violations raise ``UnsafeArchiveError`` or ``ArchiveLimitError``, and
    nothing from the archive is left on disk):

    - absolute names, drive letters, ``..`` segments (also ``\\``-separated or
      percent-encoded), control characters, over-long names: refused;
    - a symlink becomes a regular file holding its target text, never a link;
    - a hard link must point to an earlier regular file of the selected tree, whose
      content it gets as a copy; other hard links are refused;
    - devices, FIFOs, sockets and unknown entry types: refused;
    - duplicate paths, paths equal after case folding or Unicode normalisation, and a
      name used both as a file and as a folder: refused (the tree would depend on the
      file system);
    - folder entries are not reproduced: folders exist to hold files (git trees have no
      empty folders);
    - with ``strip_first_directory`` every entry loses its first path component (like
      ``tar --strip-components=1``); entries at the top level are skipped.

    Differences from Backstage, on purpose: tar entries get ``last_modified_at`` (their
    mtime, UTC); ``archive()`` always re-packs the selected files (filter applied, no top
    folder) as an uncompressed tar, with or without a sub-path; a corrupt, truncated or
    non-archive body is a typed error, never a parser traceback.

    Memory does not grow with the archive's size: gzip is inflated through a queue of a
    few 1 MiB chunks, files are written as they arrive, and ``files()`` contents beyond
    1 MiB in total live in an anonymous temporary file. What grows is the collision index,
    about 150 bytes per entry.
    """

    def __init__(
        self,
        *,
        work_dir: str | os.PathLike[str] | None = None,
        limits: ArchiveLimits | None = None,
    ) -> None:
        self.work_dir = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
        self._limits = limits

    @property
    def limits(self) -> ArchiveLimits:
        """The caps on archives: ``limits`` as given, else the defaults (built on first use,
        so a reader that never reads a tree never loads the tree engine)."""
        if self._limits is None:
            from scmreader.readers.tree._limits import ArchiveLimits

            self._limits = ArchiveLimits()
        return self._limits

    def __repr__(self) -> str:
        return f"TreeResponseFactory(work_dir={str(self.work_dir)!r})"

    def from_archive(
        self,
        stream: BinaryIO,
        *,
        etag: str,
        subpath: str | None = None,
        filter: TreeFilter | None = None,
        strip_first_directory: bool | None = None,
    ) -> ReadTreeResponse:
        """A tar.gz, tar or zip archive, told apart by its first bytes. An HTML page or
        anything else raises UpstreamError ("not an archive"). ``strip_first_directory``
        defaults to True for tar and False for zip."""
        return self._from_stream(stream, etag, subpath, filter, strip_first_directory, None)

    def from_tar_archive(
        self,
        stream: BinaryIO,
        *,
        etag: str,
        subpath: str | None = None,
        filter: TreeFilter | None = None,
        strip_first_directory: bool = True,
    ) -> ReadTreeResponse:
        """A tar archive, gzip-compressed or not (detected). ``subpath`` (``docs`` or
        ``docs/``) keeps only that folder; ``filter(path, FileInfo)`` is asked before any
        content is read."""
        return self._from_stream(stream, etag, subpath, filter, strip_first_directory, "tar")

    def from_zip_archive(
        self,
        stream: BinaryIO,
        *,
        etag: str,
        subpath: str | None = None,
        filter: TreeFilter | None = None,
        strip_first_directory: bool = False,
    ) -> ReadTreeResponse:
        """A zip archive (spooled to an anonymous temporary file in the work dir)."""
        return self._from_stream(stream, etag, subpath, filter, strip_first_directory, "zip")

    def from_files(self, entries: Iterable[TreeEntry], *, etag: str = "") -> ReadTreeResponse:
        """A tree of separate files (bucket readers). Paths ending in ``/`` are skipped;
        the same path rules as for archives apply."""
        from scmreader.readers.tree._response import files_response

        return files_response(entries, etag=etag, work_dir=self.work_dir, limits=self.limits)

    def _from_stream(
        self,
        stream: BinaryIO,
        etag: str,
        subpath: str | None,
        filter: TreeFilter | None,
        strip: bool | None,
        expected: str | None,
    ) -> ReadTreeResponse:
        from scmreader.readers.tree._response import stream_response

        return stream_response(
            stream,
            etag=etag,
            subpath=subpath,
            filter=filter,
            strip=strip,
            expected=expected,
            work_dir=self.work_dir,
            limits=self.limits,
        )
