"""The ``scmreader.hosts`` block of app-config, and the HostScheduler built from it.

```yaml
scmreader:
  hosts:
    - host: api.github.com          # exact host, optional :port
      maxConcurrency: 8             # requests waiting for an answer at once (default 16)
      maxRequestsPerSecond: 10      # average pace (default: the provider's, else none)
      burst: 10                     # requests that may go out at once within the pace
      budgetFloor: 100              # requests of a reported budget kept back (default 5)
```

Entries change only the keys they set; hosts without one keep the defaults of
:data:`~scmreader.http._hosts.DEFAULT_LIMITS`. When the response cache is Redis, pauses and
budgets are kept in the same Redis (under the cache's prefix + ``hosts:``), so every worker
sharing that server shares them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from scmreader.http._hosts import DEFAULT_LIMITS, HostLimits, HostScheduler, HostState

if TYPE_CHECKING:
    from scmreader.cache import ResponseCache
    from scmreader.config import Config

HOSTS_KEY = "scmreader.hosts"
_FIELDS = {
    "maxConcurrency": ("max_concurrency", 1),
    "maxRequestsPerSecond": ("max_requests_per_second", 0),
    "burst": ("burst", 1),
    "budgetFloor": ("budget_floor", 0),
}
#: Every key a ``scmreader.hosts[]`` entry may have.
HOST_KEYS = frozenset({"host", *_FIELDS})


def host_limits_from_config(config: Config) -> dict[str, HostLimits]:
    """The limits of every host named at ``scmreader.hosts`` (ConfigError when invalid)."""
    limits: dict[str, HostLimits] = {}
    for entry in config.get_optional_config_array(HOSTS_KEY) or []:
        present = entry.keys()
        for key in present:
            if key not in HOST_KEYS:
                raise entry.error(
                    key, f"unknown key; a host entry takes host, {', '.join(_FIELDS)}."
                )
        host = entry.get_string("host").strip().lower()
        if not host or "/" in host:
            raise entry.error("host", "write a bare host name, optionally with :port.")
        found = limits.get(host) or DEFAULT_LIMITS.get(host) or HostLimits()
        for key, (attribute, minimum) in _FIELDS.items():
            if attribute == "max_requests_per_second":
                rate = entry.get_optional_number(key)
                if rate is not None:
                    if rate <= 0:
                        raise entry.error(key, "must be a number of requests above 0.")
                    found = replace(found, max_requests_per_second=float(rate))
                continue
            whole = entry.get_optional_whole_number(key, minimum=minimum)
            if whole is not None:
                found = replace(found, **{attribute: whole})
        limits[host] = found
    return limits


def host_scheduler_from_config(
    config: Config, *, cache: ResponseCache | None = None, max_wait: float = 60.0
) -> HostScheduler:
    """A scheduler with the configured limits; shared state when ``cache`` is Redis."""
    state: HostState | None = None
    if cache is not None:
        from scmreader.cache._redis import RedisCache

        if isinstance(cache, RedisCache):
            from scmreader.http._hosts_redis import RedisHostState

            state = RedisHostState(cache.client, prefix=cache.prefix + "hosts:")
    return HostScheduler(host_limits_from_config(config), state=state, max_wait=max_wait)
