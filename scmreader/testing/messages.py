"""Requests and responses as FakeScmHost route handlers and tests see them."""

from __future__ import annotations

import json as _json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

if TYPE_CHECKING:
    from scmreader.testing.server import FakeScmHost

#: Header names whose values are credentials: recorded by name, redacted in reprs.
AUTH_HEADER_NAMES = frozenset({"authorization", "private-token", "x-api-key", "cookie"})

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]] | None
Body = bytes | Path | Iterable[bytes]


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive HTTP headers that keep every value of a repeated header.

    ``headers["accept"]`` joins repeated values with ``", "``; :meth:`get_all` returns them
    one by one. Iteration yields each name once, spelled as first received.
    """

    def __init__(self, items: HeaderInput = None) -> None:
        self._pairs = header_pairs(items)
        self._values: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}
        for name, value in self._pairs:
            self._values.setdefault(name.lower(), []).append(value)
            self._names.setdefault(name.lower(), name)

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._values[name.lower()])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._names)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in the order received (empty list when absent)."""
        return list(self._values.get(name.lower(), []))

    def pairs(self) -> list[tuple[str, str]]:
        """All ``(name, value)`` pairs exactly as received."""
        return list(self._pairs)

    def __repr__(self) -> str:
        shown = {
            name: "<redacted>" if name.lower() in AUTH_HEADER_NAMES else self[name] for name in self
        }
        return f"Headers({shown!r})"


def header_pairs(items: HeaderInput) -> list[tuple[str, str]]:
    """Headers given as a mapping or as pairs, as a list of ``(name, value)`` pairs."""
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [(str(k), str(v)) for k, v in items.items()]
    return [(str(k), str(v)) for k, v in items]


@dataclass(frozen=True)
class _RequestLine:
    method: str
    #: Path as sent on the wire: still percent-encoded, without the query string.
    path: str
    raw_query: str
    headers: Headers
    body: bytes
    #: ``(address, port)`` of the listening socket that accepted the connection.
    server_address: tuple[str, int]
    client_address: tuple[str, int]

    @cached_property
    def query_all(self) -> dict[str, list[str]]:
        """Every value of every query parameter, decoded."""
        result: dict[str, list[str]] = {}
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            result.setdefault(key, []).append(value)
        return result

    @cached_property
    def query(self) -> dict[str, str]:
        """Query parameters, decoded; the first value when a name repeats."""
        return {key: values[0] for key, values in self.query_all.items()}

    @property
    def base_url(self) -> str:
        """``http://`` plus the Host header the client sent (the bound address without one)."""
        address, port = self.server_address
        default = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        return f"http://{self.headers.get('Host', default)}"

    @property
    def url(self) -> str:
        """The full URL the client asked for, as seen through its Host header."""
        query = f"?{self.raw_query}" if self.raw_query else ""
        return f"{self.base_url}{self.path}{query}"

    def json(self) -> Any:
        """The request body decoded as JSON."""
        return _json.loads(self.body)


@dataclass(frozen=True)
class FakeRequest(_RequestLine):
    """One request as a route handler sees it.

    ``match`` is the route pattern's match against the raw :attr:`path`; :attr:`params`
    holds its named groups percent-decoded (GitLab's ``group%2Frepo`` becomes
    ``group/repo``).
    """

    host: FakeScmHost = field(repr=False, compare=False)
    match: re.Match[str] | None = field(default=None, compare=False)

    @property
    def params(self) -> dict[str, str]:
        """Named groups of the route pattern, percent-decoded (unmatched groups omitted)."""
        if self.match is None:
            return {}
        return {k: unquote(v) for k, v in self.match.groupdict().items() if v is not None}


@dataclass(frozen=True)
class RecordedRequest(_RequestLine):
    """One request as the host's log keeps it (see ``FakeScmHost.requests``).

    ``auth_headers`` names, in lower case, the credential-bearing headers that were present
    (among ``FakeScmHost.auth_header_names``). ``time`` is ``time.time()`` at arrival and
    ``monotonic`` is ``time.monotonic()``, for measuring gaps between attempts.
    """

    auth_headers: frozenset[str] = frozenset()
    time: float = 0.0
    monotonic: float = 0.0


class FakeResponse:
    """What a route handler returns: status, body and headers.

    ``body`` may be bytes (or str, encoded as UTF-8), a :class:`~pathlib.Path` streamed from
    disk, or an iterable of byte chunks. Bytes and files are sent with ``Content-Length``;
    iterables with ``Transfer-Encoding: chunked`` unless ``chunked=False`` (then the
    connection is closed to end the body). ``chunked=True`` forces chunked framing for
    bytes and files too, like codeload's archive downloads. A ``Content-Length`` or
    ``Transfer-Encoding`` header set by the handler is sent as given, even when it lies.
    """

    def __init__(
        self,
        status: int = 200,
        body: Body | str = b"",
        headers: HeaderInput = None,
        *,
        chunked: bool | None = None,
    ) -> None:
        self.status = status
        self.body: Body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers: list[tuple[str, str]] = header_pairs(headers)
        self.chunked = chunked

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_header(self, name: str, value: str) -> FakeResponse:
        """Replace every value of ``name`` with ``value``; returns self for chaining."""
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))
        return self

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: HeaderInput = None) -> FakeResponse:
        """A JSON body with ``Content-Type: application/json; charset=utf-8``."""
        response = cls(status, _json.dumps(obj).encode("utf-8"), headers)
        if response.header("Content-Type") is None:
            response.set_header("Content-Type", "application/json; charset=utf-8")
        return response

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        headers: HeaderInput = None,
        *,
        content_type: str = "text/plain; charset=utf-8",
    ) -> FakeResponse:
        """A text body (UTF-8) with the given content type."""
        response = cls(status, text.encode("utf-8"), headers)
        if response.header("Content-Type") is None:
            response.set_header("Content-Type", content_type)
        return response

    @classmethod
    def redirect(
        cls, location: str, status: int = 302, headers: HeaderInput = None
    ) -> FakeResponse:
        """A redirect to ``location`` (absolute, or relative to the requested URL)."""
        return cls(status, b"", headers).set_header("Location", location)

    @classmethod
    def not_modified(cls, etag: str | None = None, headers: HeaderInput = None) -> FakeResponse:
        """A bodiless 304, carrying ``etag`` when given."""
        response = cls(304, b"", headers)
        if etag is not None:
            response.set_header("ETag", etag)
        return response

    def __repr__(self) -> str:
        kind = type(self.body).__name__
        return f"FakeResponse(status={self.status}, body=<{kind}>, headers={self.headers!r})"
