"""The safe URL parser: :func:`parse_url`, :class:`ParsedUrl` and their path helpers.

A URL is parsed once, anything a second parser could read differently (userinfo, ``\\``,
``%`` in the host, whitespace, odd ports, lookalike hosts) is rejected, and ``str()`` of the
result is the canonical string that is then sent. Host names and ports are checked in
:mod:`scmreader.urls._host`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import quote

from scmreader.errors import InvalidUrlError
from scmreader.urls._host import _parse_hostname, _parse_ipv6, _parse_port

#: Ports that are dropped from a URL because they are the scheme's default.
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}

#: Longer URLs are rejected: no SCM URL is this long, and it bounds the decoding work.
MAX_URL_LENGTH = 65536

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_WELL_KNOWN_SCHEMES = frozenset(
    {"http", "https", "file", "ftp", "ftps", "sftp", "gopher", "data", "javascript", "mailto"}
    | {"ssh", "git", "git+ssh", "ssh+git", "git+https", "ext", "ws", "wss", "ldap", "dict"}
)
_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# RFC 3986 characters that may stay as they are (``%`` only as part of a valid escape).
_PATH_SAFE = "!$&'()*+,;=:@/%"
_QUERY_SAFE = _PATH_SAFE + "?"
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


@dataclass(frozen=True)
class ParsedUrl:
    """A URL that passed every safety rule of :func:`parse_url`.

    ``scheme`` and ``hostname`` are lower case, ``hostname`` is ASCII (IDNA ``xn--`` form;
    an IPv6 literal keeps its brackets, as WHATWG's ``URL.hostname`` and urllib3 do),
    ``port`` is None when absent or the scheme's default. ``path`` is the percent-encoded
    path as given (at least ``/``); ``query`` and ``fragment`` come without ``?``/``#``.
    ``str()`` rebuilds the canonical URL, the exact string to send.
    """

    scheme: str
    hostname: str
    port: int | None
    path: str
    query: str
    fragment: str

    @property
    def host(self) -> str:
        """``hostname[:port]`` (port only when not the default), like WHATWG ``URL.host``."""
        return self.hostname if self.port is None else f"{self.hostname}:{self.port}"

    @property
    def origin(self) -> str:
        """``scheme://host``: what credentials and redirects are checked against."""
        return f"{self.scheme}://{self.host}"

    @property
    def normalized_path(self) -> str:
        """The path with unreserved escapes decoded and dot segments removed (RFC 3986).

        Use this for allow-list ``paths`` checks: ``/a/%2e%2e/b`` and ``/a/../b`` are ``/b``.
        Escapes of other characters (``%2F`` among them) stay encoded, in upper case.
        """
        return remove_dot_segments(_decode_unreserved(self.path))

    def without_fragment(self) -> ParsedUrl:
        """The same URL without its fragment (readers never send one)."""
        return ParsedUrl(self.scheme, self.hostname, self.port, self.path, self.query, "")

    def __str__(self) -> str:
        url = f"{self.scheme}://{self.host}{self.path}"
        if self.query:
            url += f"?{self.query}"
        if self.fragment:
            url += f"#{self.fragment}"
        return url

    def __repr__(self) -> str:
        # Queries and fragments can carry tokens; repr() ends up in logs.
        hidden = ("?<query>" if self.query else "") + ("#<fragment>" if self.fragment else "")
        return f"ParsedUrl('{self.scheme}://{self.host}{self.path}{hidden}')"


def parse_url(url: str, *, schemes: Collection[str] = ("http", "https")) -> ParsedUrl:
    """Parse an absolute URL, rejecting anything that two parsers could read differently.

    Raises :class:`InvalidUrlError` for: userinfo (``user:pass@``), ``\\`` before the
    query, ``%`` or other non-hostname characters in the host, a trailing dot, hosts that
    are not valid IDNA 2008 (e.g. full-width letters), numeric hosts that are not a
    canonical dotted IPv4 address, ports that are not canonical decimal 1-65535, schemes
    not in ``schemes``, any whitespace or control/format character, and malformed
    percent-escapes. Scheme and host are lower-cased, Unicode hosts IDNA-encoded and the
    default port dropped.
    """
    if not isinstance(url, str):
        raise InvalidUrlError(f"A URL must be a string, not {type(url).__name__}.")
    if not url:
        raise InvalidUrlError("The URL is empty; pass an absolute URL such as https://host/path.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrlError(
            f"The URL is {len(url)} characters long, more than the limit of {MAX_URL_LENGTH}; "
            "check that the right value was passed."
        )
    _reject_invisible(url, "The URL")
    allowed = sorted({s.lower() for s in schemes})
    match = _SCHEME_RE.match(url)
    if not match:
        raise InvalidUrlError(
            "The URL is not absolute (it has no scheme); write it as "
            f"{allowed[-1] if allowed else 'https'}://host/path."
        )
    scheme = match.group()[:-1].lower()
    if scheme not in allowed:
        shown = f"scheme '{scheme}'" if scheme in _WELL_KNOWN_SCHEMES else "scheme"
        raise InvalidUrlError(
            f"The URL's {shown} is not allowed here; use one of: {', '.join(allowed) or 'none'}."
        )
    before_query = re.split(r"[?#]", url, maxsplit=1)[0]
    if "\\" in before_query:
        raise InvalidUrlError(
            "The URL contains a backslash before its query; parsers disagree on what it "
            "means. Use '/' as separator, or %5C for a literal backslash in the path."
        )
    rest = url[match.end() :]
    if not rest.startswith("//") or rest.startswith("///"):
        raise InvalidUrlError(
            f"The URL must have the form {scheme}://host/path (two slashes, then the host)."
        )
    rest = rest[2:]
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        raise InvalidUrlError(
            "The URL contains a user name or password (the part before '@'); remove it and "
            "put credentials in the integration configuration instead."
        )
    hostname, port = _parse_authority(authority, scheme)
    path, query, fragment = _split_tail(tail)
    return ParsedUrl(
        scheme=scheme,
        hostname=hostname,
        port=port,
        path=_canonical_part(path or "/", _PATH_SAFE, "path"),
        query=_canonical_part(query, _QUERY_SAFE, "query"),
        fragment=_canonical_part(fragment, _QUERY_SAFE, "fragment"),
    )


def same_origin(a: str | ParsedUrl, b: str | ParsedUrl) -> bool:
    """Whether two URLs have the same scheme, host and (effective) port.

    Strings are parsed with :func:`parse_url`, so an unsafe URL raises
    :class:`InvalidUrlError` instead of comparing.
    """
    pa = a if isinstance(a, ParsedUrl) else parse_url(a)
    pb = b if isinstance(b, ParsedUrl) else parse_url(b)
    return pa.origin == pb.origin


def _reject_invisible(text: str, what: str) -> None:
    for index, char in enumerate(text):
        if char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            raise InvalidUrlError(
                f"{what} contains whitespace or an invisible control character "
                f"(U+{ord(char):04X} at position {index}); remove it, or percent-encode it "
                "if it is really part of a path."
            )


def _parse_authority(authority: str, scheme: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise InvalidUrlError("The URL's IPv6 host has no closing ']'.")
        hostname = _parse_ipv6(authority[1:close])
        after = authority[close + 1 :]
        if after and not after.startswith(":"):
            raise InvalidUrlError("Unexpected characters after the URL's IPv6 host.")
        port_text = after[1:] if after else None
    else:
        host_text, sep, port_text_ = authority.partition(":")
        hostname = _parse_hostname(host_text)
        port_text = port_text_ if sep else None
    port = _parse_port(port_text)
    if port is not None and port == DEFAULT_PORTS.get(scheme):
        port = None
    return hostname, port


def _split_tail(tail: str) -> tuple[str, str, str]:
    head, _, fragment = tail.partition("#")
    path, _, query = head.partition("?")
    return path, query, fragment


def _canonical_part(text: str, safe: str, what: str) -> str:
    if _ESCAPE_RE.search(text):
        raise InvalidUrlError(
            f"The URL's {what} has a '%' that is not followed by two hex digits; write a "
            "literal '%' as %25."
        )
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidUrlError(f"The URL's {what} is not valid Unicode text.") from None


def _decode_unreserved(path: str) -> str:
    def repl(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group().upper()

    return _UNRESERVED_ESCAPE_RE.sub(repl, path)


def _is_dot(segment: str, dots: str) -> bool:
    # WHATWG also treats '%2e' (any case) as a dot in dot segments.
    return segment.lower().replace("%2e", ".") == dots


def remove_dot_segments(path: str) -> str:
    """Remove ``.`` and ``..`` segments (also ``%2e`` forms) from an absolute path.

    ``..`` above the root stays at the root, and a trailing dot segment leaves a trailing
    ``/``, as WHATWG URL parsing and RFC 3986 section 5.2.4 do.
    """
    output: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if _is_dot(segment, ".."):
            if output:
                output.pop()
            if last:
                output.append("")
        elif _is_dot(segment, "."):
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)
