"""Host pauses and rate budgets in Redis, shared by every worker that uses the same server.

Each operation is one Lua script, so concurrent workers never lose an update: a pause only
grows, a budget reservation decrements atomically, and an answer can only lower the
remaining count of its own window. Keys expire with the window they describe. When Redis
fails, the state falls back to this process's memory (one warning per outage) and goes back
to Redis once it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from scmreader.http._hosts import PROVISIONAL, Budget, MemoryHostState
from scmreader.redact import redact

log = logging.getLogger("scmreader.http")
#: After a failure, Redis is left alone for this many seconds.
RETRY_AFTER_FAILURE = 5.0

_PROVISIONAL = repr(int(PROVISIONAL))
_SET_PAUSE = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local untl = tonumber(ARGV[1])
if untl > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(1, math.ceil(tonumber(ARGV[2]))))
end
return 1
"""
_RESERVE = """
local b = redis.call('HMGET', KEYS[1], 'remaining', 'reset', 'limit')
if not b[1] or not b[2] then return '-1' end
local remaining, reset, now = tonumber(b[1]), tonumber(b[2]), tonumber(ARGV[2])
if now >= reset then
  remaining, reset = tonumber(b[3]), tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'remaining', remaining, 'reset', ARGV[3])
end
if remaining <= tonumber(ARGV[1]) then
  if reset == tonumber(ARGV[3]) then return '-1' end
  return b[2]
end
redis.call('HINCRBY', KEYS[1], 'remaining', -1)
return '-1'
"""
_OBSERVE = """
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset') or '-1')
local new_reset = tonumber(ARGV[3])
if new_reset < reset and reset ~= tonumber(ARGV[5]) then return 0 end
local remaining = tonumber(ARGV[2])
if new_reset == reset or reset == tonumber(ARGV[5]) then
  remaining = math.min(remaining, tonumber(redis.call('HGET', KEYS[1], 'remaining')))
end
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'remaining', remaining, 'reset', ARGV[3],
           'resource', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], math.ceil((new_reset + 60) * 1000))
return 1
"""


class RedisHostState:
    """A :class:`~scmreader.http._hosts.HostState` in Redis under ``prefix``."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "scmreader:hosts:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self.prefix = prefix
        self._clock = clock
        self._fallback = MemoryHostState()
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._failing = False
        self._set_pause = client.register_script(_SET_PAUSE)
        self._reserve = client.register_script(_RESERVE)
        self._observe = client.register_script(_OBSERVE)

    def __repr__(self) -> str:
        return f"RedisHostState(prefix={self.prefix!r})"

    def pause_until(self, host: str) -> float:
        value = self._call(lambda: self._redis.get(self.prefix + "pause:" + host))
        if value is _DOWN:
            return self._fallback.pause_until(host)
        return float(value) if value else 0.0

    def set_pause(self, host: str, until: float) -> None:
        self._fallback.set_pause(host, until)
        ms = (until - self._clock()) * 1000
        self._call(lambda: self._set_pause(keys=[self.prefix + "pause:" + host], args=[until, ms]))

    def reserve(self, key: str, floor: int, now: float) -> float | None:
        args = [floor, now, _PROVISIONAL]
        value = self._call(lambda: self._reserve(keys=[self._budget(key)], args=args))
        if value is _DOWN:
            return self._fallback.reserve(key, floor, now)
        reset = float(value)
        return None if reset < 0 else reset

    def observe(self, key: str, budget: Budget) -> None:
        self._fallback.observe(key, budget)
        args = [budget.limit, budget.remaining, budget.reset, budget.resource or "", _PROVISIONAL]
        self._call(lambda: self._observe(keys=[self._budget(key)], args=args))

    def budgets(self) -> dict[str, Budget]:
        def scan() -> dict[str, Budget]:
            out: dict[str, Budget] = {}
            start = len(self.prefix + "budget:")
            for name in self._redis.scan_iter(match=self.prefix + "budget:*", count=500):
                fields = self._redis.hgetall(name)
                if not fields:
                    continue
                get = {k.decode(): v.decode() for k, v in fields.items()}.get
                out[name.decode()[start:]] = Budget(
                    int(get("limit", "0")),
                    int(get("remaining", "0")),
                    float(get("reset", "0")),
                    get("resource") or None,
                )
            return out

        value = self._call(scan)
        return self._fallback.budgets() if value is _DOWN else value

    def _budget(self, key: str) -> str:
        return self.prefix + "budget:" + key

    def _call(self, op: Callable[[], Any]) -> Any:
        import redis

        if self._clock() < self._down_until:
            return _DOWN
        try:
            value = op()
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                self._down_until = self._clock() + RETRY_AFTER_FAILURE
                first, self._failing = not self._failing, True
            if first:
                log.warning(
                    "The shared rate-limit state in Redis is unreachable (%s: %s); pauses and "
                    "budgets are kept in this process until it answers again.",
                    type(exc).__name__,
                    redact(str(exc)),
                )
            return _DOWN
        if self._failing:
            with self._lock:
                self._failing = False
            log.info("The shared rate-limit state in Redis answers again.")
        return value


_DOWN = object()
