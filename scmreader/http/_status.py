"""Reading responses: error statuses, rate limits, ``Retry-After``, dates and JSON bodies.

:func:`raise_for_status` turns an error status into the typed error a caller expects;
:func:`rate_limit_wait` and :func:`parse_retry_after` tell the client how long to wait.
"""

from __future__ import annotations

import email.utils
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from scmreader.errors import (
    AuthenticationError,
    HttpStatusError,
    NotFoundError,
    NotModifiedError,
    PermissionDeniedError,
    UpstreamError,
)
from scmreader.http._body import read_body
from scmreader.redact import redact_url

if TYPE_CHECKING:
    from scmreader.http._client import HttpClient


#: Waits and resets further away than this (a year) are absurd and treated as absent.
MAX_PLAUSIBLE_WAIT = 366 * 24 * 3600.0
_DIGITS = re.compile(r"[0-9]{1,12}")


def _http_date_timestamp(value: str) -> float | None:
    """Seconds since the epoch of an HTTP date, or None when it is not one."""
    when = parse_http_date(value)
    return None if when is None else when.timestamp()


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when it is absent or unusable.

    Strict: ASCII digits (``120``) or an HTTP date; anything else (``-5``, ``1.5``, ``²``,
    400 digits) and anything more than a year away is treated as absent.
    """
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        seconds = float(int(value))
    else:
        when = _http_date_timestamp(value)
        if when is None:
            return None
        seconds = max(0.0, when - now)
    return seconds if seconds <= MAX_PLAUSIBLE_WAIT else None


def parse_reset(value: str | None, *, now: float) -> datetime | None:
    """An ``x-ratelimit-reset`` value (epoch seconds, ASCII digits) as a datetime, or None
    when it is absent, malformed, or more than a year from ``now`` in either direction."""
    if not value:
        return None
    value = value.strip()
    if not _DIGITS.fullmatch(value):
        return None
    epoch = int(value)
    if abs(epoch - now) > MAX_PLAUSIBLE_WAIT:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC)


def rate_limit_wait(
    response: requests.Response, *, now: float
) -> tuple[float | None, datetime | None] | None:
    """If ``response`` says a rate limit was hit: (seconds to wait or None, reset time).

    Recognises 429, GitHub's primary limit (403 with ``x-ratelimit-remaining: 0``) and its
    secondary limit (403 with ``retry-after``). Returns None for any other response.
    Malformed or absurd header values count as absent.
    """
    status = response.status_code
    h = response.headers
    remaining = h.get("x-ratelimit-remaining")
    retry_after = parse_retry_after(h.get("Retry-After"), now=now)
    reset_at = parse_reset(h.get("x-ratelimit-reset"), now=now)
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


def parse_json(response: requests.Response, client: HttpClient | None = None) -> Any:
    """The JSON body of ``response`` (read with the metadata cap), or UpstreamError when it
    is not JSON."""
    data = read_body(response, client, kind="metadata")
    try:
        return json.loads(data)
    except ValueError:
        raise unexpected_answer(response, "is not JSON") from None


def read_text(response: requests.Response, client: HttpClient | None = None) -> str:
    """A small text answer (a commit id, an error page) read with the metadata cap, decoded
    as UTF-8 (undecodable bytes replaced)."""
    return read_body(response, client, kind="metadata").decode("utf-8", "replace")


def unexpected_answer(response: requests.Response, problem: str) -> UpstreamError:
    """The UpstreamError for an answer that lacks what a reader needs (H11: wrong shape)."""
    return UpstreamError(
        f"The answer of {redact_url(response.url)} {problem}; the host or a proxy in between "
        "sent something unexpected.",
        status=response.status_code,
        url=redact_url(response.url),
    )


def parse_http_date(value: str | None) -> datetime | None:
    """A ``Last-Modified`` style date as an aware datetime, or None when absent/invalid
    (non-ASCII or implausibly long values included)."""
    if not value or not value.isascii() or len(value) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
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
