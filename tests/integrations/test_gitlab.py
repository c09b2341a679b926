"""GitLab integration: config rules, URL helpers and the integration class."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config, load_config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.gitlab import (
    INTEGRATION,
    GitLabIntegration,
    GitLabIntegrationConfig,
    GitLabRetryConfig,
    get_gitlab_file_fetch_url,
    get_gitlab_integration_relative_path,
    get_gitlab_request_options,
    read_gitlab_integration_config,
    read_gitlab_integration_configs,
    replace_gitlab_url_type,
)
from scmreader.redact import Secret

GITLAB_COM = GitLabIntegrationConfig(
    host="gitlab.com", api_base_url="https://gitlab.com/api/v4", base_url="https://gitlab.com"
)
RELATIVE = GitLabIntegrationConfig(
    host="gitlab.example.com",
    api_base_url="https://gitlab.example.com/gitlab/api/v4",
    base_url="https://gitlab.example.com/gitlab",
)


def read(data: dict[str, Any]) -> GitLabIntegrationConfig:
    return read_gitlab_integration_config(Config(data))


def test_backstage_example_is_normalized() -> None:
    config = read(
        {
            "host": "gitlab.example.com",
            "apiBaseUrl": "https://gitlab.example.com/api/v4/",
            "baseUrl": "https://gitlab.example.com/gitlab/",
            "token": "t ",
            "retry": {"maxRetries": 3},
        }
    )
    assert config == GitLabIntegrationConfig(
        host="gitlab.example.com",
        api_base_url="https://gitlab.example.com/api/v4",
        base_url="https://gitlab.example.com/gitlab",
        token=Secret("t"),
        retry=GitLabRetryConfig(
            max_retries=3, retry_status_codes=(), max_api_requests_per_minute=-1
        ),
    )


def test_gitlab_com_gets_default_urls_and_secrets_stay_hidden() -> None:
    config = read({"host": "gitlab.com", "token": "  glpat-abcdef  ", "commitSigningKey": "K\nL"})
    assert config.api_base_url == "https://gitlab.com/api/v4"
    assert config.base_url == "https://gitlab.com"
    assert config.token == "glpat-abcdef"
    assert config.commit_signing_key == "K\nL"
    assert config.retry is None
    assert "glpat" not in repr(config) and "K\\nL" not in repr(config)


def test_self_managed_base_url_defaults_to_host() -> None:
    config = read(
        {"host": "git.example.com:8443", "apiBaseUrl": "https://git.example.com:8443/api/v4"}
    )
    assert config.base_url == "https://git.example.com:8443"


def test_host_is_required() -> None:
    with pytest.raises(ConfigError, match="Missing required") as info:
        read_gitlab_integration_configs(
            load_config({"integrations": {"gitlab": [{}]}}).get_config_array("integrations.gitlab")
        )
    assert info.value.key_path == "integrations.gitlab[0].host"


@pytest.mark.parametrize("host", ["a/b", "https://gitlab.example.com", "GitLab.example.com", "x y"])
def test_invalid_host_is_rejected(host: str) -> None:
    with pytest.raises(ConfigError, match="not a valid host") as info:
        read({"host": host, "apiBaseUrl": "https://x.example/api/v4"})
    assert info.value.key_path == "host"


def test_api_base_url_is_required_off_gitlab_com() -> None:
    with pytest.raises(ConfigError, match="apiBaseUrl is missing") as info:
        read({"host": "gitlab.example.com"})
    assert info.value.key_path == "apiBaseUrl"
    assert "https://gitlab.example.com/api/v4" in str(info.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"host": "gitlab.example.com", "apiBaseUrl": "not a url"}, "apiBaseUrl"),
        ({"host": "gitlab.com", "apiBaseUrl": "/api/v4"}, "apiBaseUrl"),
        ({"host": "gitlab.com", "baseUrl": "gitlab.com"}, "baseUrl"),
        # validation order: host first, then apiBaseUrl, then baseUrl
        ({"host": "Bad Host", "apiBaseUrl": "nope", "baseUrl": "nope"}, "host"),
        ({"host": "gitlab.com", "apiBaseUrl": "nope", "baseUrl": "nope"}, "apiBaseUrl"),
    ],
)
def test_invalid_urls_are_rejected_in_order(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        read(data)
    assert info.value.key_path == key


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        ({}, GitLabRetryConfig()),
        (
            {"maxRetries": 2, "retryStatusCodes": [429, 503], "maxApiRequestsPerMinute": 100},
            GitLabRetryConfig(2, (429, 503), 100),
        ),
        ({"retryStatusCodes": []}, GitLabRetryConfig()),
    ],
)
def test_retry_defaults(retry: dict[str, Any], expected: GitLabRetryConfig) -> None:
    assert read({"host": "gitlab.com", "retry": retry}).retry == expected


@pytest.mark.parametrize(
    ("retry", "key", "message"),
    [
        ({"retryStatusCodes": "429"}, "retry.retryStatusCodes", "expected a list.*got a string"),
        ({"retryStatusCodes": {"a": 1}}, "retry.retryStatusCodes", "got a mapping"),
        (
            {"retryStatusCodes": [429, "503"]},
            "retry.retryStatusCodes[1]",
            "got a string at index 1",
        ),
        ({"retryStatusCodes": [True]}, "retry.retryStatusCodes[0]", "got a boolean at index 0"),
        ({"retryStatusCodes": [42]}, "retry.retryStatusCodes[0]", "not an HTTP status code"),
        ({"maxRetries": -1}, "retry.maxRetries", "0 or more"),
        ({"maxRetries": 1.5}, "retry.maxRetries", "whole number"),
    ],
)
def test_invalid_retry_config(retry: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read({"host": "gitlab.com", "retry": retry})
    assert info.value.key_path == key


@pytest.mark.parametrize(
    ("entries", "hosts"),
    [
        (None, ["gitlab.com"]),
        ([], ["gitlab.com"]),
        ([{"host": "gitlab.com", "token": "abcd"}], ["gitlab.com"]),
        (
            [{"host": "gitlab.example.com", "apiBaseUrl": "https://gitlab.example.com/api/v4"}],
            ["gitlab.example.com", "gitlab.com"],
        ),
    ],
)
def test_gitlab_com_is_added_unless_configured(
    entries: list[dict[str, Any]] | None, hosts: list[str]
) -> None:
    configs = read_gitlab_integration_configs(
        None if entries is None else [Config(e) for e in entries]
    )
    assert [c.host for c in configs] == hosts
    assert configs[-1].host != "gitlab.com" or configs[-1].base_url == "https://gitlab.com"


def test_default_entry_is_anonymous() -> None:
    assert read_gitlab_integration_configs(None) == [GITLAB_COM]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (RELATIVE, "/gitlab"),
        (
            GitLabIntegrationConfig(
                "gitlab.example.com", "https://x/api", "https://gitlab.example.com"
            ),
            "",
        ),
        (GitLabIntegrationConfig("gitlab.com", "https://x/api", "https://gitlab.com/x"), ""),
        (GitLabIntegrationConfig("g.example", "https://x/api", "https://g.example/a/b/"), "/a/b"),
    ],
)
def test_relative_path(config: GitLabIntegrationConfig, expected: str) -> None:
    assert get_gitlab_integration_relative_path(config) == expected


@pytest.mark.parametrize(
    ("config", "url", "expected"),
    [
        (
            GITLAB_COM,
            "https://gitlab.com/group/repo/-/blob/main/path/to/file.yaml",
            "https://gitlab.com/api/v4/projects/group%2Frepo/repository/files/path%2Fto%2Ffile.yaml/raw?ref=main",
        ),
        (
            GITLAB_COM,
            "https://gitlab.com/a/b/blob/master/c.yaml",
            "https://gitlab.com/api/v4/projects/a%2Fb/repository/files/c.yaml/raw?ref=master",
        ),
        (
            GITLAB_COM,
            "https://gitlab.com/groupA/teams/teamA/subgroupA/repoA/-/blob/branch/filepath",
            "https://gitlab.com/api/v4/projects/groupA%2Fteams%2FteamA%2FsubgroupA%2FrepoA/repository/files/filepath/raw?ref=branch",
        ),
        (
            GITLAB_COM,
            "https://gitlab.com/g/r/-/blob/feat%2Bx%26y/dir/my%20file.yaml",
            "https://gitlab.com/api/v4/projects/g%2Fr/repository/files/dir%2Fmy%20file.yaml/raw?ref=feat%2Bx%26y",
        ),
        (
            GITLAB_COM,
            "https://gitlab.com/g/r/-/blob/main/a.yaml?ref_type=heads",
            "https://gitlab.com/api/v4/projects/g%2Fr/repository/files/a.yaml/raw?ref=main",
        ),
        (
            RELATIVE,
            "https://gitlab.example.com/gitlab/g/r/-/blob/main/a.yaml",
            "https://gitlab.example.com/gitlab/api/v4/projects/g%2Fr/repository/files/a.yaml/raw?ref=main",
        ),
    ],
)
def test_file_fetch_url(config: GitLabIntegrationConfig, url: str, expected: str) -> None:
    assert get_gitlab_file_fetch_url(url, config) == expected


@pytest.mark.parametrize(
    ("config", "url", "message"),
    [
        (GITLAB_COM, "https://gitlab.com/g/r/-/tree/main/docs", "no /blob/"),
        (RELATIVE, "https://gitlab.example.com/g/r/-/blob/main/a.yaml", "start with /gitlab/"),
        (GITLAB_COM, "https://gitlab.com/g/r/-/blob/main/%2e%2e%2f%2e%2e%2fsecret", "traversal"),
        (GITLAB_COM, "https://gitlab.com/g/r/-/blob/main", "does not name"),
        (GITLAB_COM, "gitlab.com/g/r/-/blob/main/a.yaml", "not absolute"),
    ],
)
def test_file_fetch_url_errors(config: GitLabIntegrationConfig, url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        get_gitlab_file_fetch_url(url, config)


def test_request_options() -> None:
    with_token = GitLabIntegrationConfig("gitlab.com", "a", "b", token=Secret("cfg-token"))
    assert get_gitlab_request_options(GITLAB_COM) == {"headers": {}}
    assert get_gitlab_request_options(with_token) == {
        "headers": {"Authorization": "Bearer cfg-token"}
    }
    assert get_gitlab_request_options(with_token, "user-token") == {
        "headers": {"Authorization": "Bearer user-token"}
    }
    assert get_gitlab_request_options(GITLAB_COM, "u") == {"headers": {"Authorization": "Bearer u"}}


@pytest.mark.parametrize(
    ("url", "kind", "expected"),
    [
        (
            "https://gitlab.com/g/r/-/blob/main/a.yaml",
            "edit",
            "https://gitlab.com/g/r/-/edit/main/a.yaml",
        ),
        (
            "https://gitlab.com/g/r/-/tree/main/docs",
            "blob",
            "https://gitlab.com/g/r/-/blob/main/docs",
        ),
        (
            "https://gitlab.com/g/r/-/edit/main/a/-/blob/x",
            "tree",
            "https://gitlab.com/g/r/-/tree/main/a/-/blob/x",
        ),
        (
            "https://gitlab.com/g/r/blob/main/a.yaml",
            "edit",
            "https://gitlab.com/g/r/blob/main/a.yaml",
        ),
    ],
)
def test_replace_url_type(url: str, kind: Any, expected: str) -> None:
    assert replace_gitlab_url_type(url, kind) == expected


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        (
            "../other/x.md",
            "https://gitlab.com/g/r/-/blob/main/docs/a/index.md",
            2,
            "https://gitlab.com/g/r/-/blob/main/docs/other/x.md#L2",
        ),
        (
            "/x.md",
            "https://gitlab.com/g/sub/r/-/blob/main/docs/a/index.md",
            None,
            "https://gitlab.com/g/sub/r/-/blob/main/x.md",
        ),
        (
            "https://elsewhere.example/y",
            "https://gitlab.com/g/r/-/blob/main/a.md",
            None,
            "https://elsewhere.example/y",
        ),
    ],
)
def test_resolve_url(url: str, base: str, line: int | None, expected: str) -> None:
    integration = GitLabIntegration(GITLAB_COM)
    assert integration.resolve_url(url=url, base=base, line_number=line) == expected


def test_integration_and_registry() -> None:
    integration = GitLabIntegration(GITLAB_COM)
    assert integration.type == "gitlab" and integration.title == "gitlab.com"
    assert integration.resolve_edit_url("https://gitlab.com/g/r/-/blob/main/a.yaml") == (
        "https://gitlab.com/g/r/-/edit/main/a.yaml"
    )
    assert (INTEGRATION.key, INTEGRATION.order) == ("gitlab", 90)
    registry = ScmIntegrations.from_config(
        {
            "integrations": {
                "gitlab": [
                    {"host": "git.example.com", "apiBaseUrl": "https://git.example.com/api/v4"}
                ]
            }
        }
    )
    assert [i.title for i in registry.group("gitlab").list()] == ["git.example.com", "gitlab.com"]
    found = registry.by_url("https://git.example.com/g/r/-/blob/main/a.yaml")
    assert isinstance(found, GitLabIntegration)
    assert found.config.api_base_url == "https://git.example.com/api/v4"
