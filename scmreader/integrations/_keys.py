"""What each provider's ``integrations.<key>`` entries may hold: the keys its reader reads
(``KNOWN_KEYS``), the deprecated ones (``DEPRECATED_KEYS``), and provider blocks that no
longer exist. Shared by the unknown-key warnings of :func:`scmreader.config.load_config`
and by ``scmreader config validate``; kept apart from both so that loading a config imports
neither the validator nor any provider module that is not configured.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scmreader.integrations.base import IntegrationType

#: Provider blocks that no longer exist: key under ``integrations`` -> what to do instead.
REMOVED_PROVIDERS: dict[str, str] = {
    "bitbucket": "'integrations.bitbucket' was removed (Backstage integration 2.0) and is "
    "ignored; move its entries to 'integrations.bitbucketCloud' (bitbucket.org) or "
    "'integrations.bitbucketServer'",
}


def _provider_modules(kind: IntegrationType) -> Iterator[ModuleType]:
    """Modules that speak for ``kind``, best first: those exposing it as ``INTEGRATION``
    (the module defining ``read_configs`` or a package above it, as for a provider split
    into a sub-package; then any loaded module, as when ``read_configs`` lives in a private
    helper), then the module defining ``read_configs``."""
    name = getattr(kind.read_configs, "__module__", None) or ""
    parts = name.split(".")
    enclosing = [sys.modules.get(".".join(parts[:i])) for i in range(len(parts), 0, -1)]
    for module in itertools.chain(enclosing, list(sys.modules.values())):
        # vars(), not getattr(): a module-level __getattr__ (lazy imports) must not run.
        if isinstance(module, ModuleType) and vars(module).get("INTEGRATION") is kind:
            yield module
    if isinstance(enclosing[0], ModuleType):
        yield enclosing[0]


def provider_attribute(kind: IntegrationType, attribute: str) -> object:
    """The provider module's ``attribute`` for ``kind`` (None when it has none)."""
    for module in _provider_modules(kind):
        if attribute in vars(module):
            return vars(module)[attribute]
    return None


def known_keys(kind: IntegrationType) -> frozenset[str] | None:
    """The keys ``kind``'s reader reads: its provider module's ``KNOWN_KEYS``.

    Keys below a mapping are written ``retry.maxRetries``, keys of each item of a list
    ``apps[].appId``. None (no unknown-key warnings) when the provider does not say.
    """
    exposed = provider_attribute(kind, "KNOWN_KEYS")
    if isinstance(exposed, frozenset | set) and all(isinstance(k, str) for k in exposed):
        return frozenset(exposed)
    return None


def deprecated_keys(kind: IntegrationType) -> Mapping[str, str]:
    """Keys of ``kind`` that are deprecated, removed or ignored -> what to do instead: its
    provider module's ``DEPRECATED_KEYS`` (keys as in :func:`known_keys`, no list items)."""
    exposed = provider_attribute(kind, "DEPRECATED_KEYS")
    if isinstance(exposed, Mapping):
        return {str(k): str(v) for k, v in exposed.items()}
    return {}


__all__ = ["REMOVED_PROVIDERS", "deprecated_keys", "known_keys", "provider_attribute"]
