"""App-config loading: merged YAML files, ``${VAR}`` substitution and typed getters.

:func:`load_config` reads Backstage-style ``app-config.yaml`` files (and/or plain
mappings) and merges them the way Backstage does: later sources win, mappings are
merged key by key, lists and scalars are replaced whole.

String values may use ``${VAR}``, ``${VAR:-default}`` (``$${`` escapes it) and a mapping
may be one of the special forms ``{$env: VAR}``, ``{$file: path}`` or
``{$include: path[#sub.key]}``. ``optional(path)`` marks a file that may be absent, and
``load_config()`` with no sources reads :func:`default_config_files` (what the CLI reads).
Keys that nothing reads under ``integrations``, ``backend.reading`` and ``scmreader`` are
logged as warnings on the ``scmreader.config`` logger (``strict=True``: ConfigErrors).

The result is a :class:`Config`, a read-only view whose getters name the full key
path, the file and the line of the offending key in every error, and convert booleans and
numbers as Backstage's ``ConfigReader`` does. Messages describe types only; a value never
appears in a message or a ``repr()`` because it may be a secret.

YAML is read with the 1.2 core schema, as Backstage's parser does (``yes`` and
``2024-01-01`` stay strings). Where loading differs from Backstage on purpose (an unset
``${VAR}`` or ``$env`` is an error, malformed substitutions are errors, ...) the README's
"Differences from Backstage: configuration" lists each difference and its reason.

Import everything from this package; the modules behind it are private, one per stage:
``_yaml`` (reading files), ``_substitute`` (substitution and includes), ``_load``
(merging sources), ``_keys`` (unknown keys), ``_config`` (the :class:`Config` view) and
``_values`` (the location-tracking data they share).
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
