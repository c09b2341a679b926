"""Keys that nothing reads: one warning each when a config is loaded (errors when strict).

Checked are the blocks scmreader reads: every ``integrations.<provider>`` entry (against
its provider module's ``KNOWN_KEYS`` and ``DEPRECATED_KEYS``, see
:func:`scmreader.integrations._keys.known_keys`; only the configured providers' modules
are imported), ``backend.reading`` and ``scmreader``. Every other block belongs to
Backstage or its plugins and is left alone.

Warnings go to the ``scmreader.config`` logger, one record per key, worded
``FILE:LINE: KEY.PATH: unknown key 'tokn' (did you mean 'token'?); it is ignored`` and
carrying ``key_path``, ``config_file`` and ``config_line`` attributes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from scmreader.errors import ConfigError

if TYPE_CHECKING:
    from scmreader.config._config import Config

LOGGER = logging.getLogger("scmreader.config")

#: Keys of ``backend.reading`` (Backstage's), in ``KNOWN_KEYS`` notation.
BACKEND_READING_KEYS = frozenset({"allow[].host", "allow[].paths"})


def _scmreader_keys() -> frozenset[str]:
    """Keys of the ``scmreader`` block: each feature's block and the keys it reads."""
    from scmreader._client_factory import HTTP_CONFIG_KEYS
    from scmreader.cache._config import _KEYS as CACHE_KEYS
    from scmreader.http._hosts_config import HOST_KEYS

    cache = frozenset(f"cache.{key}" for keys in CACHE_KEYS.values() for key in keys)
    return cache | HTTP_CONFIG_KEYS | frozenset(f"hosts[].{key}" for key in HOST_KEYS)


def did_you_mean(key: str, names: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``names`` to ``key``, or ``''``."""
    import difflib  # only when a key is unknown

    candidates = list(names)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        if key.lower() in lowered:
            close = [lowered[key.lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown(view: Config, key: str, hint: str, *, strict: bool, what: str = "key") -> ConfigError:
    fate = "remove or rename it (strict mode)" if strict else "it is ignored"
    return view.error(key, f"unknown {what} '{key}'{hint}; {fate}")


def keys_below(
    view: Config, prefix: str, known: frozenset[str], *, strict: bool = False
) -> Iterator[ConfigError]:
    """A ConfigError for each key of ``view`` (at ``prefix`` in ``known``'s notation:
    ``retry.maxRetries``, ``apps[].appId``) that ``known`` does not list.

    Values of the wrong type are skipped: the reader of that block reports them.
    """
    siblings = {
        k[len(prefix) :].split(".")[0].split("[]")[0] for k in known if k.startswith(prefix)
    }
    names = view.keys()  # Config is not iterable
    for key in names:
        pattern = prefix + key
        if pattern in known:
            continue
        items: list[Config] = []
        try:
            if any(k.startswith(f"{pattern}.") for k in known):
                child = view.get_optional_config(key)
                items, below = ([] if child is None else [child]), f"{pattern}."
            elif any(k.startswith(f"{pattern}[].") for k in known):
                items, below = view.get_optional_config_array(key) or [], f"{pattern}[]."
            else:
                yield _unknown(view, key, did_you_mean(key, siblings), strict=strict)
                continue
        except ConfigError:
            continue
        for item in items:
            yield from keys_below(item, below, known, strict=strict)


def _integration_keys(config: Config, *, strict: bool) -> Iterator[ConfigError]:
    try:
        block = config.get_optional_config("integrations")
    except ConfigError:
        return
    if block is None:
        return
    from scmreader.integrations import integration_type, integration_types, provider_entries
    from scmreader.integrations._keys import REMOVED_PROVIDERS, deprecated_keys, known_keys

    providers = block.keys()  # Config is not iterable
    for key in providers:
        kind = integration_type(key)  # imports only the configured providers' modules
        if kind is None:
            if key in REMOVED_PROVIDERS:
                yield block.error(key, REMOVED_PROVIDERS[key])
            else:
                hint = did_you_mean(key, [k.key for k in integration_types()])
                yield _unknown(block, key, hint, strict=strict, what="integration provider")
            continue
        known = known_keys(kind)
        try:
            entries = provider_entries(config, key) or []
        except ConfigError:
            continue
        if known is None:
            continue
        known = known | frozenset(deprecated_keys(kind))
        for entry in entries:
            yield from keys_below(entry, "", known, strict=strict)


def unknown_keys(config: Config, *, strict: bool = False) -> list[ConfigError]:
    """A ConfigError per unknown key under ``integrations``, ``backend.reading`` and
    ``scmreader``, in that order (worded as an error when ``strict``)."""
    found = list(_integration_keys(config, strict=strict))
    for path, known in (("backend.reading", BACKEND_READING_KEYS), ("scmreader", None)):
        try:
            view = config.get_optional_config(path)
        except ConfigError:
            continue
        if view is not None:
            found.extend(keys_below(view, "", known or _scmreader_keys(), strict=strict))
    return found


def check_unknown_keys(config: Config, *, strict: bool, problems: list[ConfigError] | None) -> None:
    """Log each unknown key as a warning. When ``strict``, raise one ConfigError for the
    first that names the others too, or append them all to ``problems`` when it is a list."""
    found = unknown_keys(config, strict=strict)
    if strict and found:
        if problems is not None:
            problems.extend(found)
            return
        first, others = found[0], [e.key_path for e in found[1:]]
        if not others:
            raise first
        more = f"{len(others)} more unknown key{'s' if len(others) > 1 else ''}"
        raise ConfigError(
            f"{first.message}; {more}: {', '.join(str(p) for p in others)}",
            key_path=first.key_path,
            file=first.file,
            line=first.line,
        )
    for error in found:
        LOGGER.warning(
            "%s",
            error,
            extra={
                "key_path": error.key_path,
                "config_file": error.file,
                "config_line": error.line,
            },
        )
