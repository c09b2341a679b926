"""How :class:`~scmreader.http.HttpClient` uses a :class:`ResponseCache`.

For a GET that carries no conditional headers of its caller, the client looks the request
up by :func:`cache_key`; with an entry, it sends the entry's validators (``If-None-Match``,
``If-Modified-Since``) to the origin the entry came from, and a 304 is answered from the
cache. A 200 with a validator and a small ``Content-Length`` is read, stored, and answered
from memory. Every answer from the cache is a real ``requests.Response`` over the stored
bytes, so readers stream it as any other.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.response import HTTPResponse

from scmreader.cache._types import STORED_HEADERS, CachedResponse, ResponseCache
from scmreader.redact import redact, redact_url
from scmreader.urls import ParsedUrl, parse_url

log = logging.getLogger("scmreader.cache")

#: Response header saying where an answer came from: ``hit`` (the server answered 304 and
#: the stored body was used) or ``miss`` (fetched now, and stored).
CACHE_STATUS_HEADER = "X-Scmreader-Cache"
#: After a cache failure the cache is left alone for this many seconds.
FAILURE_PAUSE = 30.0

#: A request with any of these from its caller is passed through untouched: the caller
#: asked its own question (``etag=`` -> NotModifiedError) and must get the server's answer.
_CALLER_CONDITIONAL = frozenset(
    {"if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range"}
)
#: Framing and per-connection headers never copied onto an answer built from bytes.
_FRAMING = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "set-cookie"}
)

_T = TypeVar("_T")


def cache_key(
    method: str,
    url: str,
    headers: Mapping[str, str],
    credential_headers: Mapping[str, str],
) -> str:
    """The key of a request: a SHA-256 over the method, the requested URL, every header
    the caller sets (``Accept`` and API versions change the answer) and a SHA-256 of each
    credential header sent to the first hop, so different credentials never share an entry
    and no secret is ever part of a key."""
    digest = hashlib.sha256()

    def part(text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    part("scmreader-cache-key/1")
    part(method.upper())
    part(url)
    for name, value in sorted((k.lower(), str(v)) for k, v in headers.items()):
        part(name)
        part(value)
    part("credentials")
    for name, value in sorted((k.lower(), str(v)) for k, v in credential_headers.items()):
        part(name)
        part(hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest())
    return digest.hexdigest()


@dataclass(frozen=True)
class CachePlan:
    """What the cache knows about one request before it is sent."""

    key: str
    entry: CachedResponse | None
    #: The origin the entry came from: only hops to it get the validators.
    origin: str | None
    validators: Mapping[str, str]


class CacheHook:
    """The client's side of the cache: plans requests, turns answers into cached ones, and
    keeps going without the cache (one warning, then a pause) when the cache fails."""

    def __init__(
        self,
        cache: ResponseCache,
        *,
        max_body: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.max_body = max_body
        self._clock = clock
        self._paused_until = 0.0
        self._failing = False
        self._lock = threading.Lock()

    def plan(
        self,
        method: str,
        target: ParsedUrl,
        headers: Mapping[str, str],
        credential_headers: Mapping[str, str],
        *,
        has_body: bool,
    ) -> CachePlan | None:
        """The plan for a request, or None when it must not use the cache."""
        if method.upper() != "GET" or has_body:
            return None
        if any(name.lower() in _CALLER_CONDITIONAL for name in headers):
            return None
        key = cache_key(method, str(target), headers, credential_headers)
        entry = self._safely("read", self.cache.get, key)
        if entry is None:
            return CachePlan(key, None, None, {})
        validators: dict[str, str] = {}
        if entry.etag:
            validators["If-None-Match"] = entry.etag
        if entry.last_modified:
            validators["If-Modified-Since"] = entry.last_modified
        return CachePlan(key, entry, _origin(entry.url), validators)

    def finish(
        self,
        plan: CachePlan,
        response: requests.Response,
        open_body: Callable[[requests.Response], BinaryIO],
    ) -> requests.Response:
        """The answer to give the caller: from the cache on a 304 to our validators, a
        stored copy for a cacheable 200, else ``response`` itself."""
        status = response.status_code
        if status == 304 and plan.entry is not None and _origin(response.url) == plan.origin:
            response.close()
            log.debug("%s not modified: answered from the cache", redact_url(response.url))
            headers = {**_live_headers(response), **plan.entry.headers}
            return _answer(
                io.BytesIO(plan.entry.body), len(plan.entry.body), headers, response, "hit"
            )
        if status != 200 or not self._storable(response):
            if plan.entry is not None and status != 304:
                self._safely("delete", self.cache.delete, plan.key)
            return response
        stream = open_body(response)
        body = stream.read(self.max_body + 1)
        headers = _live_headers(response)
        if len(body) > self.max_body:  # Content-Encoding inflated it past the limit
            if plan.entry is not None:
                self._safely("delete", self.cache.delete, plan.key)
            return _answer(_Rejoined.buffered(body, stream), None, headers, response, None)
        # Fewer than max_body + 1 bytes means the end was reached, and the body stream
        # only reports the end after checking it (a cut-off or corrupt body raises
        # TransportError above): nothing incomplete is stored.
        stream.close()
        kept = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
        entry = CachedResponse(
            url=redact_url(response.url), headers=kept, body=body, stored_at=time.time()
        )
        self._safely("write", self.cache.set, plan.key, entry)
        return _answer(io.BytesIO(body), len(body), headers, response, "miss")

    def _storable(self, response: requests.Response) -> bool:
        h = response.headers
        length = (h.get("Content-Length") or "").strip()
        if not length.isdigit() or int(length) > self.max_body:
            return False  # unknown or large size: an archive or a big file, stream it
        if not (h.get("ETag") or h.get("Last-Modified")):
            return False
        if "no-store" in (h.get("Cache-Control") or "").lower():
            return False
        return (h.get("Vary") or "").strip() != "*"

    def _safely(self, doing: str, op: Callable[..., _T], *args: Any) -> _T | None:
        if self._clock() < self._paused_until:
            return None
        try:
            result = op(*args)
        except Exception as exc:
            with self._lock:
                self._paused_until = self._clock() + FAILURE_PAUSE
                first, self._failing = not self._failing, True
            if first:  # one warning per outage, however long it lasts
                log.warning(
                    "The response cache could not %s (%s: %s); reading without it, and trying "
                    "it again every %.0fs.",
                    doing,
                    type(exc).__name__,
                    redact(str(exc)),
                    FAILURE_PAUSE,
                )
            return None
        if self._failing:
            self._failing = False
            log.info("The response cache works again.")
        return result


def _origin(url: str) -> str | None:
    try:
        return parse_url(url).origin
    except Exception:
        return None


def _live_headers(response: requests.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in _FRAMING}


def _answer(
    body: BinaryIO,
    length: int | None,
    headers: Mapping[str, str],
    source: requests.Response,
    cache_status: str | None,
) -> requests.Response:
    """A 200 response over ``body`` (already decoded) that looks like ``source``'s."""
    all_headers = dict(headers)
    if length is not None:
        all_headers["Content-Length"] = str(length)
    if cache_status is not None:
        all_headers[CACHE_STATUS_HEADER] = cache_status
    out = requests.Response()
    out.status_code = 200
    out.reason = "OK"
    out.url = source.url
    out.headers = CaseInsensitiveDict(all_headers)
    out.encoding = get_encoding_from_headers(out.headers)
    out.raw = HTTPResponse(
        body=body,
        headers=all_headers,
        status=200,
        reason="OK",
        preload_content=False,
        decode_content=False,
        request_url=source.url,
    )
    out.request = source.request
    out.history = source.history
    out.elapsed = source.elapsed
    return out


class _Rejoined(io.RawIOBase):
    """The bytes already read from a body, then the rest of it."""

    def __init__(self, head: bytes, tail: BinaryIO) -> None:
        self._head = memoryview(head)
        self._tail = tail

    @classmethod
    def buffered(cls, head: bytes, tail: BinaryIO) -> BinaryIO:
        return io.BufferedReader(cls(head, tail))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._tail.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._tail.close()
        super().close()
