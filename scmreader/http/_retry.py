"""Which answers are worth another attempt, and how long to wait before it.

:func:`raise_if_retryable` classifies a final (non-redirect) response: 408/429/5xx and
rate-limit 403s raise :class:`_Retryable` carrying the error to raise if the retries run
out and the wait the server asked for.
"""

from __future__ import annotations

import time

import requests

from scmreader.errors import RateLimitedError, UpstreamError
from scmreader.http._common import RETRY_STATUSES
from scmreader.http._status import parse_retry_after, rate_limit_wait
from scmreader.redact import redact_url


class _Retryable(Exception):
    """Internal: an attempt failed in a way worth retrying."""

    def __init__(self, final: Exception, wait_hint: float | None) -> None:
        super().__init__(str(final))
        self.final = final
        self.wait_hint = wait_hint


def raise_if_retryable(response: requests.Response, max_retry_wait: float) -> None:
    """Raise :class:`_Retryable` for an answer worth retrying (408, 429, 5xx, rate-limit 403).

    When waiting cannot help (a rate limit with no reset time, or a wait longer than
    ``max_retry_wait``) the final error is raised at once. Other answers return quietly.
    """
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
        if wait is not None and wait > max_retry_wait:
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
    if retry_after is not None and retry_after > max_retry_wait:
        failed.attempts = 1
        raise failed
    raise _Retryable(failed, retry_after)
