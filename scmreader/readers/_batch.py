"""Batch reads: one call, many URLs, a thread pool, one result per URL in input order.

:func:`run_batch` is the machinery behind :meth:`UrlReaders.read_many`,
:meth:`UrlReaders.search_many` and :meth:`UrlReaders.map`. Every item gets a
:class:`BatchResult` holding either its value or the exception its call raised; the batch
itself never fails because one item did. Progress is reported from the calling thread, so a
callback needs no locking. Ctrl-C (``KeyboardInterrupt`` in the calling thread) cancels the
items not started yet and propagates at once; calls already running are abandoned: their
results are dropped, and their (daemon) threads never keep the process from exiting.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from scmreader.errors import NotModifiedError
from scmreader.readers import DEFAULT_WORKERS

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741

#: ``progress(done, total, result)``: called in the calling thread after each item finishes.
Progress = Callable[[int, int, "BatchResult[object]"], None]


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """The outcome of one item of a batch: ``value`` or ``error``, never both."""

    url: str
    value: T | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the call returned a value."""
        return self.error is None

    @property
    def not_modified(self) -> bool:
        """True when the item's etag still matched (the usual outcome of a re-ingest)."""
        return isinstance(self.error, NotModifiedError)

    def unwrap(self) -> T:
        """The value; raises the item's error when it failed."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def run_batch(
    fn: Callable[[I], T],
    items: Iterable[I],
    *,
    key: Callable[[I], str] = str,
    max_workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
) -> list[BatchResult[T]]:
    """``fn(item)`` for every item on up to ``max_workers`` threads; results in input order.

    Exceptions (``Exception`` subclasses) become the item's ``error``; ``BaseException``s
    such as ``KeyboardInterrupt`` raised in the calling thread cancel what has not started
    and propagate. ``key(item)`` is the ``url`` of each result.

    The workers are daemon threads: after Ctrl-C the process can exit at once, even while a
    worker waits out a host's pause; in a process that goes on, each worker finishes the
    item it holds and stops.
    """
    todo = list(items)
    results: list[BatchResult[T] | None] = [None] * len(todo)
    for done, (index, result) in enumerate(
        iter_batch(fn, todo, key=key, max_workers=max_workers), start=1
    ):
        results[index] = result
        if progress is not None:
            progress(done, len(todo), result)  # type: ignore[arg-type]
    return [r for r in results if r is not None]


def iter_batch(
    fn: Callable[[I], T],
    items: Iterable[I],
    *,
    key: Callable[[I], str] = str,
    max_workers: int = DEFAULT_WORKERS,
) -> Iterator[tuple[int, BatchResult[T]]]:
    """As :func:`run_batch`, but ``(input index, result)`` pairs as items finish (streaming).

    Closing the generator early cancels the items not started yet.
    """
    if max_workers < 1:
        raise ValueError("max_workers must be at least 1")
    todo = list(items)
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(todo)):
        pending.put(i)
    # Finished items arrive through a queue: the calling thread holds no lock a worker
    # needs while it waits, so Ctrl-C there can never leave a worker blocked.
    finished: queue.SimpleQueue[tuple[int, BatchResult[T]]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                i = pending.get_nowait()
            except queue.Empty:
                return
            finished.put((i, _call(fn, todo[i], key(todo[i]))))

    for n in range(min(max_workers, len(todo))):
        threading.Thread(target=work, name=f"scmreader-batch-{n}", daemon=True).start()
    try:
        for _ in range(len(todo)):
            while True:
                try:
                    yield finished.get(timeout=0.25)
                    break
                except queue.Empty:
                    continue
    finally:
        stop.set()


def _call(fn: Callable[[I], T], item: I, url: str) -> BatchResult[T]:
    try:
        return BatchResult(url, value=fn(item))
    except Exception as exc:
        return BatchResult(url, error=exc)
