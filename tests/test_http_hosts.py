"""Per-host scheduling: concurrency cap, pacing, the shared pause, budgets and their floor.

End to end through FakeScmHost (its GitHub emulation sends ``x-ratelimit-*``), plus tables
for the header parsing and the budget arithmetic. Time is a fake clock the scheduler's
sleep advances, so nothing here waits for real.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.config import load_config
from scmreader.errors import ConfigError, RateLimitedError
from scmreader.http import HostLimits, HostScheduler, HttpClient, HttpSettings
from scmreader.http._hosts import Budget, budget_from_headers, credential_key, merge_budget
from scmreader.http._hosts_config import host_limits_from_config
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeRequest, FakeResponse
from scmreader.testing.routes.github import github, integration_config

TOKEN = "ghp_hosts_token_0001"
OTHER = "ghp_hosts_token_0002"


class FakeTime:
    """A wall clock that only the scheduler's sleep moves; records the sleeps."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("github")
    github(fake_scm_host).add_token(TOKEN)
    github(fake_scm_host).add_token(OTHER, login="hubot")
    fake_scm_host.add_repo("octo/svc", {"catalog-info.yaml": "kind: Component\n"})
    return fake_scm_host


def readers_with(host: FakeScmHost, scheduler: HostScheduler, token: str = TOKEN) -> UrlReaders:
    config = {"integrations": {"github": [integration_config(host, token=token)]}}
    http = HttpClient(HttpSettings(max_retry_wait=30), sleep=lambda s: None, hosts=scheduler)
    return UrlReaders.default(config, http=http)


def file_url(host: FakeScmHost) -> str:
    return f"{host.base_url}/octo/svc/blob/main/catalog-info.yaml"


# --- tables --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (  # GitHub REST
            {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4987",
             "x-ratelimit-reset": "1767225600", "x-ratelimit-resource": "core"},
            Budget(5000, 4987, 1767225600.0, "core"),
        ),
        (  # GitHub search budget: another window, not tracked
            {"x-ratelimit-limit": "30", "x-ratelimit-remaining": "29",
             "x-ratelimit-reset": "1767225600", "x-ratelimit-resource": "search"},
            None,
        ),
        (  # GitLab
            {"RateLimit-Limit": "2000", "RateLimit-Remaining": "1999",
             "RateLimit-Reset": "1767225660", "RateLimit-Observed": "1"},
            Budget(2000, 1999, 1767225660.0, None),
        ),
        ({"x-ratelimit-remaining": "12"}, None),  # no reset: nothing to wait for
        ({"x-ratelimit-remaining": "n/a", "x-ratelimit-reset": "1767225600"}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_budget_from_headers(headers: dict[str, str], expected: Budget | None) -> None:
    from requests.structures import CaseInsensitiveDict

    assert budget_from_headers(CaseInsensitiveDict(headers)) == expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, Budget(5000, 4999, 100.0), Budget(5000, 4999, 100.0)),
        (Budget(5000, 4990, 100.0), Budget(5000, 4995, 100.0), Budget(5000, 4990, 100.0)),
        (Budget(5000, 4990, 100.0), Budget(5000, 4980, 100.0), Budget(5000, 4980, 100.0)),
        (Budget(5000, 3, 100.0), Budget(5000, 4999, 200.0), Budget(5000, 4999, 200.0)),
        (Budget(5000, 4999, 200.0), Budget(5000, 3, 100.0), Budget(5000, 4999, 200.0)),
    ],
)
def test_merge_budget(old: Budget | None, new: Budget, expected: Budget) -> None:
    assert merge_budget(old, new) == expected


def test_credential_key_hashes_and_never_shows_the_secret() -> None:
    a = credential_key({"Authorization": f"Bearer {TOKEN}", "Accept": "x"})
    b = credential_key({"authorization": f"Bearer {OTHER}"})
    assert a.startswith("sha256:") and a != b and TOKEN not in a
    assert credential_key({"PRIVATE-TOKEN": "glpat-x"}) != credential_key({})
    assert credential_key({"Accept": "application/json"}) == "anonymous"


# --- concurrency and pacing ----------------------------------------------------------


def test_concurrency_cap_holds_at_the_host(fake_scm_host: FakeScmHost) -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def slow(request: FakeRequest) -> FakeResponse:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        threading.Event().wait(0.05)
        with lock:
            active -= 1
        return FakeResponse.text("ok\n")

    fake_scm_host.route("GET", "/slow/[0-9]+", slow)
    scheduler = HostScheduler({fake_scm_host.host: HostLimits(max_concurrency=3)})
    config = {"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}}
    readers = UrlReaders.default(config, http=HttpClient(hosts=scheduler))
    results = readers.read_many([fake_scm_host.url(f"/slow/{n}") for n in range(24)])
    assert all(r.ok for r in results)
    assert peak == 3


def test_pacing_spreads_requests_at_the_configured_rate() -> None:
    t = FakeTime()
    scheduler = HostScheduler(
        {"api.example.com": HostLimits(max_requests_per_second=4, burst=2)},
        clock=t.clock,
        sleep=t.sleep,
    )
    start = t.now
    for _ in range(10):
        with scheduler.slot("api.example.com"):
            pass
    # two at once (the burst), then one every 0.25 s
    assert t.now - start == pytest.approx(8 * 0.25)
    with scheduler.slot("unpaced.example.com"):
        pass
    assert t.now - start == pytest.approx(2.0)


def test_published_defaults() -> None:
    scheduler = HostScheduler()
    assert scheduler.limits_for("api.github.com").max_requests_per_second == 15
    assert scheduler.limits_for("gitlab.com").max_requests_per_second == pytest.approx(33.3, 0.01)
    assert scheduler.limits_for("ghe.example.com:8443") == HostLimits()
    assert HostLimits().max_concurrency == 16


# --- the shared pause ----------------------------------------------------------------


def test_one_429_pauses_every_thread_of_the_host(fake_scm_host: FakeScmHost) -> None:
    answers = iter([FakeResponse.text("slow down", 429, {"Retry-After": "7"})])

    def limited(request: FakeRequest) -> FakeResponse:
        return next(answers, FakeResponse.text("ok\n"))

    fake_scm_host.route("GET", "/limited/[0-9]+", limited)
    t = FakeTime()
    scheduler = HostScheduler(clock=t.clock, sleep=t.sleep)
    tenacity_sleeps: list[float] = []
    config = {"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}}
    http = HttpClient(
        HttpSettings(max_retry_wait=30), sleep=tenacity_sleeps.append, hosts=scheduler
    )
    readers = UrlReaders.default(config, http=http)

    assert readers.read(fake_scm_host.url("/limited/1")) == b"ok\n"
    assert tenacity_sleeps == [7.0]  # the thread that was told waits in the retry layer
    assert t.sleeps == []

    start = t.now
    others = readers.read_many([fake_scm_host.url(f"/limited/{n}") for n in range(2, 6)])
    assert all(r.ok for r in others)
    # every other thread waited for the same moment (the fake clock moves once for all)
    assert t.sleeps and all(0 < s <= 7.0 for s in t.sleeps)
    assert t.now == pytest.approx(start + 7.0, abs=0.5)
    assert len(fake_scm_host.requests) == 6  # 429 + retry + 4: no other thread got a 429


def test_a_pause_longer_than_max_wait_fails_at_once_without_a_request(
    fake_scm_host: FakeScmHost,
) -> None:
    fake_scm_host.route(
        "GET", "/busy", lambda r: FakeResponse.text("later", 503, {"Retry-After": "600"})
    )
    fake_scm_host.serve_file("/other", b"other\n")
    config = {"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}}
    readers = UrlReaders.default(config, http=HttpClient(sleep=lambda s: None))
    with pytest.raises(Exception):  # noqa: B017 - the 503 itself; what matters is next
        readers.read(fake_scm_host.url("/busy"))
    fake_scm_host.clear_requests()
    with pytest.raises(RateLimitedError, match="asked to wait"):
        readers.read(fake_scm_host.url("/other"))  # the same thread is not exempt either
    [result] = readers.read_many([fake_scm_host.url("/other")])
    assert isinstance(result.error, RateLimitedError)
    assert result.error.reset_at is not None
    assert "longer than the 60s" in str(result.error)
    assert fake_scm_host.requests == []


# --- budgets -------------------------------------------------------------------------


def test_budget_floor_waits_for_the_reset_instead_of_spending_the_last_requests(
    host: FakeScmHost,
) -> None:
    t = FakeTime()
    reset = int(t.now) + 20
    github(host).set_rate_limit(6, limit=60, reset=reset)
    at_sleep: list[int] = []

    def sleep(seconds: float) -> None:
        at_sleep.append(github(host).rate_remaining)
        github(host).set_rate_limit(60, limit=60, reset=reset + 3600)  # the window resets
        t.sleep(seconds)

    scheduler = HostScheduler(
        {host.host: HostLimits(budget_floor=2)}, clock=t.clock, sleep=sleep, max_wait=30
    )
    readers = readers_with(host, scheduler)
    for _ in range(6):
        readers.read(file_url(host))
    assert at_sleep == [2]  # waited with two requests left, as configured
    assert t.now == pytest.approx(reset)
    assert github(host).rate_remaining == 60 - 2


def test_budget_beyond_max_wait_raises_before_sending(host: FakeScmHost) -> None:
    github(host).set_rate_limit(3, limit=5000, reset=int(time.time()) + 3000)
    scheduler = HostScheduler({host.host: HostLimits(budget_floor=2)})
    readers = readers_with(host, scheduler)
    readers.read(file_url(host))  # learns: 2 left, which is the floor
    host.clear_requests()
    with pytest.raises(RateLimitedError, match="rate budget is spent") as caught:
        readers.read(file_url(host))
    assert caught.value.reset_at == datetime.fromtimestamp(github(host).rate_reset, tz=UTC)
    assert host.requests == []
    assert TOKEN not in str(caught.value)


def test_rate_limits_are_tracked_per_host_and_credential(host: FakeScmHost) -> None:
    scheduler = HostScheduler()
    readers_with(host, scheduler, TOKEN).read(file_url(host))
    readers_with(host, scheduler, OTHER).read(file_url(host))
    readers_with(host, scheduler, OTHER).read(file_url(host))
    limits = scheduler.rate_limits()
    assert [(b.host, b.limit, b.resource) for b in limits] == [(host.host, 5000, "core")] * 2
    assert len({b.credential for b in limits}) == 2
    # the fake has one window for all tokens: each credential keeps what it was told
    assert sorted(b.remaining for b in limits) == [4997, 4999]
    assert all(TOKEN not in repr(b) and OTHER not in repr(b) for b in limits)
    readers = readers_with(host, scheduler)
    assert readers.rate_limits() == limits


# --- configuration -------------------------------------------------------------------


def cfg(hosts: Any) -> Any:
    return load_config({"scmreader": {"hosts": hosts}})


def test_hosts_config() -> None:
    limits = host_limits_from_config(
        cfg(
            [
                {"host": "api.github.com", "maxConcurrency": 4},
                {"host": "ghe.example.com:8443", "maxRequestsPerSecond": 2.5, "budgetFloor": 0},
            ]
        )
    )
    assert limits["api.github.com"] == HostLimits(
        max_concurrency=4, max_requests_per_second=15.0, burst=15
    )
    assert limits["ghe.example.com:8443"] == HostLimits(max_requests_per_second=2.5, budget_floor=0)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"host": "a.example.com", "maxConcurency": 4}, "unknown key"),
        ({"host": "a.example.com", "maxConcurrency": 0}, "at least 1"),
        ({"host": "a.example.com", "maxConcurrency": 2.5}, "whole number"),
        ({"host": "a.example.com", "maxRequestsPerSecond": 0}, "above 0"),
        ({"host": "a.example.com", "budgetFloor": -1}, "at least 0"),
        ({"host": "https://a.example.com/"}, "bare host"),
        ({"maxConcurrency": 2}, "host"),
    ],
)
def test_hosts_config_errors(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        host_limits_from_config(cfg([entry]))


def test_the_connection_pool_is_as_wide_as_the_widest_host() -> None:
    wide = HttpClient(hosts=HostScheduler({"ghe.example.com": HostLimits(max_concurrency=40)}))
    assert wide.session.get_adapter("https://ghe.example.com/").__dict__["_pool_maxsize"] == 40
    assert HttpClient().session.get_adapter("https://x.example/").__dict__["_pool_maxsize"] == 16


def test_hosts_keys_are_known_to_the_config_loader(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.WARNING, logger="scmreader.config")
    load_config({"scmreader": {"hosts": [{"host": "api.github.com", "budgetFloor": 100}]}})
    assert caplog.records == []
    load_config({"scmreader": {"hosts": [{"host": "api.github.com", "budgetFlor": 100}]}})
    assert "did you mean 'budgetFloor'" in caplog.text


@given(
    st.dictionaries(
        st.sampled_from(
            ["x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-limit",
             "x-ratelimit-resource", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"]
        ),
        st.text(max_size=12),
    )
)  # fmt: skip
def test_any_rate_headers_parse_to_a_budget_or_nothing(headers: dict[str, str]) -> None:
    from requests.structures import CaseInsensitiveDict

    budget = budget_from_headers(CaseInsensitiveDict(headers))
    if budget is not None:
        assert budget.remaining >= 0 and budget.limit >= 0 and budget.reset >= 0


@given(st.lists(st.tuples(st.integers(0, 5000), st.sampled_from([100.0, 200.0])), max_size=20))
def test_merged_budget_never_rises_within_a_window(answers: list[tuple[int, float]]) -> None:
    merged: Budget | None = None
    latest = 0.0
    for remaining, reset in answers:
        before = merged
        merged = merge_budget(merged, Budget(5000, remaining, reset))
        latest = max(latest, reset)
        if before is not None and before.reset == merged.reset:
            assert merged.remaining <= before.remaining
        assert merged.reset == latest  # an older window's answer never wins
