"""Reading configuration files: a YAML 1.2 core-schema loader that records key lines.

YAML is read with the 1.2 core schema (as Backstage's parser does, so ``yes`` and
``2024-01-01`` stay strings); duplicate keys, unknown tags and malformed numbers are
:class:`ConfigError` pointing at their line. JSON (for ``$include``) is read too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from scmreader.config._values import _MAX_DEPTH, Location, _Map
from scmreader.errors import ConfigError

if TYPE_CHECKING:
    from scmreader.config._yaml_loader import _YamlLoader


def _parse_yaml(text: str, file: str) -> Any:
    import yaml

    from scmreader.config._yaml_loader import _YamlLoader

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
