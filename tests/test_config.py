"""Tests for scmreader.config: loading, merging, substitution, includes and typed getters."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scmreader.config import Config, load_config
from scmreader.errors import ConfigError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "configs" / "loader"


def write(directory: Path, name: str, text: str) -> Path:
    """Write dedented ``text`` to ``directory/name`` (creating folders) and return the path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_error(*sources: Any, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(*sources, env={} if env is None else env)
    return info.value


# --- merging -------------------------------------------------------------------------

MERGE_CASES = [
    pytest.param(
        [
            {"backend": {"baseUrl": "http://a", "reading": {"allow": [{"host": "a.com"}]}}},
            {"backend": {"baseUrl": "http://b"}},
        ],
        "backend",
        {"baseUrl": "http://b", "reading": {"allow": [{"host": "a.com"}]}},
        id="objects-deep-merged",
    ),
    pytest.param(
        [
            {"backend": {"reading": {"allow": [{"host": "a.com"}, {"host": "b.com"}]}}},
            {"backend": {"reading": {"allow": [{"host": "c.com"}]}}},
        ],
        "backend.reading.allow",
        [{"host": "c.com"}],
        id="arrays-replaced-wholesale",
    ),
    pytest.param(
        [{"app": {"title": "one"}}, {"app": {"title": "two"}}, {"app": {"title": "three"}}],
        "app.title",
        "three",
        id="scalars-later-wins",
    ),
    pytest.param(
        [{"integrations": {"github": [{"host": "github.com"}]}}, {"integrations": "off"}],
        "integrations",
        "off",
        id="object-replaced-by-scalar",
    ),
    pytest.param(
        [{"app": {"title": "x"}}, {"app": {"port": 7007}}],
        "app",
        {"title": "x", "port": 7007},
        id="disjoint-keys-kept",
    ),
    pytest.param(
        [
            {"auth": {"github": {"clientId": "a"}, "gitlab": {"clientId": "b"}}},
            {"auth": {"github": None}},
        ],
        "auth",
        {"gitlab": {"clientId": "b"}},
        id="null-unsets",
    ),
]


@pytest.mark.parametrize(("sources", "key", "expected"), MERGE_CASES)
def test_merge_dicts(sources: list[dict[str, Any]], key: str, expected: Any) -> None:
    assert load_config(*sources, env={}).get(key) == expected


def test_merge_files_and_dicts_in_order(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        "app-config.yaml",
        """
        app:
          title: Portal
          baseUrl: http://localhost:3000
        integrations:
          github:
            - host: github.com
            - host: ghe.example.net
    """,
    )
    local = write(
        tmp_path,
        "app-config.local.yaml",
        """
        app:
          baseUrl: http://localhost:3001
        integrations:
          github:
            - host: ghe.local
    """,
    )
    config = load_config(base, {"app": {"title": "From dict"}}, local, env={})
    assert config.as_dict() == {
        "app": {"title": "From dict", "baseUrl": "http://localhost:3001"},
        "integrations": {"github": [{"host": "ghe.local"}]},
    }
    # Later dict over an earlier file, and a file over an earlier dict.
    assert load_config({"app": {"title": "d"}}, base, env={}).get_string("app.title") == "Portal"


def test_no_sources_and_no_default_files_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config.keys() == []
    assert config.as_dict() == {}
    assert config.prefix == ""
    assert config.get_optional_config_array("integrations.github") is None


def test_location_comes_from_the_file_that_supplied_the_final_value(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        "base.yaml",
        """
        backend:
          baseUrl: http://localhost:7007
          reading:
            allow:
              - host: a.example.com
              - host: b.example.com
    """,
    )
    over = write(
        tmp_path,
        "over.yaml",
        """
        # overlay
        backend:
          reading:
            allow:
              - host: c.example.com
    """,
    )
    config = load_config(base, over, env={})
    assert config.location("backend.baseUrl") == (str(base), 2)
    assert config.location("backend.reading.allow") == (str(over), 4)
    assert config.location("backend.reading.allow[0]") == (str(over), 5)
    # Item 1 of the replaced list no longer exists: nearest ancestor is the list.
    assert config.location("backend.reading.allow[1].host") == (str(over), 4)
    assert config.location("backend") == (str(over), 2)


# --- substitution --------------------------------------------------------------------

SUBSTITUTION_CASES = [
    pytest.param("${HOST}", {"HOST": "github.com"}, "github.com", id="whole-value"),
    pytest.param(
        "https://${HOST}:${PORT}/api",
        {"HOST": "ghe.example.net", "PORT": "8443"},
        "https://ghe.example.net:8443/api",
        id="several-in-one-string",
    ),
    pytest.param("token ${ TOKEN }", {"TOKEN": "abc"}, "token abc", id="spaces-inside-braces"),
    pytest.param("${TOKEN}", {"TOKEN": "  ghp_trimmed \n"}, "ghp_trimmed", id="value-trimmed"),
    pytest.param("$${HOST}", {}, "${HOST}", id="escaped-unset"),
    pytest.param("$${HOST} and ${HOST}", {"HOST": "h"}, "${HOST} and h", id="escape-and-var"),
    pytest.param("cost: $5 {x}", {}, "cost: $5 {x}", id="lone-dollar-and-braces"),
    pytest.param("${A}${B}", {"A": "x", "B": "y"}, "xy", id="adjacent"),
]


@pytest.mark.parametrize(("text", "env", "expected"), SUBSTITUTION_CASES)
def test_substitution(tmp_path: Path, text: str, env: dict[str, str], expected: str) -> None:
    path = write(tmp_path, "app-config.yaml", "app:\n  value: ''\n")
    path.write_text(f"app:\n  value: '{text}'\n", encoding="utf-8")
    assert load_config(path, env=env).get_string("app.value") == expected
    assert load_config({"app": {"value": text}}, env=env).get_string("app.value") == expected


def test_substitution_reaches_list_items_and_leaves_other_types_alone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """
        backend:
          reading:
            allow:
              - host: ${HOST}
          port: 7007
          secure: true
    """,
    )
    config = load_config(path, env={"HOST": "docs.example.com"})
    assert config.get("backend") == {
        "reading": {"allow": [{"host": "docs.example.com"}]},
        "port": 7007,
        "secure": True,
    }


MISSING_VAR_CASES = [
    pytest.param("${GITHUB_TOKEN}", {}, "GITHUB_TOKEN", id="unset"),
    pytest.param("${GITHUB_TOKEN}", {"GITHUB_TOKEN": ""}, "GITHUB_TOKEN", id="empty"),
    pytest.param("${GITHUB_TOKEN}", {"GITHUB_TOKEN": " \t\n"}, "GITHUB_TOKEN", id="blank"),
    pytest.param("Bearer ${GITHUB_TOKEN}", {}, "GITHUB_TOKEN", id="inside-text"),
    pytest.param("${HOST}:${PORT}", {"HOST": "h"}, "PORT", id="second-of-two"),
]


@pytest.mark.parametrize(("text", "env", "name"), MISSING_VAR_CASES)
def test_missing_variable_names_var_key_file_and_line(
    tmp_path: Path, text: str, env: dict[str, str], name: str
) -> None:
    path = write(
        tmp_path,
        "app-config.yaml",
        f"""
        integrations:
          github:
            - host: github.com
              token: "{text}"
    """,
    )
    error = load_error(path, env=env)
    assert error.key_path == "integrations.github[0].token"
    assert error.file == str(path)
    assert error.line == 4
    assert f"'{name}'" in error.message
    assert str(error).startswith(f"{path}:4: integrations.github[0].token: ")


def test_empty_variable_name_is_an_error() -> None:
    error = load_error({"app": {"title": "${}"}})
    assert error.key_path == "app.title"
    assert "names no environment variable" in error.message


def test_default_env_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCMREADER_TEST_HOST", "ghe.example.net")
    config = load_config({"integrations": {"github": [{"host": "${SCMREADER_TEST_HOST}"}]}})
    assert config.get_config_array("integrations.github")[0].get_string("host") == "ghe.example.net"


def test_from_dict_takes_values_literally() -> None:
    config = Config.from_dict({"app": {"title": "${NOT_SUBSTITUTED}", "x": {"$env": "Y"}}})
    assert config.get_string("app.title") == "${NOT_SUBSTITUTED}"
    assert config.get("app.x") == {"$env": "Y"}


# --- $env and $file ------------------------------------------------------------------


def test_env_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """
        integrations:
          github:
            - host: ghe.example.net
              token:
                $env: GHE_TOKEN
    """,
    )
    config = load_config(path, env={"GHE_TOKEN": " ghp_fromenv\n"})
    assert config.get_string("integrations.github[0].token") == "ghp_fromenv"
    for env in ({}, {"GHE_TOKEN": ""}):
        error = load_error(path, env=env)
        assert "'GHE_TOKEN'" in error.message
        assert error.key_path == "integrations.github[0].token"
        assert (error.file, error.line) == (str(path), 5)


SPECIAL_FORM_ERRORS = [
    pytest.param({"$env": "A", "other": 1}, "must be the only key", id="adjacent-keys"),
    pytest.param({"$file": ["a.txt"]}, "needs a string, got a list", id="file-not-string"),
    pytest.param({"$include": 3}, "needs a string, got a number", id="include-not-string"),
    pytest.param({"$include": "x.txt"}, "only .yaml, .yml and .json", id="bad-extension"),
    pytest.param({"$include": "nope.yaml"}, "does not exist", id="include-missing-file"),
]


@pytest.mark.parametrize(("form", "fragment"), SPECIAL_FORM_ERRORS)
def test_special_form_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: dict[str, Any], fragment: str
) -> None:
    monkeypatch.chdir(tmp_path)
    error = load_error({"integrations": {"github": [{"token": form}]}}, env={"A": "a"})
    assert fragment in error.message
    assert error.key_path == "integrations.github[0].token"


def test_file_form_is_relative_to_the_yaml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "deploy" / "config"
    write(config_dir, "secrets/gerrit.txt", "s3cret-password\n\n")
    path = write(
        config_dir,
        "app-config.yaml",
        """
        integrations:
          gerrit:
            - host: gerrit.example.com
              password:
                $file: secrets/gerrit.txt
              username:
                $file: ${SECRET_DIR}/user.txt
    """,
    )
    write(config_dir, "secrets/user.txt", "reader")
    monkeypatch.chdir(tmp_path)  # not the config's folder: paths must not depend on cwd
    gerrit = load_config(path, env={"SECRET_DIR": "secrets"}).get_config_array(
        "integrations.gerrit"
    )[0]
    assert gerrit.get_string("password") == "s3cret-password"  # trailing whitespace trimmed
    assert gerrit.get_string("username") == "reader"


def test_file_form_takes_the_whole_path_and_reports_unreadable_files(tmp_path: Path) -> None:
    write(tmp_path, "keys/app#1.pem", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
    (tmp_path / "keys" / "folder").mkdir()
    path = write(
        tmp_path,
        "c.yaml",
        """
        apps:
          - privateKey: {$file: 'keys/app#1.pem'}
            other: {$file: keys/folder}
    """,
    )
    problems: list[ConfigError] = []
    app = load_config(path, env={}, problems=problems).get_config_array("apps")[0]
    assert app.get_string("privateKey") == "-----BEGIN KEY-----\nabc\n-----END KEY-----"
    assert not app.has("other")
    assert [(p.key_path, p.line) for p in problems] == [("apps[0].other", 3)]
    assert "cannot read file named by $file" in problems[0].message


def test_file_form_missing_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          gerrit:
            - host: gerrit.example.com
              password: {$file: secrets/missing.txt}
    """,
    )
    error = load_error(path)
    assert "missing.txt" in error.message
    assert "does not exist" in error.message
    assert error.key_path == "integrations.gerrit[0].password"
    assert (error.file, error.line) == (str(path), 4)


# --- $include ------------------------------------------------------------------------


def test_include_yaml_json_and_sub_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        "parts/github.yaml",
        """
        - host: github.com
          token: ${GITHUB_TOKEN}
    """,
    )
    write(
        tmp_path,
        "parts/all.json",
        """
        {"gitlab": [{"host": "gitlab.example.com", "apiBaseUrl": "https://gitlab.example.com/api/v4"}],
         "gerrit": {"nested": {"host": "gerrit.example.com"}}}
    """,
    )
    path = write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          github:
            $include: parts/github.yaml
          gitlab:
            $include: parts/all.json#gitlab
          gerrit:
            - $include: parts/all.json#gerrit.nested
    """,
    )
    config = load_config(path, env={"GITHUB_TOKEN": "ghp_abc"})
    assert config.get("integrations") == {
        "github": [{"host": "github.com", "token": "ghp_abc"}],
        "gitlab": [
            {"host": "gitlab.example.com", "apiBaseUrl": "https://gitlab.example.com/api/v4"}
        ],
        "gerrit": [{"host": "gerrit.example.com"}],
    }
    # Values that came from an included YAML file point into that file.
    github = config.get_config_array("integrations.github")[0]
    assert github.location("token") == (os.path.join(str(tmp_path), "parts", "github.yaml"), 2)


def test_include_nested_is_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path, "a/b/leaf.txt", "leaf-secret")
    write(tmp_path, "a/b/inner.yaml", "password: {$file: leaf.txt}\n")
    write(tmp_path, "a/outer.yaml", "gerrit:\n  - $include: b/inner.yaml\n")
    path = write(tmp_path, "app-config.yaml", "integrations:\n  $include: a/outer.yaml\n")
    config = load_config(path, env={})
    assert config.get("integrations") == {"gerrit": [{"password": "leaf-secret"}]}


def test_include_selected_string_is_substituted(tmp_path: Path) -> None:
    write(tmp_path, "values.yaml", "url: https://${HOST}/api\n")
    path = write(tmp_path, "c.yaml", "app:\n  url: {$include: 'values.yaml#url'}\n")
    assert (
        load_config(path, env={"HOST": "h.example"}).get_string("app.url")
        == "https://h.example/api"
    )


def test_include_path_is_substituted_and_escapable(tmp_path: Path) -> None:
    write(tmp_path, "prod/github.yaml", "host: ghe.prod\n")
    path = write(tmp_path, "c.yaml", "gh:\n  $include: ${STAGE}/github.yaml\n")
    assert load_config(path, env={"STAGE": "prod"}).get_string("gh.host") == "ghe.prod"


INCLUDE_CYCLES = [
    pytest.param({"c.yaml": "x:\n  $include: c.yaml\n"}, id="self"),
    pytest.param(
        {
            "c.yaml": "x:\n  $include: a.yaml\n",
            "a.yaml": "y:\n  $include: b.yaml\n",
            "b.yaml": "z:\n  $include: a.yaml\n",
        },
        id="a-b-a",
    ),
    pytest.param(
        {
            "c.yaml": "x:\n  $include: a.yaml#p\n",
            "a.yaml": "p:\n  $include: a.yaml#q\nq:\n  $include: a.yaml#p\n",
        },
        id="sub-keys",
    ),
]


@pytest.mark.parametrize("files", INCLUDE_CYCLES)
def test_include_cycle_is_an_error(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    error = load_error(tmp_path / "c.yaml")
    assert "cycle" in error.message


def test_same_file_included_twice_is_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "shared.yaml", "host: shared.example.com\nport: 443\n")
    path = write(
        tmp_path,
        "c.yaml",
        """
        a: {$include: shared.yaml}
        b: {$include: 'shared.yaml#host'}
        c: {$include: 'c.yaml#b'}
    """,
    )
    config = load_config(path, env={})
    assert config.get("a") == {"host": "shared.example.com", "port": 443}
    assert config.get("b") == "shared.example.com"
    assert config.get("c") == "shared.example.com"


INCLUDE_ERRORS = [
    pytest.param("other.yaml#nope", "has no key 'nope'", id="missing-sub-key"),
    pytest.param("other.yaml#host.deeper", "'host' in included file", id="sub-key-through-scalar"),
    pytest.param("list.json#a", "'the top level' in included file", id="sub-key-of-list"),
]


@pytest.mark.parametrize(("target", "fragment"), INCLUDE_ERRORS)
def test_include_sub_key_errors(tmp_path: Path, target: str, fragment: str) -> None:
    write(tmp_path, "other.yaml", "host: x\n")
    write(tmp_path, "list.json", "[1, 2]")
    path = write(tmp_path, "c.yaml", f"app:\n  part:\n    $include: '{target}'\n")
    error = load_error(path)
    assert fragment in error.message
    assert (error.key_path, error.file, error.line) == ("app.part", str(path), 3)


def test_errors_inside_included_file_point_at_it(tmp_path: Path) -> None:
    included = write(tmp_path, "inc/github.yaml", "- host: github.com\n  token: ${MISSING}\n")
    broken = write(tmp_path, "inc/broken.yaml", "a: [1, 2\n")
    bad_json = write(tmp_path, "inc/broken.json", '{\n  "a": 1,\n}\n')
    error = load_error({"integrations": {"github": {"$include": str(included)}}})
    assert (error.file, error.line) == (str(included), 2)
    assert error.key_path == "integrations.github[0].token"
    assert load_error({"x": {"$include": str(broken)}}).file == str(broken)
    json_error = load_error({"x": {"$include": str(bad_json)}})
    assert (json_error.file, json_error.line) == (str(bad_json), 3)
    assert "invalid JSON" in json_error.message


def test_top_level_include(tmp_path: Path) -> None:
    write(tmp_path, "real.yaml", "app:\n  title: Included\n")
    path = write(tmp_path, "c.yaml", "$include: real.yaml\n")
    assert load_config(path, env={}).get_string("app.title") == "Included"


# --- typed getters -------------------------------------------------------------------

GETTER_YAML = """
integrations:
  github:
    - host: 123
      token: ["x"]
      apps:
        - appId: "12345"
          clientId: Iv1.abc
          publicAccess: "yes"
        - oops
  gitlab: {host: gitlab.com}
backend:
  reading:
    allow: github.com
  baseUrl: ""
  port: "70x7"
  secure: maybe
  timeout: 12.5
  list: [a, "", 3]
"""

TYPE_ERROR_CASES = [
    (
        "get_string",
        "integrations.github[0].host",
        "expected a string, got a number",
        3,
        "integrations.github[0].host",
    ),
    (
        "get_string",
        "integrations.github[0].token",
        "expected a string, got a list",
        4,
        "integrations.github[0].token",
    ),
    (
        "get_string_array",
        "backend.reading.allow",
        "expected a list of strings, got a string",
        13,
        "backend.reading.allow",
    ),
    (
        "get_string_array",
        "backend.list",
        "expected a string, got an empty string",
        18,
        "backend.list[1]",
    ),
    (
        "get_string",
        "backend.baseUrl",
        "expected a string, got an empty string",
        14,
        "backend.baseUrl",
    ),
    (
        "get_number",
        "backend.port",
        "expected a number, got a string that cannot be",
        15,
        "backend.port",
    ),
    (
        "get_number",
        "integrations.github[0].token",
        "expected a number, got a list",
        4,
        "integrations.github[0].token",
    ),
    (
        "get_boolean",
        "backend.secure",
        "expected a boolean (true or false), got a string",
        16,
        "backend.secure",
    ),
    (
        "get_boolean",
        "backend.timeout",
        "expected a boolean (true or false), got a number",
        17,
        "backend.timeout",
    ),
    (
        "get_config",
        "backend.reading.allow",
        "expected a mapping, got a string",
        13,
        "backend.reading.allow",
    ),
    (
        "get_config_array",
        "integrations.gitlab",
        "expected a list of mappings, got a mapping",
        10,
        "integrations.gitlab",
    ),
    (
        "get_config_array",
        "integrations.github[0].apps",
        "expected a mapping, got a string",
        9,
        "integrations.github[0].apps[1]",
    ),
    (
        "get_string",
        "backend.reading.allow.host",
        "expected a mapping, got a string",
        13,
        "backend.reading.allow",
    ),
    ("get_string", "backend.reading[0]", "expected a list, got a mapping", 12, "backend.reading"),
    (
        "get_optional_string",
        "integrations.github[0].host",
        "expected a string, got a number",
        3,
        "integrations.github[0].host",
    ),
    ("get_optional_number", "backend.port", "expected a number", 15, "backend.port"),
    ("get_optional_boolean", "backend.secure", "expected a boolean", 16, "backend.secure"),
    (
        "get_optional_string_array",
        "backend.reading.allow",
        "expected a list of strings",
        13,
        "backend.reading.allow",
    ),
    ("get_optional_config", "backend.port", "expected a mapping, got a string", 15, "backend.port"),
    (
        "get_optional_config_array",
        "backend.port",
        "expected a list of mappings",
        15,
        "backend.port",
    ),
]


@pytest.fixture
def getter_config(tmp_path: Path) -> tuple[Config, Path]:
    path = write(tmp_path, "app-config.yaml", GETTER_YAML)
    return load_config(path, env={}), path


@pytest.mark.parametrize(("getter", "key", "fragment", "line", "key_path"), TYPE_ERROR_CASES)
def test_getter_type_errors(
    getter_config: tuple[Config, Path],
    getter: str,
    key: str,
    fragment: str,
    line: int,
    key_path: str,
) -> None:
    config, path = getter_config
    with pytest.raises(ConfigError) as info:
        getattr(config, getter)(key)
    error = info.value
    assert fragment in error.message
    assert (error.key_path, error.file, error.line) == (key_path, str(path), line)


def test_getter_type_errors_from_sub_views_keep_the_full_path(
    getter_config: tuple[Config, Path],
) -> None:
    config, _ = getter_config
    github = config.get_config_array("integrations.github")[0]
    with pytest.raises(ConfigError) as info:
        github.get_config_array("apps")
    assert (info.value.key_path, info.value.line) == ("integrations.github[0].apps[1]", 9)
    with pytest.raises(ConfigError) as info:
        github.get_number("host.x")
    assert (info.value.key_path, info.value.line) == ("integrations.github[0].host", 3)


CONVERSION_CASES = [
    ("get_number", {"v": "12345"}, 12345),
    ("get_number", {"v": " 1.5 "}, 1.5),
    ("get_number", {"v": "-7"}, -7),
    ("get_number", {"v": 3}, 3),
    ("get_boolean", {"v": "yes"}, True),
    ("get_boolean", {"v": "False"}, False),
    ("get_boolean", {"v": " on "}, True),
    ("get_boolean", {"v": False}, False),
    ("get_string_array", {"v": ["a", "b"]}, ["a", "b"]),
    ("get_string", {"v": " spaced "}, " spaced "),
]


@pytest.mark.parametrize(("getter", "data", "expected"), CONVERSION_CASES)
def test_getter_conversions(getter: str, data: dict[str, Any], expected: Any) -> None:
    value = getattr(Config.from_dict(data), getter)("v")
    assert value == expected
    assert type(value) is type(expected)


REJECTED_CASES = [
    ("get_number", {"v": True}, "got a boolean"),
    ("get_number", {"v": ""}, "got an empty string"),
    ("get_number", {"v": "1e999"}, "cannot be converted"),
    ("get_number", {"v": "-0x10"}, "cannot be converted"),
    ("get_number", {"v": float("nan")}, "finite"),
    ("get_boolean", {"v": 2}, "got a number that cannot be converted"),
    ("get_string", {"v": True}, "got a boolean"),
    ("get_string", {"v": None, "w": 1}, "Missing required config value"),
    ("get_string_array", {"v": [None]}, "got null"),
]


@pytest.mark.parametrize(("getter", "data", "fragment"), REJECTED_CASES)
def test_getter_rejections(getter: str, data: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        getattr(Config.from_dict(data), getter)("v")


def test_getters_return_values_and_views(getter_config: tuple[Config, Path]) -> None:
    config, path = getter_config
    github = config.get_config("integrations").get_config_array("github")[0]
    assert github.prefix == "integrations.github[0]"
    assert github.key_path("apps[0].appId") == "integrations.github[0].apps[0].appId"
    app = github.get_config("apps[0]")
    assert app.prefix == "integrations.github[0].apps[0]"
    assert app.get_number("appId") == 12345
    assert app.get_boolean("publicAccess") is True
    assert app.get_optional_string("clientSecret") is None
    assert config.get_number("backend.timeout") == 12.5
    assert config.get_optional_config("nothing.here") is None
    assert config.has("integrations.gitlab.host")
    assert not config.has("integrations.gitlab.token")
    assert config.keys() == ["integrations", "backend"]
    assert app.location() == (str(path), 6)


MISSING_CASES = [
    (
        "get_string",
        "integrations.gerrit[0].gitilesBaseUrl",
        "integrations.gerrit[0].gitilesBaseUrl",
        3,
    ),
    ("get_config", "integrations.azure", "integrations.azure", 1),
    ("get_number", "integrations.gerrit[5].x", "integrations.gerrit[5].x", 2),
    ("get_config_array", "catalog.locations", "catalog.locations", None),
    ("get", "integrations.gerrit[0].token", "integrations.gerrit[0].token", 3),
]


@pytest.mark.parametrize(("getter", "key", "key_path", "line"), MISSING_CASES)
def test_missing_key_names_path_and_nearest_line(
    tmp_path: Path, getter: str, key: str, key_path: str, line: int | None
) -> None:
    path = write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          gerrit:
            - host: gerrit.example.com
              baseUrl: https://gerrit.example.com
    """,
    )
    with pytest.raises(ConfigError) as info:
        getattr(load_config(path, env={}), getter)(key)
    error = info.value
    assert "Missing required config value" in error.message
    assert (error.key_path, error.file, error.line) == (key_path, str(path), line)


def test_invalid_getter_key() -> None:
    config = Config.from_dict({"a": 1})
    for key in ("", "a..b", "1abc", "a b", "$file", "a[x]"):
        with pytest.raises(ConfigError, match="invalid config key"):
            config.get_optional(key)


# --- Config.error and location -------------------------------------------------------


def test_config_error_points_at_the_key_or_its_nearest_ancestor(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          gerrit:
            - host: gerrit-a.example.com
            - host: gerrit-b.example.com
              baseUrl: https://gerrit-b.example.com
    """,
    )
    root = load_config(path, env={})
    second = root.get_config_array("integrations.gerrit")[1]
    cases: list[tuple[Config, str | None, str, int | None]] = [
        (second, "gitilesBaseUrl", "integrations.gerrit[1].gitilesBaseUrl", 4),
        (second, "baseUrl", "integrations.gerrit[1].baseUrl", 5),
        (second, "a.b.c", "integrations.gerrit[1].a.b.c", 4),
        (second, None, "integrations.gerrit[1]", 4),
        (root, "integrations.gerrit", "integrations.gerrit", 2),
        (root, "catalog", "catalog", None),
    ]
    for view, key, key_path, line in cases:
        error = view.error(key, "gitilesBaseUrl is required")
        assert isinstance(error, ConfigError)
        assert (error.key_path, error.file, error.line) == (key_path, str(path), line)
        assert error.message == "gitilesBaseUrl is required"
    assert str(second.error("gitilesBaseUrl", "gitilesBaseUrl is required")) == (
        f"{path}:4: integrations.gerrit[1].gitilesBaseUrl: gitilesBaseUrl is required"
    )


def test_location_without_a_file() -> None:
    config = load_config({"a": {"b": 1}}, env={})
    assert config.location("a.b") == (None, None)
    assert str(config.error("a.b", "bad")) == "a.b: bad"


def test_root_location_with_several_files_names_no_single_file(tmp_path: Path) -> None:
    one = write(tmp_path, "one.yaml", "a: 1\n")
    two = write(tmp_path, "two.yaml", "b: 2\n")
    assert load_config(one, env={}).location("missing") == (str(one), None)
    assert load_config(one, two, env={}).location("missing") == (None, None)
    assert load_config(one, two, env={}).location("a") == (str(one), 1)


# --- secrets never leak --------------------------------------------------------------

CANARY = "ghp_CANARY7f3e9a1d5b2c8e4f6a0d3b7c9e1f5a2d"


def _canary_failures(tmp_path: Path) -> list[Callable[[], Any]]:
    path = write(
        tmp_path,
        "app-config.yaml",
        f"""
        integrations:
          github:
            - host: github.com
              token: {CANARY}
              apps:
                - appId: {CANARY}
                  privateKey: [{CANARY}]
                  publicAccess: {CANARY}
    """,
    )
    config = load_config(path, env={})
    github = config.get_config_array("integrations.github")[0]
    app = github.get_config_array("apps")[0]
    broken_yaml = write(tmp_path, "broken.yaml", f"a:\n  token: {CANARY}: oops\n")
    bad_tag = write(tmp_path, "tag.yaml", f"token: !secret {CANARY}\n")
    duplicate = write(tmp_path, "dup.yaml", f"token: {CANARY}\ntoken: {CANARY}\n")
    bad_json = write(tmp_path, "bad.json", f'{{"token": "{CANARY}" "x"}}')
    return [
        lambda: github.get_number("token"),
        lambda: github.get_boolean("token"),
        lambda: github.get_config("token"),
        lambda: github.get_string_array("token"),
        lambda: github.get_config_array("token"),
        lambda: github.get_string("token.value"),
        lambda: app.get_number("appId"),
        lambda: app.get_string("privateKey"),
        lambda: app.get_boolean("publicAccess"),
        lambda: load_config(broken_yaml, env={}),
        lambda: load_config(bad_tag, env={}),
        lambda: load_config(duplicate, env={}),
        lambda: load_config({"x": {"$include": str(bad_json)}}, env={}),
        lambda: load_config({"token": {"$env": "T", "value": CANARY}}, env={}),
        lambda: load_config({"token": f"{CANARY}${{MISSING}}"}, env={}),
        lambda: load_config({"token": "${T}", "n": {"$env": "MISSING"}}, env={"T": CANARY}),
        lambda: load_config({"token": {"$file": "missing.txt"}, "t": CANARY}, env={}),
        lambda: load_config({"token": {CANARY.encode(): 1}}, env={}),
    ]


def test_canary_secret_never_appears_in_errors_or_reprs(tmp_path: Path) -> None:
    failures = _canary_failures(tmp_path)
    for index, failure in enumerate(failures):
        with pytest.raises(ConfigError) as info:
            failure()
        rendered = [str(info.value), repr(info.value), info.value.message, str(info.value.args)]
        for text in rendered:
            assert CANARY not in text, f"case {index} leaked the secret: {text}"
    config = load_config({"integrations": {"github": [{"token": CANARY}]}}, env={})
    views = [
        config,
        config.get_config("integrations"),
        config.get_config_array("integrations.github")[0],
    ]
    for view in views:
        assert CANARY not in repr(view)
        assert CANARY not in str(view)


@settings(max_examples=60, deadline=None)
@given(
    secret=st.text(alphabet="QZXJVK0123456789", min_size=12, max_size=40).filter(
        lambda text: not text.isdigit()  # an all-digit string is a valid number
    )
)
def test_canary_property_type_errors(secret: str) -> None:
    config = Config.from_dict({"a": {"token": secret, "list": [secret], "map": {"k": secret}}})
    readers: list[Callable[[], Any]] = [
        lambda: config.get_number("a.token"),
        lambda: config.get_boolean("a.token"),
        lambda: config.get_config("a.list"),
        lambda: config.get_string("a.map"),
        lambda: config.get_config_array("a.list"),
        lambda: config.get_string_array("a.map.k"),
    ]
    for read in readers:
        with pytest.raises(ConfigError) as info:
            read()
        assert secret not in str(info.value)
    assert secret not in repr(config)


# --- problems= -----------------------------------------------------------------------


def test_problems_are_collected_and_values_left_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          github:
            - host: github.com
              token: ${GITHUB_TOKEN}
            - host: ghe.example.net
              token: {$env: GHE_TOKEN}
          gerrit:
            - host: gerrit.example.com
              password: {$file: missing-password.txt}
        backend:
          reading:
            allow:
              - host: ${DOCS_HOST}
              - host: docs.example.com
          mirrors:
            - ${MIRROR_A}
            - mirror-b.example.com
    """,
    )
    problems: list[ConfigError] = []
    config = load_config(path, env={"GHE_TOKEN": ""}, problems=problems)
    assert [(p.key_path, p.line) for p in problems] == [
        ("integrations.github[0].token", 4),
        ("integrations.github[1].token", 6),
        ("integrations.gerrit[0].password", 9),
        ("backend.reading.allow[0].host", 13),
        ("backend.mirrors[0]", 16),
    ]
    assert all(p.file == str(path) for p in problems)
    github = config.get_config_array("integrations.github")
    assert [g.get_optional_string("token") for g in github] == [None, None]
    assert not config.has("integrations.gerrit[0].password")
    assert config.get("backend.reading.allow") == [{}, {"host": "docs.example.com"}]
    assert config.get_string_array("backend.mirrors") == ["mirror-b.example.com"]


def test_problems_list_does_not_swallow_structural_errors(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "integrations:\n  github: [\n")
    with pytest.raises(ConfigError) as info:
        load_config(broken, env={}, problems=[])
    assert (info.value.file, info.value.line) == (str(broken), 3)
    with pytest.raises(ConfigError, match="cycle"):
        write(tmp_path, "loop.yaml", "a: {$include: loop.yaml}\n")
        load_config(tmp_path / "loop.yaml", env={}, problems=[])


def test_problems_several_in_one_string() -> None:
    problems: list[ConfigError] = []
    config = load_config({"url": "https://${HOST}:${PORT}"}, env={}, problems=problems)
    assert sorted(p.message.split("'")[1] for p in problems) == ["HOST", "PORT"]
    assert not config.has("url")


# --- files and YAML ------------------------------------------------------------------

FILE_ERRORS = [
    pytest.param("a: [1, 2\n", "invalid YAML", 2, id="unclosed-flow"),
    pytest.param("a:\n  b: 1\n c: 2\n", "invalid YAML", 3, id="bad-indent"),
    pytest.param("a: 1\n---\nb: 2\n", "invalid YAML", 2, id="two-documents"),
    pytest.param("- a\n- b\n", "top level must be a mapping", None, id="list-at-top"),
    pytest.param("just text\n", "top level must be a mapping", None, id="scalar-at-top"),
    pytest.param(
        "a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first written on line 1)", 3, id="duplicate-key"
    ),
    pytest.param("a: !vault xyz\n", "unsupported YAML tag '!vault'", 1, id="custom-tag"),
    pytest.param("a: !!binary aGk=\n", "unsupported YAML tag", 1, id="binary-tag"),
    pytest.param("a:\n  ? [x]\n  : 1\n", "mapping key must be plain text", 2, id="complex-key"),
    pytest.param("a: &x [*x]\n", "invalid YAML", 1, id="recursive-alias"),
    pytest.param("a: \x07\n", "invalid YAML", None, id="control-character"),
]


@pytest.mark.parametrize(("text", "fragment", "line"), FILE_ERRORS)
def test_file_errors(tmp_path: Path, text: str, fragment: str, line: int | None) -> None:
    path = tmp_path / "app-config.yaml"
    path.write_text(text, encoding="utf-8")
    error = load_error(path)
    assert fragment in error.message
    assert (error.file, error.line) == (str(path), line)


def test_unreadable_files(tmp_path: Path) -> None:
    missing = load_error(tmp_path / "nope.yaml")
    assert missing.file == str(tmp_path / "nope.yaml")
    assert "does not exist; check the path" in missing.message
    assert "cannot read" in load_error(tmp_path).message  # a directory
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("title: caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in load_error(latin1).message


def test_bad_source_type() -> None:
    with pytest.raises(ConfigError, match=r"pass a file path, optional\(path\) or a mapping"):
        load_config(42, env={})  # type: ignore[arg-type]


def test_empty_file_and_bom_and_pathlike(tmp_path: Path) -> None:
    empty = tmp_path / "app-config.local.yaml"
    empty.write_text("# nothing set locally yet\n", encoding="utf-8")
    assert load_config(empty, env={}).keys() == []
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffapp:\n  title: BOM\n".encode())
    assert load_config(str(bom), env={}).get_string("app.title") == "BOM"


YAML_SCHEMA_CASES = [
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("y", "y"),
    ("true", True),
    ("False", False),
    ("~", None),
    ("null", None),
    ("", None),
    ("2024-01-01", "2024-01-01"),
    ("1:20", "1:20"),
    ("0o17", 15),
    ("0x1F", 31),
    ("012", 12),
    ("1_000", "1_000"),
    ("1.5e3", 1500.0),
    ("-3", -3),
    ("+7", 7),
    ("'42'", "42"),
    ("ghp_123", "ghp_123"),
    ("<<", "<<"),
]


@pytest.mark.parametrize(("text", "expected"), YAML_SCHEMA_CASES)
def test_yaml_12_core_schema(tmp_path: Path, text: str, expected: Any) -> None:
    path = write(tmp_path, "c.yaml", f"v: {text}\nw: 1\n")
    assert load_config(path, env={}).get_optional("v") == expected


def test_yaml_aliases_work_and_billion_laughs_is_stopped(tmp_path: Path) -> None:
    ok = write(
        tmp_path,
        "ok.yaml",
        """
        defaults: &gh
          apiBaseUrl: https://ghe.example.net/api/v3
        integrations:
          github:
            - *gh
    """,
    )
    assert load_config(ok, env={}).get("integrations.github") == [
        {"apiBaseUrl": "https://ghe.example.net/api/v3"}
    ]
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert "more than" in load_error(bomb).message


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    assert isinstance(load_error(deep), ConfigError)
    assert "nested" in load_error({"a": _nested(150)}).message


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


# --- views, copies and reprs ---------------------------------------------------------


def test_as_dict_and_get_return_deep_copies() -> None:
    config = load_config({"a": {"b": [{"c": 1}]}}, env={})
    copy = config.as_dict()
    copy["a"]["b"][0]["c"] = 2
    got = config.get("a")
    got["b"].append("x")
    assert config.as_dict() == {"a": {"b": [{"c": 1}]}}
    assert type(config.as_dict()["a"]) is dict
    assert type(config.get("a.b")) is list


def test_repr_shows_prefix_and_keys_only() -> None:
    config = Config.from_dict({"integrations": {"github": [{"host": "h", "token": "t0ken"}]}})
    github = config.get_config_array("integrations.github")[0]
    assert repr(config) == "Config(prefix='', keys=['integrations'])"
    assert repr(github) == "Config(prefix='integrations.github[0]', keys=['host', 'token'])"


def test_from_dict_rejects_non_json_values() -> None:
    with pytest.raises(ConfigError, match=r"unsupported value \(a set\)"):
        Config.from_dict({"a": {"b": {1, 2}}})
    with pytest.raises(ConfigError, match="keys must be strings"):
        Config.from_dict({"a": {1: "x"}})
    assert Config().keys() == []


# --- the shipped fixture -------------------------------------------------------------

FIXTURE_ENV = {
    "GITHUB_TOKEN": "ghp_fixture",
    "GHE_TOKEN": "ghe_fixture",
    "GITLAB_TOKEN": "glpat_fixture",
    "BITBUCKET_PASSWORD": "bb_fixture",
}


def test_fixture_app_config_with_production_overlay() -> None:
    base = FIXTURES / "app-config.yaml"
    config = load_config(base, FIXTURES / "app-config.production.yaml", env=FIXTURE_ENV)
    assert config.get_string("app.title") == "Example Portal"
    assert config.get_string("app.baseUrl") == "https://portal.example.com"
    assert config.get("backend.reading.allow") == [{"host": "docs.example.com"}]
    github = config.get_config_array("integrations.github")
    assert [g.get_string("host") for g in github] == ["github.com"]  # list replaced
    gitlab = config.get_config_array("integrations.gitlab")
    assert [g.get_string("token") for g in gitlab] == ["glpat_fixture", "glpat-fixture-token"]
    assert gitlab[1].location("token") == (str(FIXTURES / "integrations" / "gitlab.yaml"), 8)
    gerrit = config.get_config_array("integrations.gerrit")[0]
    assert gerrit.get_string("password") == "gerrit-http-password-fixture"
    assert gerrit.location("password") == (str(base), 29)
    bitbucket = config.get_config_array("integrations.bitbucketServer")[0]
    assert bitbucket.get_string("password") == "bb_fixture"
    assert "unused" not in str(config.as_dict())  # only '#gitlab' of the included file


def test_fixture_without_env_reports_every_missing_variable() -> None:
    problems: list[ConfigError] = []
    load_config(FIXTURES / "app-config.yaml", env={}, problems=problems)
    assert sorted(p.key_path or "" for p in problems) == [
        "integrations.bitbucketServer[0].password",
        "integrations.github[0].token",
        "integrations.github[1].token",
        "integrations.gitlab[0].token",
    ]


# --- hypothesis ----------------------------------------------------------------------

plain_text = st.text(alphabet=st.characters(blacklist_characters="${}"), max_size=30)


@settings(max_examples=100, deadline=None)
@given(
    prefix=plain_text,
    suffix=plain_text,
    value=st.text(min_size=1, max_size=30).filter(lambda v: v.strip() != ""),
)
def test_substitution_property(prefix: str, suffix: str, value: str) -> None:
    config = load_config(
        {"v": f"{prefix}${{VAR}}{suffix}", "w": f"{prefix}$${{VAR}}{suffix}"}, env={"VAR": value}
    )
    assert config.get("v") == f"{prefix}{value.strip()}{suffix}"
    assert config.get("w") == f"{prefix}${{VAR}}{suffix}"


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(alphabet=st.characters(blacklist_characters="$"), max_size=8)
)
json_trees = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), children, max_size=3)
    ),
    max_leaves=12,
)


def _reference_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _reference_merge(out[key], value) if key in out else value
        return out
    return over


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


@settings(max_examples=100, deadline=None)
@given(
    a=st.dictionaries(st.sampled_from(["a", "b", "c"]), json_trees, max_size=3),
    b=st.dictionaries(st.sampled_from(["a", "b", "c"]), json_trees, max_size=3),
)
def test_merge_property(a: dict[str, Any], b: dict[str, Any]) -> None:
    merged = load_config(a, b, env={}).as_dict()
    assert merged == _drop_nulls(_reference_merge(a, b))


@pytest.mark.parametrize(
    ("value", "minimum", "expected"),
    [(16, 1, 16), (16.0, 1, 16), ("8", 1, 8), (0, 0, 0), (None, 1, None)],
)
def test_whole_numbers_read_as_int(value: Any, minimum: int, expected: int | None) -> None:
    config = Config({"scmreader": {} if value is None else {"maxConcurrency": value}})
    found = config.get_optional_whole_number("scmreader.maxConcurrency", minimum=minimum)
    assert found == expected and type(found) is type(expected)


@pytest.mark.parametrize(("value", "minimum"), [(1.5, 1), (0, 1), (-3, 1), (2, 3), ("x", 1)])
def test_fractions_and_small_numbers_are_not_whole_numbers(value: Any, minimum: int) -> None:
    config = Config({"scmreader": {"maxConcurrency": value}})
    with pytest.raises(ConfigError, match=r"scmreader\.maxConcurrency"):
        config.get_optional_whole_number("scmreader.maxConcurrency", minimum=minimum)
