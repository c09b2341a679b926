"""A throw-away ``redis-server`` on loopback, for tests that need a real Redis.

    server = RedisServer(redis_server_binary(), tmp_path).start()
    try:
        cache = RedisCache(server.url)
    finally:
        server.stop()

:func:`redis_server_binary` skips the calling test when the binary is missing, and fails
it instead when ``CI`` is set, so a CI run never passes Redis tests silently.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["RedisServer", "free_port", "redis_server_binary", "require_or_skip"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def require_or_skip(message: str) -> None:
    """Skip the running test with ``message``; fail it instead when ``CI`` is set."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI is set: not skipping silently")
    pytest.skip(message)


def redis_server_binary() -> str:
    """The ``redis-server`` binary on PATH; skips the test (fails it under CI) without one."""
    binary = shutil.which("redis-server")
    if binary is None:
        require_or_skip(
            "redis-server is not installed (apt-get install redis-server); this test needs "
            "a real Redis server"
        )
        raise AssertionError("unreachable: require_or_skip raises")
    return binary


class RedisServer:
    """A ``redis-server`` process on 127.0.0.1 with a password, nothing saved to disk.

    ``url`` carries the password (``redis://:PASSWORD@127.0.0.1:PORT/0``); keep it out of
    logs as you would a real one.
    """

    def __init__(self, binary: str, workdir: str | os.PathLike[str], *, password: str = "") -> None:
        self.binary = binary
        self.workdir = Path(workdir)
        self.password = password or secrets.token_hex(16)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The connection URL, password included."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING; returns self."""
        last = ""
        for _ in range(5):  # a free port can be taken between probing and binding
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--requirepass", self.password,
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.workdir),
                    "--daemonize", "no",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            if self._wait_ready():
                return self
            last = self._output()
            self.stop()
        raise RuntimeError(f"redis-server did not start: {last[-2000:]}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                    answer = b""
                    while b"+PONG" not in answer and (chunk := s.recv(64)):
                        answer += chunk
                    if b"+PONG" in answer:
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _output(self) -> str:
        if self.process is None or self.process.stdout is None or self.process.poll() is None:
            return ""
        return self.process.stdout.read().decode(errors="replace")

    def stop(self) -> None:
        """Stop the server (no-op when it is not running)."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
