"""Plugin discovery shared by the integrations and readers registries.

A package's modules plug in by exposing a well-known attribute (``INTEGRATION``,
``READER_FACTORY``); third parties do the same through an entry-point group. Built-ins win
over entry points of the same name.

Entry points are looked up through :mod:`importlib.metadata` only when an installed
distribution declares a ``scmreader.*`` group: a quick read of the ``entry_points.txt``
files on ``sys.path`` tells, and saves every command the 10-20 ms that importing and
scanning all distributions' metadata costs.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import TypeVar

T = TypeVar("T")


def discover(
    package: str,
    path: Iterable[str],
    *,
    attribute: str,
    kind: type[T],
    group: str,
    name: Callable[[T], str],
    skip: Iterable[str] = (),
) -> list[T]:
    """Every ``kind`` found as ``attribute`` of the package's modules, then in ``group``."""
    skipped = set(skip)
    found: dict[str, T] = {}
    for info in pkgutil.iter_modules(list(path)):
        if info.name.startswith("_") or info.name in skipped:
            continue
        value = getattr(importlib.import_module(f"{package}.{info.name}"), attribute, None)
        if isinstance(value, kind):
            found[name(value)] = value
    for value in from_entry_points(group, kind):
        found.setdefault(name(value), value)
    return list(found.values())


def from_entry_points(group: str, kind: type[T]) -> list[T]:
    """The ``kind`` values that entry points of ``group`` name, in metadata order."""
    groups = declared_groups()
    if groups is not None and group not in groups:
        return []
    from importlib.metadata import entry_points

    values = (ep.load() for ep in entry_points(group=group))
    return [value for value in values if isinstance(value, kind)]


def _metadata_dirs(entry: str) -> Iterator[str]:
    if entry.endswith(".egg"):
        yield os.path.join(entry, "EGG-INFO")
    with os.scandir(entry) as children:
        for child in children:
            if child.name.endswith((".dist-info", ".egg-info")):
                yield child.path


@cache
def declared_groups() -> frozenset[str] | None:
    """The ``scmreader.*`` entry-point groups that installed distributions declare, read
    from their ``entry_points.txt``; None when ``sys.path`` holds something this quick
    scan cannot read (a zip file), and :mod:`importlib.metadata` must be asked."""
    groups: set[str] = set()
    for entry in sys.path:
        path = entry or "."
        if not os.path.isdir(path):
            if os.path.exists(path):
                return None
            continue
        try:
            folders = list(_metadata_dirs(path))
        except OSError:  # unreadable folder: let importlib.metadata decide
            return None
        for folder in folders:
            try:
                with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("[scmreader.") and line.endswith("]"):
                    groups.add(line[1:-1].strip())
    return frozenset(groups)
