"""Reader selection (Backstage's ``UrlReaders`` and its predicate mux).

Built-in readers plug in without editing this module: every module of this package that
exposes ``READER_FACTORY`` is one, and so is every entry point in the group
``scmreader.readers``. Caller factories come first, then built-ins in Backstage's order;
the first reader whose predicate accepts a URL handles it, with no fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from scmreader._plugins import discover
from scmreader.errors import NotAllowedError
from scmreader.readers._batch import DEFAULT_WORKERS, BatchResult, Progress, run_batch
from scmreader.readers.base import (
    BaseUrlReader,
    ReaderContext,
    ReaderFactory,
    ReaderTuple,
    read_url_response,
)
from scmreader.readers.types import (
    ReadTreeResponse,
    ReadUrlResponse,
    SearchResponse,
    TreeFilter,
    UrlReaderService,
)
from scmreader.redact import redact_url
from scmreader.urls import parse_url

if TYPE_CHECKING:
    from scmreader.config import Config
    from scmreader.http import HttpClient
    from scmreader.http._hosts import RateBudget

_I = TypeVar("_I")
_T = TypeVar("_T")

__all__ = [
    "BaseUrlReader",
    "BatchResult",
    "ReaderContext",
    "ReaderFactory",
    "ReaderTuple",
    "UrlReaders",
    "read_url_response",
    "reader_factories",
]


@cache
def reader_factories() -> tuple[ReaderFactory, ...]:
    """The built-in and entry-point reader factories, in selection order."""
    found = discover(
        __name__,
        __path__,
        attribute="READER_FACTORY",
        kind=ReaderFactory,
        group="scmreader.readers",
        name=lambda f: f.name,
        skip=("base", "types", "tree"),
    )
    return tuple(sorted(found, key=lambda f: (f.order, f.name)))


class UrlReaders:
    """Routes each URL to the reader that handles its host (Backstage's ``UrlReaders``)."""

    def __init__(self, tuples: Iterable[ReaderTuple], context: ReaderContext) -> None:
        self._tuples = list(tuples)
        self.context = context

    @classmethod
    def create(
        cls,
        config: Config | Mapping[str, Any] | None = None,
        *,
        factories: Iterable[ReaderFactory] = (),
        http: HttpClient | None = None,
    ) -> UrlReaders:
        """Readers from exactly ``factories`` (no built-ins).

        Without ``http``, the client is built from the config (the response cache configured
        at ``scmreader.cache``, if any).
        """
        from scmreader.cache import http_client_from_config
        from scmreader.config import Config, load_config
        from scmreader.integrations import ScmIntegrations
        from scmreader.readers.tree import TreeResponseFactory

        if config is None:
            config = load_config()
        elif not isinstance(config, Config):
            config = load_config(config)
        context = ReaderContext(
            config=config,
            integrations=ScmIntegrations.from_config(config),
            http=http or http_client_from_config(config),
            tree=TreeResponseFactory(
                work_dir=config.get_optional_string("backend.workingDirectory")
            ),
        )
        tuples = [t for factory in factories for t in factory.create(context)]
        return cls(tuples, context)

    @classmethod
    def default(
        cls,
        config: Config | Mapping[str, Any] | None = None,
        *,
        factories: Iterable[ReaderFactory] = (),
        http: HttpClient | None = None,
    ) -> UrlReaders:
        """Readers for every configured host: ``factories`` first, then the built-ins."""
        return cls.create(config, factories=[*factories, *reader_factories()], http=http)

    @property
    def readers(self) -> list[UrlReaderService]:
        """The readers in selection order."""
        return [t.reader for t in self._tuples]

    def reader_for(self, url: str) -> UrlReaderService:
        """The reader that handles ``url``; NotAllowedError when none does."""
        parsed = parse_url(url)
        for t in self._tuples:
            if t.predicate(parsed):
                return t.reader
        raise NotAllowedError(
            f"Reading from '{redact_url(url)}' is not allowed: no integration is configured "
            f"for host '{parsed.host}'. Add one under 'integrations' (for example "
            f"integrations.github[].host: {parsed.host}), or add the host to the list of "
            "allowed hosts at 'backend.reading.allow'."
        )

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file through the reader for ``url``."""
        return self.reader_for(url).read_url(
            url, etag=etag, last_modified_after=last_modified_after, token=token
        )

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read a tree through the reader for ``url``."""
        return self.reader_for(url).read_tree(url, etag=etag, filter=filter, token=token)

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Search through the reader for ``url``."""
        return self.reader_for(url).search(url, etag=etag, token=token)

    def read(self, url: str) -> bytes:
        """The bytes of the file at ``url``."""
        return self.read_url(url).buffer()

    # --- batches (see scmreader.readers._batch) ---------------------------------------

    def read_many(
        self,
        urls: Iterable[str],
        *,
        max_workers: int = DEFAULT_WORKERS,
        etags: Mapping[str, str] | None = None,
        token: str | None = None,
        progress: Progress | None = None,
    ) -> list[BatchResult[ReadUrlResponse]]:
        """``read_url`` for every URL on ``max_workers`` threads, results in input order.

        Each result holds the response (already buffered: ``buffer()`` costs nothing) or the
        typed error of that URL; ``etags`` maps a URL to the etag of an earlier read, so an
        unchanged file comes back as a ``NotModifiedError`` (``result.not_modified``).
        """
        known = dict(etags or {})

        def one(url: str) -> ReadUrlResponse:
            response = self.read_url(url, etag=known.get(url), token=token)
            response.buffer()  # download now, on this thread, and free the connection
            return response

        return run_batch(one, urls, max_workers=max_workers, progress=progress)

    def search_many(
        self,
        urls: Iterable[str],
        *,
        max_workers: int = DEFAULT_WORKERS,
        etags: Mapping[str, str] | None = None,
        token: str | None = None,
        progress: Progress | None = None,
    ) -> list[BatchResult[SearchResponse]]:
        """``search`` for every URL, as :meth:`read_many` does for files."""
        known = dict(etags or {})
        return run_batch(
            lambda url: self.search(url, etag=known.get(url), token=token),
            urls,
            max_workers=max_workers,
            progress=progress,
        )

    def map(
        self,
        fn: Callable[[_I], _T],
        items: Iterable[_I],
        *,
        max_workers: int = DEFAULT_WORKERS,
        progress: Progress | None = None,
    ) -> list[BatchResult[_T]]:
        """``fn(item)`` for every item on ``max_workers`` threads, one result per item.

        For trees, do the whole job inside ``fn`` so each download finishes on its thread:
        ``readers.map(lambda u: readers.read_tree(u).dir(target_of(u)), urls)``.
        """
        return run_batch(fn, items, max_workers=max_workers, progress=progress)

    def rate_limits(self) -> list[RateBudget]:
        """The rate-limit budgets the hosts reported, per host and credential."""
        return self.context.http.hosts.rate_limits()

    def __repr__(self) -> str:
        return f"predicateMux{{readers={','.join(repr(r) for r in self.readers)}}}"
