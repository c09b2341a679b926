"""The reader interface and its response types (Backstage's ``UrlReaderService``)."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from scmreader.errors import ConflictError


@dataclass(frozen=True)
class FileInfo:
    """What a tree filter learns about an entry before its content is read."""

    size: int


#: ``filter(path, info)``: ``path`` is relative to the requested tree root, ``/``-separated,
#: without a leading ``/``. Return False to skip the file.
TreeFilter = Callable[[str, FileInfo], bool]


class ReadUrlResponse:
    """One file read from a URL: ``buffer()`` (memoised) or ``stream()``, not both."""

    def __init__(
        self,
        body: BinaryIO | bytes,
        *,
        etag: str | None = None,
        last_modified_at: datetime | None = None,
    ) -> None:
        self._body: BinaryIO = io.BytesIO(body) if isinstance(body, bytes) else body
        self._buffered: bytes | None = body if isinstance(body, bytes) else None
        self._streamed = False
        self.etag = etag
        self.last_modified_at = last_modified_at

    def buffer(self) -> bytes:
        """The whole content. May be called any number of times."""
        if self._streamed:
            raise ConflictError("Cannot use buffer() and stream() from the same ReadUrlResponse")
        if self._buffered is None and self._body.closed:
            raise ConflictError("The ReadUrlResponse was closed before its content was read")
        if self._buffered is None:
            try:
                self._buffered = self._body.read()
            finally:
                self._body.close()
        return self._buffered

    def stream(self) -> BinaryIO:
        """A binary file object over the content, read as it arrives. Once only."""
        if self._buffered is not None and not isinstance(self._body, io.BytesIO):
            raise ConflictError("Cannot use buffer() and stream() from the same ReadUrlResponse")
        if self._streamed:
            raise ConflictError("stream() of a ReadUrlResponse can only be called once")
        self._streamed = True
        return self._body

    def close(self) -> None:
        """Release the content unread (and its connection); ``buffer()`` then raises
        ConflictError."""
        if self._buffered is None and not self._streamed:
            self._body.close()

    def __repr__(self) -> str:
        return f"ReadUrlResponse(etag={self.etag!r}, last_modified_at={self.last_modified_at!r})"


@dataclass
class ReadTreeFile:
    """One file of a tree. ``content()`` returns its bytes."""

    path: str
    _content: Callable[[], bytes] = field(repr=False)
    last_modified_at: datetime | None = None

    def content(self) -> bytes:
        """The file's bytes."""
        return self._content()


class ReadTreeResponse(ABC):
    """A tree read from a URL. Consume it once: ``files()``, ``dir()`` or ``archive()``."""

    etag: str

    @abstractmethod
    def files(self) -> Iterator[ReadTreeFile]:
        """Yield the files of the tree, in archive order."""

    @abstractmethod
    def dir(self, target_dir: str | Path | None = None) -> Path:
        """Write the tree into ``target_dir`` (or a fresh temporary folder) and return it."""

    @abstractmethod
    def archive(self) -> BinaryIO:
        """A tar stream of the selected files, paths relative to the tree root."""


@dataclass
class SearchResponseFile:
    """One match of a search: its browse URL and its content."""

    url: str
    _content: Callable[[], bytes] = field(repr=False)
    last_modified_at: datetime | None = None

    def content(self) -> bytes:
        """The file's bytes (fetched lazily by some readers)."""
        return self._content()


@dataclass
class SearchResponse:
    """The result of a search; ``etag`` is the tree's (commit sha) or ``''``."""

    files: list[SearchResponseFile]
    etag: str = ""


@runtime_checkable
class UrlReaderService(Protocol):
    """What every reader does (Backstage's ``UrlReaderService``)."""

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file. Raises NotModifiedError when ``etag``/``last_modified_after`` match."""
        ...

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read a tree. Raises NotModifiedError before downloading when ``etag`` matches."""
        ...

    def search(
        self,
        url: str,
        *,
        etag: str | None = None,
        token: str | None = None,
    ) -> SearchResponse:
        """Find the files matching the glob in the URL's path."""
        ...


# Backstage's current type names, for readers of its docs.
UrlReaderServiceReadUrlResponse = ReadUrlResponse
UrlReaderServiceReadTreeResponse = ReadTreeResponse
UrlReaderServiceReadTreeResponseFile = ReadTreeFile
UrlReaderServiceSearchResponse = SearchResponse
UrlReaderServiceSearchResponseFile = SearchResponseFile
