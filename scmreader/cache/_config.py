"""The ``scmreader.cache`` block of app-config (the HttpClient built from it is made in
:mod:`scmreader._client_factory`, above both ``http`` and ``cache``).

```yaml
scmreader:
  cache:
    store: sqlite            # memory | sqlite | redis; no block: no cache (as Backstage)
    path: ~/.cache/scmreader/responses.sqlite   # sqlite
    url: redis://127.0.0.1:6379/0               # redis (password: ${REDIS_PASSWORD})
    prefix: "scmreader:"                        # redis
    ttl: 604800                                 # redis, seconds
    maxEntries: 1024                            # memory
    maxBytes: 67108864                          # memory, sqlite
    maxBodyBytes: 1048576                       # larger answers are streamed, not cached
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scmreader.errors import ConfigError

if TYPE_CHECKING:
    from scmreader.cache._types import ResponseCache
    from scmreader.config import Config

CACHE_KEY = "scmreader.cache"
STORES = ("memory", "sqlite", "redis")
_KEYS: dict[str, frozenset[str]] = {
    "memory": frozenset({"store", "maxBodyBytes", "maxEntries", "maxBytes"}),
    "sqlite": frozenset({"store", "maxBodyBytes", "path", "maxBytes"}),
    "redis": frozenset({"store", "maxBodyBytes", "url", "prefix", "ttl"}),
}


def cache_from_config(config: Config) -> ResponseCache | None:
    """The cache configured at ``scmreader.cache``, or None when there is no such block.

    ConfigError (with the key path, file and line) for an unknown store, a key that the
    store does not use, or a value of the wrong type.
    """
    block = config.get_optional_config(CACHE_KEY)
    if block is None:
        return None
    store = block.get_optional_string("store")
    if store is None:
        raise block.error("store", f"missing; choose one of {', '.join(STORES)}.")
    if store not in STORES:
        raise block.error("store", f"unknown cache store; choose one of {', '.join(STORES)}.")
    present = block.keys()
    for key in present:
        if key not in _KEYS[store]:
            raise block.error(
                key,
                f"not used by the {store} cache store; it takes {', '.join(sorted(_KEYS[store]))}.",
            )
    # Backends are imported here: no cache configured, no cache code (nor sqlite3) loaded.
    from scmreader.cache._memory import MemoryCache
    from scmreader.cache._redis import RedisCache
    from scmreader.cache._sqlite import SqliteCache

    if store == "memory":
        return MemoryCache(
            max_entries=block.get_optional_whole_number("maxEntries") or 1024,
            max_bytes=block.get_optional_whole_number("maxBytes") or 64 * 1024 * 1024,
        )
    if store == "sqlite":
        path = block.get_optional_string("path")
        if path is None:
            raise block.error("path", "missing; the sqlite cache store needs a file path.")
        max_bytes = block.get_optional_whole_number("maxBytes")
        if max_bytes is None:
            return SqliteCache(path)
        return SqliteCache(path, max_bytes=max_bytes)
    url = block.get_optional_string("url") or "redis://127.0.0.1:6379/0"
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise block.error(
            "url", "not a Redis URL; write redis://[:password@]host[:port][/db] (or rediss://)."
        )
    ttl = block.get_optional_number("ttl")
    if ttl is not None and ttl <= 0:
        raise block.error("ttl", "must be a positive number of seconds.")
    try:
        return RedisCache(
            url,
            prefix=block.get_optional_string("prefix") or "scmreader:",
            ttl=float(ttl) if ttl is not None else 7 * 24 * 3600.0,
        )
    except ConfigError as exc:
        raise block.error("url" if "URL" in exc.message else "store", exc.message) from None


def max_body_from_config(config: Config) -> int | None:
    """``scmreader.cache.maxBodyBytes``, or None when it is not set."""
    block = config.get_optional_config(CACHE_KEY)
    return None if block is None else block.get_optional_whole_number("maxBodyBytes")
