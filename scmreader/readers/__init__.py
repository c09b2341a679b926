"""Reader selection (Backstage's ``UrlReaders`` and its predicate mux).

Built-in readers plug in without editing this module: every module of this package that
exposes ``READER_FACTORY`` is one, and so is every entry point in the group
``scmreader.readers``. Caller factories come first, then built-ins in Backstage's order;
the first reader whose predicate accepts a URL handles it, with no fallback.

Startup stays cheap: :meth:`UrlReaders.default` imports the reader modules of the providers
the config names; every other built-in waits behind the hosts of its default integration
(:data:`LAZY_BUILTINS`) and is imported the first time a URL on such a host is read. The
plain-HTTP reader loads only when ``backend.reading.allow`` has entries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from scmreader._lazy import lazy_attribute
from scmreader.errors import NotAllowedError, NotFoundError
from scmreader.readers._registry import (
    LAZY_BUILTINS,
    Deferred,
    reader_factories,
    startup_factories,
)
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
    from scmreader.readers._batch import BatchResult, Progress
    from scmreader.readers._discover import DiscoveryRun

#: The default number of threads of a batch (Renovate's default per-host queue size).
DEFAULT_WORKERS = 16

_I = TypeVar("_I")
_T = TypeVar("_T")

__all__ = [
    "DEFAULT_WORKERS",
    "LAZY_BUILTINS",
    "BaseUrlReader",
    "BatchResult",
    "ReaderContext",
    "ReaderFactory",
    "ReaderTuple",
    "UrlReaders",
    "read_url_response",
    "reader_factories",
]


def __getattr__(name: str) -> Any:
    # The batch machinery loads with the first batch, not with every `scmreader read`.
    return lazy_attribute(globals(), __name__, {"BatchResult": "scmreader.readers._batch"}, name)


class UrlReaders:
    """Routes each URL to the reader that handles its host (Backstage's ``UrlReaders``)."""

    def __init__(self, tuples: Iterable[ReaderTuple], context: ReaderContext) -> None:
        self._entries: list[ReaderTuple | Deferred] = list(tuples)
        self.context = context
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls,
        config: Config | Mapping[str, Any] | None = None,
        *,
        factories: Iterable[ReaderFactory | Deferred] = (),
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
        entries: list[ReaderTuple | Deferred] = []
        for factory in factories:
            if isinstance(factory, Deferred):
                entries.append(factory)
            else:
                entries.extend(factory.create(context))
        readers = cls([], context)
        readers._entries = entries
        return readers

    @classmethod
    def default(
        cls,
        config: Config | Mapping[str, Any] | None = None,
        *,
        factories: Iterable[ReaderFactory] = (),
        http: HttpClient | None = None,
    ) -> UrlReaders:
        """Readers for every configured host: ``factories`` first, then the built-ins."""
        from scmreader.config import Config, load_config

        if config is None:
            config = load_config()
        elif not isinstance(config, Config):
            config = load_config(config)
        builtins = startup_factories(config)
        return cls.create(config, factories=[*factories, *builtins], http=http)

    @property
    def readers(self) -> list[UrlReaderService]:
        """The readers in selection order (every deferred built-in is imported first)."""
        entries = self._entries
        while any(isinstance(e, Deferred) for e in entries):
            entries = self._load(next(e for e in entries if isinstance(e, Deferred)))
        return [e.reader for e in entries if isinstance(e, ReaderTuple)]

    def _load(self, deferred: Deferred) -> list[ReaderTuple | Deferred]:
        """Replace ``deferred`` by its readers; returns the new list of entries."""
        with self._lock:
            if deferred in self._entries:
                at = self._entries.index(deferred)
                created = deferred.load().create(self.context)
                self._entries = [*self._entries[:at], *created, *self._entries[at + 1 :]]
            return self._entries

    def reader_for(self, url: str) -> UrlReaderService:
        """The reader that handles ``url``; NotAllowedError when none does."""
        parsed = parse_url(url)
        entries = self._entries
        i = 0
        while i < len(entries):
            entry = entries[i]
            if isinstance(entry, Deferred):
                if entry.may_accept(parsed):
                    entries = self._load(entry)  # its readers take its place: look again
                    continue
            elif entry.predicate(parsed):
                return entry.reader
            i += 1
        for entry in entries:  # a reader that knows which of its rules refused the URL
            refusal = (
                getattr(entry.reader, "refusal", None) if isinstance(entry, ReaderTuple) else None
            )
            reason = refusal(parsed) if callable(refusal) else None
            if reason:
                raise NotAllowedError(f"Reading from '{redact_url(url)}' is not allowed: {reason}")
        raise NotAllowedError(
            f"Reading from '{redact_url(url)}' is not allowed: no integration and no "
            f"backend.reading.allow entry covers host '{parsed.host}'. Add an integration "
            f"for it (for example integrations.github[].host: {parsed.host}; check the "
            "provider key for typos), or allow plain HTTP reads from it with "
            f"backend.reading.allow: [{{host: {parsed.host}}}]."
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
        """Read a tree through the reader for ``url``.

        When the URL's path holds no files, consuming the tree raises NotFoundError naming
        the URL, or InputError when the URL is a file's (use :meth:`read_url`)."""
        from scmreader.readers.tree._response import missing_tree_error

        reader = self.reader_for(url)
        try:
            response = reader.read_tree(url, etag=etag, filter=filter, token=token)
        except NotFoundError as exc:
            error = missing_tree_error(reader, url, token)
            raise (exc if isinstance(error, NotFoundError) else error) from None
        if hasattr(response, "on_missing"):
            response.on_missing = lambda: missing_tree_error(reader, url, token)
        return response

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
        from scmreader.readers._batch import run_batch

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
        from scmreader.readers._batch import run_batch

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
        from scmreader.readers._batch import run_batch

        return run_batch(fn, items, max_workers=max_workers, progress=progress)

    def discover(
        self,
        url: str,
        *,
        include_archived: bool = False,
        include_forks: bool = False,
        include_empty: bool = False,
        include_disabled: bool = False,
        state: Mapping[str, Any] | str | None = None,
        token: str | None = None,
        max_workers: int = DEFAULT_WORKERS,
        progress: Callable[[int, int], None] | None = None,
    ) -> DiscoveryRun:
        """Read a file or glob in every repository an owner/group/project URL matches.

        ``url`` is a discovery URL with fnmatch wildcards in the owner and repository
        segments and ``-`` for each repository's default branch (for example
        ``https://github.com/acme/*/blob/-/catalog-info.yaml``). Iterate the returned run for
        results (``DiscoveryResult``) as they arrive; ``state``
        (the previous run's ``run.state`` or a JSON file) makes unchanged entries cost one
        conditional request and no download. See :mod:`scmreader.readers._discover`.
        """
        from scmreader.readers._discover import discover

        return discover(
            self,
            url,
            include_archived=include_archived,
            include_forks=include_forks,
            include_empty=include_empty,
            include_disabled=include_disabled,
            state=state,
            token=token,
            max_workers=max_workers,
            progress=progress,
        )

    def rate_limits(self) -> list[RateBudget]:
        """The rate-limit budgets the hosts reported, per host and credential."""
        return self.context.http.hosts.rate_limits()

    def __repr__(self) -> str:
        return f"predicateMux{{readers={','.join(repr(r) for r in self.readers)}}}"
