"""The HTTP layer: retries, rate limits, redirects, credentials per origin, deadlines, redaction."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
import requests
import responses

from scmreader.errors import (
    AuthenticationError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    TooManyRedirectsError,
    TransportError,
    UpstreamError,
)
from scmreader.http import (
    HttpClient,
    HttpSettings,
    OriginCredentials,
    body_stream,
    credentials_for,
    parse_retry_after,
    raise_for_status,
)
from scmreader.redact import register_secret

API = "https://api.example.test"
CANARY = "canary-token-5f1c9e"


class FakeSleep:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def client(sleep: FakeSleep) -> HttpClient:
    return HttpClient(HttpSettings(max_attempts=4, max_retry_wait=30), sleep=sleep)


@responses.activate
@pytest.mark.parametrize(
    ("statuses", "expected_calls"),
    [
        ([500, 500, 200], 3),
        ([502, 200], 2),
        ([503, 504, 200], 3),
        ([408, 200], 2),
    ],
)
def test_transient_statuses_are_retried_until_success(
    client: HttpClient, sleep: FakeSleep, statuses: list[int], expected_calls: int
) -> None:
    for status in statuses:
        responses.get(f"{API}/f", status=status, body=b"ok" if status == 200 else b"")
    response = client.get(f"{API}/f")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert len(responses.calls) == expected_calls
    assert len(sleep.calls) == expected_calls - 1
    assert all(0 < s <= 8 for s in sleep.calls)


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 403, 404, 501])
def test_non_transient_statuses_are_not_retried(client: HttpClient, status: int) -> None:
    responses.get(f"{API}/f", status=status)
    assert client.get(f"{API}/f").status_code == status
    assert len(responses.calls) == 1


@responses.activate
def test_429_retry_after_is_honoured(client: HttpClient, sleep: FakeSleep) -> None:
    responses.get(f"{API}/f", status=429, headers={"Retry-After": "7"})
    responses.get(f"{API}/f", status=200, body=b"ok")
    assert client.get(f"{API}/f").content == b"ok"
    assert sleep.calls == [7.0]


@responses.activate
def test_429_retry_after_one_second_really_waits() -> None:
    responses.get(f"{API}/f", status=429, headers={"Retry-After": "1"})
    responses.get(f"{API}/f", status=200, body=b"ok")
    started = time.monotonic()
    assert HttpClient().get(f"{API}/f").content == b"ok"
    assert 0.9 <= time.monotonic() - started < 5


@responses.activate
def test_exhausted_budget_on_5xx_gives_upstream_error(client: HttpClient) -> None:
    for _ in range(4):
        responses.get(f"{API}/f", status=503)
    with pytest.raises(UpstreamError) as info:
        client.get(f"{API}/f")
    assert info.value.status == 503
    assert info.value.attempts == 4
    assert "try again later" in str(info.value)
    assert len(responses.calls) == 4


@responses.activate
def test_exhausted_budget_on_429_gives_rate_limited_error(client: HttpClient) -> None:
    for _ in range(4):
        responses.get(f"{API}/f", status=429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimitedError) as info:
        client.get(f"{API}/f")
    assert info.value.reset_at is not None
    assert len(responses.calls) == 4


@responses.activate
def test_retry_after_beyond_the_cap_fails_at_once(client: HttpClient, sleep: FakeSleep) -> None:
    responses.get(f"{API}/f", status=429, headers={"Retry-After": "999999"})
    with pytest.raises(RateLimitedError):
        client.get(f"{API}/f")
    assert len(responses.calls) == 1
    assert sleep.calls == []


@responses.activate
def test_github_primary_rate_limit_waits_until_reset(client: HttpClient, sleep: FakeSleep) -> None:
    reset = int(time.time()) + 5
    responses.get(
        f"{API}/f",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    responses.get(f"{API}/f", status=200, body=b"ok")
    assert client.get(f"{API}/f").content == b"ok"
    assert len(sleep.calls) == 1
    assert 3 <= sleep.calls[0] <= 7


@responses.activate
def test_github_rate_limit_far_in_the_future_raises_with_reset(client: HttpClient) -> None:
    reset = int(time.time()) + 3600
    responses.get(
        f"{API}/f",
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    with pytest.raises(RateLimitedError) as info:
        client.get(f"{API}/f")
    assert info.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
    assert len(responses.calls) == 1


@responses.activate
def test_secondary_rate_limit_403_with_retry_after(client: HttpClient, sleep: FakeSleep) -> None:
    responses.get(f"{API}/f", status=403, headers={"retry-after": "3"})
    responses.get(f"{API}/f", status=200, body=b"ok")
    assert client.get(f"{API}/f").content == b"ok"
    assert sleep.calls == [3.0]


@responses.activate
def test_plain_403_is_permission_denied_not_retried(client: HttpClient) -> None:
    responses.get(f"{API}/f", status=403, headers={"x-ratelimit-remaining": "4000"})
    response = client.get(f"{API}/f")
    with pytest.raises(PermissionDeniedError):
        raise_for_status(response)
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("0", 0.0),
        ("-5", None),
        ("abc", None),
        ("", None),
        (None, None),
        ("Thu, 01 Jan 1970 00:01:40 GMT", 40.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=60.0) == expected


@responses.activate
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (304, NotModifiedError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (500, UpstreamError),
    ],
)
def test_raise_for_status_maps_statuses(status: int, error: type[Exception]) -> None:
    responses.get(f"{API}/f", status=status, headers={"ETag": '"e1"'})
    response = requests.get(f"{API}/f")
    with pytest.raises(error) as info:
        raise_for_status(response, what="https://host.test/o/r/blob/main/f")
    assert "https://host.test/o/r/blob/main/f" in str(info.value)
    if status == 304:
        assert isinstance(info.value, NotModifiedError)
        assert info.value.etag == '"e1"'


# --- redirects and credentials ---------------------------------------------------------

CREDENTIAL_HEADERS = {"Authorization": f"Bearer {CANARY}", "PRIVATE-TOKEN": CANARY}


@responses.activate
def test_credentials_dropped_on_cross_origin_redirect(client: HttpClient) -> None:
    responses.get(f"{API}/archive", status=302, headers={"Location": "https://cdn.test/blob"})
    responses.get("https://cdn.test/blob", status=200, body=b"data")
    creds = [OriginCredentials(API, CREDENTIAL_HEADERS)]
    assert client.get(f"{API}/archive", credentials=creds).content == b"data"
    first, second = responses.calls
    assert first.request.headers["Authorization"] == f"Bearer {CANARY}"
    assert first.request.headers["PRIVATE-TOKEN"] == CANARY
    assert "Authorization" not in second.request.headers
    assert "PRIVATE-TOKEN" not in second.request.headers


@responses.activate
def test_credentials_kept_on_same_origin_redirect(client: HttpClient) -> None:
    responses.get(f"{API}/a", status=301, headers={"Location": "/b?x=1"})
    responses.get(f"{API}/b", status=200, body=b"data")
    creds = [OriginCredentials(API, CREDENTIAL_HEADERS)]
    client.get(f"{API}/a", credentials=creds)
    assert responses.calls[1].request.headers["PRIVATE-TOKEN"] == CANARY
    assert responses.calls[1].request.url == f"{API}/b?x=1"


@responses.activate
def test_credentials_never_return_after_leaving_their_origin(client: HttpClient) -> None:
    responses.get(f"{API}/a", status=302, headers={"Location": "https://other.test/x"})
    responses.get("https://other.test/x", status=302, headers={"Location": f"{API}/c"})
    responses.get(f"{API}/c", status=200, body=b"data")
    client.get(f"{API}/a", credentials=[OriginCredentials(API, CREDENTIAL_HEADERS)])
    assert "PRIVATE-TOKEN" not in responses.calls[2].request.headers
    assert "Authorization" not in responses.calls[2].request.headers


@responses.activate
def test_port_change_is_another_origin(client: HttpClient) -> None:
    responses.get(f"{API}/a", status=302, headers={"Location": "https://api.example.test:8443/b"})
    responses.get("https://api.example.test:8443/b", status=200)
    client.get(f"{API}/a", credentials=[OriginCredentials(API, CREDENTIAL_HEADERS)])
    assert "PRIVATE-TOKEN" not in responses.calls[1].request.headers


@responses.activate
def test_https_to_http_downgrade_refused(client: HttpClient) -> None:
    responses.get(f"{API}/a", status=302, headers={"Location": "http://api.example.test/b"})
    with pytest.raises(NotAllowedError, match="downgrades"):
        client.get(f"{API}/a")
    assert len(responses.calls) == 1


@responses.activate
def test_redirect_policy_checked_on_every_hop(client: HttpClient) -> None:
    responses.get(f"{API}/a", status=302, headers={"Location": "https://evil.test/x"})

    def only_api(url: object) -> None:
        if "evil" in str(url):
            raise NotAllowedError("not allowed")

    with pytest.raises(NotAllowedError):
        client.get(f"{API}/a", check_redirect=only_api)
    assert len(responses.calls) == 1


@responses.activate
def test_too_many_redirects(client: HttpClient) -> None:
    for i in range(7):
        responses.get(f"{API}/{i}", status=302, headers={"Location": f"/{i + 1}"})
    with pytest.raises(TooManyRedirectsError, match="max 5"):
        client.get(f"{API}/0")
    assert len(responses.calls) == 6


@responses.activate
def test_303_switches_to_get(client: HttpClient) -> None:
    responses.post(f"{API}/token", status=303, headers={"Location": "/result"})
    responses.get(f"{API}/result", status=200, body=b"done")
    assert client.request("POST", f"{API}/token", data=b"x").content == b"done"


def test_netrc_is_never_used(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import pathlib

    netrc = pathlib.Path(str(tmp_path)) / "netrc"
    netrc.write_text(f"machine api.example.test login u password {CANARY}\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/f", status=200)
        HttpClient().get(f"{API}/f")
        assert "Authorization" not in mock.calls[0].request.headers


def test_credentials_for_binds_to_origin() -> None:
    creds = credentials_for("https://API.example.test:443/x?y", {"Authorization": "Bearer t"})
    assert creds[0].origin == API
    assert CANARY not in repr(OriginCredentials(API, CREDENTIAL_HEADERS))
    assert credentials_for(f"{API}/x", None) == []


# --- transport failures, deadlines, redaction ------------------------------------------


def test_connection_refused_is_a_transport_error_without_secrets(
    sleep: FakeSleep, caplog: pytest.LogCaptureFixture
) -> None:
    register_secret(CANARY)
    client = HttpClient(HttpSettings(max_attempts=2), sleep=sleep)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(TransportError) as info:
        client.get(f"http://127.0.0.1:9/x?access_token={CANARY}")
    text = str(info.value) + repr(info.value)
    assert CANARY not in text
    assert "refused" in text
    assert len(sleep.calls) == 1
    for record in caplog.records:
        assert CANARY not in record.getMessage()


def test_slow_drip_body_ends_within_the_deadline(fake_scm_host: object) -> None:
    from scmreader.testing import FakeScmHost

    assert isinstance(fake_scm_host, FakeScmHost)
    fake_scm_host.enable("plain")
    fake_scm_host.serve_file("/slow.bin", b"x" * 10_000)
    fake_scm_host.faults.drip(r"/slow\.bin", chunk=1, interval=0.2)
    client = HttpClient(HttpSettings(read_timeout=5, body_deadline=1.5))
    started = time.monotonic()
    response = client.get(f"{fake_scm_host.base_url}/slow.bin")
    with pytest.raises(RequestTimeoutError, match="deadline"):
        body_stream(response, client).read()
    assert time.monotonic() - started < 3.5


def test_reset_mid_body_is_a_transport_error(fake_scm_host: object) -> None:
    from scmreader.testing import FakeScmHost

    assert isinstance(fake_scm_host, FakeScmHost)
    fake_scm_host.enable("plain")
    fake_scm_host.serve_file("/big.bin", b"y" * 200_000)
    fake_scm_host.faults.truncate(r"/big\.bin", 5_000)
    client = HttpClient()
    response = client.get(f"{fake_scm_host.base_url}/big.bin")
    with pytest.raises(TransportError, match="cut off"):
        body_stream(response, client).read()


# --- review fixes: cookies, caps, deadlines, TLS ---------------------------------------


@responses.activate
def test_cookies_are_never_stored_or_sent(client: HttpClient) -> None:
    responses.get(f"{API}/a", status=200, headers={"Set-Cookie": "session=USER_A; Path=/"})
    responses.get(f"{API}/b", status=200)
    client.get(f"{API}/a", credentials=[OriginCredentials(API, CREDENTIAL_HEADERS)])
    client.get(f"{API}/b")
    assert "Cookie" not in responses.calls[1].request.headers
    assert len(client.session.cookies) == 0


@responses.activate
def test_retry_after_beyond_the_cap_on_503_fails_at_once(
    client: HttpClient, sleep: FakeSleep
) -> None:
    responses.get(f"{API}/f", status=503, headers={"Retry-After": "100"})
    with pytest.raises(UpstreamError) as info:
        client.get(f"{API}/f")
    assert info.value.attempts == 1
    assert sleep.calls == []


@responses.activate
def test_exhausted_rate_limit_without_reset_is_not_retried(client: HttpClient) -> None:
    responses.get(f"{API}/f", status=403, headers={"x-ratelimit-remaining": "0"})
    with pytest.raises(RateLimitedError):
        client.get(f"{API}/f")
    assert len(responses.calls) == 1


@responses.activate
def test_attempts_counts_the_attempts_really_made(sleep: FakeSleep) -> None:
    client = HttpClient(HttpSettings(max_attempts=6, retry_budget=5), sleep=sleep)
    for _ in range(6):
        responses.get(f"{API}/f", status=503, headers={"Retry-After": "3"})
    with pytest.raises(UpstreamError) as info:
        client.get(f"{API}/f")
    assert info.value.attempts == len(responses.calls) == 2
    assert sleep.calls == [3.0]


@responses.activate
def test_no_sleep_runs_past_the_request_deadline() -> None:
    now = [0.0]
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    client = HttpClient(
        HttpSettings(request_deadline=10, max_attempts=10, retry_budget=100),
        sleep=fake_sleep,
        clock=lambda: now[0],
    )
    for _ in range(10):
        responses.get(f"{API}/f", status=503, headers={"Retry-After": "4"})
    with pytest.raises(UpstreamError):
        client.get(f"{API}/f")
    assert sum(slept) < 10
    assert len(responses.calls) == 3


@responses.activate
def test_certificate_failures_are_not_retried(client: HttpClient, sleep: FakeSleep) -> None:
    responses.get(f"{API}/f", body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(TransportError, match="certificate"):
        client.get(f"{API}/f")
    assert len(responses.calls) == 1
    assert sleep.calls == []


def test_ca_bundle_and_proxies_are_explicit_settings() -> None:
    client = HttpClient(
        HttpSettings(verify="/etc/ssl/internal-ca.pem", proxies={"https": "http://127.0.0.1:3128"})
    )
    assert client.session.verify == "/etc/ssl/internal-ca.pem"
    assert client.session.proxies["https"] == "http://127.0.0.1:3128"
    assert client.session.trust_env is False
