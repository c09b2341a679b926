"""Response bodies as file objects whose every socket read is bounded by a deadline.

A server that drips one byte at a time cannot hold a caller past the deadline; resets and
truncation become :class:`TransportError`, a stall :class:`RequestTimeoutError`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any, BinaryIO

import requests
import urllib3.exceptions

from scmreader.errors import RequestTimeoutError, TransportError
from scmreader.http._client import HttpClient
from scmreader.http._common import HttpSettings, _describe
from scmreader.redact import redact_url


class _ResponseBody(io.RawIOBase):
    """A response body as a raw binary stream with a deadline checked on every socket read."""

    def __init__(
        self,
        response: requests.Response,
        deadline: float,
        read_timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self._response = response
        self._raw = response.raw
        self._deadline = deadline
        self._read_timeout = read_timeout
        self._clock = clock
        self._url = redact_url(response.url)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            self.close()
            raise RequestTimeoutError(
                f"Reading the body of {self._url} took longer than its deadline; the host is "
                "too slow. Try again later or raise HttpSettings.body_deadline."
            )
        self._set_socket_timeout(min(self._read_timeout, remaining))
        try:
            data = self._raw.read1(len(view))
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
            self.close()
            if self._deadline - self._clock() <= 0:
                raise RequestTimeoutError(
                    f"Reading the body of {self._url} took longer than its deadline; the host "
                    "is too slow. Try again later."
                ) from None
            raise RequestTimeoutError(
                f"The host stopped sending the body of {self._url}; try again later."
            ) from None
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
        n = len(data)
        view[:n] = data
        return n

    def _set_socket_timeout(self, seconds: float) -> None:
        conn = getattr(self._raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.settimeout(max(seconds, 0.001))
            except OSError:
                pass

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


def body_stream(
    response: requests.Response,
    client: HttpClient | None = None,
    *,
    deadline: float | None = None,
    buffer_size: int = 256 * 1024,
) -> BinaryIO:
    """The (content-decoded) body of ``response`` as a buffered binary file object.

    Reads are bounded by ``deadline`` seconds from now (default: the client's
    ``body_deadline``); resets and truncation raise TransportError.
    """
    settings = client.settings if client else HttpSettings()
    clock = client._clock if client else time.monotonic
    limit = settings.body_deadline if deadline is None else deadline
    response.raw.decode_content = True
    raw = _ResponseBody(response, clock() + limit, settings.read_timeout, clock)
    return io.BufferedReader(raw, buffer_size=buffer_size)
