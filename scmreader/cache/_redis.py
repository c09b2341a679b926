"""A response cache in Redis, shared by every process that points at the same server."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from scmreader.cache._errors import CacheError
from scmreader.cache._types import CachedResponse
from scmreader.errors import ConfigError
from scmreader.redact import redact, redact_url, register_config_secret

if TYPE_CHECKING:
    import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "scmreader:"
DEFAULT_TTL = 7 * 24 * 3600.0
_SCHEMES = ("redis", "rediss", "unix")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


class RedisCache:
    """Entries as Redis strings under ``prefix`` + key, each expiring ``ttl`` seconds after
    it was stored (None: never; Redis's own ``maxmemory-policy`` then bounds the size).

    Needs the ``redis`` package (``pip install 'scmreader[redis]'``). A password in
    ``url`` is registered for redaction and never shown by ``repr``. Network timeouts are
    short (``timeout`` seconds) so that a server that is down costs little.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: float | None = DEFAULT_TTL,
        timeout: float = 2.0,
        client: redis.Redis | None = None,
    ) -> None:
        if ttl is not None and ttl <= 0:
            raise ValueError("RedisCache needs a positive ttl (or None for no expiry)")
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            raise ConfigError(
                f"'{redact_url(url)}' is not a Redis URL; write it as "
                "redis://[:password@]host[:port][/db], rediss://... (TLS) or unix:///path.sock"
            )
        if parts.password:
            register_config_secret(unquote(parts.password), username=parts.username or "")
            register_config_secret(parts.password)
        self.url = redact_url(url)
        self.prefix = prefix
        self.ttl = ttl
        self._client = client if client is not None else _connect(url, timeout)

    @property
    def client(self) -> redis.Redis:
        """The Redis client (shared with the rate-limit state of the same workers)."""
        return self._client

    def _key(self, key: str) -> str:
        return self.prefix + key

    def get(self, key: str) -> CachedResponse | None:
        """The entry under ``key``, or None (also for a value that cannot be decoded)."""
        value = self._call("read", self._client.get, self._key(key))
        if not isinstance(value, bytes):
            return None
        try:
            return CachedResponse.from_bytes(value)
        except ValueError:
            self.delete(key)
            return None

    def set(self, key: str, value: CachedResponse) -> None:
        """Store ``value``, expiring after ``ttl`` seconds."""
        px = None if self.ttl is None else max(1, int(self.ttl * 1000))
        self._call("write", self._client.set, self._key(key), value.to_bytes(), px=px)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._call("write", self._client.delete, self._key(key))

    def clear(self) -> None:
        """Forget every key under this cache's prefix (other keys are left alone)."""
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.prefix) + "*"

        def run() -> None:
            batch: list[Any] = []
            for name in self._client.scan_iter(match=pattern, count=500):
                batch.append(name)
                if len(batch) >= 500:
                    self._client.delete(*batch)
                    batch = []
            if batch:
                self._client.delete(*batch)

        self._call("clear", run)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisCache(url={self.url!r}, prefix={self.prefix!r}, ttl={self.ttl!r})"

    def _call(self, doing: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return fn(*args, **kwargs)
        except (redis.RedisError, OSError) as exc:
            raise CacheError(
                f"The Redis response cache at {self.url} could not {doing} "
                f"({type(exc).__name__}: {redact(str(exc))}); check that the server runs and is "
                "reachable."
            ) from None


def _connect(url: str, timeout: float) -> redis.Redis:
    try:
        import redis
    except ImportError:
        raise ConfigError(
            "The Redis response cache needs the 'redis' package; install it with "
            "pip install 'scmreader[redis]', or choose another cache store."
        ) from None
    try:
        return redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, health_check_interval=30
        )
    except ValueError as exc:
        raise ConfigError(
            f"'{redact_url(url)}' is not a usable Redis URL ({redact_url(str(exc))})."
        ) from None
