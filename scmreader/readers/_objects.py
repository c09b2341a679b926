"""What the object-store readers share: trees and glob searches over a flat listing.

A bucket has no folders, only names. A provider reader (S3, Cloud Storage, Blob Storage)
says where a URL points (:meth:`ObjectStoreReader._locate`), how to list names under a
prefix (:meth:`_list`) and how to open one object (:meth:`_open`); this module turns that
into ``read_tree`` and glob ``search`` the same way for all of them:

- a prefix matches at ``/`` boundaries (``docs`` never takes ``docs2/``);
- folder markers and names with ``.``/``..``/empty segments (also percent-decoded, split on
  ``/`` and ``\\``) or control characters are skipped — they cannot be files of a tree;
- the etag is a sha256 over the sorted (name, fingerprint) pairs of the listing, so an
  unchanged prefix raises NotModifiedError after one listing and downloads nothing;
- the caller's filter sees each listed size before anything is downloaded, and objects are
  opened lazily, pinned to the listed version by the provider;
- an object that changes or vanishes between the listing and its download (412 on an
  If-Match download, 404 on a pinned one) is a :class:`ChangedWhileReadingError`, the same
  on every store, never a NotFoundError for a location that exists.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from scmreader.errors import ChangedWhileReadingError, NotFoundError
from scmreader.readers.base import BaseUrlReader
from scmreader.readers.tree import TreeEntry
from scmreader.readers.types import (
    FileInfo,
    ReadTreeResponse,
    SearchResponse,
    SearchResponseFile,
    TreeFilter,
)
from scmreader.redact import redact_url
from scmreader.urls import decode_fully, encode_path, glob_matcher, glob_static_prefix

if TYPE_CHECKING:
    from scmreader.readers.tree import TreeResponseFactory

_log = logging.getLogger(__name__)
_SEGMENT_SPLIT = re.compile(r"[/\\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class StoredObject:
    """One object of a listing: its full name, size, version fingerprint (ETag or
    generation), update time, and whatever the provider needs to pin a download."""

    name: str
    size: int
    fingerprint: str
    updated: datetime | None
    version: Any = None


@dataclass(frozen=True)
class ObjectLocation:
    """Where a URL points: the container (bucket), the decoded object name or prefix, the
    browse URL up to the name (ending in ``/``), and the provider's own parsed location."""

    container: str
    name: str
    browse_base: str
    native: Any = None


def listing_etag(container: str, scope: str, objects: Sequence[StoredObject]) -> str:
    """A stable etag for a listing: sha256 over the sorted (name, fingerprint) pairs."""
    pairs = sorted((item.name, item.fingerprint) for item in objects)
    payload = json.dumps([container, scope, pairs], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def changed_while_reading(
    store: str, url: str, name: str | None = None, *, status: int | None
) -> ChangedWhileReadingError:
    """The error for an object (``name``, when known) changing or vanishing in ``store``
    while ``url`` was being read."""
    shown = redact_url(url)
    what = f"The object {name!r}" if name else "An object"
    return ChangedWhileReadingError(
        f"{what} changed or was deleted in {store} while {shown} was being read (HTTP "
        f"{status or 'error'}); the location is fine: read it again.",
        status=status,
        url=shown,
    )


@contextmanager
def vanished_is_changed(store: str, url: str, name: str) -> Iterator[None]:
    """Turn a NotFoundError for an object that was listed (or whose first bytes were read)
    into :class:`ChangedWhileReadingError`: it existed a moment ago, so it changed."""
    try:
        yield
    except NotFoundError as exc:
        raise changed_while_reading(store, url, name, status=exc.status) from None


def usable_path(path: str, name: str, *, store: str) -> bool:
    """Whether ``path`` (a name relative to the tree root) can be a file of a tree: not a
    folder marker, no ``.``/``..``/empty segment (also once percent-decoded), no control
    character. Unusable names are skipped with a debug log."""
    if not path or path.endswith("/"):
        return False
    decoded = decode_fully(path)
    usable = (
        decoded is not None
        and not _CONTROL.search(decoded)
        and all(
            segment not in ("", ".", "..")
            for text in (path, decoded)
            for segment in _SEGMENT_SPLIT.split(text)
        )
    )
    if not usable:
        _log.debug("skipping %s object %r: it cannot be a file path in a tree", store, name)
    return usable


class ObjectStoreReader(BaseUrlReader):
    """read_tree and glob search for a flat object store; subclasses fill in the hooks."""

    #: The store's name in messages (``"S3"``, ``"Google Cloud Storage"``).
    store: ClassVar[str] = "object store"
    _tree: TreeResponseFactory

    # --- hooks ------------------------------------------------------------------------

    def _locate(self, url: str) -> ObjectLocation:
        """Parse ``url``; InvalidUrlError when it is not one of this store's URLs."""
        raise NotImplementedError

    def _list(self, location: ObjectLocation, prefix: str, url: str) -> list[StoredObject]:
        """Every object whose name starts with ``prefix``, across all pages."""
        raise NotImplementedError

    def _open(self, location: ObjectLocation, item: StoredObject, url: str) -> BinaryIO:
        """A stream over one listed object, pinned to its listed version."""
        raise NotImplementedError

    # --- shared -----------------------------------------------------------------------

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Every object under the URL's name prefix as a tree (paths relative to it).

        The etag hashes the listing; passing the current one raises NotModifiedError before
        any object is read. A prefix holding no object is a NotFoundError (the container's
        root may be empty).
        """
        location = self._locate(url)
        prefix = location.name.strip("/")
        prefix = f"{prefix}/" if prefix else ""
        objects = self._list(location, prefix, url)
        if prefix and not objects:
            raise NotFoundError(
                f"No object in {self.store} container {location.container} has a name "
                f"starting with {prefix!r} ({redact_url(url)}); check the URL (read_tree "
                "takes a folder, read_url an object).",
                status=404,
                url=redact_url(url),
            )
        tree_etag = listing_etag(location.container, prefix, objects)
        self._raise_if_not_modified(url, etag, tree_etag)
        entries: list[TreeEntry] = []
        for item in objects:
            path = item.name[len(prefix) :]
            if not usable_path(path, item.name, store=self.store):
                continue
            if filter is not None and not filter(path, FileInfo(item.size)):
                continue
            entries.append(TreeEntry(path, self._opener(location, item, url), item.updated))
        return self._tree.from_files(entries, etag=tree_etag)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Objects whose whole name matches the glob in the URL. Only the glob's static
        prefix is listed; contents are fetched when read. The etag hashes the matches."""
        location = self._locate(url)
        pattern = location.name.lstrip("/")
        prefix = glob_static_prefix(pattern)
        prefix = f"{prefix}/" if prefix else ""
        matches = glob_matcher(pattern)
        found = [
            item
            for item in self._list(location, prefix, url)
            if usable_path(item.name, item.name, store=self.store) and matches(item.name)
        ]
        search_etag = listing_etag(location.container, pattern, found)
        self._raise_if_not_modified(url, etag, search_etag)
        files = [
            SearchResponseFile(
                url=f"{location.browse_base}{encode_path(item.name)}",
                _content=self._reader(location, item, url),
                last_modified_at=item.updated,
            )
            for item in found
        ]
        return SearchResponse(files=files, etag=search_etag)

    def _opener(
        self, location: ObjectLocation, item: StoredObject, url: str
    ) -> Callable[[], BinaryIO]:
        def open_() -> BinaryIO:
            with vanished_is_changed(self.store, url, item.name):
                return self._open(location, item, url)

        return open_

    def _reader(
        self, location: ObjectLocation, item: StoredObject, url: str
    ) -> Callable[[], bytes]:
        def read() -> bytes:
            with (
                vanished_is_changed(self.store, url, item.name),
                self._open(location, item, url) as stream,
            ):
                return stream.read()

        return read
