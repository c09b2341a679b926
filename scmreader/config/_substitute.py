"""Substitution and includes: ``${VAR}``, ``${VAR:-default}``, ``$${``, ``{$env}``,
``{$file}``, ``{$include}``.

:class:`_Expander` turns parsed data into location-tracking trees, applying the
substitutions when asked (plain mappings given to ``Config(...)`` are taken literally).
An unset *or empty* ``${VAR}`` and a malformed ``${...}`` are a :class:`ConfigError`, or,
with a ``problems`` list, are recorded there and the value left out. ``${VAR:-default}``
follows Backstage: the default when the variable is unset or empty, and when the default
is empty too the whole string is left out, silently.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scmreader.config._values import (
    _MAX_DEPTH,
    _MISSING,
    Location,
    _child,
    _describe,
    _Map,
    _Seq,
)
from scmreader.config._yaml import _parse_json, _parse_yaml, _read_text
from scmreader.errors import ConfigError

_MAX_VALUES = 200_000
_MAX_INCLUDE_DEPTH = 32
_SPECIAL_KEYS = ("$env", "$file", "$include")
_INCLUDE_EXTENSIONS = (".yaml", ".yml", ".json")
_SUBSTITUTION = re.compile(r"\$?\$\{([^{}]*)\}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FALLBACK = ":-"
_DROPPED: Any = object()  # a ``${NAME:-}`` without a value: the whole string is left out


def _resolve(content: str, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """One ``${content}``: ``(value, None)``; ``(None, None)`` when the variable and its
    ``:-`` default are both empty; ``(None, message)`` when it is unset or malformed.

    As in Backstage's loader (config-loader 1.8+): the name and the default are trimmed,
    so is the variable's value, and ``${NAME:-default}`` takes the default when the
    variable is unset *or empty*.
    """
    name, fallback_sep, fallback = content.partition(_FALLBACK)
    name = name.strip()
    value = (env.get(name) or "").strip() if name else ""
    if not name:
        return None, "'${}' names no environment variable; put a name between the braces"
    if not value and _VARIABLE.fullmatch(name) is None:
        # Backstage looks up any text as a name; an unset one silently drops the value,
        # which hides shell forms it does not support (${A-b}, ${A:=b}, ${A:?b}, ${A:+b}).
        start = _VARIABLE.match(name)
        shown = start.group(0) if start else ""
        return None, (
            f"malformed substitution '${{{shown}...}}': a variable name has only letters, "
            "digits and '_'; write ${NAME} or ${NAME:-default} (shell forms such as "
            "${NAME-default} or ${NAME:=default} are not supported), or '$${' to keep the "
            "text literally"
        )
    if value:
        return value, None
    if fallback_sep:
        return fallback.strip() or None, None
    return None, (
        f"environment variable '{name}' is not set or is empty; set it, give a default "
        f"with '${{{name}:-default}}', or write '$${{{name}}}' to keep the text literally"
    )


@dataclass(frozen=True)
class _Origin:
    """Where the values being expanded come from."""

    file: str | None
    dir: str
    includes: tuple[tuple[str, str], ...] = ()  # (real path, sub-key) of open includes


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
            if not self.substitute:
                return value
            result = self.substitute_vars(value, path, loc)
            return _MISSING if result is _DROPPED else result
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
        """``text`` with its ``${...}`` substituted; ``_MISSING`` when a problem was
        recorded, ``_DROPPED`` when a ``${NAME:-}`` had no value (Backstage drops it)."""
        if "${" not in text:
            return text
        problems: list[str] = []
        dropped = False

        def replace(match: re.Match[str]) -> str:
            nonlocal dropped
            if match.group(0).startswith("$$"):
                return match.group(0)[1:]
            value, problem = _resolve(match.group(1), self.env)
            if problem:
                problems.append(problem)
            elif value is None:
                dropped = True
            return value or ""

        result = _SUBSTITUTION.sub(replace, text)
        for message in problems:
            self.problem(ConfigError(message, key_path=path or None, file=loc[0], line=loc[1]))
        if problems:
            return _MISSING
        return _DROPPED if dropped else result

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
        if argument is _DROPPED:
            return self.problem(
                error(
                    f"the '{kind}' argument substitutes to nothing (its variable is unset "
                    "and its ':-' default is empty); set the variable or give a default"
                )
            )
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
