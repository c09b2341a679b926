"""The integrations registry (Backstage's ``ScmIntegrations``).

Providers plug in without editing this module: every module of this package that exposes
``INTEGRATION`` (an :class:`IntegrationType`) is a provider, and so is every entry point in
the group ``scmreader.integrations``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from scmreader._plugins import discover, from_entry_points
from scmreader.integrations.base import (
    IntegrationType,
    ScmIntegration,
    ScmIntegrationsGroup,
    attribute_name,
)
from scmreader.urls import default_scm_resolve_url, parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "IntegrationType",
    "ScmIntegration",
    "ScmIntegrations",
    "ScmIntegrationsGroup",
    "integration_type",
    "integration_types",
    "provider_entries",
]


#: Built-in providers: ``integrations`` key -> (module of this package, registry order,
#: hosts of its default integrations). Lets :func:`integration_type` import one provider
#: without the others, and :class:`ScmIntegrations` leave unconfigured ones unimported
#: until a URL on one of their default hosts comes along.
BUILTIN_PROVIDERS: Mapping[str, tuple[str, int, tuple[str, ...]]] = {
    "awsS3": ("aws_s3", 10, ("amazonaws.com",)),
    "awsCodeCommit": ("aws_codecommit", 20, ()),
    "azureBlobStorage": ("azure_blob", 30, ("blob.core.windows.net",)),
    "azure": ("azure", 40, ("dev.azure.com",)),
    "bitbucketCloud": ("bitbucket_cloud", 50, ("bitbucket.org",)),
    "bitbucketServer": ("bitbucket_server", 60, ()),
    "gerrit": ("gerrit", 70, ()),
    "github": ("github", 80, ("github.com",)),
    "gitlab": ("gitlab", 90, ("gitlab.com",)),
    "gitea": ("gitea", 100, ()),
    "googleGcs": ("google_gcs", 110, ("storage.cloud.google.com",)),
    "harness": ("harness", 120, ()),
}


def integration_type(key: str) -> IntegrationType | None:
    """The provider of ``integrations.<key>`` (None when there is none): a built-in imports
    only its own module; other keys are looked up among all providers (entry points too)."""
    builtin = BUILTIN_PROVIDERS.get(key)
    if builtin is not None:
        kind = getattr(importlib.import_module(f"{__name__}.{builtin[0]}"), "INTEGRATION", None)
        if isinstance(kind, IntegrationType) and kind.key == key:
            return kind
    return next((kind for kind in integration_types() if kind.key == key), None)


@cache
def integration_types() -> tuple[IntegrationType, ...]:
    """Every known provider, in registry order."""
    found = discover(
        __name__,
        __path__,
        attribute="INTEGRATION",
        kind=IntegrationType,
        group="scmreader.integrations",
        name=lambda k: k.key,
        skip=("base",),
    )
    return tuple(sorted(found, key=lambda k: (k.order, k.key)))


def provider_entries(config: Config, key: str) -> list[Config] | None:
    """The entries under ``integrations.<key>``: a list, or one object (as ``googleGcs``)."""
    path = f"integrations.{key}"
    if isinstance(config.get_optional(path), Mapping):
        return [config.get_config(path)]
    return config.get_optional_config_array(path)


class _Unconfigured:
    """A built-in provider without entries in the config, not imported yet: its group
    holds only its default integrations, on ``hosts``."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.hosts = BUILTIN_PROVIDERS[key][2]

    def load(self) -> ScmIntegrationsGroup[Any]:
        kind = integration_type(self.key)
        return ScmIntegrationsGroup(kind.read_configs(None) if kind else [])


class ScmIntegrations:
    """All configured integrations, grouped by provider (``integrations.github``...)."""

    def __init__(self, groups: Mapping[str, ScmIntegrationsGroup[Any] | _Unconfigured]) -> None:
        self._groups = dict(groups)

    @classmethod
    def from_config(cls, config: Config | Mapping[str, Any] | None = None) -> ScmIntegrations:
        """Build every provider's group from ``integrations.<key>`` of ``config``.

        Fails fast with ConfigError on the first invalid entry. Built-in providers that
        the config does not mention are imported when first needed.
        """
        from scmreader.config import Config, load_config

        if config is None:
            config = load_config()
        elif not isinstance(config, Config):
            config = load_config(config)
        found: list[tuple[int, str, ScmIntegrationsGroup[Any] | _Unconfigured]] = []
        for key, (_, order, _) in BUILTIN_PROVIDERS.items():
            entries = provider_entries(config, key)
            kind = integration_type(key) if entries is not None else None
            if kind is None:
                found.append((order, key, _Unconfigured(key)))
            else:
                found.append((order, key, ScmIntegrationsGroup(kind.read_configs(entries))))
        plugins = from_entry_points("scmreader.integrations", IntegrationType)
        for kind in plugins:
            if kind.key not in BUILTIN_PROVIDERS:
                entries = provider_entries(config, kind.key)
                found.append(
                    (kind.order, kind.key, ScmIntegrationsGroup(kind.read_configs(entries)))
                )
        found.sort(key=lambda item: (item[0], item[1]))
        return cls({key: group for _, key, group in found})

    def group(self, key: str) -> ScmIntegrationsGroup[Any]:
        """The group of the provider ``key`` (``github``, ``awsS3``); empty when unknown."""
        group = self._groups.get(key)
        if isinstance(group, _Unconfigured):
            group = self._groups[key] = group.load()
        return group or ScmIntegrationsGroup([])

    def __getattr__(self, name: str) -> ScmIntegrationsGroup[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        for key in self._groups:
            if name in (key, attribute_name(key)):
                return self.group(key)
        for kind in integration_types():
            if name in (kind.attribute, kind.key):
                return self.group(kind.key)
        raise AttributeError(f"no integration provider called {name!r}")

    def list(self) -> list[ScmIntegration]:
        """Every integration, provider by provider in registry order."""
        return [i for key in list(self._groups) for i in self.group(key).list()]

    def by_url(self, url: str) -> ScmIntegration | None:
        """The first integration (in registry order) whose host is the URL's host."""
        try:
            host = parse_url(url).host
        except ValueError:
            return None
        return self.by_host(host)

    def by_host(self, host: str) -> ScmIntegration | None:
        """The first integration (in registry order) whose host is ``host``."""
        for key, group in list(self._groups.items()):
            if isinstance(group, _Unconfigured):
                if host not in group.hosts:
                    continue
                group = self.group(key)
            found: ScmIntegration | None = group.by_host(host)
            if found is not None:
                return found
        return None

    def resolve_url(self, *, url: str, base: str, line_number: int | None = None) -> str:
        """Resolve ``url`` against ``base`` the way the base's host does."""
        integration = self.by_url(base)
        if integration is None:
            return default_scm_resolve_url(url=url, base=base, line_number=line_number)
        return integration.resolve_url(url=url, base=base, line_number=line_number)

    def resolve_edit_url(self, url: str) -> str:
        """The web-editor URL for ``url``; ``url`` itself when no integration knows better."""
        integration = self.by_url(url)
        return url if integration is None else integration.resolve_edit_url(url)

    def __repr__(self) -> str:
        return f"ScmIntegrations({[i.title for i in self.list()]!r})"
