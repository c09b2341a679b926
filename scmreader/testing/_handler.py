"""The HTTP/1.1 request handler behind FakeScmHost: parsing, framing and wire faults."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scmreader.testing.faults import FaultStep
from scmreader.testing.messages import Body, FakeRequest, FakeResponse, Headers

if TYPE_CHECKING:
    from scmreader.testing.server import FakeScmHost

_CHUNK = 256 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], family: int, fake_host: FakeScmHost) -> None:
        self.address_family = family
        self.fake_host = fake_host
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, OSError):
            self.fake_host.errors.append(exc)


class _Cut(Exception):
    """The body was cut short on purpose (reset or truncate fault)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeScmHost"
    timeout = 60
    # Headers and body go out as two writes: with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per request on a kept-alive connection), as no real host does.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake_host._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake_host._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # --- request -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        host = self.server.fake_host
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Malformed request body framing")
            return
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute form, as sent to a proxy
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        path, _, raw_query = target.partition("?")
        server_address = self.connection.getsockname()[:2]
        request = FakeRequest(
            method=self.command,
            path=path or "/",
            raw_query=raw_query,
            headers=Headers(self.headers.items()),
            body=body,
            server_address=(str(server_address[0]), int(server_address[1])),
            client_address=(str(self.client_address[0]), int(self.client_address[1])),
            host=host,
        )
        host._record(request)
        step = host.faults.take(request.method, request.path)
        try:
            stalled = step is not None and step.kind == "delay"
            if stalled and step is not None and host._stopping.wait(step.seconds):
                self.close_connection = True
                return
            if step is not None and step.response is not None:
                response = step.response
            else:
                response = host._respond(request)
            self._send(response, step)
        except (_Cut, OSError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    # --- response ----------------------------------------------------------------------

    def _send(self, response: FakeResponse, step: FaultStep | None) -> None:
        status = response.status
        head = self.command == "HEAD"
        headers = list(response.headers)
        names = {name.lower() for name, _ in headers}
        length = _length(response.body)
        bodiless = status in (204, 304) or status < 200
        if "content-length" in names or "transfer-encoding" in names:
            te = (response.header("Transfer-Encoding") or "").lower()
            chunked = "chunked" in te
            declared = (response.header("Content-Length") or "").strip()
            if not chunked and (not declared.isdigit() or int(declared) != length):
                self.close_connection = True  # the handler's framing may lie: end with the body
        else:
            chunked = bool(response.chunked) if response.chunked is not None else length is None
            if chunked and self.request_version != "HTTP/1.1":
                chunked = False
            if bodiless:
                chunked = False
            elif chunked:
                headers.append(("Transfer-Encoding", "chunked"))
            elif length is not None:
                headers.append(("Content-Length", str(length)))
            else:
                self.close_connection = True
        if _has_body(response) and "content-type" not in names and not bodiless:
            headers.append(("Content-Type", "application/octet-stream"))
        self._head_drip = step if step is not None and step.kind == "drip" and step.head else None
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if head or bodiless:
            _close_body(response.body)
            if step is not None and step.kind in ("reset", "truncate"):
                self._cut(step)
            return
        if step is None and not chunked and isinstance(response.body, Path):
            with response.body.open("rb") as stream:
                self.connection.sendfile(stream)
            return
        self._write_body(response.body, chunked, step)

    def flush_headers(self) -> None:
        drip = getattr(self, "_head_drip", None)
        buffer = getattr(self, "_headers_buffer", None)
        if drip is None or not buffer:
            super().flush_headers()
            return
        head = b"".join(buffer)
        buffer.clear()
        for start in range(0, len(head), drip.chunk):
            if start and self.server.fake_host._stopping.wait(drip.interval):
                raise _Cut()
            self.wfile.write(head[start : start + drip.chunk])
            self.wfile.flush()

    def _write_body(self, body: Body, chunked: bool, step: FaultStep | None) -> None:
        budget = step.nbytes if step is not None and step.kind in ("reset", "truncate") else None
        drip = step if step is not None and step.kind == "drip" else None
        first = True
        try:
            for data in _chunks(body):
                if budget is not None:
                    data = data[:budget]
                    budget -= len(data)
                for piece in _split(data, drip.chunk if drip else len(data)):
                    stopping = self.server.fake_host._stopping
                    if drip is not None and not first and stopping.wait(drip.interval):
                        raise _Cut()
                    first = False
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                if budget == 0:
                    break
            else:
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
        finally:
            _close_body(body)
        if step is not None and budget is not None:
            self._cut(step)

    def _cut(self, step: FaultStep) -> None:
        self.close_connection = True
        if step.kind == "reset":
            time.sleep(0.01)  # let loopback deliver what was sent before the RST
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # rfile holds a reference that would defer the real close() (and so the RST).
            self.rfile.close()
            self.connection.close()
        raise _Cut()


def _has_body(response: FakeResponse) -> bool:
    """Whether the body is non-empty (so a Content-Type should be sent)."""
    return not (isinstance(response.body, bytes) and not response.body)


def _length(body: Body) -> int | None:
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, Path):
        return body.stat().st_size
    return None


def _chunks(body: Body) -> Iterator[bytes]:
    if isinstance(body, bytes):
        for start in range(0, len(body), _CHUNK):
            yield body[start : start + _CHUNK]
    elif isinstance(body, Path):
        with body.open("rb") as stream:
            while data := stream.read(_CHUNK):
                yield data
    else:
        for data in body:
            if data:
                yield bytes(data)


def _split(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), max(size, 1)):
        yield data[start : start + size]


def _close_body(body: Body) -> None:
    if not isinstance(body, bytes | Path) and isinstance(body, Iterable):
        close = getattr(body, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()
