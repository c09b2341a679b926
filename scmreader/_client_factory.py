"""The HttpClient a configuration asks for: its cache (``scmreader.cache``) and its HTTP
limits (``scmreader.http``).

This module sits above both :mod:`scmreader.http` and :mod:`scmreader.cache`, so neither
of those imports the other's configuration code.

```yaml
scmreader:
  http:
    connectTimeout: 10        # seconds
    readTimeout: 30           # seconds of silence
    requestDeadline: 120      # a whole request: redirects, retries, headers, metadata body
    bodyDeadline: 600         # a file or archive body
    lowSpeedLimit: 1024       # bytes/s ...
    lowSpeedTime: 20          # ... over this many seconds, else the transfer is aborted
    maxMetadataBytes: 33554432
    maxFileBytes: 1073741824
    maxArchiveBytes: 4294967296
    maxDecodedRatio: 200
    hosts:                    # per host (an integration's host): any of the keys above
      - host: ghe.example.com
        bodyDeadline: 1800
        maxArchiveBytes: 17179869184
```
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from scmreader.cache._config import (
    CACHE_KEY,
    cache_from_config,
    max_body_from_config,
)
from scmreader.http import HttpClient, HttpSettings

if TYPE_CHECKING:
    from scmreader.cache import ResponseCache
    from scmreader.config import Config

HTTP_KEY = "scmreader.http"
#: Config key -> (HttpSettings field, whole number?)
_FIELDS: dict[str, tuple[str, bool]] = {
    "connectTimeout": ("connect_timeout", False),
    "readTimeout": ("read_timeout", False),
    "requestDeadline": ("request_deadline", False),
    "bodyDeadline": ("body_deadline", False),
    "lowSpeedLimit": ("low_speed_limit", False),
    "lowSpeedTime": ("low_speed_time", False),
    "maxMetadataBytes": ("max_metadata_bytes", True),
    "maxFileBytes": ("max_file_bytes", True),
    "maxArchiveBytes": ("max_archive_bytes", True),
    "maxDecodedRatio": ("max_decoded_ratio", False),
}
#: Config key -> HttpSettings field, for the boolean settings.
_FLAGS: dict[str, str] = {"blockPrivateAddresses": "block_private_addresses"}


#: The ``scmreader.http`` keys in the notation of :mod:`scmreader.config._keys`.
HTTP_CONFIG_KEYS = frozenset(
    {f"http.{key}" for key in (*_FIELDS, *_FLAGS)}
    | {f"http.hosts[].{key}" for key in (*_FIELDS, *_FLAGS)}
    | {"http.hosts[].host"}
)


def _values(block: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = block.keys()
    for key in keys:
        if key in ("hosts", "host"):
            continue
        if key in _FLAGS:
            out[_FLAGS[key]] = block.get_boolean(key)
            continue
        if key not in _FIELDS:
            known = ", ".join(sorted((*_FIELDS, *_FLAGS)))
            raise block.error(key, f"unknown key; use one of {known}.")
        name, whole = _FIELDS[key]
        value = block.get_optional_whole_number(key) if whole else block.get_optional_number(key)
        if value is None or value <= 0:
            raise block.error(key, "must be a positive number.")
        out[name] = value
    return out


def http_settings_from_config(config: Config) -> HttpSettings:
    """HttpSettings with the ``scmreader.http`` block applied (defaults without one)."""
    settings = HttpSettings()
    block = config.get_optional_config(HTTP_KEY)
    if block is None:
        return settings
    values = _values(block)
    if block.has("host"):
        raise block.error("host", "belongs in an entry of scmreader.http.hosts.")
    overrides: dict[str, dict[str, Any]] = {}
    for entry in block.get_optional_config_array("hosts") or []:
        overrides[entry.get_string("host").strip().lower()] = _values(entry)
    return replace(settings, hosts=overrides or None, **values)


def http_client_from_config(
    config: Config, *, cache_path: str | os.PathLike[str] | None = None
) -> HttpClient:
    """An :class:`~scmreader.http.HttpClient` using the configured cache and limits.

    ``cache_path`` (the CLI's ``--cache``) selects a SQLite cache at that path instead of
    the configured store; ``maxBodyBytes`` and ``maxBytes`` still apply when configured.
    """
    cache: ResponseCache | None
    if cache_path is not None:
        from scmreader.cache._sqlite import SqliteCache  # sqlite3 only when asked for

        block = config.get_optional_config(CACHE_KEY)
        max_bytes = block.get_optional_whole_number("maxBytes") if block is not None else None
        cache = (
            SqliteCache(cache_path)
            if max_bytes is None
            else SqliteCache(cache_path, max_bytes=max_bytes)
        )
    else:
        cache = cache_from_config(config)
    settings = http_settings_from_config(config)
    max_body = max_body_from_config(config)
    if max_body is not None:
        settings = replace(settings, cache_max_body=max_body)
    from scmreader.http._hosts_config import host_scheduler_from_config

    hosts = host_scheduler_from_config(config, cache=cache, max_wait=settings.max_retry_wait)
    return HttpClient(settings, cache=cache, hosts=hosts)
