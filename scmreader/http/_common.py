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


MIB = 1024 * 1024

#: HttpSettings fields a per-host override (``HttpSettings.hosts``) may change.
HOST_OVERRIDABLE = frozenset(
    {
        "connect_timeout",
        "read_timeout",
        "request_deadline",
        "body_deadline",
        "low_speed_limit",
        "low_speed_time",
        "max_metadata_bytes",
        "max_file_bytes",
        "max_archive_bytes",
        "max_decoded_ratio",
        "max_attempts",
        "max_retry_wait",
        "retry_budget",
        "block_private_addresses",
    }
)


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts, limits and retry budget (seconds, bytes). The defaults suit both a catalog
    ingestion loop and a command line.

    Deadlines: ``connect_timeout`` per connection attempt; ``request_deadline`` for the
    whole request (redirects, retries, status line, headers and a metadata body);
    ``body_deadline`` for a file or archive body from the moment it is opened. Every read
    also obeys ``read_timeout`` (silence) and the low-speed limit: a transfer slower than
    ``low_speed_limit`` bytes/s over ``low_speed_time`` seconds is aborted (a drip ends
    within about 20 s, a 100 MB archive at 1 MB/s goes through).

    Size caps per kind of answer, on decoded bytes: ``max_metadata_bytes`` (JSON, listings;
    GitHub's largest recursive tree answer is about 7 MB), ``max_file_bytes``,
    ``max_archive_bytes``; a body with ``Content-Encoding`` may inflate at most
    ``max_decoded_ratio`` times its wire size once past ``decoded_ratio_threshold``.

    ``hosts`` overrides any of :data:`HOST_OVERRIDABLE` per host (``host[:port]`` of the
    request's first URL), e.g. ``{"ghe.example.com": {"body_deadline": 1800}}``.
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    request_deadline: float = 120.0
    body_deadline: float = 600.0
    low_speed_limit: float = 1024.0
    low_speed_time: float = 20.0
    max_metadata_bytes: int = 32 * MIB
    max_file_bytes: int = 1024 * MIB
    max_archive_bytes: int = 4096 * MIB
    max_decoded_ratio: float = 200.0
    decoded_ratio_threshold: int = 8 * MIB
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
    #: Refuse to connect to loopback, private, link-local (cloud metadata) and other
    #: non-public addresses: each host name is resolved once, checked, and connected to at
    #: the checked address (no DNS rebinding). Off by default, as in Backstage: on-premises
    #: hosts usually live at private addresses (exempt them per host).
    block_private_addresses: bool = False
    #: Per-host overrides: ``{host: {field: value}}`` (fields of HOST_OVERRIDABLE).
    hosts: Mapping[str, Mapping[str, float]] | None = None

    def __post_init__(self) -> None:
        for host, values in (self.hosts or {}).items():
            unknown = set(values) - HOST_OVERRIDABLE
            if unknown:
                from scmreader.errors import InputError

                raise InputError(
                    f"HttpSettings.hosts[{host!r}] sets {', '.join(sorted(unknown))}, which "
                    f"cannot be set per host; use one of {', '.join(sorted(HOST_OVERRIDABLE))}."
                )
        blocking = self.block_private_addresses or any(
            v.get("block_private_addresses") for v in (self.hosts or {}).values()
        )
        if blocking and self.proxies:
            from scmreader.errors import InputError

            raise InputError(
                "block_private_addresses cannot be enforced through a proxy: the proxy "
                "resolves and connects to the hosts, out of scmreader's sight. Use one or "
                "the other (the proxy's own rules can block private addresses)."
            )

    def for_host(self, host: str) -> HttpSettings:
        """These settings with the overrides of ``host`` applied (self when there are none)."""
        hosts = self.hosts or {}
        values = hosts.get(host) or next(
            (v for k, v in hosts.items() if k.lower() == host.lower()), None
        )
        if not values:
            return self
        from dataclasses import replace

        return replace(self, hosts=None, **values)  # type: ignore[arg-type]


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
