"""The one place that talks HTTP: sessions, timeouts, retries, redirects, credentials.

Readers never build their own sessions or retry loops. They call :meth:`HttpClient.request`
(or :meth:`HttpClient.get_json`) and turn the response into their result; error statuses
become typed errors through :func:`raise_for_status`.

What this layer guarantees:

- one pooled :class:`requests.Session` per client, ``trust_env=False`` (no ``.netrc``, no
  proxy variables picked up silently), no adapter-level retries or redirects;
- connect/read timeouts on every request, an overall deadline for a request (its
  redirects and retries included) and another for reading a body, enforced per socket read
  so a server that drips one byte at a time cannot hold a caller past it;
- retries (tenacity) on connection failures, 408/429/500/502/503/504 and rate-limit 403s,
  honouring ``Retry-After`` and GitHub's ``x-ratelimit-reset``, within a bounded budget;
  a wait longer than the cap raises :class:`RateLimitedError` at once;
- redirects followed by hand, at most 5 hops, each hop checked by the caller's policy,
  https to http refused, and credentials attached per hop only while the chain stays on
  the origin they belong to (requests strips ``Authorization`` on a host change but keeps
  custom headers such as ``PRIVATE-TOKEN``: here no header survives leaving its origin);
- every URL in a message or log line redacted.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

import requests
import tenacity
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from scmreader._version import __version__
from scmreader.errors import (
    AuthenticationError,
    HttpStatusError,
    InputError,
    InvalidUrlError,
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
from scmreader.redact import install_log_redaction, redact, redact_url
from scmreader.urls import ParsedUrl, join_url, parse_url

log = logging.getLogger("scmreader.http")

USER_AGENT = f"scmreader/{__version__} (+https://pypi.org/project/scmreader/)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: A redirect policy: called with each hop's target; raise NotAllowedError to refuse it.
RedirectCheck = Callable[[ParsedUrl], None]


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts and retry budget (seconds). The defaults suit a catalog ingestion loop."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    request_deadline: float = 120.0
    body_deadline: float = 600.0
    max_attempts: int = 4
    max_retry_wait: float = 60.0
    retry_budget: float = 120.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    #: TLS verification: True, False, or the path of a CA bundle (e.g. an internal CA).
    verify: bool | str = True
    #: Explicit proxies (``{"https": "http://proxy:3128"}``); environment proxies are ignored.
    proxies: Mapping[str, str] | None = None


@dataclass(frozen=True)
class OriginCredentials:
    """Headers (e.g. ``Authorization``) that may only be sent to one origin."""

    origin: str
    headers: Mapping[str, str] = field(repr=False)

    def __repr__(self) -> str:
        return f"OriginCredentials(origin={self.origin!r}, authed={bool(self.headers)})"


def credentials_for(url: str, headers: Mapping[str, str] | None) -> list[OriginCredentials]:
    """Bind ``headers`` to the origin of ``url`` (an empty list when there are none)."""
    if not headers:
        return []
    return [OriginCredentials(parse_url(url).origin, dict(headers))]


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """Accept no cookie from any server."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth retrying."""

    def __init__(self, final: Exception, wait_hint: float | None) -> None:
        super().__init__(str(final))
        self.final = final
        self.wait_hint = wait_hint


class HttpClient:
    """A pooled, retrying, redirect-checking HTTP client. Thread-safe for concurrent use."""

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or HttpSettings()
        self._sleep = sleep
        self._clock = clock
        self.session = session or self._new_session()
        install_log_redaction("urllib3.connectionpool", "scmreader.http", "tenacity")

    def _new_session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.headers["User-Agent"] = self.settings.user_agent
        # An API client needs no cookies; a shared jar would carry one caller's session
        # cookie onto another caller's requests.
        s.cookies.set_policy(_RefuseCookies())
        s.verify = self.settings.verify
        if self.settings.proxies:
            s.proxies.update(self.settings.proxies)
        return s

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def __repr__(self) -> str:
        return f"HttpClient(settings={self.settings!r})"

    # --- public -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        credentials: Iterable[OriginCredentials] = (),
        check_redirect: RedirectCheck | None = None,
        data: bytes | Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send a request, following redirects and retrying transient failures.

        Returns the final response with its body unread (stream it with
        :func:`body_stream`); error statuses other than the retried ones are returned
        as they are: pass the response to :func:`raise_for_status`.
        """
        target = parse_url(url)
        creds = list(credentials)
        deadline = self._clock() + self.settings.request_deadline
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            wait=self._wait,
            stop=lambda state: self._stop(state, deadline),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send_chain(
                        method, target, headers or {}, creds, check_redirect, data, deadline
                    )
        except _Retryable as exc:
            final = exc.final
            if isinstance(final, UpstreamError):
                final.attempts = retrying.statistics.get("attempt_number")
            raise final from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, *, what: str | None = None, **kwargs: Any) -> Any:
        """GET ``url``, raise typed errors for error statuses, and parse the JSON body."""
        response = self.request("GET", url, **kwargs)
        raise_for_status(response, what=what)
        return parse_json(response)

    # --- retries ----------------------------------------------------------------------

    def _wait(self, state: tenacity.RetryCallState) -> float:
        s = self.settings
        backoff = min(s.backoff_max, s.backoff_initial * 2.0 ** (state.attempt_number - 1))
        outcome = state.outcome
        hint: float | None = None
        if outcome is not None and outcome.failed:
            exc = outcome.exception()
            if isinstance(exc, _Retryable):
                hint = exc.wait_hint
        return max(backoff, hint) if hint is not None else backoff

    def _stop(self, state: tenacity.RetryCallState, deadline: float) -> bool:
        s = self.settings
        if state.attempt_number >= s.max_attempts:
            return True
        if self._clock() + state.upcoming_sleep >= deadline:
            return True
        return state.idle_for + state.upcoming_sleep > s.retry_budget

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "retrying in %.1fs after attempt %d: %s",
            state.upcoming_sleep,
            state.attempt_number,
            redact(str(exc)),
        )

    # --- one attempt: the redirect chain ----------------------------------------------

    def _send_chain(
        self,
        method: str,
        target: ParsedUrl,
        headers: Mapping[str, str],
        credentials: list[OriginCredentials],
        check_redirect: RedirectCheck | None,
        data: bytes | Mapping[str, str] | None,
        deadline: float,
    ) -> requests.Response:
        s = self.settings
        origins_seen = {target.origin}
        current = target
        for hop in range(s.max_redirects + 1):
            response = self._send_once(
                method, current, headers, credentials, origins_seen, data, deadline
            )
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                self._raise_if_retryable(response)
                return response
            response.close()
            if hop == s.max_redirects:
                break
            nxt = _resolve_location(current, location)
            if current.scheme == "https" and nxt.scheme == "http":
                raise NotAllowedError(
                    f"Refusing the redirect from {redact_url(str(current))} to "
                    f"{redact_url(str(nxt))}: it downgrades https to http."
                )
            if check_redirect is not None:
                check_redirect(nxt)
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, data = "GET", None
            origins_seen.add(nxt.origin)
            current = nxt
        raise TooManyRedirectsError(
            f"Too many redirects (max {s.max_redirects}) while reading "
            f"{redact_url(str(target))}; the server may be misconfigured."
        )

    def _send_once(
        self,
        method: str,
        url: ParsedUrl,
        headers: Mapping[str, str],
        credentials: list[OriginCredentials],
        origins_seen: set[str],
        data: bytes | Mapping[str, str] | None,
        deadline: float,
    ) -> requests.Response:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise RequestTimeoutError(
                f"Reading {redact_url(str(url))} took longer than the "
                f"{self.settings.request_deadline:.0f}s request deadline."
            )
        hop_headers = dict(headers)
        # Credentials apply only while every hop so far stayed on their origin.
        if len(origins_seen) == 1:
            for cred in credentials:
                if cred.origin == url.origin:
                    hop_headers.update(cred.headers)
        timeout = (
            min(self.settings.connect_timeout, remaining),
            min(self.settings.read_timeout, remaining),
        )
        try:
            response = self.session.request(
                method,
                str(url),
                headers=hop_headers,
                data=data,
                allow_redirects=False,
                stream=True,
                timeout=timeout,
            )
            log.debug(
                "%s %s -> %s%s",
                method,
                redact_url(str(url)),
                response.status_code,
                _rate_note(response),
            )
            return response
        except requests.exceptions.Timeout as exc:
            raise _Retryable(
                RequestTimeoutError(
                    f"Timed out talking to {redact_url(url.origin)} ({type(exc).__name__}); "
                    "the host is slow or unreachable, try again later."
                ),
                None,
            ) from None
        except requests.exceptions.SSLError:
            raise TransportError(
                f"The TLS certificate of {redact_url(url.origin)} could not be verified; if the "
                "host uses an internal CA, point HttpSettings.verify at its CA bundle."
            ) from None
        except requests.exceptions.InvalidHeader:
            raise InputError(
                f"A header for {redact_url(url.origin)} is not valid HTTP; check that the "
                "configured token has no line breaks or non-ASCII characters."
            ) from None
        except requests.exceptions.InvalidURL as exc:
            raise InvalidUrlError(f"Cannot request {redact_url(str(url))}: {redact(str(exc))}")
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            raise _Retryable(
                TransportError(
                    f"Could not talk to {redact_url(url.origin)}: {_describe(exc)}. Check the "
                    "host name and your network; the request was retried."
                ),
                None,
            ) from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(
                f"Request to {redact_url(str(url))} failed: {_describe(exc)}"
            ) from None

    def _raise_if_retryable(self, response: requests.Response) -> None:
        status = response.status_code
        rate = rate_limit_wait(response, now=time.time())
        if status not in RETRY_STATUSES and rate is None:
            return
        url = redact_url(response.url)
        if rate is not None:
            wait, reset_at = rate
            final: Exception = RateLimitedError(
                f"{url} answered {status}: rate limit exceeded"
                + (f", resets at {reset_at.isoformat()}" if reset_at else "")
                + ". Use a token with a higher limit, or read less often.",
                status=status,
                url=url,
                reset_at=reset_at,
            )
            response.close()
            if wait is None and status == 403:
                raise final  # exhausted with no reset time: waiting blindly cannot help
            if wait is not None and wait > self.settings.max_retry_wait:
                raise final
            raise _Retryable(final, wait)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=time.time())
        response.close()
        failed = UpstreamError(
            f"{url} answered {status} {response.reason or ''}".rstrip()
            + " after retries; the host is failing, try again later.",
            status=status,
            url=url,
        )
        if retry_after is not None and retry_after > self.settings.max_retry_wait:
            failed.attempts = 1
            raise failed
        raise _Retryable(failed, retry_after)


# --- helpers shared by readers --------------------------------------------------------


def _resolve_location(current: ParsedUrl, location: str) -> ParsedUrl:
    try:
        return parse_url(join_url(current, location.strip()))
    except (InvalidUrlError, ValueError):
        raise UpstreamError(
            f"{redact_url(str(current))} redirected to a malformed location; the host is "
            "misbehaving.",
            url=redact_url(str(current)),
        ) from None


def _rate_note(response: requests.Response) -> str:
    remaining = response.headers.get("x-ratelimit-remaining")
    return f" (rate limit remaining {remaining})" if remaining is not None else ""


def _describe(exc: BaseException) -> str:
    """A short, redacted description of a transport exception (no URLs with queries)."""
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    for candidate in (exc, inner):
        text = str(candidate)
        for needle in (
            "Connection refused",
            "Connection reset",
            "timed out",
            "Name or service",
            "IncompleteRead",
            "Connection aborted",
            "Remote end closed",
        ):
            if needle in text:
                return needle.lower()
    return type(exc).__name__


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def rate_limit_wait(
    response: requests.Response, *, now: float
) -> tuple[float | None, datetime | None] | None:
    """If ``response`` says a rate limit was hit: (seconds to wait or None, reset time).

    Recognises 429, GitHub's primary limit (403 with ``x-ratelimit-remaining: 0``) and its
    secondary limit (403 with ``retry-after``). Returns None for any other response.
    """
    status = response.status_code
    h = response.headers
    remaining = h.get("x-ratelimit-remaining")
    retry_after = parse_retry_after(h.get("Retry-After"), now=now)
    reset_at: datetime | None = None
    reset = h.get("x-ratelimit-reset")
    if reset and reset.strip().isdigit():
        reset_at = datetime.fromtimestamp(int(reset), tz=UTC)
    exhausted = remaining is not None and remaining.strip() == "0"
    if status == 429 or (status == 403 and (exhausted or retry_after is not None)):
        if retry_after is not None:
            return retry_after, reset_at or datetime.fromtimestamp(now + retry_after, tz=UTC)
        if exhausted and reset_at is not None:
            return max(0.0, reset_at.timestamp() - now) + 1.0, reset_at
        return None if status == 403 else 1.0, reset_at
    return None


def raise_for_status(
    response: requests.Response,
    *,
    what: str | None = None,
    not_found: str | None = None,
) -> None:
    """Turn an error status into a typed error; 2xx returns quietly.

    ``what`` names the thing being read for the message (defaults to the request URL);
    ``not_found`` replaces the whole NotFoundError message.
    """
    status = response.status_code
    if status < 300:
        return
    url = redact_url(response.url)
    subject = redact_url(what) if what else url
    via = f" (requested as {url})" if what and redact_url(what) != url else ""
    reason = f"{status} {response.reason or ''}".rstrip()
    response.close()
    if status == 304:
        raise NotModifiedError(
            f"{subject} has not changed since the given etag or date.",
            etag=response.headers.get("ETag"),
        )
    if status == 404:
        raise NotFoundError(
            not_found
            or f"{subject} could not be read{via}: {reason}. Check that the "
            "repository, branch and path exist and that the credentials can see them.",
            status=status,
            url=url,
        )
    if status == 401:
        raise AuthenticationError(
            f"{subject} could not be read{via}: {reason}. The host rejected the credentials; "
            "check the token configured for this host.",
            status=status,
            url=url,
        )
    if status == 403:
        raise PermissionDeniedError(
            f"{subject} could not be read{via}: {reason}. The credentials are not allowed to "
            "read it; grant the token access or use another one.",
            status=status,
            url=url,
        )
    if status >= 500:
        raise UpstreamError(
            f"{subject} could not be read{via}: {reason}. The host failed; try again later.",
            status=status,
            url=url,
        )
    raise HttpStatusError(f"{subject} could not be read{via}: {reason}.", status=status, url=url)


def parse_json(response: requests.Response) -> Any:
    """The JSON body of ``response``, or UpstreamError when it is not JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, requests.exceptions.RequestException):
        raise unexpected_answer(response, "is not JSON") from None


def unexpected_answer(response: requests.Response, problem: str) -> UpstreamError:
    """The UpstreamError for an answer that lacks what a reader needs (H11: wrong shape)."""
    return UpstreamError(
        f"The answer of {redact_url(response.url)} {problem}; the host or a proxy in between "
        "sent something unexpected.",
        status=response.status_code,
        url=redact_url(response.url),
    )


def parse_http_date(value: str | None) -> datetime | None:
    """A ``Last-Modified`` style date as an aware datetime, or None when absent/invalid."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def format_http_date(when: datetime) -> str:
    """RFC 1123 date for ``If-Modified-Since``."""
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


def conditional_headers(
    etag: str | None = None, last_modified_after: datetime | None = None
) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` for the caller's etag and date."""
    h: dict[str, str] = {}
    if etag:
        h["If-None-Match"] = etag
    if last_modified_after is not None:
        h["If-Modified-Since"] = format_http_date(last_modified_after)
    return h


# --- bodies ---------------------------------------------------------------------------


class _ResponseBody(io.RawIOBase):
    """A response body as a raw binary stream with a deadline checked on every socket read."""

    def __init__(
        self,
        response: requests.Response,
        deadline: float,
        read_timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self._response = response
        self._raw = response.raw
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._clock = clock
        self._url = redact_url(response.url)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            self.close()
            raise RequestTimeoutError(
                f"Reading the body of {self._url} took longer than its deadline; the host is "
                "too slow. Try again later or raise HttpSettings.body_deadline."
            )
        self._set_socket_timeout(min(self._read_timeout, remaining))
        try:
            data = self._raw.read1(len(view))
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            self.close()
            if self._deadline - self._clock() <= 0:
                raise RequestTimeoutError(
                    f"Reading the body of {self._url} took longer than its deadline; the host "
                    "is too slow. Try again later."
                ) from None
            raise RequestTimeoutError(
                f"The host stopped sending the body of {self._url}; try again later."
            ) from None
        except (
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.DecodeError,
            urllib3.exceptions.HTTPError,
            OSError,
            ValueError,
        ) as exc:
            self.close()
            raise TransportError(
                f"The body of {self._url} was cut off or corrupt ({_describe(exc)}); try again."
            ) from None
        n = len(data)
        view[:n] = data
        return n

    def _set_socket_timeout(self, seconds: float) -> None:
        conn = getattr(self._raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.settimeout(max(seconds, 0.001))
            except OSError:
                pass

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


def body_stream(
    response: requests.Response,
    client: HttpClient | None = None,
    *,
    deadline: float | None = None,
    buffer_size: int = 256 * 1024,
) -> BinaryIO:
    """The (content-decoded) body of ``response`` as a buffered binary file object.

    Reads are bounded by ``deadline`` seconds from now (default: the client's
    ``body_deadline``); resets and truncation raise TransportError.
    """
    settings = client.settings if client else HttpSettings()
    clock = client._clock if client else time.monotonic
    limit = settings.body_deadline if deadline is None else deadline
    response.raw.decode_content = True
    raw = _ResponseBody(response, clock() + limit, settings.read_timeout, clock)
    return io.BufferedReader(raw, buffer_size=buffer_size)
