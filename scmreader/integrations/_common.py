"""Small mechanisms several integration modules share (private to the package).

Config side: typed secret readers and Basic-auth header values. URL side: a
``URLSearchParams`` work-alike (Backstage builds most query strings with it, and its
form encoding is what the hosts see), strict percent-decoding and the one way to word an
unusable URL. ``encode_path`` and ``reject_traversal`` are :mod:`scmreader.urls`' own,
re-exported here for the provider modules that import them from this module.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import parse_qsl, quote_plus, unquote_to_bytes

from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations.base import read_secret
from scmreader.redact import Secret, redact_url, register_config_secret
from scmreader.urls import ParsedUrl, encode_path, parse_url, reject_traversal

__all__ = [
    "RequestOptions",
    "SearchParams",
    "basic_auth",
    "decode_component",
    "encode_path",
    "form_encode",
    "missing_value",
    "multiline_secret",
    "optional_trimmed",
    "read_endpoint",
    "reject_traversal",
    "replace_fragment",
    "required_secret",
    "secret",
    "url_error",
    "with_query",
]

if TYPE_CHECKING:
    from scmreader.config import Config


class RequestOptions(TypedDict):
    """Backstage's ``{headers}`` request options: the headers to send to the host."""

    headers: dict[str, str]


# --- config -------------------------------------------------------------------------


def secret(entry: Config, key: str, *, strip: bool = True) -> Secret | None:
    """A one-line credential (token, password) as a :class:`Secret`; see ``read_secret``."""
    value = read_secret(entry, key, strip=strip)
    return None if value is None else Secret(value)


def missing_value(entry: Config, key: str) -> ConfigError:
    """The "missing required" ConfigError for ``key`` (with its path, file and line)."""
    return entry.error(key, "Missing required config value; add it to the configuration")


def required_secret(entry: Config, key: str, *, strip: bool = True) -> Secret:
    """Like :func:`secret`, but a missing or empty value is a "missing required" ConfigError."""
    value = secret(entry, key, strip=strip)
    if not value:
        raise missing_value(entry, key)
    return value


def multiline_secret(
    entry: Config, key: str, *, strip: bool = False, unescape_newlines: bool = False
) -> Secret | None:
    """A secret that may span lines (PEM or PGP keys): registered for redaction as one
    value, never checked for header-safe characters because it is never sent in a header.

    ``unescape_newlines`` turns literal ``\\n`` into line breaks first (keys pasted into
    one-line environment variables); the value is registered as it is returned.
    """
    value = entry.get_optional_string(key)
    if value is None:
        return None
    if unescape_newlines:
        value = value.replace("\\n", "\n")
    if strip:
        value = value.strip()
    register_config_secret(value)
    return Secret(value)


def optional_trimmed(entry: Config, key: str) -> str | None:
    """An optional, non-secret string with surrounding whitespace removed."""
    value = entry.get_optional_string(key)
    return None if value is None else value.strip()


def basic_auth(username: str, password: str, *, scheme: str = "Basic") -> str:
    """An ``Authorization`` value ``<scheme> base64(username:password)``; the encoded
    pair is registered so that it is redacted wherever it shows up."""
    register_config_secret(password, username=username)
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"{scheme} {token}"


# --- URLs ---------------------------------------------------------------------------


class SearchParams:
    """The query of a URL as WHATWG ``URLSearchParams`` handles it.

    ``set`` replaces the first pair of that name in place and drops later ones, ``append``
    adds at the end, and ``str()`` writes ``application/x-www-form-urlencoded`` (space as
    ``+``; only ``*-._`` and alphanumerics stay unescaped), as the browser would.
    """

    def __init__(self, query: str = "") -> None:
        self._pairs: list[tuple[str, str]] = parse_qsl(query, keep_blank_values=True)

    def get(self, name: str) -> str | None:
        """The first value of ``name``, or None."""
        return next((v for k, v in self._pairs if k == name), None)

    def set(self, name: str, value: str) -> None:
        """Give ``name`` exactly one value, keeping the position of its first pair."""
        pairs: list[tuple[str, str]] = []
        done = False
        for pair in self._pairs:
            if pair[0] != name:
                pairs.append(pair)
            elif not done:
                pairs.append((name, value))
                done = True
        if not done:
            pairs.append((name, value))
        self._pairs = pairs

    def append(self, name: str, value: str) -> None:
        """Add a pair at the end."""
        self._pairs.append((name, value))

    def __str__(self) -> str:
        return "&".join(f"{form_encode(k)}={form_encode(v)}" for k, v in self._pairs)


def form_encode(text: str) -> str:
    """One name or value encoded as ``URLSearchParams`` serialises it."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def with_query(url: ParsedUrl, params: SearchParams) -> str:
    """``url`` with its query replaced by ``params`` (no ``?`` when it is empty)."""
    return str(dataclasses.replace(url, query=str(params)))


def replace_fragment(url: str, fragment: str) -> str:
    """``url`` with its fragment set to ``fragment``."""
    return f"{url.split('#', 1)[0]}#{fragment}"


def decode_component(text: str, url: str) -> str:
    """``text`` percent-decoded once as UTF-8; InvalidUrlError when that fails."""
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise url_error(
            url, "has percent-escapes that are not UTF-8 text", "check how the link was copied"
        ) from None


def url_error(url: str, problem: str, hint: str) -> InvalidUrlError:
    """InvalidUrlError worded ``The URL <url> <problem>; <hint>.`` (credentials masked)."""
    return InvalidUrlError(f"The URL {redact_url(url)} {problem}; {hint}.")


def read_endpoint(entry: Config, provider: str, example: str) -> tuple[str, str] | None:
    """The optional ``endpoint`` of an object store and its host (with ``:port``).

    It must be an absolute http(s) URL with no path, because the host is what URLs are
    matched against; None when the key is absent.
    """
    endpoint = entry.get_optional_string("endpoint")
    if endpoint is None:
        return None
    try:
        parsed = parse_url(endpoint)
    except InvalidUrlError:
        raise entry.error(
            "endpoint",
            f"invalid {provider} integration config: endpoint {redact_url(endpoint)!r} is "
            f"not a valid URL; write an absolute http(s) URL such as {example!r}.",
        ) from None
    if parsed.path != "/":
        raise entry.error(
            "endpoint",
            f"invalid {provider} integration config: endpoints cannot contain a path, got "
            f"{redact_url(endpoint)!r}; remove everything after the host and port.",
        )
    return endpoint, parsed.host
