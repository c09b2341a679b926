"""TestCaches: run a test once per response-cache backend (Backstage's ``TestCaches``).

    caches = TestCaches.create()

    @pytest.mark.parametrize("cache_id", caches.each_supported_id())
    def test_my_pipeline(cache_id):
        test_cache = caches.init(cache_id)     # a fresh, empty cache of that backend
        client = HttpClient(cache=test_cache.cache)
        ...

Backends: ``memory`` (:class:`~scmreader.cache.MemoryCache`), ``sqlite`` (a new file per
``init``) and ``redis``: a real ``redis-server`` that the helper starts on loopback on
first use and stops at exit, or the Redis at ``$SCMREADER_TEST_CACHE_REDIS_URL`` when that
is set. Without either, the redis case is skipped, or fails when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scmreader.cache import CacheError, MemoryCache, RedisCache, ResponseCache, SqliteCache
from scmreader.errors import InputError
from scmreader.testing.redis_server import RedisServer, require_or_skip

__all__ = ["REDIS_URL_ENV", "TEST_CACHE_IDS", "TestCache", "TestCaches"]

#: Every backend TestCaches knows, in the order tests run.
TEST_CACHE_IDS = ("memory", "sqlite", "redis")
#: An external Redis to use instead of starting one (Backstage's connection-string variable).
REDIS_URL_ENV = "SCMREADER_TEST_CACHE_REDIS_URL"


@dataclass(frozen=True)
class TestCache:
    """One fresh cache: its backend id, the ``scmreader.cache`` config block selecting the
    same store, and a ready :class:`~scmreader.cache.ResponseCache`.

    SQLite and Redis blocks name the very store ``cache`` writes to; a memory block makes
    another (empty) cache in whichever process reads it.
    """

    __test__ = False  # not a pytest test class

    id: str
    config: dict[str, Any] = field(repr=False)
    cache: ResponseCache = field(repr=False)

    def app_config(self, **blocks: Any) -> dict[str, Any]:
        """An app-config mapping with this cache under ``scmreader.cache`` plus ``blocks``."""
        return {**blocks, "scmreader": {"cache": dict(self.config)}}


class TestCaches:
    """Hands out fresh caches of each backend; create one per test module.

    Starting a Redis server takes a moment, so it is started once, on the first
    ``init("redis")``, and every later ``init`` gets an empty key space (a new prefix) on
    it. :meth:`shutdown` (or the end of the process) clears what was handed out, stops the
    server and deletes the SQLite files.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, ids: Iterable[str] = TEST_CACHE_IDS) -> None:
        self.ids = tuple(ids)
        unknown = [i for i in self.ids if i not in TEST_CACHE_IDS]
        if unknown:
            raise InputError(
                f"Unknown test cache {', '.join(unknown)}; choose from {', '.join(TEST_CACHE_IDS)}."
            )
        self._lock = threading.Lock()
        self._workdir = Path(tempfile.mkdtemp(prefix="scmreader-testcaches-"))
        self._server: RedisServer | None = None
        self._redis_url: str | None = None
        self._handed_out: list[ResponseCache] = []
        self._counter = itertools.count(1)
        self._finalizer = weakref.finalize(self, _shutdown, self._workdir, [None])

    @classmethod
    def create(cls, ids: Iterable[str] = TEST_CACHE_IDS) -> TestCaches:
        """A TestCaches for ``ids`` (all backends by default); cleaned up at exit."""
        return cls(ids)

    def redis_unavailable(self) -> str | None:
        """Why Redis cannot be used here, or None when it can."""
        try:
            import redis  # noqa: F401
        except ImportError:
            return "the redis package is not installed (pip install 'scmreader[redis]')"
        if os.environ.get(REDIS_URL_ENV):
            return None
        if shutil.which("redis-server") is None:
            return (
                "redis-server is not installed (apt-get install redis-server) and "
                f"{REDIS_URL_ENV} is not set"
            )
        return None

    def supports(self, cache_id: str) -> bool:
        """Whether ``cache_id`` can run here (redis needs a server binary or a URL)."""
        if cache_id not in self.ids:
            return False
        return cache_id != "redis" or self.redis_unavailable() is None

    def each_supported_id(self) -> list[Any]:
        """``pytest.param`` values for ``@pytest.mark.parametrize("cache_id", ...)``.

        A backend that cannot run here is still listed, so the test reports it: skipped
        with the reason, or failed under ``CI``.
        """
        import pytest

        params = []
        for cache_id in self.ids:
            reason = self.redis_unavailable() if cache_id == "redis" else None
            marks = [pytest.mark.skip(reason=reason)] if reason and not os.environ.get("CI") else []
            params.append(pytest.param(cache_id, id=cache_id, marks=marks))
        return params

    def init(self, cache_id: str) -> TestCache:
        """A fresh, empty cache of backend ``cache_id`` (its own file or key prefix)."""
        if cache_id not in self.ids:
            raise InputError(
                f"Unknown test cache {cache_id!r}; this TestCaches has {', '.join(self.ids)}."
            )
        with self._lock:
            n = next(self._counter)
            if cache_id == "memory":
                result = TestCache(cache_id, {"store": "memory"}, MemoryCache())
            elif cache_id == "sqlite":
                path = self._workdir / f"cache-{n}.sqlite"
                result = TestCache(
                    cache_id, {"store": "sqlite", "path": str(path)}, SqliteCache(path)
                )
            else:
                url = self._redis()
                prefix = f"scmreader-test-{uuid.uuid4().hex[:12]}:"
                config = {"store": "redis", "url": url, "prefix": prefix}
                result = TestCache(cache_id, config, RedisCache(url, prefix=prefix))
            self._handed_out.append(result.cache)
            return result

    def _redis(self) -> str:
        if self._redis_url is None:
            external = os.environ.get(REDIS_URL_ENV)
            if external:
                self._redis_url = external
            else:
                reason = self.redis_unavailable()
                if reason is not None:
                    require_or_skip(f"TestCaches cannot start Redis: {reason}")
                binary = shutil.which("redis-server") or "redis-server"
                self._server = RedisServer(binary, self._workdir).start()
                self._finalizer.detach()
                self._finalizer = weakref.finalize(self, _shutdown, self._workdir, [self._server])
                self._redis_url = self._server.url
        return self._redis_url

    def _clear_handed_out(self) -> None:
        for cache in self._handed_out:
            with contextlib.suppress(CacheError):  # e.g. a test stopped the server itself
                cache.clear()
            close = getattr(cache, "close", None)
            if close is not None:
                close()
        self._handed_out.clear()

    def shutdown(self) -> None:
        """Stop the Redis server this helper started and delete its files (also at exit)."""
        with self._lock:
            self._clear_handed_out()
            self._finalizer()
            self._redis_url = None
            self._server = None

    def __repr__(self) -> str:
        return f"TestCaches(ids={self.ids!r})"


def _shutdown(workdir: Path, servers: list[RedisServer | None]) -> None:
    for server in servers:
        if server is not None:
            server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
