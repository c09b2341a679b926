"""The progress bar of ``scmreader tree``: files and bytes so far, on stderr, terminals only."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class TreeProgress:
    """Counts files and bytes; draws a rich bar on stderr when ``enabled``.

    ``enabled`` should be ``not quiet and sys.stderr.isatty()``. Without the ``cli`` extra
    (rich not installed) it only counts.
    """

    def __init__(self, *, enabled: bool, description: str) -> None:
        self.enabled = enabled
        self.description = description
        self.files = 0
        self.bytes = 0
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> TreeProgress:
        if not self.enabled:
            return self
        try:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        except ImportError:
            return self
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[files]} files"),
            TextColumn("{task.fields[size]}"),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            refresh_per_second=8,
        )
        self._task = self._progress.add_task(
            self.description, total=None, files=0, size=human_size(0)
        )
        self._progress.start()
        return self

    def advance(self, size: int) -> None:
        """One more file of ``size`` bytes."""
        self.files += 1
        self.bytes += size
        if self._progress is not None:
            self._progress.update(self._task, files=self.files, size=human_size(self.bytes))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def human_size(n: int) -> str:
    """A byte count in decimal units: ``999 bytes``, ``1.5 kB``, ``2.0 MB``."""
    if n < 1000:
        return f"{n} bytes"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if round(value, 1) < 1000:
            return f"{value:.1f} {unit}"
    return f"{value / 1000:.1f} PB"
