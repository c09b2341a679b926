"""An in-process LRU cache bounded by entry count and total bytes."""

from __future__ import annotations

import threading
from collections import OrderedDict

from scmreader.cache._types import CachedResponse

DEFAULT_MAX_ENTRIES = 1024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class MemoryCache:
    """A thread-safe least-recently-used cache held in this process's memory.

    The least recently read or written entries are evicted once there are more than
    ``max_entries`` or their sizes add up to more than ``max_bytes``; an entry larger than
    ``max_bytes`` on its own is not stored.
    """

    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("MemoryCache needs max_entries and max_bytes of at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, CachedResponse] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> CachedResponse | None:
        """The entry under ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def set(self, key: str, value: CachedResponse) -> None:
        """Store ``value``, then evict least recently used entries beyond the limits."""
        with self._lock:
            self._pop(key)
            if value.size > self.max_bytes:
                return
            self._entries[key] = value
            self._bytes += value.size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                oldest = next(iter(self._entries))
                self._pop(oldest)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._pop(key)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def total_bytes(self) -> int:
        """The summed size of the stored entries."""
        with self._lock:
            return self._bytes

    def _pop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def __repr__(self) -> str:
        return f"MemoryCache(max_entries={self.max_entries}, max_bytes={self.max_bytes})"
