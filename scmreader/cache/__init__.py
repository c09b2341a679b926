"""ETag/response caches: conditional requests instead of downloads, for files read again.

:class:`~scmreader.http.HttpClient` takes a ``cache=``: for a GET without conditional
headers of its caller, it sends the stored validators and answers a 304 from the cache
(see :mod:`scmreader.cache._hook`). Backends fill in the small :class:`ResponseCache`
protocol: :class:`MemoryCache` (an LRU in this process), :class:`SqliteCache` (one file,
shared by threads and processes) and :class:`RedisCache` (the ``redis`` extra). Configure
one under ``scmreader.cache`` (:func:`cache_from_config`); by default there is none.

Keys are SHA-256 digests (:func:`cache_key`); credentials only enter them hashed, and no
request header, cookie or rate-limit counter is ever stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scmreader._lazy import lazy_attribute

if TYPE_CHECKING:
    from scmreader._client_factory import http_client_from_config
    from scmreader.cache._config import cache_from_config, max_body_from_config
    from scmreader.cache._errors import CacheError
    from scmreader.cache._hook import CACHE_STATUS_HEADER, cache_key
    from scmreader.cache._memory import MemoryCache
    from scmreader.cache._redis import RedisCache
    from scmreader.cache._sqlite import SqliteCache
    from scmreader.cache._types import STORED_HEADERS, CachedResponse, ResponseCache

#: Exported name -> the module defining it; imported on first use, so that ``import
#: scmreader.http`` (which needs only ``_hook``) loads no backend and no sqlite3.
_LAZY = {
    "CACHE_STATUS_HEADER": "scmreader.cache._hook",
    "STORED_HEADERS": "scmreader.cache._types",
    "CacheError": "scmreader.cache._errors",
    "CachedResponse": "scmreader.cache._types",
    "MemoryCache": "scmreader.cache._memory",
    "RedisCache": "scmreader.cache._redis",
    "ResponseCache": "scmreader.cache._types",
    "SqliteCache": "scmreader.cache._sqlite",
    "cache_from_config": "scmreader.cache._config",
    "cache_key": "scmreader.cache._hook",
    "http_client_from_config": "scmreader._client_factory",
    "max_body_from_config": "scmreader.cache._config",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(globals(), __name__, _LAZY, name)


__all__ = [
    "CACHE_STATUS_HEADER",
    "STORED_HEADERS",
    "CacheError",
    "CachedResponse",
    "MemoryCache",
    "RedisCache",
    "ResponseCache",
    "SqliteCache",
    "cache_from_config",
    "cache_key",
    "http_client_from_config",
    "max_body_from_config",
]
