"""Catalogue: deadlines over the whole exchange and the low-speed limit (issue item 2;
H01, H02, R9). No wall-clock assertions: each case shows which limit fired, by its typed
error and message, while the server would have needed far longer."""

from __future__ import annotations

import json
import time

import pytest

from scmreader.errors import RequestTimeoutError
from scmreader.http import HttpClient, HttpSettings, body_stream, parse_json
from scmreader.testing import FakeResponse, FakeScmHost

ONE_TRY = {"max_attempts": 1}
LISTING = json.dumps({"items": list(range(400))}).encode()  # ~2 kB


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.route(
        "GET", r"/listing", lambda r: FakeResponse.json({"items": list(range(400))})
    )
    fake_scm_host.route("GET", r"/archive", lambda r: FakeResponse(200, bytes(200_000)))
    return fake_scm_host


def test_dripped_status_line_and_headers_stop_at_the_request_deadline(host: FakeScmHost) -> None:
    # ~150 header bytes at 0.05 s each would take 7 s; the deadline is 0.8 s.
    host.faults.drip(r"/listing", chunk=1, interval=0.05, head=True)
    client = HttpClient(HttpSettings(request_deadline=0.8, low_speed_limit=0, **ONE_TRY))
    with pytest.raises(RequestTimeoutError, match="request deadline"):
        client.get(host.url("/listing"))


def test_dripped_headers_trip_the_low_speed_limit(host: FakeScmHost) -> None:
    host.faults.drip(r"/listing", chunk=1, interval=0.05, head=True)
    client = HttpClient(HttpSettings(low_speed_limit=200, low_speed_time=0.5, **ONE_TRY))
    with pytest.raises(RequestTimeoutError, match="slower than 200 bytes/s"):
        client.get(host.url("/listing"))


def test_a_dripped_json_body_stays_within_the_request_deadline(host: FakeScmHost) -> None:
    # 2 kB at 20 bytes/s would take 100 s.
    host.faults.drip(r"/listing", chunk=1, interval=0.05)
    client = HttpClient(HttpSettings(request_deadline=1.0, low_speed_limit=0, **ONE_TRY))
    response = client.get(host.url("/listing"))
    with pytest.raises(RequestTimeoutError, match="deadline"):
        parse_json(response, client)


def test_a_dripped_file_body_trips_the_low_speed_limit(host: FakeScmHost) -> None:
    host.faults.drip(r"/archive", chunk=10, interval=0.05)
    client = HttpClient(HttpSettings(low_speed_limit=5_000, low_speed_time=0.5, **ONE_TRY))
    with pytest.raises(RequestTimeoutError, match="slower than"):
        body_stream(client.get(host.url("/archive")), client).read()


def test_a_slow_but_moving_body_is_not_killed(host: FakeScmHost) -> None:
    # ~400 kB/s against a 20 kB/s floor: slow, steady, and allowed to finish (F9).
    host.faults.drip(r"/archive", chunk=4096, interval=0.01)
    client = HttpClient(HttpSettings(low_speed_limit=20_000, low_speed_time=0.3, **ONE_TRY))
    assert len(body_stream(client.get(host.url("/archive")), client).read()) == 200_000


def test_accept_then_silence_is_a_read_timeout(host: FakeScmHost) -> None:
    host.faults.delay(r"/listing", 5.0)
    client = HttpClient(HttpSettings(read_timeout=0.5, **ONE_TRY))
    with pytest.raises(RequestTimeoutError):
        client.get(host.url("/listing"))


def test_a_timed_out_attempt_is_retried_within_the_budget(host: FakeScmHost) -> None:
    host.faults.drip(r"/listing", chunk=1, interval=0.05, head=True)
    client = HttpClient(
        HttpSettings(low_speed_limit=200, low_speed_time=0.4, max_attempts=2), sleep=lambda _: None
    )
    assert parse_json(client.get(host.url("/listing")))["items"][-1] == 399
    assert len(host.requests_to("listing")) == 2


@pytest.mark.parametrize(
    ("what", "ok"),
    [
        (
            "a drip of 2 bytes/s is aborted within 30 s",
            lambda s: s.low_speed_limit > 2 and s.low_speed_time <= 30,
        ),
        ("1 MB/s is fast enough", lambda s: s.low_speed_limit < 1_000_000),
        ("a 100 MB archive at 1 MB/s fits the body deadline", lambda s: s.body_deadline >= 100),
        ("a command line does not wait minutes to connect", lambda s: s.connect_timeout <= 15),
        ("silence ends within a minute", lambda s: s.read_timeout <= 60),
        ("metadata cap holds a 7 MB tree answer", lambda s: s.max_metadata_bytes >= 8_000_000),
        ("metadata cap bounds memory", lambda s: s.max_metadata_bytes <= 64 * 1024 * 1024),
    ],
)
def test_default_limits(what: str, ok: object) -> None:
    assert callable(ok) and ok(HttpSettings()), what


def test_a_host_thinking_before_its_first_byte_is_not_a_low_speed_abort(
    host: FakeScmHost,
) -> None:
    """The low-speed window starts with the first byte: a host preparing an archive for
    longer than ``low_speed_time`` (GitLab, Bitbucket do) is bounded by ``read_timeout``."""
    host.faults.delay(r"/archive", 1.0)
    client = HttpClient(
        HttpSettings(low_speed_limit=5_000, low_speed_time=0.3, read_timeout=5, **ONE_TRY)
    )
    assert len(body_stream(client.get(host.url("/archive")), client).read()) == 200_000


def test_a_caller_pausing_between_reads_is_not_a_slow_host(host: FakeScmHost) -> None:
    """Only time spent waiting on the socket counts: a reader that makes another request
    (or writes to a slow disk) before reading on is not aborted for low speed."""
    client = HttpClient(HttpSettings(low_speed_limit=50_000, low_speed_time=0.3, **ONE_TRY))
    response = client.get(host.url("/archive"))
    stream = body_stream(response, client)
    first = stream.read(1000)
    time.sleep(0.8)
    assert len(first) + len(stream.read()) == 200_000
