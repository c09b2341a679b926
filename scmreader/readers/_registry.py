"""Which reader modules exist, and which of them to import now (the rest wait for a URL)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from scmreader._plugins import discover
from scmreader.readers.base import ReaderFactory
from scmreader.urls import ParsedUrl

if TYPE_CHECKING:
    from scmreader.config import Config

PACKAGE = "scmreader.readers"

#: Built-in readers by the ``integrations`` key they read: module, Backstage order, and
#: the hosts of the provider's default integration (the only URLs its readers accept when
#: the config has no entry for it). Built-in modules missing here and from
#: :data:`FETCH_BUILTIN` are always imported.
LAZY_BUILTINS: Mapping[str, tuple[str, int, tuple[str, ...]]] = {
    "azure": ("azure", 10, ("dev.azure.com",)),
    "bitbucketCloud": ("bitbucket_cloud", 20, ("bitbucket.org",)),
    "bitbucketServer": ("bitbucket_server", 30, ()),
    "gerrit": ("gerrit", 50, ()),
    "github": ("github", 60, ("github.com",)),
    "gitea": ("gitea", 70, ()),
    "gitlab": ("gitlab", 80, ("gitlab.com",)),
    "googleGcs": ("google_gcs", 90, ("storage.cloud.google.com",)),
    "harness": ("harness", 100, ()),
    "awsS3": ("aws_s3", 110, ("amazonaws.com", "amazonaws.com.cn")),
    "azureBlobStorage": ("azure_blob", 120, ("blob.core.windows.net",)),
    "awsCodeCommit": ("aws_codecommit", 130, ()),
}
#: The plain-HTTP reader (Backstage's FetchUrlReader): module and order. It reads only
#: what ``backend.reading.allow`` lists, so without that key it waits like the others.
FETCH_BUILTIN = ("fetch", 1000)
_SKIP = ("base", "types", "tree")


def _discover(skip: tuple[str, ...]) -> list[ReaderFactory]:
    return discover(
        PACKAGE,
        sys.modules[PACKAGE].__path__,
        attribute="READER_FACTORY",
        kind=ReaderFactory,
        group="scmreader.readers",
        name=lambda f: f.name,
        skip=skip,
    )


@cache
def reader_factories() -> tuple[ReaderFactory, ...]:
    """The built-in and entry-point reader factories, in selection order (imports all)."""
    return tuple(sorted(_discover(_SKIP), key=lambda f: (f.order, f.name)))


class Deferred:
    """A built-in reader factory not imported yet, and the hosts its readers may accept."""

    def __init__(self, name: str, module: str, order: int, hosts: tuple[str, ...]) -> None:
        self.name = name
        self.module, self.order, self.hosts = module, order, hosts

    @classmethod
    def provider(cls, key: str) -> Deferred:
        """The reader of the ``integrations.<key>`` provider (see :data:`LAZY_BUILTINS`)."""
        return cls(key, *LAZY_BUILTINS[key])

    def may_accept(self, url: ParsedUrl) -> bool:
        """True when the provider's default integration could cover ``url``'s host."""
        return any(url.hostname == h or url.hostname.endswith("." + h) for h in self.hosts)

    def load(self) -> ReaderFactory:
        """Import the reader module; its ``READER_FACTORY``."""
        factory = importlib.import_module(f"{PACKAGE}.{self.module}").READER_FACTORY
        if not isinstance(factory, ReaderFactory):
            raise TypeError(f"{PACKAGE}.{self.module}.READER_FACTORY is not a ReaderFactory")
        return factory


@cache
def _not_deferred() -> tuple[ReaderFactory, ...]:
    """Built-ins missing from the table, and entry points (built-ins win over their names)."""
    tabled = (FETCH_BUILTIN[0], *(m for m, _, _ in LAZY_BUILTINS.values()))
    found = _discover((*_SKIP, *tabled))
    return tuple(f for f in found if f.name not in (*LAZY_BUILTINS, FETCH_BUILTIN[0]))


def startup_factories(config: Config) -> list[ReaderFactory | Deferred]:
    """Every built-in and entry-point factory; unconfigured built-ins stay deferred."""
    from scmreader.integrations import provider_entries

    found: list[ReaderFactory | Deferred] = list(_not_deferred())
    for key in LAZY_BUILTINS:
        deferred = Deferred.provider(key)
        found.append(deferred.load() if provider_entries(config, key) else deferred)
    fetch = Deferred(FETCH_BUILTIN[0], *FETCH_BUILTIN, hosts=())
    found.append(fetch.load() if config.get_optional("backend.reading.allow") else fetch)
    return sorted(found, key=lambda f: (f.order, f.name))
