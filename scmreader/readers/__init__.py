"""Reader selection (Backstage's ``UrlReaders`` and its predicate mux).

Built-in readers plug in without editing this module: every module of this package that
exposes ``READER_FACTORY`` is one, and so is every entry point in the group
``scmreader.readers``. Caller factories come first, then built-ins in Backstage's order;
the first reader whose predicate accepts a URL handles it, with no fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from scmreader._plugins import discover
from scmreader.errors import NotAllowedError, NotFoundError
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

__all__ = [
    "BaseUrlReader",
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
        for t in self._tuples:  # a reader that knows which of its rules refused the URL
            refusal = getattr(t.reader, "refusal", None)
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

    def __repr__(self) -> str:
        return f"predicateMux{{readers={','.join(repr(r) for r in self.readers)}}}"
