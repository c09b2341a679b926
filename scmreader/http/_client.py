"""The HTTP client: one pooled session, timeouts, retries and a hand-followed redirect chain.

Credentials are attached per hop only while the chain stays on the origin they belong to;
https to http is refused; transient failures are retried (tenacity) within a bounded
budget, honouring ``Retry-After`` and rate-limit resets.
"""

from __future__ import annotations

import http.cookiejar
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

import requests

from scmreader.errors import (
    InputError,
    InvalidUrlError,
    NotAllowedError,
    RequestTimeoutError,
    TooManyRedirectsError,
    TransportError,
    UpstreamError,
)
from scmreader.http._common import (
    REDIRECT_STATUSES,
    HttpSettings,
    OriginCredentials,
    RedirectCheck,
    _describe,
)
from scmreader.http._exchange import Exchange, GuardedAdapter, announce
from scmreader.http._hosts import HostAdapter, HostScheduler
from scmreader.http._retry import _Retryable, raise_if_retryable
from scmreader.http._status import parse_json, raise_for_status
from scmreader.redact import install_log_redaction, redact, redact_url
from scmreader.urls import ParsedUrl, join_url, parse_url

if TYPE_CHECKING:
    import tenacity

    from scmreader.cache import ResponseCache
    from scmreader.cache._hook import CacheHook, CachePlan

log = logging.getLogger("scmreader.http")
#: One INFO line per request, for `scmreader -v` (a logger of its own).
_REQUEST_LOG = logging.getLogger("scmreader.http.requests")


class _Adapter(GuardedAdapter, HostAdapter):
    """Per-host scheduling over connections that read through the announced Exchange."""


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """Accept no cookie from any server."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class HttpClient:
    """A pooled, retrying, redirect-checking HTTP client. Thread-safe for concurrent use.

    With a ``cache`` (see :mod:`scmreader.cache`), GETs that carry no conditional headers
    of their caller are revalidated with the stored ``ETag``/``Last-Modified``, and a 304
    is answered from the cache as a 200 (header ``X-Scmreader-Cache: hit``).
    """

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        cache: ResponseCache | None = None,
        hosts: HostScheduler | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        self.hosts = hosts or HostScheduler(max_wait=self.settings.max_retry_wait)
        self._sleep = sleep
        self._clock = clock
        self.cache = cache
        self._cache_hook: CacheHook | None = None
        if cache is not None:  # the cache machinery loads only with a cache
            from scmreader.cache._hook import CacheHook

            self._cache_hook = CacheHook(cache, max_body=self.settings.cache_max_body, clock=clock)
        self.session = session or self._new_session()
        install_log_redaction("urllib3.connectionpool", "scmreader.http", "tenacity")

    def _new_session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        # Per-host scheduling (HostAdapter) over connections that read answers through
        # the announced Exchange (deadline, low-speed limit).
        adapter = _Adapter(self.hosts, pool_connections=16, pool_maxsize=16, max_retries=0)
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        s.headers["User-Agent"] = self.settings.user_agent
        # Only what the body reader decodes itself (with its ratio cap and end-of-stream
        # check); requests would also offer br/zstd when those packages are installed.
        s.headers["Accept-Encoding"] = "gzip, deflate"
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
        cache = f", cache={self.cache!r}" if self.cache is not None else ""
        return f"HttpClient(settings={self.settings!r}{cache})"

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
        settings = self.settings.for_host(target.host)
        creds = list(credentials)
        plan = self._cache_plan(method, target, headers or {}, creds, data)
        validators = (plan.origin, plan.validators) if plan and plan.origin else None
        deadline = self._clock() + settings.request_deadline

        def send() -> requests.Response:
            return self._send_chain(
                method,
                target,
                headers or {},
                creds,
                check_redirect,
                data,
                (deadline, settings),
                validators,
            )

        try:
            response = send()  # the first attempt needs no retry machinery (nor its import)
        except _Retryable as first:
            response = self._retry(send, first, deadline, settings)
        if plan is not None and self._cache_hook is not None:
            return self._cache_hook.finish(plan, response, self._open_body)
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kwargs)

    def get_json(self, url: str, *, what: str | None = None, **kwargs: Any) -> Any:
        """GET ``url``, raise typed errors for error statuses, and parse the JSON body."""
        response = self.request("GET", url, **kwargs)
        raise_for_status(response, what=what)
        return parse_json(response, self)

    # --- the response cache ------------------------------------------------------------

    def _cache_plan(
        self,
        method: str,
        target: ParsedUrl,
        headers: Mapping[str, str],
        credentials: list[OriginCredentials],
        data: bytes | Mapping[str, str] | None,
    ) -> CachePlan | None:
        if self._cache_hook is None:
            return None
        first_hop: dict[str, str] = {}
        for cred in credentials:
            if cred.origin == target.origin:
                first_hop.update(cred.headers)
        return self._cache_hook.plan(method, target, headers, first_hop, has_body=data is not None)

    def _open_body(self, response: requests.Response) -> BinaryIO:
        from scmreader.http._body import body_stream

        return body_stream(response, self, kind="file")

    # --- retries ----------------------------------------------------------------------

    def _retry(
        self,
        send: Callable[[], requests.Response],
        first: _Retryable,
        deadline: float,
        settings: HttpSettings,
    ) -> requests.Response:
        """Attempts after a retryable first one, through tenacity (imported only now: with
        tornado installed it costs 30 ms and more); attempt 1 is ``first``, replayed."""
        import tenacity

        pending = [first]

        def attempt() -> requests.Response:
            if pending:
                raise pending.pop()
            return send()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            wait=lambda state: self._wait(state, settings),
            stop=lambda state: self._stop(state, deadline, settings),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )
        try:
            for state in retrying:
                with state:
                    response = attempt()
        except _Retryable as exc:
            final = exc.final
            if isinstance(final, UpstreamError):
                final.attempts = retrying.statistics.get("attempt_number")
            raise final from None
        return response

    def _wait(self, state: tenacity.RetryCallState, s: HttpSettings) -> float:
        backoff = min(s.backoff_max, s.backoff_initial * 2.0 ** (state.attempt_number - 1))
        outcome = state.outcome
        hint: float | None = None
        if outcome is not None and outcome.failed:
            exc = outcome.exception()
            if isinstance(exc, _Retryable):
                hint = exc.wait_hint
        return max(backoff, hint) if hint is not None else backoff

    def _stop(self, state: tenacity.RetryCallState, deadline: float, s: HttpSettings) -> bool:
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
        budget: tuple[float, HttpSettings],
        validators: tuple[str, Mapping[str, str]] | None = None,
    ) -> requests.Response:
        s = budget[1]
        origins_seen = {target.origin}
        current = target
        for hop in range(s.max_redirects + 1):
            hop_headers = headers
            if validators is not None and current.origin == validators[0]:
                hop_headers = {**headers, **validators[1]}  # the cache's, to the entry's origin
            response = self._send_once(
                method, current, hop_headers, credentials, origins_seen, data, budget
            )
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                raise_if_retryable(response, s.max_retry_wait)
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
        budget: tuple[float, HttpSettings],
    ) -> requests.Response:
        deadline, settings = budget
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise RequestTimeoutError(
                f"Reading {redact_url(str(url))} took longer than the "
                f"{settings.request_deadline:.0f}s request deadline."
            )
        hop_headers = dict(headers)
        # Credentials apply only while every hop so far stayed on their origin.
        if len(origins_seen) == 1:
            for cred in credentials:
                if cred.origin == url.origin:
                    hop_headers.update(cred.headers)
        timeout = (
            min(settings.connect_timeout, remaining),
            min(settings.read_timeout, remaining),
        )
        exchange = Exchange(
            deadline=time.monotonic() + remaining,
            read_timeout=settings.read_timeout,
            low_speed_limit=settings.low_speed_limit,
            low_speed_time=settings.low_speed_time,
            settings=settings,
        )
        announce(exchange)
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
            if _REQUEST_LOG.isEnabledFor(logging.INFO):  # `scmreader -v`: a line a request
                _REQUEST_LOG.info(
                    "%s %s -> %s in %.0f ms, %s bytes",
                    method,
                    redact_url(str(url)),
                    response.status_code,
                    response.elapsed.total_seconds() * 1000,
                    response.headers.get("Content-Length", "streamed"),
                )
            return response
        except requests.exceptions.Timeout as exc:
            raise _Retryable(_timeout_error(url, exc, exchange), None) from None
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
        finally:
            announce(None)


def _timeout_error(url: ParsedUrl, exc: BaseException, exchange: Exchange) -> RequestTimeoutError:
    s = exchange.settings
    if exchange.reason == "low speed" and s is not None:
        return RequestTimeoutError(
            f"{redact_url(url.origin)} sent its answer slower than {s.low_speed_limit:g} "
            f"bytes/s for {s.low_speed_time:g}s; the host is stalling, try again later."
        )
    if exchange.reason == "deadline":
        return RequestTimeoutError(
            f"{redact_url(url.origin)} did not finish its answer before the request deadline; "
            "the host is too slow, try again later or raise HttpSettings.request_deadline."
        )
    return RequestTimeoutError(
        f"Timed out talking to {redact_url(url.origin)} ({type(exc).__name__}); "
        "the host is slow or unreachable, try again later."
    )


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
