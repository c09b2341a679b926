"""The integrations registry (Backstage's ``ScmIntegrations``).

Providers plug in without editing this module: every module of this package that exposes
``INTEGRATION`` (an :class:`IntegrationType`) is a provider, and so is every entry point in
the group ``scmreader.integrations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from scmreader._plugins import discover
from scmreader.integrations.base import (
    IntegrationType,
    ScmIntegration,
    ScmIntegrationsGroup,
)
from scmreader.urls import default_scm_resolve_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "IntegrationType",
    "ScmIntegration",
    "ScmIntegrations",
    "ScmIntegrationsGroup",
    "integration_types",
    "provider_entries",
]


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


class ScmIntegrations:
    """All configured integrations, grouped by provider (``integrations.github``...)."""

    def __init__(self, groups: Mapping[str, ScmIntegrationsGroup[Any]]) -> None:
        self._groups = dict(groups)

    @classmethod
    def from_config(cls, config: Config | Mapping[str, Any] | None = None) -> ScmIntegrations:
        """Build every provider's group from ``integrations.<key>`` of ``config``.

        Fails fast with ConfigError on the first invalid entry.
        """
        from scmreader.config import Config, load_config

        if config is None:
            config = load_config()
        elif not isinstance(config, Config):
            config = load_config(config)
        groups: dict[str, ScmIntegrationsGroup[Any]] = {}
        for kind in integration_types():
            entries = provider_entries(config, kind.key)
            groups[kind.key] = ScmIntegrationsGroup(kind.read_configs(entries))
        return cls(groups)

    def group(self, key: str) -> ScmIntegrationsGroup[Any]:
        """The group of the provider ``key`` (``github``, ``awsS3``); empty when unknown."""
        return self._groups.get(key) or ScmIntegrationsGroup([])

    def __getattr__(self, name: str) -> ScmIntegrationsGroup[Any]:
        for kind in integration_types():
            if name in (kind.attribute, kind.key):
                return self.group(kind.key)
        raise AttributeError(f"no integration provider called {name!r}")

    def list(self) -> list[ScmIntegration]:
        """Every integration, provider by provider in registry order."""
        return [i for group in self._groups.values() for i in group.list()]

    def by_url(self, url: str) -> ScmIntegration | None:
        """The first integration (in registry order) whose host is the URL's host."""
        for group in self._groups.values():
            found: ScmIntegration | None = group.by_url(url)
            if found is not None:
                return found
        return None

    def by_host(self, host: str) -> ScmIntegration | None:
        """The first integration (in registry order) whose host is ``host``."""
        for group in self._groups.values():
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
