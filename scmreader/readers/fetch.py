"""Plain HTTP(S) reads for hosts listed in ``backend.reading.allow`` (Backstage's FetchUrlReader).

Allow entries: ``host`` (``example.com``, ``example.com:8080``, ``example.com:100-200``,
``*.example.com`` for any sub-domain but not the bare domain) and optional ``paths``
prefixes matched at segment boundaries on the normalised path. Redirects are followed by
hand, at most 5 hops, and every hop must pass the same allow-list (the fix for Backstage's
CVE-2026-24048). A ``token=`` is sent as ``Authorization: Bearer`` to the first URL's
origin only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote

from scmreader.errors import InvalidUrlError, NotAllowedError, NotImplementedByReaderError
from scmreader.http import (
    HttpClient,
    conditional_headers,
    credentials_for,
    raise_for_status,
)
from scmreader.readers.base import (
    BaseUrlReader,
    ReaderContext,
    ReaderFactory,
    ReaderTuple,
    read_url_response,
)
from scmreader.readers.types import ReadTreeResponse, ReadUrlResponse, TreeFilter
from scmreader.redact import redact_url, register_secret
from scmreader.urls import DEFAULT_PORTS, ParsedUrl, decode_fully, has_dot_segment, parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

_ENCODED_SEPARATOR = re.compile(r"%(?:2f|5c)", re.IGNORECASE)


@dataclass(frozen=True)
class AllowEntry:
    """One ``backend.reading.allow`` entry."""

    hostname: str
    wildcard: bool = False
    ports: tuple[int, int] | None = None
    paths: tuple[str, ...] = ()

    def allows(self, url: ParsedUrl) -> bool:
        """Whether ``url`` is covered by this entry (host, port and path)."""
        host = url.hostname
        if self.wildcard:
            if not host.endswith("." + self.hostname):
                return False
        elif host != self.hostname:
            return False
        if self.ports is None:
            if url.port is not None:
                return False
        else:
            port = url.port if url.port is not None else DEFAULT_PORTS.get(url.scheme)
            if port is None or not self.ports[0] <= port <= self.ports[1]:
                return False
        if self.paths:
            if _ENCODED_SEPARATOR.search(url.path):
                return False  # servers that decode %2F/%5C before normalising could escape
            if _hides_dots(url.path):
                return False
            path = url.normalized_path
            return any(_path_within(path, allowed) for allowed in self.paths)
        return True


def _hides_dots(path: str) -> bool:
    """Whether ``path`` has a ``..``/``.`` segment that only shows to a server that decodes
    it more than once (``%252e%252e``) or strips ``;`` parameters (``..;x``): the
    normalised path the allow list checks would not show it. Encoded too deep: True."""
    deep = decode_fully(path)
    if deep is None:
        return True
    if has_dot_segment(deep) and not has_dot_segment(unquote(path)):
        return True
    return any(";" in segment and has_dot_segment(segment) for segment in deep.split("/"))


def refusal_reason(entries: list[AllowEntry], url: ParsedUrl) -> str | None:
    """Why no entry allows ``url``, when an entry names its host: the port or the path
    rule failed, and what to add. None when no entry names the host (or one allows it)."""
    host = url.hostname
    named = [
        e
        for e in entries
        if (host.endswith("." + e.hostname) if e.wildcard else host == e.hostname)
    ]
    if not named or any(e.allows(url) for e in named):
        return None
    port = url.port if url.port is not None else DEFAULT_PORTS.get(url.scheme)
    ports_ok = [
        e
        for e in named
        if (
            url.port is None
            if e.ports is None
            else port is not None and e.ports[0] <= port <= e.ports[1]
        )
    ]
    if not ports_ok:
        return (
            f"backend.reading.allow has an entry for host '{host}' but it does not allow "
            f"port {port}; add the port to its host (host: {host}:{port}, or a range "
            "such as 8000-8100)."
        )
    allowed = sorted({p for e in ports_ok for p in e.paths})
    return (
        f"backend.reading.allow allows host '{host}' only below the paths "
        f"{', '.join(allowed)}; the path {url.normalized_path} is outside them (or holds an "
        "encoded '/'). Add its folder to that entry's 'paths', or remove 'paths' to allow "
        "the whole host."
    )


def _path_within(path: str, allowed: str) -> bool:
    if allowed.endswith("/"):
        return path.startswith(allowed)
    return path == allowed or path.startswith(allowed + "/")


def parse_port_spec(spec: str) -> tuple[int, int]:
    """``"8080"`` -> (8080, 8080); ``"100-200"`` -> (100, 200); ValueError when invalid.

    Like Backstage, ``-100-300`` reads as 100-300 while ``100-``, ``-``, ``100-50`` and
    ``nb-300`` are invalid.
    """
    if spec.isdigit():
        port = int(spec)
        if not 0 < port < 65536:
            raise ValueError(f"Port is not valid: {spec}")
        return port, port
    parts = [p for p in spec.split("-") if p]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"Port range is not valid: {spec}")
    start, end = int(parts[0]), int(parts[1])
    if not (0 < start <= end < 65536):
        raise ValueError(f"Port range is not valid: [{start}, {end}]")
    return start, end


def parse_allow_entry(entry: Config) -> AllowEntry:
    """Read and check one allow entry; ConfigError names the key when it is invalid."""
    raw = entry.get_string("host").strip()
    hostname, _, port_spec = raw.partition(":")
    hostname = hostname.lower()
    wildcard = hostname.startswith("*.")
    if wildcard:
        hostname = hostname[2:]
    try:
        # The same canonical form URLs get (lower case, IDNA 2008), so they always agree.
        ascii_host = parse_url(f"https://{hostname}/").hostname
    except InvalidUrlError:
        ascii_host = ""
    if not ascii_host or ascii_host.startswith("[") or (wildcard and "." not in ascii_host):
        raise entry.error(
            "host",
            f"'{raw}' is not a valid allow-list host; use a host name, optionally with "
            "':port' or ':start-end', and only a leading '*.' wildcard (e.g. '*.example.com').",
        )
    ports = None
    if port_spec:
        try:
            ports = parse_port_spec(port_spec)
        except ValueError as exc:
            raise entry.error("host", f"{exc}; write a port like 8080 or a range like 8000-8100")
    paths = tuple(entry.get_optional_string_array("paths") or ())
    for p in paths:
        if not p.startswith("/"):
            raise entry.error("paths", f"'{p}' must be an absolute path starting with '/'")
    return AllowEntry(ascii_host, wildcard, ports, paths)


def read_allow_list(config: Config) -> list[AllowEntry]:
    """All ``backend.reading.allow`` entries (empty when absent: nothing is allowed)."""
    entries = config.get_optional_config_array("backend.reading.allow") or []
    return [parse_allow_entry(e) for e in entries]


class FetchUrlReader(BaseUrlReader):
    """Reads plain HTTP(S) URLs that ``backend.reading.allow`` permits."""

    name = "fetch"

    def __init__(self, *, http: HttpClient, allow: list[AllowEntry]) -> None:
        super().__init__(host="", authed=False)
        self._http = http
        self._allow = allow

    def allows(self, url: ParsedUrl) -> bool:
        """Whether any allow entry covers ``url``."""
        return any(entry.allows(url) for entry in self._allow)

    def refusal(self, url: ParsedUrl) -> str | None:
        """Which allow rule refused ``url`` and what to add (see :func:`refusal_reason`)."""
        return refusal_reason(self._allow, url)

    def _check_hop(self, url: ParsedUrl) -> None:
        if not self.allows(url):
            reason = self.refusal(url) or (
                f"no backend.reading.allow entry names host '{url.hostname}'; add it there "
                "if it is trusted."
            )
            raise NotAllowedError(f"Refusing a redirect to {redact_url(str(url))}: {reason}")

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """GET ``url`` with conditional headers; 304 -> NotModifiedError, 404 -> NotFoundError."""
        parsed = parse_url(url)
        if not self.allows(parsed):
            reason = self.refusal(parsed) or (
                f"no backend.reading.allow entry names host '{parsed.hostname}'; add "
                f"'- host: {parsed.host}' there if it is trusted."
            )
            raise NotAllowedError(f"Reading from '{redact_url(url)}' is not allowed: {reason}")
        if token:
            register_secret(token)
        creds = credentials_for(url, {"Authorization": f"Bearer {token}"} if token else None)
        response = self._http.get(
            str(parsed),
            headers=conditional_headers(etag, last_modified_after),
            credentials=creds,
            check_redirect=self._check_hop,
        )
        raise_for_status(
            response,
            what=url,
            not_found=f"could not read {redact_url(url)}, 404 Not Found",
        )
        return read_url_response(response, self._http)

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Not supported: plain HTTP has no trees."""
        raise NotImplementedByReaderError(
            "FetchUrlReader does not implement readTree: plain HTTP URLs have no tree; "
            "configure an integration for the host to read trees."
        )


def _create(context: ReaderContext) -> list[ReaderTuple]:
    reader = FetchUrlReader(http=context.http, allow=read_allow_list(context.config))
    return [ReaderTuple(reader, reader.allows)]


READER_FACTORY = ReaderFactory(name="fetch", order=1000, create=_create)
