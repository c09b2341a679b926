"""Loading and merging configuration sources: :func:`load_config`.

Sources merge the way Backstage merges them: later sources win, mappings are merged key by
key, lists and scalars are replaced whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scmreader.config._config import Config
from scmreader.config._keys import check_unknown_keys
from scmreader.config._substitute import _Expander, _Origin
from scmreader.config._values import _NOWHERE, _describe, _Map
from scmreader.config._yaml import _parse_yaml, _read_text
from scmreader.errors import ConfigError


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


#: The files :func:`load_config` reads when given no source (as the CLI does), each only
#: when it exists in the working directory.
DEFAULT_CONFIG_FILES = ("app-config.yaml", "app-config.local.yaml")


@dataclass(frozen=True)
class OptionalFile:
    """A configuration file that :func:`load_config` skips when it does not exist."""

    path: str | os.PathLike[str]


def optional(path: str | os.PathLike[str]) -> OptionalFile:
    """Mark ``path`` as optional for :func:`load_config`: skipped when it does not exist,
    e.g. ``load_config("app-config.yaml", optional("app-config.local.yaml"))``."""
    return OptionalFile(path)


def default_config_files(directory: str | os.PathLike[str] = ".") -> list[str]:
    """The default files (``app-config.yaml``, ``app-config.local.yaml``) present in
    ``directory``, in merge order: what ``load_config()`` and the CLI read."""
    found = [os.path.join(directory, name) for name in DEFAULT_CONFIG_FILES]
    return [os.path.normpath(path) for path in found if os.path.lexists(path)]


Source = str | os.PathLike[str] | OptionalFile | Mapping[str, Any]


def load_config(
    *sources: Source,
    env: Mapping[str, str] | None = None,
    problems: list[ConfigError] | None = None,
    strict: bool = False,
    check_keys: bool = True,
) -> Config:
    """Load and merge configuration sources in order; later sources win.

    Each source is a YAML file path, ``optional(path)`` (skipped when the file does not
    exist) or a mapping. No sources: the :func:`default_config_files` of the working
    directory, as the ``scmreader`` command reads them (none present: an empty Config).
    Mappings are merged key by key, lists and scalars are replaced whole, ``null`` unsets
    a value. String values get ``${VAR}`` and ``${VAR:-default}`` substitution from
    ``env`` (default :data:`os.environ`; values are trimmed; an unset or empty ``${VAR}``
    is an error, a ``${VAR:-}`` without value leaves the key out); ``{$env: VAR}``,
    ``{$file: path}`` and ``{$include: path[#sub.key]}`` are Backstage's, with paths
    relative to the file that contains them (the working directory for mapping sources).
    When ``problems`` is a list, missing variables and ``$file`` files are appended to it
    and the value is left out instead of raising.

    Keys under ``integrations``, ``backend.reading`` and ``scmreader`` that nothing reads
    are logged as warnings on the ``scmreader.config`` logger (with a "did you mean", the
    file and the line); ``strict=True`` makes them ConfigErrors (appended to ``problems``
    when it is a list). ``check_keys=False`` skips that check.
    """
    if not sources:
        sources = tuple(default_config_files())
    expander = _Expander(os.environ if env is None else env, problems, substitute=True)
    merged = _Map()
    files: list[str] = []
    for source in sources:
        if isinstance(source, OptionalFile):
            if not os.path.lexists(source.path):
                continue
            source = source.path
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
                f"cannot load configuration from {_describe(source)}; pass a file path, "
                "optional(path) or a mapping"
            )
        if not isinstance(data, _Map):
            raise ConfigError(
                f"the top level must be a mapping of keys to values, got {_describe(data)}; "
                "start the file with a key such as 'integrations:'",
                file=file,
            )
        merged = _merge(merged, data)
    root = files[0] if len(files) == 1 else None
    config = Config._view(merged, "", (root, None))
    if check_keys:
        check_unknown_keys(config, strict=strict, problems=problems)
    return config
