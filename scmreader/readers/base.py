"""What every reader shares: the factory contract, the context, and a base class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from scmreader.errors import NotFoundError, NotImplementedByReaderError, NotModifiedError
from scmreader.readers.types import (
    ReadTreeResponse,
    ReadUrlResponse,
    SearchResponse,
    SearchResponseFile,
    TreeFilter,
    UrlReaderService,
)
from scmreader.redact import redact_url
from scmreader.urls import ParsedUrl, is_glob, parse_url

if TYPE_CHECKING:
    import requests

    from scmreader.config import Config
    from scmreader.http import HttpClient
    from scmreader.integrations import ScmIntegrations
    from scmreader.readers.tree import TreeResponseFactory


@dataclass
class ReaderContext:
    """What a reader factory gets: config, integrations, the HTTP client, the tree engine."""

    config: Config
    integrations: ScmIntegrations
    http: HttpClient
    tree: TreeResponseFactory


@dataclass(frozen=True)
class ReaderTuple:
    """A reader and the predicate that says which URLs it handles."""

    reader: UrlReaderService
    predicate: Callable[[ParsedUrl], bool]


@dataclass(frozen=True)
class ReaderFactory:
    """How a provider's readers plug into :class:`~scmreader.readers.UrlReaders`.

    A reader module exposes one as ``READER_FACTORY``; entry points in the group
    ``scmreader.readers`` may name more. ``order`` is Backstage's order of built-in readers:
    the first predicate that accepts a URL wins.
    """

    name: str
    order: int
    create: Callable[[ReaderContext], list[ReaderTuple]]


def read_url_response(response: requests.Response, http: HttpClient) -> ReadUrlResponse:
    """A ReadUrlResponse streaming ``response``'s body, with its ETag and Last-Modified."""
    from scmreader.http import body_stream, parse_http_date

    return ReadUrlResponse(
        body_stream(response, http),
        etag=response.headers.get("ETag"),
        last_modified_at=parse_http_date(response.headers.get("Last-Modified")),
    )


def aware(moment: datetime) -> datetime:
    """``moment`` with a time zone (a naive datetime is taken as UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def exact_host(host: str) -> Callable[[ParsedUrl], bool]:
    """Backstage's predicate for git hosts: the URL's host (with ``:port``) is ``host``."""
    return lambda url: url.host == host


def integration_readers(
    key: str,
    make: Callable[[Any, ReaderContext], UrlReaderService],
    predicate: Callable[[Any], Callable[[ParsedUrl], bool]] = lambda i: exact_host(i.host),
) -> Callable[[ReaderContext], list[ReaderTuple]]:
    """A ``ReaderFactory.create``: one reader per configured integration of ``key``."""

    def create(context: ReaderContext) -> list[ReaderTuple]:
        return [
            ReaderTuple(make(integration, context), predicate(integration))
            for integration in context.integrations.group(key).list()
        ]

    return create


class BaseUrlReader:
    """Shared behaviour: ``read()``, the non-glob search fallback, and a safe ``repr``."""

    #: Short provider name used in ``repr`` (``github{host=github.com,authed=true}``).
    name: ClassVar[str] = "reader"

    def __init__(self, *, host: str = "", authed: bool = False) -> None:
        self._host = host
        self._authed = authed

    def read(self, url: str) -> bytes:
        """The content of the file at ``url`` (``read_url(url).buffer()``)."""
        return self.read_url(url).buffer()

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file."""
        raise NotImplementedByReaderError(f"{type(self).__name__} does not implement read_url")

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read a whole tree."""
        raise NotImplementedByReaderError(f"{type(self).__name__} does not implement read_tree")

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Search: a URL without glob characters is read as one file (a miss is empty)."""
        if is_glob(unquote(parse_url(url).path)):
            return self.search_glob(url, etag=etag, token=token)
        return self.search_exact(url, etag=etag, token=token)

    def search_exact(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """The non-glob search every reader shares: read_url, NotFound becomes no files."""
        try:
            response = self.read_url(url, etag=etag, token=token)
        except NotFoundError:
            return SearchResponse(files=[], etag="")
        content = response.buffer()
        return SearchResponse(
            files=[
                SearchResponseFile(
                    url=url,
                    _content=lambda: content,
                    last_modified_at=response.last_modified_at,
                )
            ],
            etag=response.etag or "",
        )

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search; readers that can list trees override this."""
        raise NotImplementedByReaderError(
            f"Unsupported search pattern URL: {type(self).__name__} cannot search with glob "
            "patterns; use a URL without * or ?."
        )

    @staticmethod
    def _raise_if_not_modified(url: str, etag: str | None, current: str) -> None:
        """NotModifiedError when the caller's ``etag`` equals ``current``, the revision
        (commit or blob id) the reader just looked up, before anything is downloaded."""
        if etag and etag == current:
            raise NotModifiedError(
                f"{redact_url(url)} has not changed (etag {etag}); keep using the copy read "
                "with that etag.",
                etag=etag,
            )

    @staticmethod
    def _raise_if_unchanged_since(
        url: str, changed: datetime | None, since: datetime | None, etag: str | None = None
    ) -> None:
        """NotModifiedError when the file's last change ``changed`` is not after ``since``
        (the caller's ``last_modified_after``): for hosts whose file answers carry no date
        to ask conditionally with, so the history answers instead."""
        if since is not None and changed is not None and aware(changed) <= aware(since):
            raise NotModifiedError(
                f"{redact_url(url)} has not changed since {aware(since).isoformat()}.",
                etag=etag,
            )

    def __repr__(self) -> str:
        return f"{self.name}{{host={self._host},authed={str(self._authed).lower()}}}"

    __str__ = __repr__
