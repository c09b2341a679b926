"""Catalogue: hostile Retry-After and rate-limit reset values (issue item 4; H08-H10) and
GitHub's secondary rate limit."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import responses

from scmreader.errors import PermissionDeniedError, RateLimitedError
from scmreader.http import (
    HttpClient,
    HttpSettings,
    parse_reset,
    parse_retry_after,
    raise_for_status,
)
from scmreader.testing import FakeScmHost

API = "https://api.example.test"
NOW = 1_700_000_000.0
HOSTILE = {
    "superscript two": "\u00b2",
    "arabic-indic digits": "\u0663",
    "400 digits": "9" * 400,
    "14-digit epoch": "17000000000000",
    "negative": "-5",
    "fraction": "1.5",
    "hex": "0x10",
    "empty": "",
    "spaces inside": "1 0",
    "date with a non-ASCII day": "Fr\u00ef, 01 Jan 2027 00:00:00 GMT",
    "date in year 99999": "Fri, 01 Jan 99999 00:00:00 GMT",
    "date ten years ahead": "Thu, 01 Jan 2037 00:00:00 GMT",
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_retry_after_values_count_as_absent(value: str) -> None:
    assert parse_retry_after(value, now=NOW) is None


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_reset_values_count_as_absent(value: str) -> None:
    assert parse_reset(value, now=NOW) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),
    ],
)
def test_plausible_retry_after_values(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_plausible_reset_value() -> None:
    assert parse_reset(str(int(NOW) + 30), now=NOW) == datetime.fromtimestamp(NOW + 30, tz=UTC)


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@responses.activate
def test_hostile_headers_on_a_200_are_ignored(value: str) -> None:
    """Issue item 5: they raised ValueError or OverflowError even on a 200 answer."""
    headers = {"Retry-After": value, "x-ratelimit-reset": value, "x-ratelimit-remaining": "0"}
    responses.get(f"{API}/f", body=b"ok", headers=headers)
    response = HttpClient().get(f"{API}/f")
    assert response.status_code == 200


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@responses.activate
def test_hostile_headers_on_a_429_give_a_typed_error(value: str) -> None:
    responses.get(
        f"{API}/f", status=429, headers={"Retry-After": value, "x-ratelimit-reset": value}
    )
    waits: list[float] = []
    client = HttpClient(HttpSettings(max_attempts=3), sleep=waits.append)
    with pytest.raises(RateLimitedError):
        client.get(f"{API}/f")
    assert all(0 <= w <= 60 for w in waits)


SECONDARY = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before "
    "you try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}


@responses.activate
def test_secondary_rate_limit_without_headers_waits_a_minute_then_succeeds() -> None:
    responses.get(f"{API}/f", status=403, json=SECONDARY)
    responses.get(f"{API}/f", body=b"ok")
    waits: list[float] = []
    response = HttpClient(sleep=waits.append).get(f"{API}/f")
    assert response.status_code == 200
    assert waits == [60.0]


@responses.activate
def test_secondary_rate_limit_past_the_budget_carries_the_reset_time() -> None:
    responses.get(f"{API}/f", status=403, json=SECONDARY)
    client = HttpClient(HttpSettings(max_retry_wait=30), sleep=lambda _: None)
    before = time.time()
    with pytest.raises(RateLimitedError) as caught:
        client.get(f"{API}/f")
    reset = caught.value.reset_at
    assert reset is not None and reset.timestamp() >= before + 59
    assert len(responses.calls) == 1


@responses.activate
def test_a_plain_403_is_not_retried_and_its_body_stays_readable() -> None:
    responses.get(f"{API}/f", status=403, json={"message": "Resource not accessible"})
    waits: list[float] = []
    response = HttpClient(sleep=waits.append).get(f"{API}/f")
    assert waits == [] and len(responses.calls) == 1
    from scmreader.http import parse_json

    assert parse_json(response)["message"] == "Resource not accessible"
    with pytest.raises(PermissionDeniedError):
        raise_for_status(response)


def test_secondary_rate_limit_through_fake_host_faults(fake_scm_host: FakeScmHost) -> None:
    """The same over a real socket: a 429 with the message, then a 403 with it, then OK."""
    fake_scm_host.serve_file("/f", b"ok")
    fake_scm_host.faults.status(r"^/f$", 429, body=SECONDARY)
    fake_scm_host.faults.status(r"^/f$", 403, body=SECONDARY)
    waits: list[float] = []
    client = HttpClient(HttpSettings(retry_budget=200), sleep=waits.append)
    response = client.get(fake_scm_host.url("/f"))
    assert response.status_code == 200 and waits == [60.0, 60.0]
    assert len(fake_scm_host.requests_to("^/f$")) == 3
