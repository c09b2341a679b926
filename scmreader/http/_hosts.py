"""Per-host scheduling: a concurrency cap, request pacing, one shared pause, rate budgets.

Every request the client sends (each redirect hop too) passes :class:`HostAdapter`, which
asks the :class:`HostScheduler` for a slot on the request's host first:

1. at most ``max_concurrency`` requests per host wait for their answer at once (the slot
   is held until the response headers arrive; bodies stream outside it);
2. when the host asked for a pause (429, a rate-limit 403, a 503 with ``Retry-After``) every
   thread waits for the same moment instead of each hammering it on its own;
3. when the budget the host reported for this credential (``x-ratelimit-*`` on GitHub,
   ``RateLimit-*`` on GitLab) is down to ``budget_floor``, requests wait for the reset
   rather than spend the last ones;
4. requests are paced to ``max_requests_per_second`` (a token bucket holding ``burst``).

A wait longer than ``max_wait`` raises :class:`RateLimitedError` at once, before anything
is sent. Pauses and budgets live in a :class:`HostState`: this process's memory, or Redis
(:mod:`scmreader.http._hosts_redis`) so that many workers share them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

from scmreader.errors import RateLimitedError
from scmreader.http._status import parse_retry_after, rate_limit_wait
from scmreader.urls import parse_url

#: Headers whose values identify the caller; their hash keys a budget (never the value).
CREDENTIAL_HEADERS = ("authorization", "private-token", "job-token", "x-api-key")


@dataclass(frozen=True)
class HostLimits:
    """How hard one host may be used by this process."""

    max_concurrency: int = 16
    #: Average requests per second (None: no pacing); ``burst`` may go out at once.
    max_requests_per_second: float | None = None
    burst: int = 1
    #: Requests of a reported budget kept back: at this many remaining, wait for the reset.
    budget_floor: int = 5


#: Defaults from each provider's published limits (Renovate's queue of 16 elsewhere).
DEFAULT_LIMITS: Mapping[str, HostLimits] = {
    # https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
    # (secondary limits: 100 concurrent requests, 900 points a minute for REST reads)
    "api.github.com": HostLimits(max_requests_per_second=15.0, burst=15),
    # https://docs.gitlab.com/ee/user/gitlab_com/#gitlabcom-specific-rate-limits
    # (2,000 authenticated API requests a minute per user)
    "gitlab.com": HostLimits(max_requests_per_second=2000 / 60, burst=33),
    # https://support.atlassian.com/bitbucket-cloud/docs/api-request-limits/
    # (1,000 repository-data requests an hour)
    "api.bitbucket.org": HostLimits(max_requests_per_second=1000 / 3600, burst=1000),
}


@dataclass(frozen=True)
class Budget:
    """A rate-limit window as a host reported it (``reset``: epoch seconds)."""

    limit: int
    remaining: int
    reset: float
    resource: str | None = None


@dataclass(frozen=True)
class RateBudget:
    """One entry of :meth:`HostScheduler.rate_limits`: a host, a credential, its budget."""

    host: str
    credential: str  # "anonymous" or "sha256:<first 12 hex digits>"
    limit: int
    remaining: int
    reset_at: datetime
    resource: str | None = None


class HostState(Protocol):
    """Where pauses and budgets live; shared by every process that uses the same store."""

    def pause_until(self, host: str) -> float:
        """Epoch seconds until which ``host`` is paused (0: not paused)."""
        ...

    def set_pause(self, host: str, until: float) -> None:
        """Pause ``host`` until ``until`` (a later pause already set wins)."""
        ...

    def reserve(self, key: str, floor: int, now: float) -> float | None:
        """Take one request of ``key``'s budget: None when granted (or unknown), else the
        reset time to wait for because only ``floor`` requests are left."""
        ...

    def observe(self, key: str, budget: Budget) -> None:
        """Record what a response said; within one window the lower remaining wins."""
        ...

    def budgets(self) -> dict[str, Budget]:
        """Every known budget by key."""
        ...


class MemoryHostState:
    """Pauses and budgets of this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pauses: dict[str, float] = {}
        self._budgets: dict[str, Budget] = {}

    def pause_until(self, host: str) -> float:
        with self._lock:
            return self._pauses.get(host, 0.0)

    def set_pause(self, host: str, until: float) -> None:
        with self._lock:
            self._pauses[host] = max(until, self._pauses.get(host, 0.0))

    def reserve(self, key: str, floor: int, now: float) -> float | None:
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                return None
            if now >= budget.reset:  # a new window: count from its full limit until told
                budget = Budget(budget.limit, budget.limit, PROVISIONAL, budget.resource)
            if budget.remaining <= floor:
                # a provisional window has no reset to wait for: go, and learn it
                return None if budget.reset == PROVISIONAL else budget.reset
            self._budgets[key] = replace(budget, remaining=budget.remaining - 1)
            return None

    def observe(self, key: str, budget: Budget) -> None:
        with self._lock:
            self._budgets[key] = merge_budget(self._budgets.get(key), budget)

    def budgets(self) -> dict[str, Budget]:
        with self._lock:
            return dict(self._budgets)


#: The reset of a window that began (the last one's reset passed) before any answer said
#: when it ends: requests are counted from the limit until the first answer comes.
PROVISIONAL = 1e15


def merge_budget(old: Budget | None, new: Budget) -> Budget:
    """A newer window replaces the old one; in the same window requests already counted
    here (sent, not yet answered) keep the lower remaining; an older answer is ignored."""
    if old is not None and old.reset == PROVISIONAL:
        return replace(new, remaining=min(old.remaining, new.remaining))
    if old is None or new.reset > old.reset:
        return new
    if new.reset < old.reset:
        return old
    return replace(new, remaining=min(old.remaining, new.remaining))


def budget_from_headers(headers: Mapping[str, str]) -> Budget | None:
    """The budget in GitHub's ``x-ratelimit-*`` or GitLab's ``RateLimit-*`` headers.

    Only GitHub's ``core`` resource is tracked (scmreader uses no other: search, GraphQL
    and code scanning budgets are separate windows).
    """
    for prefix in ("x-ratelimit-", "ratelimit-"):
        remaining = _int(headers.get(prefix + "remaining"))
        reset = _int(headers.get(prefix + "reset"))
        if remaining is None or reset is None:
            continue
        resource = headers.get(prefix + "resource")
        if resource not in (None, "core"):
            return None
        limit = _int(headers.get(prefix + "limit"))
        return Budget(limit if limit is not None else remaining, remaining, float(reset), resource)
    return None


def credential_key(headers: Mapping[str, str]) -> str:
    """A short hash of the credential headers of a request ("anonymous" without any)."""
    found = sorted(
        (k.lower(), str(v)) for k, v in headers.items() if k.lower() in CREDENTIAL_HEADERS
    )
    if not found:
        return "anonymous"
    digest = hashlib.sha256(repr(found).encode("utf-8", "surrogatepass")).hexdigest()
    return f"sha256:{digest[:12]}"


class _Host:
    """The in-process part of one host: its slots and its token bucket."""

    def __init__(self, limits: HostLimits, now: float) -> None:
        self.limits = limits
        self.slots = threading.BoundedSemaphore(limits.max_concurrency)
        self.lock = threading.Lock()
        self.tokens = float(limits.burst)
        self.refilled = now

    def take_token(self, now: float) -> float:
        """Seconds to wait before sending (0: a token was taken)."""
        rate = self.limits.max_requests_per_second
        if rate is None:
            return 0.0
        with self.lock:
            self.tokens = min(self.limits.burst, self.tokens + (now - self.refilled) * rate)
            self.refilled = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / rate


class HostScheduler:
    """Schedules requests per host (see the module docstring). Thread-safe."""

    def __init__(
        self,
        limits: Mapping[str, HostLimits] | None = None,
        *,
        default: HostLimits | None = None,
        state: HostState | None = None,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.default = default or HostLimits()
        self.state: HostState = state if state is not None else MemoryHostState()
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"HostScheduler(hosts={sorted(self.limits)!r}, state={type(self.state).__name__})"

    def limits_for(self, host: str) -> HostLimits:
        """The limits that apply to ``host`` (``name`` or ``name:port``)."""
        return self.limits.get(host) or self.limits.get(host.split(":")[0]) or self.default

    def _host(self, host: str) -> _Host:
        with self._lock:
            found = self._hosts.get(host)
            if found is None:
                found = self._hosts[host] = _Host(self.limits_for(host), self._clock())
            return found

    @contextmanager
    def slot(self, host: str, credential: str = "anonymous") -> Iterator[None]:
        """Hold one of ``host``'s request slots, after every wait the host needs."""
        entry = self._host(host)
        entry.slots.acquire()
        try:
            self._wait_turn(host, credential, entry)
            yield
        finally:
            entry.slots.release()

    def _wait_turn(self, host: str, credential: str, entry: _Host) -> None:
        key = f"{host}|{credential}"
        # The thread that was told to wait waits in the retry layer, whose next attempt
        # comes here once: it does not wait for the same moment twice.
        waited = self._local.__dict__.pop("told_until", 0.0)
        while True:
            now = max(self._clock(), waited)
            until = self.state.pause_until(host)
            reason = "asked to wait"
            if until <= now:
                reset = self.state.reserve(key, entry.limits.budget_floor, now)
                until, reason = (reset, "its rate budget is spent") if reset else (0.0, "")
            if until <= now:
                pace = entry.take_token(now)
                if pace <= 0:
                    return
                until, reason = now + pace, "paced"
            if until - now > self.max_wait:
                reset_at = datetime.fromtimestamp(until, tz=UTC)
                raise RateLimitedError(
                    f"{host} {reason} until {reset_at.isoformat()}, longer than the "
                    f"{self.max_wait:.0f}s this client waits; try again after that, or use a "
                    "credential with a higher limit.",
                    reset_at=reset_at,
                )
            self._sleep(until - now)
            waited = until

    def observe(self, host: str, credential: str, response: requests.Response) -> None:
        """Learn from an answer: its budget, and a pause when the host asked for one."""
        now = self._clock()
        budget = budget_from_headers(response.headers)
        if budget is not None:
            self.state.observe(f"{host}|{credential}", budget)
        wait: float | None = None
        limited = rate_limit_wait(response, now=now)
        if limited is not None:
            wait = limited[0]
            if wait is None and limited[1] is not None:
                wait = limited[1].timestamp() - now
        elif response.status_code == 503:
            wait = parse_retry_after(response.headers.get("Retry-After"), now=now)
        if wait is not None and wait > 0:
            self.state.set_pause(host, now + wait)
            if wait <= self.max_wait:  # the retry layer waits for it and tries again
                self._local.told_until = now + wait

    def rate_limits(self) -> list[RateBudget]:
        """The budgets hosts reported, one per host and credential, by host."""
        out = []
        for key, b in sorted(self.state.budgets().items()):
            if b.reset == PROVISIONAL:
                continue  # a new window nobody has reported yet
            host, _, credential = key.partition("|")
            reset_at = datetime.fromtimestamp(b.reset, tz=UTC)
            out.append(RateBudget(host, credential, b.limit, b.remaining, reset_at, b.resource))
        return out


class HostAdapter(HTTPAdapter):
    """The transport adapter that puts every request through a :class:`HostScheduler`."""

    def __init__(self, hosts: HostScheduler, **kwargs: Any) -> None:
        # enough pooled connections per host for its slots (urllib3 discards the excess)
        widest = max([hosts.default, *hosts.limits.values()], key=lambda x: x.max_concurrency)
        kwargs["pool_maxsize"] = max(kwargs.get("pool_maxsize", 10), widest.max_concurrency)
        super().__init__(**kwargs)
        self.hosts = hosts

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        """Send ``request`` once the scheduler gives its host a slot."""
        host = parse_url(str(request.url)).host
        credential = credential_key(request.headers)
        with self.hosts.slot(host, credential):
            response = super().send(request, *args, **kwargs)
            self.hosts.observe(host, credential, response)
        return response


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    # ASCII digits only ('²'.isdigit() is True), at most 10 (an epoch before 2286)
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None
