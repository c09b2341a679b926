"""Small mechanisms several integration modules share (private to the package).

Config side: typed secret readers and Basic-auth header values. URL side: a
``URLSearchParams`` work-alike (Backstage builds most query strings with it, and its
form encoding is what the hosts see), path re-encoding, strict percent-decoding, the
path-traversal check and the one way to word an unusable URL.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import parse_qsl, quote_plus, unquote_to_bytes

from scmreader.errors import InvalidUrlError
from scmreader.integrations.base import read_secret
from scmreader.redact import Secret, redact_url, register_secret
from scmreader.urls import TRAVERSAL_MESSAGE, ParsedUrl, encode_uri_component, parse_url

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


def required_secret(entry: Config, key: str, *, strip: bool = True) -> Secret:
    """Like :func:`secret`, but a missing key is the usual "missing required" ConfigError."""
    value = secret(entry, key, strip=strip)
    # get_string raises when the key is missing, the only way value can be None.
    return value if value is not None else Secret(entry.get_string(key))


def multiline_secret(entry: Config, key: str, *, strip: bool = False) -> Secret | None:
    """A secret that may span lines (PEM or PGP keys): registered for redaction, never
    checked for header-safe characters because it is never sent in a header."""
    value = entry.get_optional_string(key)
    if value is None:
        return None
    if strip:
        value = value.strip()
    register_secret(value)
    return Secret(value)


def optional_trimmed(entry: Config, key: str) -> str | None:
    """An optional, non-secret string with surrounding whitespace removed."""
    value = entry.get_optional_string(key)
    return None if value is None else value.strip()


def basic_auth(username: str, password: str, *, scheme: str = "Basic") -> str:
    """An ``Authorization`` value ``<scheme> base64(username:password)``; the encoded
    pair is registered so that it is redacted wherever it shows up."""
    register_secret(password, username=username)
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


def encode_path(path: str) -> str:
    """A decoded ``a/b c/d`` path encoded segment by segment (``a/b%20c/d``)."""
    return "/".join(encode_uri_component(segment) for segment in path.split("/"))


def decode_component(text: str, url: str) -> str:
    """``text`` percent-decoded once as UTF-8; InvalidUrlError when that fails."""
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise url_error(
            url, "has percent-escapes that are not UTF-8 text", "check how the link was copied"
        ) from None


_MAX_DECODES = 16


def reject_traversal(text: str) -> None:
    """InvalidUrlError when a ``.``/``..`` segment appears, however often it was encoded."""
    for _ in range(_MAX_DECODES):
        if any(s in (".", "..") for s in re.split(r"[/\\]", text)):
            raise InvalidUrlError(TRAVERSAL_MESSAGE)
        decoded = unquote_to_bytes(text).decode("utf-8", "surrogateescape")
        if decoded == text:
            return
        text = decoded
    raise InvalidUrlError(TRAVERSAL_MESSAGE)


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
