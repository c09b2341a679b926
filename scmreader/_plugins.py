"""Plugin discovery shared by the integrations and readers registries.

A package's modules plug in by exposing a well-known attribute (``INTEGRATION``,
``READER_FACTORY``); third parties do the same through an entry-point group. Built-ins win
over entry points of the same name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
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
    for ep in entry_points(group=group):
        value = ep.load()
        if isinstance(value, kind):
            found.setdefault(name(value), value)
    return list(found.values())
