"""Settings, constants and credentials shared by the client and the body stream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from scmreader._version import __version__
from scmreader.urls import ParsedUrl, parse_url

USER_AGENT = f"scmreader/{__version__} (+https://pypi.org/project/scmreader/)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: A redirect policy: called with each hop's target; raise NotAllowedError to refuse it.
RedirectCheck = Callable[[ParsedUrl], None]


def stay_on_origin(origin: str, service: str) -> RedirectCheck:
    """A redirect policy for API calls: every hop must stay on ``origin``.

    ``service`` names the API in the NotAllowedError (``"GitLab's API"``). Downloads that
    legitimately leave the host (archives on a CDN) pass no policy instead; credentials
    never follow them anyway.
    """

    def check(target: ParsedUrl) -> None:
        if target.origin != origin:
            from scmreader.errors import NotAllowedError
            from scmreader.redact import redact_url

            raise NotAllowedError(
                f"{service} at {origin} redirected to {redact_url(str(target))}, another "
                "host; scmreader only follows API redirects within the API's own host."
            )

    return check


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
    #: Largest answer the response cache (``HttpClient(cache=...)``) stores; larger ones, and
    #: answers without ``Content-Length`` (archives), are streamed and never buffered.
    cache_max_body: int = 1024 * 1024


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
