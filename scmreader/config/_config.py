"""The :class:`Config` view: typed getters over the merged configuration.

Every error names the full key path and, when the value came from a file, the file and
line of that key. Messages describe types only: a value never appears in a message or a
``repr()`` because it may be a secret.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from scmreader.config._substitute import _Expander, _Origin
from scmreader.config._values import (
    _MISSING,
    _NOWHERE,
    Location,
    _child,
    _describe,
    _Map,
    _Seq,
)
from scmreader.errors import ConfigError

_NAME = r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z][A-Za-z0-9]*)*"
_KEY_SEGMENT = re.compile(rf"({_NAME})((?:\[[0-9]+\])*)")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"[-+]?[0-9]+")
_RADIX = {"x": 16, "o": 8, "b": 2}
_DIGITS = {16: "0123456789abcdef", 8: "01234567", 2: "01"}
_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _js_number(text: str) -> int | float | None:
    """What JavaScript's ``Number(text)`` gives, when that is finite; else None.

    Decimal with optional sign, fraction and exponent, or ``0x``/``0o``/``0b`` without a
    sign, surrounded by optional whitespace. Unlike ``Number()``, an empty or blank
    string is no number (JavaScript makes it 0).
    """
    text = text.strip()
    if _NUMBER.fullmatch(text):
        number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
        return number if math.isfinite(number) else None
    radix = _RADIX.get(text[1:2].lower()) if text[:1] == "0" else None
    digits = text[2:].lower()
    if radix is None or not digits or any(c not in _DIGITS[radix] for c in digits):
        return None
    number = int(digits, radix)
    try:
        float(number)
    except OverflowError:  # JavaScript makes it Infinity
        return None
    return number


def _parse_key(key: str, *, strict: bool = True) -> list[str | int]:
    parts: list[str | int] = []
    for segment in key.split("."):
        match = _KEY_SEGMENT.fullmatch(segment)
        if match is None:
            if strict:
                raise ConfigError(
                    f"invalid config key '{key}'; each dot-separated part must start with a "
                    "letter and contain only letters, digits, '-' and '_'"
                )
            return [key]
        parts.append(match.group(1))
        parts.extend(int(index) for index in re.findall(r"[0-9]+", match.group(2)))
    return parts


def _join(prefix: str, parts: list[str | int]) -> str:
    out = prefix
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else _child(out, part)
    return out


class Config:
    """Read-only view of the merged configuration at a key path (like Backstage's Config).

    Keys may be dotted (``backend.reading.allow``) and may index lists
    (``apps[0].appId``). A ``null`` value counts as absent. Every error is a
    :class:`ConfigError` carrying the full key path and, when the value came from a
    file, the file and line of that key; no error or ``repr()`` ever shows a value.
    """

    __slots__ = ("_data", "_loc", "_prefix")

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        """Wrap a plain mapping as is (no ``${VAR}`` substitution, no includes)."""
        expander = _Expander({}, None, substitute=False)
        converted = expander.expand(
            {} if data is None else data, "", _NOWHERE, _Origin(None, ""), 0
        )
        if not isinstance(converted, _Map):
            raise ConfigError(f"configuration must be a mapping, got {_describe(data)}")
        self._data: _Map = converted
        self._prefix = ""
        self._loc: Location = _NOWHERE

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Build a Config from a plain mapping, taken literally (no substitution)."""
        return cls(data)

    @classmethod
    def _view(cls, data: _Map, prefix: str, loc: Location) -> Config:
        view = cls.__new__(cls)
        view._data = data
        view._prefix = prefix
        view._loc = loc
        return view

    @property
    def prefix(self) -> str:
        """Key path of this view: ``''`` at the root, e.g. ``integrations.github[0]``."""
        return self._prefix

    def key_path(self, key: str) -> str:
        """Full key path of ``key`` below this view."""
        return _join(self._prefix, _parse_key(key, strict=False))

    def has(self, key: str) -> bool:
        """Whether ``key`` holds a value (``null`` counts as absent)."""
        return self._read(key)[1] is not _MISSING

    def keys(self) -> list[str]:
        """Names of the keys of this view that hold a value."""
        return [key for key, value in self._data.items() if value is not None]

    def get(self, key: str) -> Any:
        """A copy of the raw value at ``key``; ConfigError when it is missing."""
        return _plain(self._require(key)[1])

    def get_optional(self, key: str) -> Any | None:
        """A copy of the raw value at ``key``, or None when it is missing."""
        value = self._read(key)[1]
        return None if value is _MISSING else _plain(value)

    def get_string(self, key: str) -> str:
        """The non-empty string at ``key``; ConfigError when missing or of another type."""
        path, value, loc = self._require(key)
        return self._string(path, value, loc)

    def get_optional_string(self, key: str) -> str | None:
        """The non-empty string at ``key``, or None when it is missing."""
        path, value, loc = self._read(key)
        return None if value is _MISSING else self._string(path, value, loc)

    def get_number(self, key: str) -> int | float:
        """The number at ``key``; numeric strings are converted, booleans are not numbers."""
        path, value, loc = self._require(key)
        return self._number(path, value, loc)

    def get_optional_number(self, key: str) -> int | float | None:
        """The number at ``key``, or None when it is missing."""
        path, value, loc = self._read(key)
        return None if value is _MISSING else self._number(path, value, loc)

    def get_optional_whole_number(self, key: str, *, minimum: int = 1) -> int | None:
        """The whole number at ``key`` (``5`` or ``5.0``), at least ``minimum``; None when
        missing, ConfigError for a fraction or a smaller number."""
        value = self.get_optional_number(key)
        if value is None:
            return None
        if (isinstance(value, float) and not value.is_integer()) or value < minimum:
            raise self.error(key, f"must be a whole number of at least {minimum}.")
        return int(value)

    def get_boolean(self, key: str) -> bool:
        """The boolean at ``key``; strings such as ``true``/``false``/``yes``/``no`` convert."""
        path, value, loc = self._require(key)
        return self._boolean(path, value, loc)

    def get_optional_boolean(self, key: str) -> bool | None:
        """The boolean at ``key``, or None when it is missing."""
        path, value, loc = self._read(key)
        return None if value is _MISSING else self._boolean(path, value, loc)

    def get_string_array(self, key: str) -> list[str]:
        """The list of non-empty strings at ``key``; ConfigError when missing or mistyped."""
        path, value, loc = self._require(key)
        return self._string_array(path, value, loc)

    def get_optional_string_array(self, key: str) -> list[str] | None:
        """The list of non-empty strings at ``key``, or None when it is missing."""
        path, value, loc = self._read(key)
        return None if value is _MISSING else self._string_array(path, value, loc)

    def get_config(self, key: str) -> Config:
        """The mapping at ``key`` as a Config view; ConfigError when missing or mistyped."""
        path, value, loc = self._require(key)
        return self._config(path, value, loc)

    def get_optional_config(self, key: str) -> Config | None:
        """The mapping at ``key`` as a Config view, or None when it is missing."""
        path, value, loc = self._read(key)
        return None if value is _MISSING else self._config(path, value, loc)

    def get_config_array(self, key: str) -> list[Config]:
        """The list of mappings at ``key`` as Config views; ConfigError when missing."""
        path, value, loc = self._require(key)
        return self._config_array(path, value, loc)

    def get_optional_config_array(self, key: str) -> list[Config] | None:
        """The list of mappings at ``key`` as Config views, or None when it is missing."""
        path, value, loc = self._read(key)
        return None if value is _MISSING else self._config_array(path, value, loc)

    def location(self, key: str | None = None) -> Location:
        """``(file, line)`` where ``key`` (or this view) was written.

        For an absent key this is the location of its nearest existing ancestor.
        """
        if not key:
            return self._loc
        return self._walk(_parse_key(key, strict=False))[1]

    def error(self, key: str | None, message: str) -> ConfigError:
        """A ConfigError for ``key`` (or this view) with its full path, file and line.

        The caller raises it. ``message`` must not contain configuration values.
        """
        path = self.key_path(key) if key else self._prefix
        file, line = self.location(key)
        return ConfigError(message, key_path=path or None, file=file, line=line)

    def as_dict(self) -> dict[str, Any]:
        """A deep copy of this view as plain dicts and lists (null values left out)."""
        result: dict[str, Any] = _plain(self._data)
        return result

    def __repr__(self) -> str:
        return f"Config(prefix={self._prefix!r}, keys={self.keys()!r})"

    # -- internals --

    def _walk(self, parts: list[str | int]) -> tuple[Any, Location, int | None]:
        """Value (or _MISSING), its location (or the nearest ancestor's), index of a bad step."""
        current: Any = self._data
        loc = self._loc
        for step, part in enumerate(parts):
            if isinstance(part, int):
                if not isinstance(current, _Seq):
                    return _MISSING, loc, step
                if part >= len(current) or current[part] is None:
                    return _MISSING, loc, None
                current, loc = current[part], current.locs[part]
            else:
                if not isinstance(current, _Map):
                    return _MISSING, loc, step
                if current.get(part) is None:
                    return _MISSING, loc, None
                current, loc = current[part], current.locs[part]
        return current, loc, None

    def _read(self, key: str) -> tuple[str, Any, Location]:
        parts = _parse_key(key)
        value, loc, bad = self._walk(parts)
        if bad is not None:
            container = self._walk(parts[:bad])[0]
            wanted = "a list" if isinstance(parts[bad], int) else "a mapping"
            raise self._mistyped(_join(self._prefix, parts[:bad]), container, loc, wanted)
        return _join(self._prefix, parts), value, loc

    def _require(self, key: str) -> tuple[str, Any, Location]:
        path, value, loc = self._read(key)
        if value is _MISSING:
            raise ConfigError(
                "Missing required config value; add it to the configuration",
                key_path=path,
                file=loc[0],
                line=loc[1],
            )
        return path, value, loc

    @staticmethod
    def _mistyped(path: str, value: Any, loc: Location, wanted: str, hint: str = "") -> ConfigError:
        return ConfigError(
            f"expected {wanted}, got {_describe(value)}{hint}",
            key_path=path or None,
            file=loc[0],
            line=loc[1],
        )

    def _string(self, path: str, value: Any, loc: Location) -> str:
        if isinstance(value, str) and value:
            return value
        hint = "; quote it in YAML to make it text" if isinstance(value, int | float) else ""
        raise self._mistyped(path, value, loc, "a string", hint)

    def _number(self, path: str, value: Any, loc: Location) -> int | float:
        # @backstage/config's getOptionalNumber: a number, or a string that JavaScript's
        # Number() turns into a finite number (so "0x1F" and " 12 " are numbers too).
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                return value
            raise self._mistyped(path, value, loc, "a finite number", " that is not finite")
        if isinstance(value, str):
            number = _js_number(value)
            if number is not None:
                return number
            raise self._mistyped(path, value, loc, "a number", " that cannot be converted to one")
        raise self._mistyped(path, value, loc, "a number")

    def _boolean(self, path: str, value: Any, loc: Location) -> bool:
        # @backstage/config's getOptionalBoolean: a boolean, or a number or string whose
        # text (trimmed, any case) is y/yes/true/1/on or n/no/false/0/off.
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and math.isfinite(value) and value in (0, 1):
            return value == 1  # JavaScript writes 1.0 as "1" and -0 as "0"
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
        hint = (
            " that cannot be converted to one; write true or false (y/yes/on/1 and "
            "n/no/off/0 work too)"
            if isinstance(value, str | int | float) and not isinstance(value, bool)
            else ""
        )
        raise self._mistyped(path, value, loc, "a boolean (true or false)", hint)

    def _string_array(self, path: str, value: Any, loc: Location) -> list[str]:
        if not isinstance(value, _Seq):
            raise self._mistyped(path, value, loc, "a list of strings")
        return [self._string(f"{path}[{i}]", item, value.locs[i]) for i, item in enumerate(value)]

    def _config(self, path: str, value: Any, loc: Location) -> Config:
        if not isinstance(value, _Map):
            raise self._mistyped(path, value, loc, "a mapping")
        return Config._view(value, path, loc)

    def _config_array(self, path: str, value: Any, loc: Location) -> list[Config]:
        if not isinstance(value, _Seq):
            raise self._mistyped(path, value, loc, "a list of mappings")
        return [self._config(f"{path}[{i}]", item, value.locs[i]) for i, item in enumerate(value)]
