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

from typing import Any

from scmreader.cache._config import cache_from_config, max_body_from_config
from scmreader.cache._errors import CacheError
from scmreader.cache._hook import CACHE_STATUS_HEADER, cache_key
from scmreader.cache._memory import MemoryCache
from scmreader.cache._redis import RedisCache
from scmreader.cache._sqlite import SqliteCache
from scmreader.cache._types import STORED_HEADERS, CachedResponse, ResponseCache

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


def __getattr__(name: str) -> Any:
    # http_client_from_config lives above both cache/ and http/; kept importable from here.
    if name == "http_client_from_config":
        from scmreader._client_factory import http_client_from_config

        return http_client_from_config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
