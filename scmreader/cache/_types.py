"""What a cache stores (:class:`CachedResponse`) and what a cache is (:class:`ResponseCache`)."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

#: Response headers kept with a cached body; everything else (credentials, cookies,
#: rate-limit counters, transfer framing, Content-Encoding: the body is stored decoded)
#: is dropped. ``Link`` is kept because paginated API listings need it.
STORED_HEADERS = ("ETag", "Last-Modified", "Content-Type", "Content-Language", "Link")

_MAGIC = b"scmreader-cache/1\n"
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class CachedResponse:
    """A 200 answer kept for conditional requests: its validators, a few headers, the body.

    ``url`` is where the answer came from (the last hop of the redirect chain), redacted:
    it is used to send the validators back to the same origin, and for diagnostics.
    ``body`` is the content-decoded body; ``stored_at`` is a ``time.time()`` timestamp.
    """

    url: str
    headers: Mapping[str, str]
    body: bytes = field(repr=False)
    stored_at: float

    @property
    def etag(self) -> str | None:
        """The ``ETag`` header, if the answer had one."""
        return self.header("ETag")

    @property
    def last_modified(self) -> str | None:
        """The ``Last-Modified`` header, if the answer had one."""
        return self.header("Last-Modified")

    @property
    def size(self) -> int:
        """Approximate bytes this entry occupies (body, URL and headers)."""
        return (
            len(self.body) + len(self.url) + sum(len(k) + len(v) for k, v in self.headers.items())
        )

    def header(self, name: str) -> str | None:
        """A stored header by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def to_bytes(self) -> bytes:
        """The entry as one self-describing byte string (the SQLite and Redis format)."""
        meta = json.dumps(
            {"url": self.url, "headers": dict(self.headers), "stored_at": self.stored_at},
            separators=(",", ":"),
        ).encode("utf-8")
        return _MAGIC + _LENGTH.pack(len(meta)) + meta + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> CachedResponse:
        """Parse :meth:`to_bytes` output; ValueError when ``data`` is not such an entry."""
        if not data.startswith(_MAGIC) or len(data) < len(_MAGIC) + _LENGTH.size:
            raise ValueError("not a scmreader cache entry")
        start = len(_MAGIC) + _LENGTH.size
        (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
        try:
            meta = json.loads(data[start : start + length].decode("utf-8"))
            url, headers, stored_at = meta["url"], meta["headers"], meta["stored_at"]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise ValueError("corrupt scmreader cache entry") from None
        if (
            not isinstance(url, str)
            or not isinstance(headers, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
            or not isinstance(stored_at, int | float)
        ):
            raise ValueError("corrupt scmreader cache entry")
        return cls(url=url, headers=headers, body=data[start + length :], stored_at=stored_at)


@runtime_checkable
class ResponseCache(Protocol):
    """Where :class:`~scmreader.http.HttpClient` keeps answers for conditional requests.

    Keys are opaque hex digests. Implementations must be safe to call from several
    threads. They may raise on failure (a full disk, a server that is down): the client
    logs a warning and reads without the cache.
    """

    def get(self, key: str) -> CachedResponse | None:
        """The entry stored under ``key``, or None."""
        ...

    def set(self, key: str, value: CachedResponse) -> None:
        """Store ``value`` under ``key``, replacing any entry (and evicting old ones)."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error when it is absent)."""
        ...

    def clear(self) -> None:
        """Forget every entry of this cache."""
        ...
