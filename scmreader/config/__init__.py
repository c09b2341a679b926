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

Import everything from this package; the modules behind it are private, one per stage:
``_yaml`` (reading files), ``_substitute`` (substitution and includes), ``_load``
(merging sources), ``_config`` (the :class:`Config` view) and ``_values`` (the
location-tracking data they share).
"""

from __future__ import annotations

from scmreader.config._config import Config
from scmreader.config._keys import unknown_keys
from scmreader.config._load import (
    DEFAULT_CONFIG_FILES,
    OptionalFile,
    default_config_files,
    load_config,
    optional,
)
from scmreader.config._values import Location

__all__ = [
    "DEFAULT_CONFIG_FILES",
    "Config",
    "Location",
    "OptionalFile",
    "default_config_files",
    "load_config",
    "optional",
    "unknown_keys",
]
