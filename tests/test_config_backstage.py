"""A Backstage app-config loads the same: one table row per rule of Backstage's loader
(``@backstage/config-loader`` substitution and includes), its typed readers
(``@backstage/config`` ``ConfigReader``) and ``isValidHost``, each row naming the rule.

Rows marked "difference" are scmreader's deliberate departures, each listed with its reason
in the README's "Differences from Backstage: configuration".
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scmreader.config import Config, load_config, optional, unknown_keys
from scmreader.errors import ConfigError
from scmreader.integrations import ScmIntegrations
from scmreader.validate import validate_files

REPO_ROOT = Path(__file__).resolve().parent.parent
DROPPED = object()  # the key is left out of the loaded config


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# --- ${...} substitution (config-loader substitution.ts) ------------------------------

SUBSTITUTIONS = [
    # (rule, text, env, expected value or DROPPED)
    ("a set variable is substituted", "${A}", {"A": "x"}, "x"),
    ("the value is trimmed", "${A}", {"A": "  x \n"}, "x"),
    ("the name is trimmed", "${ A }", {"A": "x"}, "x"),
    ("several in one string", "${A}:${B}", {"A": "h", "B": "8443"}, "h:8443"),
    ("$${ escapes", "$${A}", {}, "${A}"),
    ("$$${ keeps one escaped $", "$$${A}", {}, "$${A}"),
    ("$${} escapes an empty one", "$${}", {}, "${}"),
    (
        "braces inside are not a substitution",
        "${{ parameters.name }}",
        {},
        "${{ parameters.name }}",
    ),
    ("an unclosed ${ is text", "${A", {}, "${A"),
    ("$NAME without braces is text", "$A", {"A": "x"}, "$A"),
    (":- gives the default when unset", "${A:-gitlab.com}", {}, "gitlab.com"),
    (":- gives the default when empty", "${A:-dflt}", {"A": ""}, "dflt"),
    (":- gives the default when blank", "${A:-dflt}", {"A": " \t"}, "dflt"),
    (":- takes the variable when set", "${A:-dflt}", {"A": "x"}, "x"),
    (":- trims the default", "${A:-  dflt  }", {}, "dflt"),
    (":- trims around the name", "${ A :-dflt}", {}, "dflt"),
    (":- splits at the first :-", "${A:-b:-c}", {}, "b:-c"),
    (":- inside text", "https://${H:-github.com}/api", {}, "https://github.com/api"),
    (":- with an empty default drops the value", "${A:-}", {}, DROPPED),
    (":- empty default drops the whole string", "Bearer ${A:-}", {}, DROPPED),
    (":- empty default, variable set", "${A:-}", {"A": "x"}, "x"),
    ("an odd name that the environment has", "${my.var}", {"my.var": "x"}, "x"),
]


@pytest.mark.parametrize(
    ("rule", "text", "env", "expected"), SUBSTITUTIONS, ids=[row[0] for row in SUBSTITUTIONS]
)
def test_substitution_rules(
    tmp_path: Path, rule: str, text: str, env: dict[str, str], expected: Any
) -> None:
    quoted = text.replace("'", "''")
    path = _write(tmp_path, "app-config.yaml", f"app:\n  value: '{quoted}'\n  other: 1\n")
    for source in (path, {"app": {"value": text, "other": 1}}):
        config = load_config(source, env=env)
        if expected is DROPPED:
            assert not config.has("app.value")
            assert config.get_number("app.other") == 1
        else:
            assert config.get_string("app.value") == expected


SUBSTITUTION_ERRORS = [
    # (rule, text, env, message fragment)
    ("difference: an unset ${A} is an error", "${A}", {}, "'A' is not set or is empty"),
    ("difference: an empty ${A} is an error", "${A}", {"A": ""}, "'A' is not set or is empty"),
    ("${} names nothing", "${}", {}, "names no environment variable"),
    ("${:-x} names nothing", "${:-x}", {}, "names no environment variable"),
    ("shell ${A-x} is malformed", "${A-x}", {}, "malformed substitution '${A...}'"),
    ("shell ${A:=x} is malformed", "${A:=x}", {}, "malformed substitution '${A...}'"),
    ("shell ${A:?x} is malformed", "${A:?x}", {}, "malformed substitution '${A...}'"),
    ("shell ${A:+x} is malformed", "${A:+x}", {}, "malformed substitution '${A...}'"),
    ("a space in a name is malformed", "${A B}", {}, "malformed substitution"),
    ("a malformed name before :- ", "${A-B:-x}", {}, "malformed substitution"),
]


@pytest.mark.parametrize(
    ("rule", "text", "env", "fragment"),
    SUBSTITUTION_ERRORS,
    ids=[row[0] for row in SUBSTITUTION_ERRORS],
)
def test_substitution_errors_name_file_line_and_key(
    tmp_path: Path, rule: str, text: str, env: dict[str, str], fragment: str
) -> None:
    path = _write(tmp_path, "app-config.yaml", f"app:\n  title: x\n  value: '{text}'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env)
    assert fragment in info.value.message
    assert (info.value.file, info.value.line, info.value.key_path) == (str(path), 3, "app.value")
    problems: list[ConfigError] = []
    config = load_config(path, env=env, problems=problems)
    assert [p.line for p in problems] == [3]
    assert not config.has("app.value") and config.has("app.title")


def test_a_dropped_list_item_is_left_out_as_backstage_does() -> None:
    config = load_config({"hosts": ["a", "${B:-}", "${C:-c}"]}, env={})
    assert config.get_string_array("hosts") == ["a", "c"]


# --- $include / $file / $env (config-loader include.ts) -------------------------------


def test_defaults_work_in_included_files_and_include_paths(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "integrations.dev.yaml",
        """
        github:
          - host: ${GITHUB_HOST:-github.com}
            token: ${GITHUB_TOKEN:-}
        """,
    )
    _write(tmp_path, "secrets/token.txt", "ghp_from_file\n")
    path = _write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          $include: integrations.${STAGE:-dev}.yaml
        app:
          token:
            $file: ${SECRETS:-secrets}/token.txt
        """,
    )
    config = load_config(path, env={})
    entry = config.get_config_array("integrations.github")[0]
    assert entry.get_string("host") == "github.com"
    assert not entry.has("token")
    assert config.get_string("app.token") == "ghp_from_file"


INCLUDE_ARGUMENT_ERRORS = [
    # (rule, form) - Backstage: "<key> substitution value was undefined"
    ("$include argument without value", "$include: ${X:-}"),
    ("$file argument without value", "$file: ${X:-}"),
    ("$env argument without value", "$env: ${X:-}"),
]


@pytest.mark.parametrize(
    ("rule", "form"), INCLUDE_ARGUMENT_ERRORS, ids=[r[0] for r in INCLUDE_ARGUMENT_ERRORS]
)
def test_an_include_argument_that_substitutes_to_nothing_is_an_error(
    tmp_path: Path, rule: str, form: str
) -> None:
    path = _write(tmp_path, "app-config.yaml", f"app:\n  value:\n    {form}\n")
    with pytest.raises(ConfigError, match="substitutes to nothing") as info:
        load_config(path, env={})
    assert (info.value.line, info.value.key_path) == (3, "app.value")


LOADER_DIFFERENCES = [
    # (rule, files, env, fragment) - Backstage drops the value or keeps it literal
    (
        "difference: $include of a missing sub-key",
        {"a.yaml": "x: 1\n", "app-config.yaml": "v:\n  $include: a.yaml#y\n"},
        {},
        "has no key 'y'",
    ),
    ("difference: unset $env", {"app-config.yaml": "v:\n  $env: NOPE\n"}, {}, "'NOPE'"),
]


@pytest.mark.parametrize(
    ("rule", "files", "env", "fragment"), LOADER_DIFFERENCES, ids=[r[0] for r in LOADER_DIFFERENCES]
)
def test_loader_differences(
    tmp_path: Path, rule: str, files: dict[str, str], env: dict[str, str], fragment: str
) -> None:
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=fragment):
        load_config(tmp_path / "app-config.yaml", env=env)


def test_difference_an_included_root_include_is_resolved(tmp_path: Path) -> None:
    _write(tmp_path, "b.yaml", "x: 1\n")
    _write(tmp_path, "a.yaml", "$include: b.yaml\n")
    path = _write(tmp_path, "app-config.yaml", "v:\n  $include: a.yaml\n")
    assert load_config(path).get("v") == {"x": 1}


# --- typed readers (@backstage/config reader.ts) --------------------------------------

READS = [
    # (rule, getter, value, expected)
    ("boolean true", "get_boolean", True, True),
    ("boolean false", "get_boolean", False, False),
    *[
        (f"boolean text {t!r}", "get_boolean", t, True)
        for t in ("true", "TRUE", " yes ", "y", "On", "1")
    ],
    *[(f"boolean text {t!r}", "get_boolean", t, False) for t in ("false", "No", "n", "OFF", "0")],
    ("boolean number 1", "get_boolean", 1, True),
    ("boolean number 0", "get_boolean", 0, False),
    ("boolean number 1.0 (JavaScript writes '1')", "get_boolean", 1.0, True),
    ("boolean number -0 (JavaScript writes '0')", "get_boolean", -0.0, False),
    ("number", "get_number", 3, 3),
    ("number with fraction", "get_number", 1.5, 1.5),
    ("numeric text", "get_number", "12345", 12345),
    ("numeric text trimmed", "get_number", " 1.5 ", 1.5),
    ("numeric text with sign", "get_number", "+5", 5),
    ("numeric text .5", "get_number", ".5", 0.5),
    ("numeric text 5.", "get_number", "5.", 5.0),
    ("numeric text with exponent", "get_number", "1e3", 1000.0),
    ("hex text", "get_number", "0x1F", 31),
    ("octal text", "get_number", "0o17", 15),
    ("binary text", "get_number", "0B101", 5),
    ("string", "get_string", "text", "text"),
    ("string not trimmed", "get_string", " spaced ", " spaced "),
]


@pytest.mark.parametrize(("rule", "getter", "value", "expected"), READS, ids=[r[0] for r in READS])
def test_typed_reads_accept_what_backstage_accepts(
    rule: str, getter: str, value: Any, expected: Any
) -> None:
    config = Config.from_dict({"v": value})
    result = getattr(config, getter)("v")
    assert result == expected and type(result) is type(expected)
    assert getattr(config, getter.replace("get_", "get_optional_"))("v") == expected


REJECTED = [
    # (rule, getter, value, fragment)
    ("boolean from 2", "get_boolean", 2, "got a number that cannot be converted"),
    ("boolean from 0.5", "get_boolean", 0.5, "got a number that cannot be converted"),
    ("boolean from 't'", "get_boolean", "t", "got a string that cannot be converted"),
    ("boolean from ''", "get_boolean", "", "cannot be converted"),
    ("boolean from a list", "get_boolean", [True], "got a list"),
    ("number from a boolean", "get_number", True, "got a boolean"),
    ("number from 'abc'", "get_number", "abc", "cannot be converted"),
    ("number from '1_000'", "get_number", "1_000", "cannot be converted"),
    ("number from '-0x10' (NaN)", "get_number", "-0x10", "cannot be converted"),
    ("number from 'Infinity'", "get_number", "Infinity", "cannot be converted"),
    ("number from '1e999' (Infinity)", "get_number", "1e999", "cannot be converted"),
    ("difference: number from ''", "get_number", "", "got an empty string"),
    ("difference: number from ' '", "get_number", " ", "cannot be converted"),
    ("difference: number NaN", "get_number", float("nan"), "finite"),
    ("string from ''", "get_string", "", "got an empty string"),
    ("string from a number", "get_string", 5, "got a number"),
    ("string from a boolean", "get_string", True, "got a boolean"),
]


@pytest.mark.parametrize(
    ("rule", "getter", "value", "fragment"), REJECTED, ids=[r[0] for r in REJECTED]
)
def test_typed_reads_reject_what_backstage_rejects(
    rule: str, getter: str, value: Any, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        getattr(Config.from_dict({"v": value}), getter)("v")
    assert info.value.key_path == "v"


INTEGRATION_VALUES = [
    # (rule, integrations block, check)
    (
        "Gerrit disableEditUrl: 1",
        {
            "gerrit": [
                {
                    "host": "gerrit.example.com",
                    "gitilesBaseUrl": "https://gerrit.example.com/gitiles",
                    "disableEditUrl": 1,
                }
            ]
        },
        lambda i: i.gerrit.by_host("gerrit.example.com").config.disable_edit_url is True,
    ),
    (
        "S3 s3ForcePathStyle: 0",
        {"awsS3": [{"endpoint": "http://minio.example.com:9000", "s3ForcePathStyle": 0}]},
        lambda i: i.aws_s3.by_host("minio.example.com:9000").config.s3_force_path_style is False,
    ),
    (
        "S3 s3ForcePathStyle: 'yes'",
        {"awsS3": [{"endpoint": "http://minio.example.com:9000", "s3ForcePathStyle": "yes"}]},
        lambda i: i.aws_s3.by_host("minio.example.com:9000").config.s3_force_path_style is True,
    ),
    (
        "GitHub host github.com:443 (isValidHost: an explicit port for http)",
        {"github": [{"host": "github.com:443"}]},
        lambda i: i.github.by_host("github.com:443") is not None,
    ),
]


@pytest.mark.parametrize(
    ("rule", "block", "check"), INTEGRATION_VALUES, ids=[r[0] for r in INTEGRATION_VALUES]
)
def test_integration_values_read_as_backstage_reads_them(rule: str, block: Any, check: Any) -> None:
    integrations = ScmIntegrations.from_config(load_config({"integrations": block}))
    assert check(integrations)


def test_integration_host_with_http_default_port_is_rejected() -> None:
    config = load_config({"integrations": {"github": [{"host": "github.com:80"}]}})
    with pytest.raises(ConfigError, match="is not a valid host") as info:
        ScmIntegrations.from_config(config)
    assert info.value.key_path == "integrations.github[0].host"


INTEGRATION_DIFFERENCES = [
    # (rule, integrations block, key path, message fragment) - Backstage accepts these
    (
        "difference: GitHub apiBaseUrl that is not a URL",
        {"github": [{"host": "ghe.example.net", "apiBaseUrl": "ghe.example.net/api/v3"}]},
        "integrations.github[0].apiBaseUrl",
        "is not a valid URL",
    ),
    (
        "difference: Bitbucket Server apiBaseUrl that is not a URL",
        {"bitbucketServer": [{"host": "bitbucket.example.com", "apiBaseUrl": "rest/api/1.0"}]},
        "integrations.bitbucketServer[0].apiBaseUrl",
        "is not a valid URL",
    ),
    (
        "difference: a host with a trailing dot",
        {"github": [{"host": "github.com."}]},
        "integrations.github[0].host",
        "is not a valid host",
    ),
    (
        "difference: a token with a line break",
        {"github": [{"host": "github.com", "token": "ghp_one\nghp_two"}]},
        "integrations.github[0].token",
        "line breaks",
    ),
]


@pytest.mark.parametrize(
    ("rule", "block", "key_path", "fragment"),
    INTEGRATION_DIFFERENCES,
    ids=[r[0] for r in INTEGRATION_DIFFERENCES],
)
def test_integration_config_differences(
    rule: str, block: Any, key_path: str, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        ScmIntegrations.from_config(load_config({"integrations": block}))
    assert info.value.key_path == key_path


def test_url_helper_differences() -> None:
    from scmreader.integrations.azure import get_azure_file_fetch_url
    from scmreader.integrations.github.core import github_file_fetch_url

    integrations = ScmIntegrations.from_config(
        load_config(
            {
                "integrations": {
                    "gerrit": [
                        {
                            "host": "gerrit.example.com",
                            "gitilesBaseUrl": "https://gerrit.example.com/gitiles",
                        }
                    ]
                }
            }
        )
    )
    github = integrations.github.by_host("github.com").config
    # GitHub: '+' in a branch is encoded in ?ref= (Backstage: raw, read as a space).
    assert github_file_fetch_url(
        github, owner="o", name="r", ref="feat+x", path="c.yaml", has_token=True
    ).endswith("/repos/o/r/contents/c.yaml?ref=feat%2Bx")
    # Azure DevOps Server: tfs/<collection> stays two segments (Backstage: tfs%2F...).
    assert get_azure_file_fetch_url(
        "https://tfs.example.com/tfs/DefaultCollection/proj/_git/repo?path=/a.yaml"
    ).startswith("https://tfs.example.com/tfs/DefaultCollection/proj/_apis/git/")
    # Gerrit: a tag cannot be edited; its edit URL is the URL itself.
    tag = "https://gerrit.example.com/gitiles/proj/+/refs/tags/v1/catalog-info.yaml"
    assert integrations.resolve_edit_url(tag) == tag


# --- unknown keys (issue 12 item 3) ----------------------------------------------------

UNKNOWN_KEYS = [
    # (rule, config, [(key path, message fragment)])
    (
        "a typo in an integration entry",
        {"integrations": {"github": [{"host": "github.com", "tokn": "x"}]}},
        [("integrations.github[0].tokn", "unknown key 'tokn' (did you mean 'token'?)")],
    ),
    (
        "a typo in a nested list entry",
        {"integrations": {"github": [{"host": "ghe.example.net", "apps": [{"appid": 1}]}]}},
        [("integrations.github[0].apps[0].appid", "(did you mean 'appId'?)")],
    ),
    (
        "a typo in a provider name",
        {"integrations": {"githb": [{"host": "github.com"}]}},
        [("integrations.githb", "unknown integration provider 'githb' (did you mean 'github'?)")],
    ),
    (
        "a removed provider",
        {"integrations": {"bitbucket": [{"host": "bitbucket.org"}]}},
        [("integrations.bitbucket", "was removed")],
    ),
    (
        "a typo under backend.reading",
        {"backend": {"reading": {"allow": [{"host": "example.com", "path": ["/a"]}]}}},
        [("backend.reading.allow[0].path", "(did you mean 'paths'?)")],
    ),
    (
        "a typo in the backend.reading block",
        {"backend": {"reading": {"alow": []}}},
        [("backend.reading.alow", "(did you mean 'allow'?)")],
    ),
    (
        "a typo under scmreader",
        {"scmreader": {"cache": {"store": "memory", "maxbytes": 1}}},
        [("scmreader.cache.maxbytes", "(did you mean 'maxBytes'?)")],
    ),
    (
        "other blocks belong to Backstage and plugins",
        {"app": {"titel": "x"}, "backend": {"baseUrl": "http://localhost:7007"}},
        [],
    ),
    (
        "a deprecated key is not unknown",
        {"integrations": {"bitbucketCloud": [{"appPassword": "x", "username": "u"}]}},
        [],
    ),
    (
        "a mistyped block is left to its reader",
        {"integrations": {"github": "not-a-list"}},
        [],
    ),
]


@pytest.mark.parametrize(
    ("rule", "data", "expected"), UNKNOWN_KEYS, ids=[r[0] for r in UNKNOWN_KEYS]
)
def test_unknown_keys_warn_once_each(
    rule: str,
    data: dict[str, Any],
    expected: list[tuple[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="scmreader.config"):
        load_config(data)
    records = [r for r in caplog.records if r.name == "scmreader.config"]
    assert [(r.levelno, getattr(r, "key_path", None)) for r in records] == [
        (logging.WARNING, path) for path, _ in expected
    ]
    for record, (path, fragment) in zip(records, expected, strict=True):
        assert fragment in record.getMessage() and path in record.getMessage()
        assert record.getMessage().endswith("it is ignored") or "was removed" in fragment
    found = unknown_keys(load_config(data, check_keys=False))
    assert [e.key_path for e in found] == [path for path, _ in expected]


def test_unknown_key_warning_names_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          gitlab:
            - host: gitlab.example.com
              apiBaseURL: https://gitlab.example.com/api/v4
        """,
    )
    with caplog.at_level(logging.WARNING, logger="scmreader.config"):
        load_config(path)
    (record,) = caplog.records
    assert record.getMessage() == (
        f"{path}:4: integrations.gitlab[0].apiBaseURL: unknown key 'apiBaseURL' "
        "(did you mean 'apiBaseUrl'?); it is ignored"
    )
    assert (record.config_file, record.config_line) == (str(path), 4)  # type: ignore[attr-defined]


def test_strict_makes_unknown_keys_errors(caplog: pytest.LogCaptureFixture) -> None:
    data = {"integrations": {"github": [{"host": "github.com", "tokn": "x", "apiBaseURL": "y"}]}}
    with pytest.raises(ConfigError, match=r"unknown key 'tokn'.*strict") as info:
        load_config(data, strict=True)
    assert info.value.key_path == "integrations.github[0].tokn"
    assert info.value.message.endswith("; 1 more unknown key: integrations.github[0].apiBaseURL")
    with pytest.raises(ConfigError) as single:
        load_config({"backend": {"reading": {"alow": []}}}, strict=True)
    assert single.value.message == (
        "unknown key 'alow' (did you mean 'allow'?); remove or rename it (strict mode)"
    )
    problems: list[ConfigError] = []
    load_config(data, strict=True, problems=problems)
    assert [p.key_path for p in problems] == [
        "integrations.github[0].tokn",
        "integrations.github[0].apiBaseURL",
    ]
    assert not caplog.records
    load_config(data, check_keys=False)
    assert not caplog.records


# --- which files load (issue 12 item 5) -----------------------------------------------


def test_optional_files_are_skipped_when_absent(tmp_path: Path) -> None:
    base = _write(tmp_path, "app-config.yaml", "app:\n  title: base\n")
    local = tmp_path / "app-config.local.yaml"
    assert load_config(base, optional(local)).get_string("app.title") == "base"
    local.write_text("app:\n  title: local\n", encoding="utf-8")
    assert load_config(base, optional(local)).get_string("app.title") == "local"
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(base, tmp_path / "missing.yaml")


def test_an_optional_dangling_symlink_is_still_an_error(tmp_path: Path) -> None:
    link = tmp_path / "app-config.local.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(optional(link))


DEFAULT_FILES = [
    # (rule, files present, expected title or None)
    ("no default files: empty", {}, None),
    ("app-config.yaml alone", {"app-config.yaml": "base"}, "base"),
    ("the local file alone", {"app-config.local.yaml": "local"}, "local"),
    ("the local file wins", {"app-config.yaml": "base", "app-config.local.yaml": "local"}, "local"),
]


@pytest.mark.parametrize(
    ("rule", "files", "title"), DEFAULT_FILES, ids=[r[0] for r in DEFAULT_FILES]
)
def test_no_arguments_reads_the_cli_default_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rule: str,
    files: dict[str, str],
    title: str | None,
) -> None:
    for name, value in files.items():
        _write(tmp_path, name, f"app:\n  title: {value}\n")
    monkeypatch.chdir(tmp_path)
    assert load_config().get_optional_string("app.title") == title


def test_the_library_defaults_read_the_working_directory_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "app-config.yaml", "integrations:\n  gitea:\n    - host: git.example.com\n")
    monkeypatch.chdir(tmp_path)
    assert ScmIntegrations.from_config().gitea.by_host("git.example.com") is not None


def test_difference_app_config_environment_overrides_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, "app-config.yaml", "app:\n  title: from the file\n")
    monkeypatch.setenv("APP_CONFIG_app_title", '"from the environment"')
    assert load_config(path).get_string("app.title") == "from the file"


# --- config validate ------------------------------------------------------------------


def _validate_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "scmreader", "config", "validate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_validate_passes_a_default_with_its_variable_unset(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          gitlab:
            - host: ${GITLAB_HOST:-gitlab.com}
              token: ${GITLAB_TOKEN:-}
        """,
    )
    report = validate_files([path], env={})
    assert report.valid and not report.problems
    result = _validate_cli("app-config.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("valid: 0 errors, 0 warnings")
    assert result.stderr == ""


def test_validate_reports_a_malformed_substitution_with_file_and_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "app-config.yaml",
        """
        integrations:
          github:
            - host: github.com
              token: ${GITHUB_TOKEN-none}
        """,
    )
    report = validate_files([path], env={})
    assert not report.valid
    (problem,) = report.problems
    assert (problem.file, problem.line, problem.key_path) == (
        str(path),
        4,
        "integrations.github[0].token",
    )
    assert "malformed substitution '${GITHUB_TOKEN...}'" in problem.message
    result = _validate_cli("app-config.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "app-config.yaml:4: error: integrations.github[0].token: malformed substitution"
    )
    assert "-none" not in result.stdout  # the text after the name is not echoed


# --- free-form input ------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
defaults = st.text(alphabet=st.characters(blacklist_characters="{}", codec="utf-8"), max_size=20)


@settings(max_examples=150, deadline=None)
@given(name=names, default=defaults, value=st.none() | st.text(max_size=10))
def test_default_property(name: str, default: str, value: str | None) -> None:
    env = {} if value is None else {name: value}
    config = load_config({"v": f"<${{{name}:-{default}}}>"}, env=env)
    chosen = (value or "").strip() or default.strip()
    if chosen:
        assert config.get_string("v") == f"<{chosen}>"
    else:
        assert not config.has("v")


@settings(max_examples=150, deadline=None)
@given(number=st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**30), 10**30))
def test_numeric_text_reads_as_its_number(number: float) -> None:
    config = Config.from_dict({"v": f" {number!r} ", "n": number})
    assert config.get_number("v") == number == config.get_number("n")


@settings(max_examples=100, deadline=None)
@given(number=st.integers(0, 2**80), base=st.sampled_from(["x", "o", "b", "X", "O", "B"]))
def test_prefixed_integers_read_as_javascript_number_does(number: int, base: str) -> None:
    digits = format(number, {"x": "x", "o": "o", "b": "b"}[base.lower()])
    assert Config.from_dict({"v": f"0{base}{digits}"}).get_number("v") == number
    with pytest.raises(ConfigError):
        Config.from_dict({"v": f"-0{base}{digits}"}).get_number("v")
