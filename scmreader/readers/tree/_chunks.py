"""The input side: read the body (and gunzip it) in a worker thread, hand out chunks.

Decompression releases the GIL, so it overlaps with tar parsing and file writes in the
caller's thread. The queue between the two is small: memory follows its length.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from scmreader.errors import ArchiveLimitError, UnsafeArchiveError
from scmreader.readers.tree._limits import ArchiveLimits

READ_SIZE = 256 * 1024
OUT_SIZE = 1024 * 1024
QUEUE_CHUNKS = 4
CLOSE_WAIT = 10.0
GZIP_MAGIC = b"\x1f\x8b"


def _inflater() -> tuple[Callable[..., Any], tuple[type[Exception], ...]]:
    """``decompressobj`` and its error types: python-isal's when installed (the ``fast``
    extra; it inflates about 1.6x faster), else zlib's. ``SCMREADER_INFLATE=zlib`` forces
    zlib."""
    if os.environ.get("SCMREADER_INFLATE", "").lower() != "zlib":
        try:
            from isal import isal_zlib
        except ImportError:
            pass
        else:
            return isal_zlib.decompressobj, (zlib.error, cast(type[Exception], isal_zlib.error))
    return zlib.decompressobj, (zlib.error,)


class _Stopped(Exception):
    """The consumer went away; the worker just ends."""


def read_prefix(stream: BinaryIO, n: int) -> bytes:
    """Read at least ``n`` bytes (fewer only at end of stream) for magic-byte detection."""
    data = b""
    while len(data) < n:
        chunk = stream.read(max(n - len(data), 4096))
        if not chunk:
            break
        data += bytes(chunk)
    return data


def inflate_start(prefix: bytes, n: int) -> bytes:
    """Up to ``n`` bytes inflated from the start of gzip data (b'' if it is corrupt)."""
    try:
        return zlib.decompressobj(31).decompress(prefix, n)
    except zlib.error:
        return b""


class ChunkPipe:
    """Chunks of the (inflated) stream, produced by a daemon thread.

    ``get()`` returns the next chunk, ``b''`` at the end, or raises what the worker hit
    (a ``TransportError`` from the stream as is; corrupt/truncated gzip as
    ``UnsafeArchiveError``; a ratio over the limit as ``ArchiveLimitError``). The worker
    closes the stream before it signals the end.
    """

    def __init__(
        self, stream: BinaryIO, prefix: bytes, *, gzip: bool, limits: ArchiveLimits
    ) -> None:
        self._stream = stream
        self._prefix = prefix
        self._gzip = gzip
        self._max_ratio = limits.max_ratio
        self._ratio_threshold = limits.ratio_threshold
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(QUEUE_CHUNKS)
        self._stop = threading.Event()
        self._final: BaseException | None = None
        self._ended = False
        self.compressed = 0
        self.inflated = 0
        # Bytes received on the wire, when the stream can tell (scmreader.http's body
        # stream): with Content-Encoding on the answer, the ratio is taken against them.
        self._wire = stream if hasattr(stream, "wire_bytes") else None
        self._thread = threading.Thread(target=self._run, name="scmreader-inflate", daemon=True)
        self._thread.start()

    # --- consumer side ---------------------------------------------------------------

    def get(self) -> bytes:
        """The next chunk; ``b''`` once the stream is exhausted."""
        if self._ended:
            if self._final is not None:
                raise self._final
            return b""
        item = self._queue.get()
        if type(item) is bytes:
            return item
        self._ended = True
        if item is None:
            return b""
        assert isinstance(item, BaseException)
        self._final = item
        raise item

    def close(self) -> None:
        """Stop the worker; it closes the stream. Waits up to ``CLOSE_WAIT`` seconds for a
        read in progress to return (after that the daemon thread finishes on its own)."""
        self._stop.set()
        deadline = time.monotonic() + CLOSE_WAIT
        while self._thread.is_alive() and time.monotonic() < deadline:
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
            self._thread.join(0.05)
        self._ended = True

    # --- worker side -----------------------------------------------------------------

    def _put(self, item: bytes | BaseException | None) -> None:
        while True:
            if self._stop.is_set():
                raise _Stopped
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        try:
            try:
                if self._gzip:
                    self._gunzip()
                else:
                    self._plain()
            finally:
                with contextlib.suppress(Exception):
                    self._stream.close()
            self._put(None)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            with contextlib.suppress(_Stopped):
                self._put(exc)

    def _read(self) -> bytes:
        data = self._stream.read(READ_SIZE)
        if type(data) is not bytes:
            data = bytes(data or b"")
        self.compressed += len(data)
        return data

    def _plain(self) -> None:
        data = self._prefix
        self.compressed = len(data)
        while True:
            if data:
                self._emit(data)
            data = self._read()
            if not data:
                return

    def _emit(self, out: bytes) -> None:
        self.inflated += len(out)
        if (
            self.inflated > self._ratio_threshold
            and self.inflated > self._max_ratio * self._received()
        ):
            raise ArchiveLimitError(
                f"The archive inflates to more than {self._max_ratio:g} times its compressed "
                f"size ({self.inflated} bytes from {self._received()} received); refusing a likely "
                "decompression bomb. Raise ArchiveLimits.max_ratio if this is expected."
            )
        self._put(out)

    def _received(self) -> int:
        wire = self._wire
        if wire is not None:
            return max(int(getattr(wire, "wire_bytes", 0)), 1)
        return max(self.compressed, 1)

    def _gunzip(self) -> None:
        data = self._prefix
        self.compressed = len(data)
        decompressobj, errors = _inflater()
        d: Any = decompressobj(31)
        while True:
            if d is None:
                # Between gzip members: another member, trailing NULs or the end.
                data = data.lstrip(b"\0")
                while len(data) < 2:
                    more = self._read()
                    if not more:
                        if data:
                            raise _garbage()
                        return
                    data = (data + more).lstrip(b"\0")
                if data[:2] != GZIP_MAGIC:
                    raise _garbage()
                d = decompressobj(31)
            try:
                while True:
                    out = d.decompress(data, OUT_SIZE)
                    data = d.unconsumed_tail
                    if out:
                        self._emit(out)
                    if d.eof:
                        data = d.unused_data
                        d = None
                        break
                    if not data and len(out) < OUT_SIZE:
                        break
            except errors as exc:
                raise UnsafeArchiveError(
                    f"The archive's gzip data is corrupt ({exc}); the download was damaged or "
                    "the host sent something else. Try again."
                ) from None
            if d is None:
                continue
            data = self._read()
            if not data:
                raise UnsafeArchiveError(
                    "The archive's gzip stream ended early (truncated); the download was cut "
                    "off. Try again."
                )


def _garbage() -> UnsafeArchiveError:
    return UnsafeArchiveError(
        "The archive has unexpected data after its gzip stream; the download is corrupt or "
        "the host sent something else."
    )
