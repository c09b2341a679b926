"""The one bounded way to read a response body: as a stream, as bytes, or as JSON.

Every body the library reads goes through :func:`body_stream` (or :func:`read_body`,
which is built on it). What it guarantees:

- a size cap per kind of answer (``metadata``: JSON, listings, commit ids; ``file``;
  ``archive``), counted on the decoded bytes, checked against ``Content-Length`` before
  anything is read; :class:`ResponseTooLargeError` past it;
- ``Content-Encoding`` (gzip, deflate) decoded here, bounded per read, with a cap on
  decoded bytes per byte received on the wire, and the decoder required to reach its end
  of stream: a body cut short while the HTTP framing looked complete is a TransportError;
- every read bounded by the exchange's deadline and low-speed limit (see
  :mod:`scmreader.http._exchange`); resets and truncation raise TransportError, a stall
  RequestTimeoutError.
"""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import requests
import urllib3.exceptions

from scmreader.errors import (
    RequestTimeoutError,
    ResponseTooLargeError,
    TransportError,
    UpstreamError,
)
from scmreader.http._common import HttpSettings, _describe
from scmreader.redact import redact_url

if TYPE_CHECKING:
    from scmreader.http._client import HttpClient
    from scmreader.http._exchange import Exchange

BodyKind = Literal["metadata", "file", "archive"]
_READ = 64 * 1024
_GZIP = ("gzip", "x-gzip")


def _decoder_for(encoding: str, url: str) -> Any:
    """A zlib decompressor for the ``Content-Encoding`` value, None for identity."""
    codings = [c.strip() for c in encoding.lower().split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in _GZIP:
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if len(codings) == 1 and codings[0] == "deflate":
        return _Deflate()
    raise UpstreamError(
        f"The answer of {url} uses Content-Encoding {encoding[:40]!r}, which scmreader did not "
        "ask for and does not decode (gzip and deflate only, one layer); a proxy in between "
        "may be misconfigured.",
        url=url,
    )


class _Deflate:
    """HTTP ``deflate``: zlib-wrapped as the RFC says, or raw deflate as some servers send."""

    def __init__(self) -> None:
        self._d: Any = None

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._d is None:
            self._d = zlib.decompressobj()
            try:
                return bytes(self._d.decompress(data, max_length))
            except zlib.error:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._d.decompress(data, max_length))

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._d.unconsumed_tail) if self._d is not None else b""

    @property
    def unused_data(self) -> bytes:
        return bytes(self._d.unused_data) if self._d is not None else b""

    @property
    def eof(self) -> bool:
        return bool(self._d is not None and self._d.eof)


class _ResponseBody(io.RawIOBase):
    """A response body, decoded and capped, with a deadline checked on every read."""

    def __init__(
        self,
        response: requests.Response,
        *,
        deadline: float,
        clock: Callable[[], float],
        settings: HttpSettings,
        kind: BodyKind,
        max_bytes: int | None,
        exchange: Exchange | None,
    ) -> None:
        self._response = response
        self._raw = response.raw
        self._deadline = deadline
        self._clock = clock
        self._settings = settings
        self._exchange = exchange
        self._url = redact_url(response.url or "")
        response.raw.decode_content = False
        try:
            self._decoder = _decoder_for(response.headers.get("Content-Encoding") or "", self._url)
        except UpstreamError:
            response.close()
            raise
        self._tail = b""
        self._received = 0  # body bytes as received (before decoding)
        self.decoded = 0
        self.complete = False
        self.kind: BodyKind = kind
        self._max = max_bytes if max_bytes is not None else _cap(settings, kind)
        self._check_declared_length()

    # --- limits ------------------------------------------------------------------------

    def expect(self, kind: BodyKind) -> None:
        """Apply the cap of ``kind`` from now on (an archive read through a file stream)."""
        self.kind = kind
        self._max = _cap(self._settings, kind)

    @property
    def wire_bytes(self) -> int:
        """Bytes of this body received on the wire so far (before any decoding)."""
        return self._received

    def _check_declared_length(self) -> None:
        declared = (self._response.headers.get("Content-Length") or "").strip()
        if self._decoder is None and declared.isdigit() and int(declared) > self._max:
            self.close()
            raise self._too_large(f"declares {declared} bytes")

    def _too_large(self, detail: str) -> ResponseTooLargeError:
        setting = {
            "metadata": "max_metadata_bytes",
            "file": "max_file_bytes",
            "archive": "max_archive_bytes",
        }[self.kind]
        return ResponseTooLargeError(
            f"The answer of {self._url} {detail}, more than the {self._max}-byte cap for "
            f"{self.kind} answers; refusing it. If it is genuine, raise HttpSettings.{setting}.",
            status=self._response.status_code,
            url=self._url,
        )

    def _count(self, n: int) -> None:
        self.decoded += n
        if self.decoded > self._max:
            self.close()
            raise self._too_large(f"is larger than {self._max} bytes")
        s = self._settings
        if (
            self._decoder is not None
            and self.decoded > s.decoded_ratio_threshold
            and self.decoded > s.max_decoded_ratio * max(self._received, 1)
        ):
            self.close()
            raise ResponseTooLargeError(
                f"The answer of {self._url} inflates to more than {s.max_decoded_ratio:g} "
                f"times its size on the wire ({self.decoded} bytes from {self._received}); "
                "refusing a likely decompression bomb. If it is genuine, raise "
                "HttpSettings.max_decoded_ratio.",
                status=self._response.status_code,
                url=self._url,
            )

    # --- reading -----------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.complete or not len(view):
            return 0
        d = self._decoder
        if d is None:
            data = self._read_raw(len(view))
            if not data:
                self.complete = True
                return 0
            n = len(data)
            view[:n] = data
            self._count(n)
            return n
        while True:
            if self._tail:
                data, self._tail = self._tail, b""
            else:
                data = self._read_raw(_READ)
                if not data:
                    if not d.eof and self._received:
                        self.close()
                        raise TransportError(
                            f"The body of {self._url} was cut off (its compressed stream ended "
                            "early although the connection said it was complete); try again."
                        )
                    self.complete = True
                    return 0
            try:
                out = d.decompress(data, len(view))
            except zlib.error as exc:
                self.close()
                raise TransportError(
                    f"The body of {self._url} is corrupt ({exc}); try again."
                ) from None
            self._tail = bytes(d.unconsumed_tail)
            if d.eof:
                rest = bytes(d.unused_data).lstrip(b"\0")
                if rest and isinstance(d, _Deflate):
                    self.close()
                    raise TransportError(f"The body of {self._url} has data after its end.")
                if rest or self._tail:
                    # gzip allows several members one after another
                    self._tail = rest + self._tail
                    d = self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            if out:
                n = len(out)
                view[:n] = out
                self._count(n)
                return n

    def _read_raw(self, size: int) -> bytes:
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            self.close()
            raise RequestTimeoutError(
                f"Reading the body of {self._url} took longer than its deadline; the host is "
                "too slow. Try again later or raise HttpSettings.body_deadline."
            )
        try:
            data = self._raw.read1(size, decode_content=False)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            self.close()
            raise self._timeout() from None
        except (
            urllib3.exceptions.ProtocolError,
            urllib3.exceptions.DecodeError,
            urllib3.exceptions.HTTPError,
            OSError,
            ValueError,
        ) as exc:
            self.close()
            raise TransportError(
                f"The body of {self._url} was cut off or corrupt ({_describe(exc)}); try again."
            ) from None
        self._received += len(data)
        return bytes(data) if type(data) is not bytes else data

    def _timeout(self) -> RequestTimeoutError:
        reason = self._exchange.reason if self._exchange is not None else None
        if reason == "low speed":
            s = self._settings
            return RequestTimeoutError(
                f"The body of {self._url} arrived slower than {s.low_speed_limit:g} bytes/s "
                f"for {s.low_speed_time:g}s; the host is stalling. Try again later, or lower "
                "HttpSettings.low_speed_limit."
            )
        if reason == "deadline" or self._deadline - self._clock() <= 0:
            return RequestTimeoutError(
                f"Reading the body of {self._url} took longer than its deadline; the host is "
                "too slow. Try again later or raise HttpSettings.body_deadline."
            )
        return RequestTimeoutError(
            f"The host stopped sending the body of {self._url}; try again later."
        )

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


class BodyStream(io.BufferedReader):
    """A buffered, bounded body (what :func:`body_stream` returns)."""

    raw: _ResponseBody

    @property
    def wire_bytes(self) -> int:
        """Bytes received on the wire for this body so far."""
        return self.raw.wire_bytes

    @property
    def complete(self) -> bool:
        """Whether the body was read to its verified end."""
        return self.raw.complete

    def expect(self, kind: BodyKind) -> None:
        """Switch to the size cap of ``kind`` (e.g. ``"archive"``)."""
        self.raw.expect(kind)


def _cap(settings: HttpSettings, kind: BodyKind) -> int:
    if kind == "metadata":
        return settings.max_metadata_bytes
    if kind == "archive":
        return settings.max_archive_bytes
    return settings.max_file_bytes


def body_stream(
    response: requests.Response,
    client: HttpClient | None = None,
    *,
    deadline: float | None = None,
    buffer_size: int = 256 * 1024,
    kind: BodyKind = "file",
    max_bytes: int | None = None,
) -> BodyStream:
    """The decoded body of ``response`` as a buffered, bounded binary file object.

    ``kind`` selects the size cap (``HttpSettings.max_<kind>_bytes``; ``max_bytes``
    overrides it). Reads of files and archives are bounded by ``deadline`` seconds from now
    (default ``body_deadline``); a metadata body keeps the request's deadline, so the
    deadline covers the whole exchange. Every read also obeys the low-speed limit.
    """
    exchange: Exchange | None = getattr(response.raw, "_scm_exchange", None)
    settings: HttpSettings = (
        exchange.settings
        if exchange is not None and exchange.settings is not None
        else (client.settings if client else HttpSettings())
    )
    clock = client._clock if client else time.monotonic
    if deadline is None and kind == "metadata" and exchange is not None:
        limit = max(exchange.deadline - time.monotonic(), 0.0)
    else:
        limit = settings.body_deadline if deadline is None else deadline
        if exchange is not None:
            exchange.extend(limit)
    raw = _ResponseBody(
        response,
        deadline=clock() + limit,
        clock=clock,
        settings=settings,
        kind=kind,
        max_bytes=max_bytes,
        exchange=exchange,
    )
    return BodyStream(raw, buffer_size=buffer_size)


def read_body(
    response: requests.Response,
    client: HttpClient | None = None,
    *,
    kind: BodyKind = "metadata",
    max_bytes: int | None = None,
) -> bytes:
    """The whole decoded body of ``response``, read through :func:`body_stream` (capped,
    deadline-bounded, verified complete)."""
    with body_stream(response, client, kind=kind, max_bytes=max_bytes) as stream:
        return stream.read()
