"""The streaming tree engine: tar.gz / tar / zip archives and file lists as tree responses.

Archives are read as they arrive: gzip is inflated in a worker thread (python-isal when
the ``fast`` extra is installed, else zlib), tar headers are parsed by a small reader of
our own (``tarfile`` is not in the hot path), and ``dir()`` writes each file while the
download is still running, so memory stays bounded whatever the archive's size. Every
entry is checked before anything is written (see :class:`TreeResponseFactory` for the
rules and :class:`ArchiveLimits` for the caps).

    factory = TreeResponseFactory(work_dir="/var/tmp")
    tree = factory.from_archive(body, etag=sha, subpath="docs")
    folder = tree.dir()          # or: for f in tree.files(): ...   or: tree.archive()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scmreader._lazy import lazy_attribute
from scmreader.readers.tree._factory import TreeResponseFactory

if TYPE_CHECKING:
    from scmreader.readers.tree._files import TreeEntry
    from scmreader.readers.tree._limits import ArchiveLimits
    from scmreader.readers.tree._response import ArchiveTreeResponse

#: Imported on first use: building a factory must not load the engine.
_LAZY = {
    "ArchiveLimits": "scmreader.readers.tree._limits",
    "ArchiveTreeResponse": "scmreader.readers.tree._response",
    "TreeEntry": "scmreader.readers.tree._files",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(globals(), __name__, _LAZY, name)


__all__ = ["ArchiveLimits", "ArchiveTreeResponse", "TreeEntry", "TreeResponseFactory"]
