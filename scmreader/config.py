"""App-config loading: merged YAML files, ``${VAR}`` substitution and typed getters.

:func:`load_config` reads Backstage-style ``app-config.yaml`` files (and/or plain
mappings) and merges them the way Backstage does: later sources win, mappings are
merged key by key, lists and scalars are replaced whole. String values may use
``${VAR}`` (``$${`` escapes it) and a mapping may be one of the special forms
``{$env: VAR}``, ``{$file: path}`` or ``{$include: path[#sub.key]}``.

The result is a :class:`Config`, a read-only view whose getters name the full key
path, the file and the line of the offending key in every error. Messages describe
types only; a value never appears in a message or a ``repr()`` because it may be a
secret.

Differences from Backstage, on purpose: YAML is read with the YAML 1.2 core schema
(as Backstage's parser does, so ``yes`` and ``2024-01-01`` stay strings), duplicate
keys are an error, and an unset *or empty* variable is a :class:`ConfigError` instead
of a silently dropped value (an empty token would fall back to anonymous access).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from scmreader.errors import ConfigError

#: ``(file, line)`` of a key; both ``None`` when the value did not come from a file.
Location = tuple[str | None, int | None]

_NOWHERE: Location = (None, None)
_MISSING: Any = object()
_MAX_VALUES = 200_000
_MAX_DEPTH = 100
_MAX_INCLUDE_DEPTH = 32
_SPECIAL_KEYS = ("$env", "$file", "$include")
_INCLUDE_EXTENSIONS = (".yaml", ".yml", ".json")
_SUBSTITUTION = re.compile(r"\$?\$\{([^{}]*)\}")
_NAME = r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z][A-Za-z0-9]*)*"
_KEY_SEGMENT = re.compile(rf"({_NAME})((?:\[[0-9]+\])*)")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"[-+]?[0-9]+")
_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


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


# --- YAML ---------------------------------------------------------------------------


class _YamlLoader(yaml.SafeLoader):
    """Safe loader with the YAML 1.2 core schema that records the line of every key/item."""

    yaml_constructors: ClassVar[dict[Any, Any]] = {}
    file: str = "<string>"


def _construct_map(loader: _YamlLoader, node: yaml.MappingNode) -> Iterator[_Map]:
    data = _Map()
    yield data
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError(
                "a mapping key must be plain text, not a list or mapping",
                file=loader.file,
                line=line,
            )
        key = str(key_node.value)
        if key in data:
            raise ConfigError(
                f"duplicate key '{key}' (first written on line {data.locs[key][1]}); keep only one",
                file=loader.file,
                line=line,
            )
        data[key] = loader.construct_object(value_node, deep=True)
        data.locs[key] = (loader.file, line)


def _construct_seq(loader: _YamlLoader, node: yaml.SequenceNode) -> Iterator[_Seq]:
    data = _Seq()
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.locs.append((loader.file, item.start_mark.line + 1))


def _construct_null(loader: _YamlLoader, node: yaml.ScalarNode) -> None:
    return None


def _construct_str(loader: _YamlLoader, node: yaml.ScalarNode) -> str:
    return str(node.value)


def _construct_bool(loader: _YamlLoader, node: yaml.ScalarNode) -> bool:
    text = str(node.value).lower()
    if text not in ("true", "false"):
        raise ConfigError(
            "not a valid boolean; write true or false",
            file=loader.file,
            line=node.start_mark.line + 1,
        )
    return text == "true"


def _construct_int(loader: _YamlLoader, node: yaml.ScalarNode) -> int:
    text = str(node.value)
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    try:
        if body[:2] in ("0o", "0x"):
            return sign * int(body[2:], 8 if body[1] == "o" else 16)
        return sign * int(body, 10)
    except ValueError:
        raise ConfigError(
            "not a valid integer; quote the value if it is meant as text",
            file=loader.file,
            line=node.start_mark.line + 1,
        )


def _construct_float(loader: _YamlLoader, node: yaml.ScalarNode) -> float:
    text = str(node.value).lower()
    if text.lstrip("+-") == ".inf":
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise ConfigError(
            "not a valid number; quote the value if it is meant as text",
            file=loader.file,
            line=node.start_mark.line + 1,
        )


def _construct_unknown(loader: _YamlLoader, node: yaml.Node) -> Any:
    raise ConfigError(
        f"unsupported YAML tag '{node.tag}'; use plain strings, numbers, booleans, lists "
        "and mappings",
        file=loader.file,
        line=node.start_mark.line + 1,
    )


_YamlLoader.yaml_implicit_resolvers = {}  # drop YAML 1.1 rules (yes/no, dates, 0777...)
_YamlLoader.add_constructor("tag:yaml.org,2002:null", _construct_null)
_YamlLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_YamlLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_YamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_YamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_YamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_YamlLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_YamlLoader.add_constructor(None, _construct_unknown)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _parse_yaml(text: str, file: str) -> Any:
    loader: _YamlLoader | None = None
    try:
        loader = _YamlLoader(text)  # the reader rejects control characters right here
        loader.file = file
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        raise ConfigError(
            f"invalid YAML: {problem}; fix the syntax at this line",
            file=file,
            line=mark.line + 1 if mark else None,
        )
    except yaml.YAMLError:
        raise ConfigError(
            "invalid YAML: the file contains characters YAML does not allow; save it as "
            "plain UTF-8 text",
            file=file,
        )
    except RecursionError:
        raise ConfigError(f"nested more than {_MAX_DEPTH} levels deep; flatten it", file=file)
    finally:
        if loader is not None:
            loader.dispose()


def _parse_json(text: str, file: str) -> Any:
    def to_map(pairs: list[tuple[str, Any]]) -> _Map:
        data = _Map()
        for key, value in pairs:
            data[key] = value
            data.locs[key] = (file, None)
        return data

    try:
        return json.loads(text, object_pairs_hook=to_map)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}; fix the syntax", file=file, line=exc.lineno)
    except RecursionError:
        raise ConfigError(f"nested more than {_MAX_DEPTH} levels deep; flatten it", file=file)


def _read_text(
    path: str, what: str, *, key_path: str | None = None, loc: Location | None = None
) -> str:
    """Read a UTF-8 file; errors point at ``loc`` (the key that named it) or at the file."""
    file, line = (path, None) if loc is None else loc
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise ConfigError(
            f"{what} '{path}' does not exist; check the path",
            key_path=key_path,
            file=file,
            line=line,
        )
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot read {what} '{path}' ({reason}); check the path and its permissions",
            key_path=key_path,
            file=file,
            line=line,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{what} '{path}' is not UTF-8 text; save it as UTF-8",
            key_path=key_path,
            file=file,
            line=line,
        )


# --- substitution and includes -------------------------------------------------------


@dataclass(frozen=True)
class _Origin:
    """Where the values being expanded come from."""

    file: str | None
    dir: str
    includes: tuple[tuple[str, str], ...] = ()  # (real path, sub-key) of open includes


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


class _Expander:
    """Turns parsed data into `_Map`/`_Seq` trees, applying substitutions when asked."""

    def __init__(
        self,
        env: Mapping[str, str],
        problems: list[ConfigError] | None,
        *,
        substitute: bool,
    ) -> None:
        self.env = env
        self.problems = problems
        self.substitute = substitute
        self.count = 0

    def problem(self, error: ConfigError) -> Any:
        if self.problems is None:
            raise error
        self.problems.append(error)
        return _MISSING

    def expand(self, value: Any, path: str, loc: Location, origin: _Origin, depth: int) -> Any:
        """Return ``value`` expanded, or ``_MISSING`` when a problem made it absent."""
        self.count += 1
        if self.count > _MAX_VALUES or depth > _MAX_DEPTH:
            raise ConfigError(
                f"the configuration holds more than {_MAX_VALUES} values or is nested more "
                f"than {_MAX_DEPTH} levels deep (after expanding YAML aliases and includes); "
                "simplify it",
                key_path=path or None,
                file=loc[0],
                line=loc[1],
            )
        if isinstance(value, str):
            return self.substitute_vars(value, path, loc) if self.substitute else value
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            special = [key for key in _SPECIAL_KEYS if key in value] if self.substitute else []
            if special:
                return self.expand_special(value, special[0], path, loc, origin, depth)
            return self.expand_map(value, path, origin, depth)
        if isinstance(value, list | tuple):
            out_seq = _Seq()
            locs = getattr(value, "locs", None)
            for index, item in enumerate(value):
                item_loc = locs[index] if locs is not None else (origin.file, None)
                result = self.expand(item, f"{path}[{index}]", item_loc, origin, depth + 1)
                if result is not _MISSING:
                    out_seq.append(result)
                    out_seq.locs.append(item_loc)
            return out_seq
        raise ConfigError(
            f"unsupported value ({_describe(value)}); use strings, numbers, booleans, lists "
            "and mappings",
            key_path=path or None,
            file=loc[0],
            line=loc[1],
        )

    def expand_map(self, value: Mapping[Any, Any], path: str, origin: _Origin, depth: int) -> _Map:
        out = _Map()
        locs: Mapping[str, Location] = getattr(value, "locs", {})
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(
                    f"mapping keys must be strings, got {_describe(key)}",
                    key_path=path or None,
                    file=origin.file,
                )
            item_loc = locs.get(key, (origin.file, None))
            result = self.expand(item, _child(path, key), item_loc, origin, depth + 1)
            if result is not _MISSING:
                out[key] = result
                out.locs[key] = item_loc
        return out

    def substitute_vars(self, text: str, path: str, loc: Location) -> Any:
        if "${" not in text:
            return text
        missing: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group(0).startswith("$$"):
                return match.group(0)[1:]
            name = match.group(1).strip()
            value = (self.env.get(name) or "").strip() if name else ""
            if not value:
                missing.append(name)
            return value

        result = _SUBSTITUTION.sub(replace, text)
        for name in missing:
            message = (
                f"environment variable '{name}' is not set or is empty; set it, or write "
                f"'$${{{name}}}' to keep the text literally"
                if name
                else "'${}' names no environment variable; put a name between the braces"
            )
            self.problem(ConfigError(message, key_path=path or None, file=loc[0], line=loc[1]))
        return _MISSING if missing else result

    def expand_special(
        self,
        value: Mapping[str, Any],
        kind: str,
        path: str,
        loc: Location,
        origin: _Origin,
        depth: int,
    ) -> Any:
        locs: Mapping[str, Location] = getattr(value, "locs", {})
        where = locs.get(kind, loc)
        file, line = where

        def error(message: str) -> ConfigError:
            return ConfigError(message, key_path=path or None, file=file, line=line)

        if len(value) != 1:
            others = ", ".join(f"'{key}'" for key in value if key != kind)
            raise error(f"'{kind}' must be the only key of its mapping; move {others} elsewhere")
        raw = value[kind]
        if not isinstance(raw, str):
            raise error(f"'{kind}' needs a string, got {_describe(raw)}")
        argument = self.substitute_vars(raw, path, where)
        if argument is _MISSING:
            return _MISSING
        if kind == "$env":
            env_value = (self.env.get(argument.strip()) or "").strip()
            if not env_value:
                return self.problem(
                    error(
                        f"environment variable '{argument.strip()}' named by $env is not set "
                        "or is empty; set it"
                    )
                )
            return env_value
        if kind == "$file":
            target = os.path.normpath(os.path.join(origin.dir, argument))
            try:
                return _read_text(target, "file named by $file", key_path=path, loc=where).rstrip()
            except ConfigError as exc:
                return self.problem(exc)
        target = os.path.normpath(os.path.join(origin.dir, argument.partition("#")[0]))
        return self.expand_include(argument, target, path, loc, where, origin, depth)

    def expand_include(
        self,
        argument: str,
        target: str,
        path: str,
        loc: Location,
        where: Location,
        origin: _Origin,
        depth: int,
    ) -> Any:
        def error(message: str) -> ConfigError:
            return ConfigError(message, key_path=path or None, file=where[0], line=where[1])

        sub_key = argument.partition("#")[2]
        if os.path.splitext(target)[1].lower() not in _INCLUDE_EXTENSIONS:
            raise error(
                f"cannot include '{target}': only .yaml, .yml and .json files can be included"
            )
        opened = (os.path.realpath(target), sub_key)
        if opened in origin.includes:
            chain = [real + (f"#{key}" if key else "") for real, key in (*origin.includes, opened)]
            raise error(f"$include cycle: {' -> '.join(chain)}; break the loop")
        if len(origin.includes) >= _MAX_INCLUDE_DEPTH:
            raise error(f"includes are nested more than {_MAX_INCLUDE_DEPTH} deep; flatten them")
        text = _read_text(target, "included file", key_path=path, loc=where)
        is_json = target.lower().endswith(".json")
        data = _parse_json(text, target) if is_json else _parse_yaml(text, target)
        picked = sub_key.split(".") if sub_key else []
        for index, part in enumerate(picked):
            if not isinstance(data, Mapping):
                at = ".".join(picked[:index]) or "the top level"
                raise error(f"'{at}' in included file '{target}' is not a mapping")
            if part not in data:
                raise error(
                    f"included file '{target}' has no key '{'.'.join(picked[: index + 1])}'"
                )
            data = data[part]
        inner = _Origin(target, os.path.dirname(target), (*origin.includes, opened))
        return self.expand(data, path, loc, inner, depth + 1)


def _merge(base: Any, over: Any) -> Any:
    if not (isinstance(base, _Map) and isinstance(over, _Map)):
        return over
    out = _Map()
    out.update(base)
    out.locs.update(base.locs)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if key in out else value
        out.locs[key] = over.locs[key]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


# --- the reader ----------------------------------------------------------------------


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
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                return value
            raise self._mistyped(path, value, loc, "a finite number", " that is not finite")
        if isinstance(value, str):
            text = value.strip()
            if _NUMBER.fullmatch(text):
                number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
                if math.isfinite(number):
                    return number
            raise self._mistyped(path, value, loc, "a number", " that cannot be converted to one")
        raise self._mistyped(path, value, loc, "a number")

    def _boolean(self, path: str, value: Any, loc: Location) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise self._mistyped(
                path, value, loc, "a boolean (true or false)", " that cannot be converted to one"
            )
        raise self._mistyped(path, value, loc, "a boolean (true or false)")

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


def load_config(
    *sources: str | os.PathLike[str] | Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    problems: list[ConfigError] | None = None,
) -> Config:
    """Load and merge configuration sources in order; later sources win.

    Each source is a YAML file path or a mapping. Mappings are merged key by key, lists
    and scalars are replaced whole, ``null`` unsets a value. String values get
    ``${VAR}`` substitution from ``env`` (default :data:`os.environ`; values are
    trimmed, and an unset or empty variable is an error); ``{$env: VAR}``,
    ``{$file: path}`` and ``{$include: path[#sub.key]}`` work as in Backstage, with
    paths relative to the file that contains them (the working directory for mapping
    sources). When ``problems`` is a list, missing variables and ``$file`` files are
    appended to it and the value is left out instead of raising. No sources give an
    empty Config.
    """
    expander = _Expander(os.environ if env is None else env, problems, substitute=True)
    merged = _Map()
    files: list[str] = []
    for source in sources:
        if isinstance(source, Mapping):
            origin = _Origin(None, os.getcwd())
            data = expander.expand(source, "", _NOWHERE, origin, 0)
            file: str | None = None
        elif isinstance(source, str | os.PathLike):
            file = os.fsdecode(source)
            files.append(file)
            raw = _parse_yaml(_read_text(file, "configuration file"), file)
            origin = _Origin(file, os.path.dirname(file), ((os.path.realpath(file), ""),))
            data = expander.expand(_Map() if raw is None else raw, "", (file, None), origin, 0)
        else:
            raise ConfigError(
                f"cannot load configuration from {_describe(source)}; pass a file path or a mapping"
            )
        if not isinstance(data, _Map):
            raise ConfigError(
                f"the top level must be a mapping of keys to values, got {_describe(data)}; "
                "start the file with a key such as 'integrations:'",
                file=file,
            )
        merged = _merge(merged, data)
    root = files[0] if len(files) == 1 else None
    return Config._view(merged, "", (root, None))


__all__ = ["Config", "Location", "load_config"]
