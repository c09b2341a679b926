"""``scmreader config validate`` on fixtures/configs/validate/: exact reports, every format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import REPO_ROOT, Cli

from scmreader.config import Config, load_config
from scmreader.errors import InvalidUrlError
from scmreader.integrations import IntegrationType, ScmIntegration
from scmreader.validate import Problem, ValidationReport, format_report, validate_files

D = "fixtures/configs/validate"

#: fixture file(s) -> (exit code, exact text report)
CASES: dict[tuple[str, ...], tuple[int, list[str]]] = {
    ("valid-full.yaml",): (0, ["valid: 0 errors, 0 warnings in 1 file (16 entries checked)"]),
    ("deprecated.yaml",): (
        1,
        [
            f"{D}/deprecated.yaml:6: error: integrations.azure[0].token: Invalid Azure "
            "integration config: 'credential' and 'token' were removed (Backstage integration "
            "2.0); move the value into an entry of 'credentials' (e.g. personalAccessToken) and "
            "delete this key.",
            f"{D}/deprecated.yaml:9: warning: integrations.bitbucketCloud[0].appPassword: "
            "'appPassword' is deprecated: Atlassian stops app passwords in 2026; use 'username' "
            "with an API 'token' instead",
            f"{D}/deprecated.yaml:10: warning: integrations.bitbucketCloud[0].host: 'host' is "
            "ignored: Bitbucket Cloud is always bitbucket.org; remove it",
            "invalid: 1 error, 2 warnings in 1 file (2 entries checked)",
        ],
    ),
    ("bitbucket-token-username.yaml",): (
        0,
        [
            f"{D}/bitbucket-token-username.yaml:3: warning: "
            "integrations.bitbucketCloud[0].username: 'username' is 'jdoe', but Bitbucket Cloud "
            "API tokens authenticate with the Atlassian account email as the user; use the email "
            "address here (keep the Bitbucket username only for an appPassword)",
            "valid: 0 errors, 1 warning in 1 file (2 entries checked)",
        ],
    ),
    ("gerrit-no-gitiles.yaml",): (
        1,
        [
            f"{D}/gerrit-no-gitiles.yaml:5: error: integrations.gerrit[1].gitilesBaseUrl: "
            "Missing required config value: a Gerrit integration needs gitilesBaseUrl, the URL "
            "of its Gitiles web UI (for example https://<gerrit host>/plugins/gitiles, or the "
            "URL of a separate Gitiles host); trees are read through it.",
            "invalid: 1 error, 0 warnings in 1 file (2 entries checked)",
        ],
    ),
    ("github-app-no-key.yaml",): (
        1,
        [
            f"{D}/github-app-no-key.yaml:5: error: integrations.github[0].apps[0].privateKey: "
            "Missing required config value; add it to the configuration",
            "invalid: 1 error, 0 warnings in 1 file (1 entry checked)",
        ],
    ),
    ("wrong-type.yaml",): (
        1,
        [
            f"{D}/wrong-type.yaml:3: error: backend.reading.allow: expected a list of "
            "mappings, got a string",
            f"{D}/wrong-type.yaml:7: error: integrations.github[0].token: expected a string, "
            "got a number; quote it in YAML to make it text",
            f"{D}/wrong-type.yaml:12: error: integrations.gitlab[0].retry.maxRetries: expected "
            "a number, got a string that cannot be converted to one",
            "invalid: 3 errors, 0 warnings in 1 file (2 entries checked)",
        ],
    ),
    ("unknown-key.yaml",): (
        0,
        [
            f"{D}/unknown-key.yaml:2: warning: integrations.githb: unknown integration provider "
            "'githb' (did you mean 'github'?); it is ignored",
            f"{D}/unknown-key.yaml:4: warning: integrations.bitbucket: 'integrations.bitbucket' "
            "was removed (Backstage integration 2.0) and is ignored; move its entries to "
            "'integrations.bitbucketCloud' (bitbucket.org) or 'integrations.bitbucketServer'",
            f"{D}/unknown-key.yaml:8: warning: integrations.github[0].apiBaseURL: unknown key "
            "'apiBaseURL' (did you mean 'apiBaseUrl'?); it is ignored",
            f"{D}/unknown-key.yaml:14: warning: integrations.github[0].apps[0].allowedOwners: "
            "unknown key 'allowedOwners' (did you mean 'allowedInstallationOwners'?); it is "
            "ignored",
            f"{D}/unknown-key.yaml:19: warning: backend.reading.allow[0].path: unknown key "
            "'path' (did you mean 'paths'?); it is ignored",
            "valid: 0 errors, 5 warnings in 1 file (2 entries checked)",
        ],
    ),
    ("missing-var.yaml",): (
        1,
        [
            f"{D}/missing-var.yaml:4: error: integrations.github[0].token: environment "
            "variable 'SCMREADER_TEST_UNSET_TOKEN' is not set or is empty; set it, give a "
            "default with '${SCMREADER_TEST_UNSET_TOKEN:-default}', or write "
            "'$${SCMREADER_TEST_UNSET_TOKEN}' to keep the text literally",
            f"{D}/missing-var.yaml:9: error: integrations.gerrit[0].password: environment "
            "variable 'SCMREADER_TEST_UNSET_PASSWORD' is not set or is empty; set it, give a "
            "default with '${SCMREADER_TEST_UNSET_PASSWORD:-default}', or write "
            "'$${SCMREADER_TEST_UNSET_PASSWORD}' to keep the text literally",
            "invalid: 2 errors, 0 warnings in 1 file (2 entries checked)",
        ],
    ),
    ("merge-base.yaml", "merge-override.yaml"): (
        1,
        [
            f"{D}/merge-base.yaml:13: warning: backend.reading.allow[0].pathz: unknown key "
            "'pathz' (did you mean 'paths'?); it is ignored",
            f"{D}/merge-override.yaml:4: error: integrations.gerrit[0].gitilesBaseUrl: Missing "
            "required config value: a Gerrit integration needs gitilesBaseUrl, the URL of its "
            "Gitiles web UI (for example https://<gerrit host>/plugins/gitiles, or the URL of a "
            "separate Gitiles host); trees are read through it.",
            f"{D}/merge-override.yaml:9: error: integrations.github[0].rawBaseUrl: Invalid "
            "GitHub integration config, rawBaseUrl 'not a url' is not a valid URL; write an "
            "absolute http(s) URL without query or fragment, such as 'https://git.example.com/api'.",
            "invalid: 2 errors, 1 warning in 2 files (3 entries checked)",
        ],
    ),
}


@pytest.fixture(autouse=True)
def _unset_fixture_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCMREADER_TEST_UNSET_TOKEN", raising=False)
    monkeypatch.delenv("SCMREADER_TEST_UNSET_PASSWORD", raising=False)


@pytest.mark.parametrize("files", list(CASES), ids=lambda files: "+".join(files))
def test_text_report_is_exact(cli: Cli, files: tuple[str, ...]) -> None:
    code, lines = CASES[files]
    result = cli("config", "validate", *[f"{D}/{f}" for f in files], cwd=REPO_ROOT)
    assert result.out.splitlines() == lines
    assert result.code == code
    assert result.stderr == ""


@pytest.mark.parametrize("files", list(CASES), ids=lambda files: "+".join(files))
def test_json_report_matches_the_text_report(cli: Cli, files: tuple[str, ...]) -> None:
    code, lines = CASES[files]
    paths = [f"{D}/{f}" for f in files]
    for args in (("--format", "json"), ("--json",)):
        result = cli("config", "validate", *args, *paths, cwd=REPO_ROOT)
        data = result.json()
        assert result.code == code
        assert data["valid"] is (code == 0)
        assert data["files"] == paths
        rebuilt = [
            str(Problem(p["severity"], p["message"], p["key_path"], p["file"], p["line"]))
            for p in data["problems"]
        ]
        assert rebuilt == lines[:-1]
        assert data["errors"] == sum(p["severity"] == "error" for p in data["problems"])


def test_github_annotations(cli: Cli) -> None:
    result = cli(
        "config",
        "validate",
        "--format",
        "github",
        f"{D}/gerrit-no-gitiles.yaml",
        cwd=REPO_ROOT,
    )
    assert result.code == 1
    assert result.out.splitlines() == [
        f"::error file={D}/gerrit-no-gitiles.yaml,line=5::integrations.gerrit[1].gitilesBaseUrl: "
        "Missing required config value: a Gerrit integration needs gitilesBaseUrl, the URL of "
        "its Gitiles web UI (for example https://<gerrit host>/plugins/gitiles, or the URL of a "
        "separate Gitiles host); trees are read through it.",
        "invalid: 1 error, 0 warnings in 1 file (2 entries checked)",
    ]


def test_github_annotations_for_warnings_and_strict(cli: Cli) -> None:
    path = f"{D}/unknown-key.yaml"
    normal = cli("config", "validate", "--format", "github", path, cwd=REPO_ROOT)
    strict = cli("config", "validate", "--format", "github", "--strict", path, cwd=REPO_ROOT)
    assert normal.code == 0
    assert strict.code == 1
    assert normal.out.splitlines()[0] == (
        f"::warning file={path},line=2::integrations.githb: unknown integration provider "
        "'githb' (did you mean 'github'?); it is ignored"
    )
    assert strict.out.splitlines()[0].startswith(f"::error file={path},line=2::")
    assert strict.out.splitlines()[-1] == (
        "invalid: 5 errors, 0 warnings in 1 file (2 entries checked)"
    )


def test_strict_turns_warnings_into_errors_in_text(cli: Cli) -> None:
    result = cli("config", "validate", "--strict", f"{D}/unknown-key.yaml", cwd=REPO_ROOT)
    assert result.code == 1
    assert all(": error: " in line for line in result.out.splitlines()[:-1])


def test_github_escaping_of_properties_and_data() -> None:
    report = ValidationReport(
        files=["a,b:c.yaml"],
        problems=[Problem("error", "50% done\nnext line", "k", "a,b:c.yaml", 3)],
    )
    assert format_report(report, "github").splitlines()[0] == (
        "::error file=a%2Cb%3Ac.yaml,line=3::k: 50%25 done%0Anext line"
    )


def test_unreadable_files_are_all_reported_and_stop_the_checks(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("integrations:\n  github: [\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    result = cli(
        "config", "validate", str(missing), str(broken), f"{REPO_ROOT}/{D}/wrong-type.yaml"
    )
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == (
        f"{missing}: error: configuration file '{missing}' does not exist; check the path"
    )
    assert lines[1].startswith(f"{broken}:3: error: invalid YAML: ")
    assert lines[-1] == "invalid: 2 errors, 0 warnings in 3 files (0 entries checked)"


def test_variables_from_the_environment_are_used(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCMREADER_TEST_UNSET_TOKEN", "ghp_fromtheenvironment")
    monkeypatch.setenv("SCMREADER_TEST_UNSET_PASSWORD", "from-the-environment")
    result = cli("config", "validate", f"{D}/missing-var.yaml", cwd=REPO_ROOT)
    assert result.code == 0
    assert "fromtheenvironment" not in result.out


def test_library_api_with_an_explicit_environment() -> None:
    report = validate_files(
        [REPO_ROOT / D / "missing-var.yaml"],
        env={"SCMREADER_TEST_UNSET_TOKEN": "x" * 20},
    )
    assert not report.valid
    assert [p.key_path for p in report.errors] == ["integrations.gerrit[0].password"]
    assert report.checked == 2


def test_every_provider_entry_is_checked_not_only_the_first(cli: Cli, write_config: object) -> None:
    from typing import Any, cast

    path = cast(Any, write_config)(
        {
            "integrations": {
                "gerrit": [
                    {"host": "Not A Host"},
                    {"host": "gerrit.example.com"},
                    {"host": "ok.example.com", "gitilesBaseUrl": "https://ok.example.com/g"},
                ],
                "github": [{"host": "github.com", "token": "bad\ttoken\nx"}],
            },
            "backend": {"reading": {"allow": [{"host": "*"}, {"host": "a.com:99999"}]}},
        }
    )
    result = cli("config", "validate", "--json", path)
    data = result.json()
    assert result.code == 1
    assert [p["key_path"] for p in data["problems"]] == [
        "integrations.gerrit[0].host",
        "integrations.gerrit[0].gitilesBaseUrl",  # every problem of an entry (issue 12)
        "integrations.gerrit[1].gitilesBaseUrl",
        "integrations.github[0].token",
        "backend.reading.allow[0].host",
        "backend.reading.allow[1].host",
    ]
    assert data["checked"] == 6
    assert "bad\ttoken" not in result.out


def test_no_secret_appears_in_any_report(cli: Cli) -> None:
    path = f"{D}/valid-full.yaml"
    for fmt in ("text", "json", "github"):
        out = cli("config", "validate", "--format", fmt, path, cwd=REPO_ROOT).out
        for secret in ("ghp_exampleexampleexample", "example-password", "example-client-secret"):
            assert secret not in out


def test_fixture_valid_full_loads_in_the_library() -> None:
    from scmreader.integrations import ScmIntegrations

    config = load_config(REPO_ROOT / D / "valid-full.yaml")
    titles = [i.title for i in ScmIntegrations.from_config(config).list()]
    assert "ghe.example.net" in titles
    assert "gerrit.example.com" in titles


def test_json_is_a_single_document(cli: Cli) -> None:
    result = cli("config", "validate", "--format", "json", f"{D}/valid-full.yaml", cwd=REPO_ROOT)
    assert json.loads(result.out)["valid"] is True


# A provider plugged in through the registry: validate uses its reader and its KNOWN_KEYS.
KNOWN_KEYS = frozenset({"host", "mirror.url"})


def _read_example(entries: list[Config] | None) -> list[ScmIntegration]:
    for entry in entries or []:
        if entry.get_optional_string("host") == "bad.example.com":
            raise InvalidUrlError("the example provider cannot use this host")
        entry.get_string("host")
    return []


def test_a_plugged_in_provider_is_checked_with_its_own_reader_and_keys(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, write_config: Callable[..., str]
) -> None:
    import scmreader.integrations as registry

    kinds = (*registry.integration_types(), IntegrationType("example", 999, _read_example))
    monkeypatch.setattr(registry, "integration_types", lambda: kinds)
    path = write_config(
        {
            "integrations": {
                "example": [
                    {"host": "a.example.com", "mirror": {"url": "https://m", "token": "x"}},
                    {"host": "bad.example.com"},
                    {"hots": "c.example.com"},
                ]
            }
        }
    )
    result = cli("config", "validate", path)
    assert result.out.splitlines() == [
        f"{path}:6: warning: integrations.example[0].mirror.token: unknown key 'token'; it is "
        "ignored",
        f"{path}:7: error: integrations.example[1]: the example provider cannot use this host",
        f"{path}:8: error: integrations.example[2].host: Missing required config value; add it "
        "to the configuration",
        f"{path}:8: warning: integrations.example[2].hots: unknown key 'hots' (did you mean "
        "'host'?); it is ignored",
        "invalid: 2 errors, 2 warnings in 1 file (3 entries checked)",
    ]


APP_WITH_TWO_PROBLEMS = """\
integrations:
  github:
    - host: github.com
      apps:
        - appId: twelve
          clientId: Iv1.abc
          clientSecret: ${CLIENT_SECRET}
  gitlab:
    - host: gitlab.example.com
      apiBaseUrl: not a url
      retry:
        maxRetries: -1
backend:
  reading:
    allow:
      - host: 'exa mple.com'
        paths: [docs]
"""


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_every_problem_of_every_entry_in_one_run(
    cli: Cli, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(APP_WITH_TWO_PROBLEMS)
    monkeypatch.setenv("CLIENT_SECRET", "s3cret-value")
    result = cli("config", "validate", "--format", fmt, str(config))
    assert result.code == 1
    expected = [
        (5, "integrations.github[0].apps[0].appId"),
        (5, "integrations.github[0].apps[0].privateKey"),
        (10, "integrations.gitlab[0].apiBaseUrl"),
        (12, "integrations.gitlab[0].retry.maxRetries"),
        (16, "backend.reading.allow[0].host"),
        (17, "backend.reading.allow[0].paths"),
    ]
    if fmt == "json":
        found = [(p["line"], p["key_path"]) for p in result.json()["problems"]]
        assert found == expected
        assert {p["file"] for p in result.json()["problems"]} == {str(config)}
    elif fmt == "github":
        lines = result.out.splitlines()
        for line, key in expected:
            assert any(
                x.startswith(f"::error file={config},line={line}::{key}: ") for x in lines
            ), (line, key)
    else:
        for line, key in expected:
            assert f"{config}:{line}: error: {key}: " in result.out
    assert "s3cret-value" not in result.out
