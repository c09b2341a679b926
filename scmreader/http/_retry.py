"""Which answers are worth another attempt, and how long to wait before it.

:func:`raise_if_retryable` classifies a final (non-redirect) response: 408/429/5xx and
rate-limit 403s raise :class:`_Retryable` carrying the error to raise if the retries run
out and the wait the server asked for.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import requests
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

from scmreader.errors import RateLimitedError, ScmReaderError, UpstreamError
from scmreader.http._body import read_body
from scmreader.http._common import RETRY_STATUSES
from scmreader.http._status import parse_retry_after, rate_limit_wait
from scmreader.redact import redact_url


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth retrying."""

    def __init__(self, final: Exception, wait_hint: float | None) -> None:
        super().__init__(str(final))
        self.final = final
        self.wait_hint = wait_hint


#: GitHub: "If you exceed a secondary rate limit ... without retry-after, wait for at least
#: one minute before retrying" (docs.github.com/en/rest/using-the-rest-api/
#: best-practices-for-using-the-rest-api#handle-rate-limit-errors-appropriately).
SECONDARY_LIMIT_WAIT = 60.0
#: How much of a 403/429 body is read to look for the secondary-limit message.
_PEEK_BYTES = 64 * 1024


def raise_if_retryable(response: requests.Response, max_retry_wait: float) -> None:
    """Raise :class:`_Retryable` for an answer worth retrying (408, 429, 5xx, rate-limit 403).

    When waiting cannot help (a rate limit with no reset time, or a wait longer than
    ``max_retry_wait``) the final error is raised at once. Other answers return quietly.
    """
    status = response.status_code
    now = time.time()
    rate = rate_limit_wait(response, now=now)
    if status in (403, 429) and (rate is None or rate[0] is None or status == 429):
        h = response.headers
        if parse_retry_after(h.get("Retry-After"), now=now) is None and _says_secondary(response):
            rate = (
                SECONDARY_LIMIT_WAIT,
                datetime.fromtimestamp(now + SECONDARY_LIMIT_WAIT, tz=UTC),
            )
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
        if wait is not None and wait > max_retry_wait:
            raise final
        raise _Retryable(final, wait)
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
    response.close()
    failed = UpstreamError(
        f"{url} answered {status} {response.reason or ''}".rstrip()
        + " after retries; the host is failing, try again later.",
        status=status,
        url=url,
    )
    if retry_after is not None and retry_after > max_retry_wait:
        failed.attempts = 1
        raise failed
    raise _Retryable(failed, retry_after)


def _says_secondary(response: requests.Response) -> bool:
    """Whether the (bounded) body says "secondary rate limit" (GitHub's wording). The
    body is put back as an in-memory stream so that callers can still read it."""
    try:
        data = read_body(response, kind="metadata", max_bytes=_PEEK_BYTES)
    except ScmReaderError:
        data = b""
    _rebuffer(response, data)
    return b"secondary rate limit" in data.lower()


def _rebuffer(response: requests.Response, data: bytes) -> None:
    """Give ``response`` a fresh, already decoded body holding ``data``."""
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    }
    headers["Content-Length"] = str(len(data))
    response.headers = CaseInsensitiveDict(headers)
    response.raw = HTTPResponse(
        body=io.BytesIO(data),
        headers=headers,
        status=response.status_code,
        preload_content=False,
        decode_content=False,
        request_url=response.url,
    )
