"""The parsed configuration: mappings and lists that remember where each value was written.

Every stage (the YAML reader, substitution, merging, the :class:`~scmreader.config.Config`
view) passes these around, so an error can always name the file and line of the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: ``(file, line)`` of a key; both ``None`` when the value did not come from a file.
Location = tuple[str | None, int | None]

_NOWHERE: Location = (None, None)
_MISSING: Any = object()
_MAX_DEPTH = 100


class _Map(dict[str, Any]):
    """A mapping that remembers where each of its keys was written."""

    __slots__ = ("locs",)

    def __init__(self) -> None:
        super().__init__()
        self.locs: dict[str, Location] = {}


class _Seq(list[Any]):
    """A list that remembers where each of its items was written."""

    __slots__ = ("locs",)

    def __init__(self) -> None:
        super().__init__()
        self.locs: list[Location] = []


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"
