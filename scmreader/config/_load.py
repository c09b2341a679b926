"""Loading and merging configuration sources: :func:`load_config`.

Sources merge the way Backstage merges them: later sources win, mappings are merged key by
key, lists and scalars are replaced whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from scmreader.config._config import Config
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
