"""Wall-clock deadlines and a low-speed limit on every socket read of an exchange.

``requests`` only has per-read timeouts: a server that sends the status line, the headers
or a JSON body one byte every half second never trips them. Here the connections of the
client's pool read through an :class:`Exchange`, which gives each ``recv`` only the time
left until the exchange's deadline, and aborts (curl's ``--speed-limit``/``--speed-time``)
when fewer than ``low_speed_limit`` bytes per second arrived over ``low_speed_time``
seconds spent waiting for them (a caller pausing between reads is not a slow host). It
also counts the bytes received on the wire, which the body reader uses for its
decompression-ratio cap.

The client announces the exchange for the current thread (:func:`announce`) before it
sends a request; the connection picks it up when it reads the answer and attaches it to
the urllib3 response as ``_scm_exchange``.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()


class ExchangeTimeout(TimeoutError):
    """A read stopped by the exchange's deadline or its low-speed limit (``reason`` says)."""


class Exchange:
    """The time budget and byte count of one request and its answer."""

    def __init__(
        self,
        *,
        deadline: float,
        read_timeout: float,
        low_speed_limit: float,
        low_speed_time: float,
        settings: Any = None,
    ) -> None:
        #: time.monotonic() after which no more reads are made.
        self.deadline = deadline
        self.read_timeout = read_timeout
        self.low_speed_limit = low_speed_limit
        self.low_speed_time = low_speed_time
        #: The effective HttpSettings of the request (body caps are read from them).
        self.settings = settings
        #: Bytes received on the wire so far (headers and framing included).
        self.wire_bytes = 0
        #: Why the exchange was stopped ('deadline', 'low speed', 'silence'), or None.
        self.reason: str | None = None
        # Only time spent blocked in recv counts toward silence and the low-speed window, so
        # a caller that pauses between reads (another request, a slow disk) is not mistaken
        # for a slow host. The window starts with the first byte: waiting for an answer (a
        # host preparing an archive) is bounded by read_timeout and the deadline instead.
        self._started = False
        self._silent = 0.0  # blocked seconds since the last byte
        self._blocked = 0.0  # blocked seconds in the current low-speed window
        self._window_bytes = 0

    def extend(self, seconds: float) -> None:
        """Allow ``seconds`` from now (the body deadline, once the headers are in)."""
        self.deadline = time.monotonic() + seconds

    def timeout_for_read(self) -> float:
        """Seconds the next ``recv`` may wait; raises ExchangeTimeout when none are left."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.reason = "deadline"
            raise ExchangeTimeout("the exchange passed its deadline")
        wait = min(self.read_timeout - self._silent, left)
        if self.low_speed_limit > 0 and self._started:
            wait = min(wait, self.low_speed_time - self._blocked)
        return max(wait, 0.0) + 0.001

    def received(self, n: int, blocked: float) -> None:
        """Count ``n`` bytes that arrived after ``blocked`` seconds in recv."""
        self.wire_bytes += n
        if not self._started:
            self._started = n > 0
            self._silent = 0.0 if n else self._silent + blocked
            return
        self._silent = 0.0 if n else self._silent + blocked
        self._blocked += blocked
        self._window_bytes += n
        if self.low_speed_limit > 0 and self._blocked >= self.low_speed_time:
            if self._window_bytes < self.low_speed_limit * self._blocked:
                self.reason = "low speed"
                raise ExchangeTimeout(
                    f"fewer than {self.low_speed_limit:g} bytes/s arrived over {self._blocked:.1f}s"
                )
            self._blocked = 0.0
            self._window_bytes = 0

    def after_timeout(self, blocked: float) -> None:
        """A ``recv`` timed out after ``blocked`` seconds: raise when that was the
        deadline, the speed limit or ``read_timeout`` of silence; return to read on
        otherwise."""
        self.received(0, blocked)
        if time.monotonic() >= self.deadline:
            self.reason = "deadline"
            raise ExchangeTimeout("the exchange passed its deadline")
        if self._silent >= self.read_timeout:
            self.reason = "silence"
            raise ExchangeTimeout(f"nothing arrived for {self.read_timeout:g}s")


def announce(exchange: Exchange | None) -> None:
    """Make ``exchange`` the one the next answer read on this thread belongs to."""
    _local.exchange = exchange


class _GuardedRaw(io.RawIOBase):
    """A socket's reading side whose every ``recv`` is bounded by an Exchange."""

    def __init__(self, sock: Any, exchange: Exchange) -> None:
        self._sock = sock
        self._io = sock.makefile("rb", buffering=0)  # holds a reference: no early close
        self._exchange = exchange
        self._timeout = -1.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        ex = self._exchange
        while True:
            wait = ex.timeout_for_read()
            if abs(wait - self._timeout) > 0.05:
                self._sock.settimeout(wait)
                self._timeout = wait
            start = time.monotonic()
            try:
                n: int = self._sock.recv_into(buffer)
            except TimeoutError:
                # raises at the deadline, the speed limit or silence
                ex.after_timeout(time.monotonic() - start)
                continue
            ex.received(n, time.monotonic() - start)
            return n

    def close(self) -> None:
        if not self.closed:
            self._io.close()
        super().close()


class _SocketView:
    """The connection's socket as ``http.client`` sees it while reading an answer: the
    same socket, except that ``makefile`` hands out a guarded reader."""

    def __init__(self, sock: Any, exchange: Exchange) -> None:
        self._sock = sock
        self._exchange = exchange

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_GuardedRaw(self._sock, self._exchange), 64 * 1024)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _GuardedMixin:
    sock: Any
    _dns_host: str
    port: int

    def _new_conn(self) -> Any:
        """The connection's socket; with private addresses blocked, to an address of the
        host checked by :func:`~scmreader.http._addresses.public_addresses` (resolved once,
        so the check and the connection see the same address)."""
        exchange: Exchange | None = getattr(_local, "exchange", None)
        settings = exchange.settings if exchange is not None else None
        if not getattr(settings, "block_private_addresses", False):
            return super()._new_conn()  # type: ignore[misc]
        from scmreader.http._addresses import public_addresses

        name = self._dns_host
        try:
            addresses = public_addresses(name, self.port)
        except socket.gaierror:
            return super()._new_conn()  # type: ignore[misc]  # urllib3 reports the name
        failure: Exception | None = None
        for address in addresses:
            self._dns_host = address  # a literal: no second lookup
            try:
                return super()._new_conn()  # type: ignore[misc]
            except OSError as exc:  # urllib3's connection errors; try the next address
                failure = exc
            finally:
                self._dns_host = name
        assert failure is not None
        raise failure

    def getresponse(self) -> Any:
        exchange: Exchange | None = getattr(_local, "exchange", None)
        if exchange is None or self.sock is None:
            return super().getresponse()  # type: ignore[misc]
        real = self.sock
        view = _SocketView(real, exchange)
        self.sock = view
        try:
            response = super().getresponse()  # type: ignore[misc]
        finally:
            if self.sock is view:
                self.sock = real
        response._scm_exchange = exchange
        return response


class _GuardedHTTPConnection(_GuardedMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections read answers through the announced Exchange."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
