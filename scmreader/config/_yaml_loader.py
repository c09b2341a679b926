"""The YAML 1.2 core-schema loader behind :func:`scmreader.config._yaml._parse_yaml`: a
PyYAML ``SafeLoader`` that records the line of every key and item.

Kept apart so that PyYAML (about 10 ms to import) is loaded only when a file is parsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import yaml

from scmreader.config._values import _Map, _Seq
from scmreader.errors import ConfigError


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
