"""The one place that talks HTTP: sessions, timeouts, retries, redirects, credentials.

Readers never build their own sessions or retry loops. They call :meth:`HttpClient.request`
(or :meth:`HttpClient.get_json`) and turn the response into their result; error statuses
become typed errors through :func:`raise_for_status`.

What this layer guarantees:

- one pooled :class:`requests.Session` per client, ``trust_env=False`` (no ``.netrc``, no
  proxy variables picked up silently), no adapter-level retries or redirects;
- connect/read timeouts on every request, an overall deadline for a request (its
  redirects, retries, status line, headers and metadata body included) and another for a
  file or archive body, enforced on every socket read together with a low-speed limit, so
  a server that drips one byte at a time cannot hold a caller past it (``_exchange``);
- every body read through one bounded reader (``_body``): a size cap per kind of answer,
  Content-Encoding decoded with a ratio cap and an end-of-stream check;
- retries (tenacity) on connection failures, 408/429/500/502/503/504 and rate-limit 403s,
  honouring ``Retry-After`` and GitHub's ``x-ratelimit-reset``, within a bounded budget;
  a wait longer than the cap raises :class:`RateLimitedError` at once;
- redirects followed by hand, at most 5 hops, each hop checked by the caller's policy,
  https to http refused, and credentials attached per hop only while the chain stays on
  the origin they belong to (requests strips ``Authorization`` on a host change but keeps
  custom headers such as ``PRIVATE-TOKEN``: here no header survives leaving its origin);
- every URL in a message or log line redacted.

Import everything from this package; the modules behind it are private: ``_client``
(:class:`HttpClient`), ``_retry`` (which answers are retried), ``_status`` (statuses,
rate limits, dates, JSON), ``_body`` (the bounded body reader), ``_exchange`` (deadlines
and low-speed limit on every socket read) and ``_common`` (settings and credentials).
Log records go to the ``scmreader.http`` logger.
"""

from __future__ import annotations

from scmreader.http._body import BodyKind, BodyStream, body_stream, read_body
from scmreader.http._client import HttpClient
from scmreader.http._common import (
    HOST_OVERRIDABLE,
    REDIRECT_STATUSES,
    RETRY_STATUSES,
    USER_AGENT,
    HttpSettings,
    OriginCredentials,
    RedirectCheck,
    credentials_for,
    stay_on_origin,
)
from scmreader.http._hosts import HostLimits, HostScheduler, MemoryHostState, RateBudget
from scmreader.http._status import (
    conditional_headers,
    format_http_date,
    parse_http_date,
    parse_json,
    parse_reset,
    parse_retry_after,
    raise_for_status,
    rate_limit_wait,
    read_text,
    unexpected_answer,
)

__all__ = [
    "HOST_OVERRIDABLE",
    "REDIRECT_STATUSES",
    "RETRY_STATUSES",
    "USER_AGENT",
    "BodyKind",
    "BodyStream",
    "HostLimits",
    "HostScheduler",
    "HttpClient",
    "HttpSettings",
    "MemoryHostState",
    "OriginCredentials",
    "RateBudget",
    "RedirectCheck",
    "body_stream",
    "conditional_headers",
    "credentials_for",
    "format_http_date",
    "parse_http_date",
    "parse_json",
    "parse_reset",
    "parse_retry_after",
    "raise_for_status",
    "rate_limit_wait",
    "read_body",
    "read_text",
    "stay_on_origin",
    "unexpected_answer",
]
