"""Fault mode, observed from a real requests client over loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from scmreader.testing import FakeHostError, FakeResponse, FakeScmHost

ARCHIVE = bytes(range(256)) * 400  # 102_400 bytes


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.serve_file("/archive.tar.gz", ARCHIVE)
    fake_scm_host.serve_file("/small.txt", b"0123456789")
    fake_scm_host.route(
        "GET", r"/stream", lambda r: FakeResponse(200, iter([ARCHIVE[:50_000], ARCHIVE[50_000:]]))
    )
    return fake_scm_host


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        yield s


def _get(session: requests.Session, url: str, **kwargs: object) -> tuple[int, bytes]:
    response = session.get(url, timeout=5, **kwargs)  # type: ignore[arg-type]
    return response.status_code, response.content


def test_statuses_are_consumed_in_order(host: FakeScmHost, session: requests.Session) -> None:
    host.faults.statuses(r"^/small\.txt$", [500, 502, 200, 503])
    assert host.faults.remaining() == 4
    seen = [session.get(host.url("/small.txt")) for _ in range(5)]
    assert [r.status_code for r in seen] == [500, 502, 200, 503, 200]
    assert seen[0].json() == {"message": "Internal Server Error", "fault": "injected"}
    assert seen[2].content == seen[4].content == b"0123456789"
    assert host.faults.remaining() == 0
    assert len(host.requests_to("small")) == 5  # faulted requests are logged too


def test_status_with_headers_times_and_other_paths(
    host: FakeScmHost, session: requests.Session
) -> None:
    host.faults.status(r"/small", 429, headers={"Retry-After": "1"}, times=2)
    other = session.get(host.url("/archive.tar.gz"))
    assert other.status_code == 200  # another path is not affected
    first, second, third = (session.get(host.url("/small.txt")) for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "1")
    assert (second.status_code, third.status_code) == (429, 200)


def test_status_bodies_and_forever(host: FakeScmHost, session: requests.Session) -> None:
    host.faults.status(
        r"/small", 200, body="<html>captive portal</html>", headers={"Content-Type": "text/html"}
    )
    page = session.get(host.url("/small.txt"))
    assert (page.status_code, page.text, page.headers["Content-Type"]) == (
        200,
        "<html>captive portal</html>",
        "text/html",
    )
    host.faults.status(r"/small", 403, body={"message": "API rate limit exceeded"}, times=None)
    for _ in range(3):
        limited = session.get(host.url("/small.txt"))
        assert (limited.status_code, limited.json()["message"]) == (403, "API rate limit exceeded")
    assert host.faults.remaining(r"/small") == 1
    host.faults.clear()
    assert session.get(host.url("/small.txt")).status_code == 200
    host.faults.status(r"/small", 304)
    not_modified = session.get(host.url("/small.txt"))
    assert (not_modified.status_code, not_modified.content) == (304, b"")


def test_respond_and_method_filter(host: FakeScmHost, session: requests.Session) -> None:
    host.faults.respond(r"/small", FakeResponse.text("odd", 418), method="HEAD")
    assert session.get(host.url("/small.txt")).status_code == 200
    assert session.head(host.url("/small.txt")).status_code == 418
    assert session.head(host.url("/small.txt")).status_code == 200


def test_rules_are_checked_in_registration_order(
    host: FakeScmHost, session: requests.Session
) -> None:
    host.faults.status(r"\.txt$", 500)
    host.faults.status(r"/small", 502)
    assert [session.get(host.url("/small.txt")).status_code for _ in range(3)] == [500, 502, 200]


def test_delay_stalls_before_the_status_line(host: FakeScmHost, session: requests.Session) -> None:
    host.faults.delay(r"/small", 1.0)
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(host.url("/small.txt"), timeout=(2, 0.2))
    assert time.monotonic() - start < 0.9
    assert _get(session, host.url("/small.txt")) == (200, b"0123456789")  # served normally next
    host.faults.delay(r"/small", 0.3)
    start = time.monotonic()
    assert _get(session, host.url("/small.txt")) == (200, b"0123456789")
    assert time.monotonic() - start >= 0.3


@pytest.mark.parametrize("path", ["/archive.tar.gz", "/stream"])
def test_reset_after_n_bytes(host: FakeScmHost, session: requests.Session, path: str) -> None:
    host.faults.reset_after(path, 5000)
    received = bytearray()
    errors = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    with (
        pytest.raises(errors),
        session.get(host.url(path), stream=True, timeout=5) as response,
    ):
        assert response.status_code == 200
        for block in response.iter_content(1024):
            received += block
    assert len(received) <= 5000
    assert received == ARCHIVE[: len(received)]
    assert _get(session, host.url(path)) == (200, ARCHIVE)  # the retry gets it all


def test_reset_exception_names_the_reset(host: FakeScmHost, session: requests.Session) -> None:
    host.faults.reset_after(r"/archive", 0)
    with pytest.raises(requests.exceptions.RequestException) as info:
        session.get(host.url("/archive.tar.gz"), timeout=5)
    assert "reset" in repr(info.value).lower() or "IncompleteRead" in repr(info.value)


@pytest.mark.parametrize("path", ["/archive.tar.gz", "/stream"])
def test_truncate_declares_the_full_length(
    host: FakeScmHost, session: requests.Session, path: str
) -> None:
    host.faults.truncate(path, 1000)
    received = bytearray()
    with (
        pytest.raises(requests.exceptions.ChunkedEncodingError),
        session.get(host.url(path), stream=True, timeout=5) as response,
    ):
        if path == "/archive.tar.gz":
            assert response.headers["Content-Length"] == str(len(ARCHIVE))
        else:
            assert response.headers["Transfer-Encoding"] == "chunked"
        for block in response.iter_content(256):
            received += block
    assert len(received) <= 1000 and received == ARCHIVE[: len(received)]
    assert _get(session, host.url(path)) == (200, ARCHIVE)


def _raw_get(host: FakeScmHost, path: str) -> tuple[bytes, bytes]:
    """Send one GET over a bare socket; return (head, body bytes) read until EOF."""
    with socket.create_connection(("127.0.0.1", host.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host.host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_truncate_sends_exactly_n_body_bytes_then_fin(host: FakeScmHost) -> None:
    host.faults.truncate(r"/archive", 1000)
    head, body = _raw_get(host, "/archive.tar.gz")
    assert b"Content-Length: 102400" in head and b"Connection: close" not in head
    assert body == ARCHIVE[:1000]
    host.faults.truncate(r"/stream", 10)
    head, body = _raw_get(host, "/stream")
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"a\r\n" + ARCHIVE[:10] + b"\r\n"  # no terminating 0-chunk


def test_reset_is_a_tcp_rst_not_a_fin(host: FakeScmHost) -> None:
    host.faults.reset_after(r"/archive", 5000)
    with pytest.raises(ConnectionResetError):
        _raw_get(host, "/archive.tar.gz")


def test_drip_sends_slowly_but_completely(host: FakeScmHost, session: requests.Session) -> None:
    host.faults.drip(r"/small", chunk=2, interval=0.1)
    start = time.monotonic()
    # The read timeout is per socket read, so a drip well inside it never trips it (H01).
    response = session.get(host.url("/small.txt"), timeout=(2, 0.25))
    elapsed = time.monotonic() - start
    assert response.content == b"0123456789"
    assert elapsed >= 0.4  # 5 pieces, 4 gaps
    host.faults.drip(r"/small", 1, 0.5)
    with pytest.raises(requests.exceptions.ConnectionError):  # urllib3 ReadTimeoutError in body
        session.get(host.url("/small.txt"), timeout=(2, 0.2))


def test_drip_is_interrupted_by_stop() -> None:
    host = FakeScmHost().start()
    host.serve_file("/slow", b"x" * 100)
    host.faults.drip(r"/slow", 1, 0.2)
    with requests.get(host.url("/slow"), stream=True, timeout=5) as response:
        assert response.raw.read(1) == b"x"
        start = time.monotonic()
        host.close()
        with pytest.raises(requests.exceptions.RequestException):
            response.content  # noqa: B018
    assert time.monotonic() - start < 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.statuses("/x", [200, 700]), "between 100 and 599"),
        (lambda f: f.status("/x", 500, times=0), "times must be"),
        (lambda f: f.delay("/x", -1), "seconds"),
        (lambda f: f.reset_after("/x", -5), "nbytes"),
        (lambda f: f.truncate("/x", -1), "nbytes"),
        (lambda f: f.drip("/x", chunk=0), "chunk"),
        (lambda f: f.drip("/x", interval=-0.1), "interval"),
        (lambda f: f.status("(", 500), "invalid fault path pattern"),
    ],
)
def test_invalid_fault_arguments(fake_scm_host: FakeScmHost, call: object, message: str) -> None:
    with pytest.raises(FakeHostError, match=message):
        call(fake_scm_host.faults)  # type: ignore[operator]
