"""Bitbucket Cloud integration: config rules, URL helpers, auth headers, integration."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError, UpstreamError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.bitbucket_cloud import (
    BITBUCKET_CLOUD_OAUTH_TOKEN_URL,
    INTEGRATION,
    BitbucketCloudIntegration,
    BitbucketCloudIntegrationConfig,
    entry_warnings,
    get_bitbucket_cloud_default_branch_url,
    get_bitbucket_cloud_download_url,
    get_bitbucket_cloud_file_fetch_url,
    get_bitbucket_cloud_oauth_token_request,
    get_bitbucket_cloud_request_options,
    read_bitbucket_cloud_default_branch,
    read_bitbucket_cloud_integration_config,
    read_bitbucket_cloud_integration_configs,
    read_bitbucket_cloud_oauth_token,
)
from scmreader.redact import Secret, redact

DEFAULT = BitbucketCloudIntegrationConfig()


def read(data: dict[str, Any]) -> BitbucketCloudIntegrationConfig:
    return read_bitbucket_cloud_integration_config(Config(data))


def test_host_and_api_are_constants_even_if_configured() -> None:
    config = read({"host": "bitbucket.example.com", "apiBaseUrl": "https://x.example/api"})
    assert config.host == "bitbucket.org"
    assert config.api_base_url == "https://api.bitbucket.org/2.0"


def test_trimming_rules() -> None:
    config = read(
        {
            "username": "me",
            "appPassword": " app-pass ",
            "token": " api-token ",
            "clientId": " cid ",
            "clientSecret": " csecret ",
        }
    )
    assert config.app_password == "app-pass"
    assert config.token == " api-token "  # Bitbucket Cloud tokens are not trimmed
    assert config.client_id == "cid"
    assert config.client_secret == "csecret"
    assert "app-pass" not in repr(config) and "csecret" not in repr(config)


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({"username": "me"}, "username", "no credential"),
        ({"clientId": "cid"}, "clientSecret", "incomplete OAuth"),
        ({"clientSecret": "csecret"}, "clientId", "incomplete OAuth"),
    ],
)
def test_incomplete_credentials_are_rejected(data: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(data)
    assert info.value.key_path == key
    assert "csecret" not in str(info.value)


@pytest.mark.parametrize(
    "data",
    [
        {"username": "me", "token": "tok1"},
        {"username": "me", "appPassword": "pw12"},
        {"token": "t"},
    ],
)
def test_valid_credential_combinations(data: dict[str, Any]) -> None:
    read(data)


@pytest.mark.parametrize(
    ("data", "kind", "warned"),
    [
        ({"username": "robot@acme.example", "token": "ATATT3xF0"}, "apiToken", False),
        ({"username": "robot", "token": "ATATT3xF0"}, "apiToken", True),  # 401 on Bitbucket
        ({"username": "robot", "appPassword": "app-pw-1"}, "appPassword", False),
        ({"token": "ATCTT3xFfGN0"}, "accessToken", False),
        ({"clientId": "key", "clientSecret": "sec", "token": "t0"}, "oauth", False),
        ({}, None, False),
    ],
)
def test_credential_kinds_and_the_email_warning(
    data: dict[str, Any], kind: str | None, warned: bool
) -> None:
    assert read(data).credential_kind == kind
    warnings = entry_warnings(Config(data))
    assert [key for key, _ in warnings] == (["username"] if warned else [])
    assert all("email" in message and "ATATT" not in message for _, message in warnings)


@pytest.mark.parametrize(
    ("entries", "count"),
    [
        (None, 1),
        ([], 1),
        ([{"username": "a", "token": "tok1"}], 1),
        ([{"username": "a", "token": "tok1"}, {"token": "tok2"}], 2),
    ],
)
def test_default_is_added_only_when_the_list_is_empty(
    entries: list[dict[str, Any]] | None, count: int
) -> None:
    configs = read_bitbucket_cloud_integration_configs(
        None if entries is None else [Config(e) for e in entries]
    )
    assert len(configs) == count
    assert all(c.host == "bitbucket.org" for c in configs)
    if not entries:
        assert configs == [DEFAULT]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://bitbucket.org/orgname/reponame/src/master/file.yaml",
            "https://api.bitbucket.org/2.0/repositories/orgname/reponame/src/master/file.yaml",
        ),
        (
            "https://bitbucket.org/orgname/reponame/raw/master/docs/a.md",
            "https://api.bitbucket.org/2.0/repositories/orgname/reponame/src/master/docs/a.md",
        ),
        (
            "https://bitbucket.org/o/r/src/main/my%20docs/a.md",
            "https://api.bitbucket.org/2.0/repositories/o/r/src/main/my%20docs/a.md",
        ),
    ],
)
def test_file_fetch_url(url: str, expected: str) -> None:
    assert get_bitbucket_cloud_file_fetch_url(url, DEFAULT) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://bitbucket.org/orgname/reponame", "not a Bitbucket Cloud file URL"),
        ("https://bitbucket.org/o/r/commits/abc", "not a Bitbucket Cloud file URL"),
        ("https://bitbucket.org/o/r/src/main/%2e%2e%2f%2e%2e%2fx", "traversal"),
        ("https://bitbucket.org/", "workspace and repository"),
    ],
)
def test_file_fetch_url_errors(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        get_bitbucket_cloud_file_fetch_url(url, DEFAULT)


def test_default_branch_url_and_answer() -> None:
    url = "https://bitbucket.org/ws/repo/src/main/a.yaml"
    assert get_bitbucket_cloud_default_branch_url(url, DEFAULT) == (
        "https://api.bitbucket.org/2.0/repositories/ws/repo"
    )
    assert (
        read_bitbucket_cloud_default_branch({"mainbranch": {"name": "develop"}}, url) == "develop"
    )
    payloads: list[Any] = [{}, {"mainbranch": None}, {"mainbranch": {"name": ""}}, []]
    for payload in payloads:
        with pytest.raises(UpstreamError, match="default"):
            read_bitbucket_cloud_default_branch(payload, url)


def test_download_url() -> None:
    assert get_bitbucket_cloud_download_url(
        "https://bitbucket.org/org/repo/src/main/docs", DEFAULT
    ) == ("https://bitbucket.org/org/repo/get/main.tar.gz")
    calls: list[int] = []

    def default_branch() -> str:
        calls.append(1)
        return "trunk"

    assert get_bitbucket_cloud_download_url(
        "https://bitbucket.org/org/repo", DEFAULT, default_branch
    ) == ("https://bitbucket.org/org/repo/get/trunk.tar.gz")
    get_bitbucket_cloud_download_url(
        "https://bitbucket.org/org/repo/src/v1/x", DEFAULT, default_branch
    )
    assert calls == [1]
    with pytest.raises(InvalidUrlError, match="names no branch"):
        get_bitbucket_cloud_download_url("https://bitbucket.org/org/repo", DEFAULT)


def test_download_url_at_a_looked_up_commit() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    for url in ("https://bitbucket.org/org/repo/src/main/docs", "https://bitbucket.org/org/repo"):
        assert get_bitbucket_cloud_download_url(url, DEFAULT, ref=sha) == (
            f"https://bitbucket.org/org/repo/get/{sha}.tar.gz"
        )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            BitbucketCloudIntegrationConfig(
                username="u", token=Secret("t"), app_password=Secret("a")
            ),
            "Basic dTp0",
        ),
        (BitbucketCloudIntegrationConfig(username="u", app_password=Secret("a")), "Basic dTph"),
        (BitbucketCloudIntegrationConfig(token=Secret("t")), "Bearer t"),
        (BitbucketCloudIntegrationConfig(app_password=Secret("a")), None),
        (DEFAULT, None),
    ],
)
def test_request_options(config: BitbucketCloudIntegrationConfig, expected: str | None) -> None:
    headers = get_bitbucket_cloud_request_options(config)["headers"]
    assert headers == ({"Authorization": expected} if expected else {})


def test_oauth_wins_and_uses_the_callers_token_source() -> None:
    config = BitbucketCloudIntegrationConfig(
        username="u", token=Secret("t"), client_id="cid", client_secret=Secret("csecret")
    )
    seen: list[tuple[str, str]] = []

    def oauth_token(client_id: str, client_secret: str) -> str:
        seen.append((client_id, client_secret))
        return "oauth-access"

    options = get_bitbucket_cloud_request_options(config, oauth_token)
    assert options == {"headers": {"Authorization": "Bearer oauth-access"}}
    assert seen == [("cid", "csecret")]
    with pytest.raises(TypeError, match="oauth_token"):
        get_bitbucket_cloud_request_options(config)


def test_oauth_token_request_and_answer() -> None:
    request = get_bitbucket_cloud_oauth_token_request("cid", "csecret-123")
    assert request.url == BITBUCKET_CLOUD_OAUTH_TOKEN_URL
    assert request.data == {"grant_type": "client_credentials"}
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == "Basic Y2lkOmNzZWNyZXQtMTIz"
    assert "csecret" not in repr(request)
    token = read_bitbucket_cloud_oauth_token(
        {"access_token": "acc-token-1", "expires_in": 7200}, now=1000.0
    )
    assert token.token == "acc-token-1" and token.expires_at == 1000.0 + 7200 - 600
    assert repr(token.token) == "'***'" and redact("acc-token-1") == "***"
    assert (
        read_bitbucket_cloud_oauth_token({"access_token": "acc-token-2"}, now=0).expires_at == 3000
    )
    with pytest.raises(UpstreamError, match="access_token"):
        read_bitbucket_cloud_oauth_token({"token_type": "bearer"}, now=0)


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        (
            "./b.yaml",
            "https://bitbucket.org/o/r/src/main/a/c.yaml",
            42,
            "https://bitbucket.org/o/r/src/main/a/b.yaml#lines-42",
        ),
        (
            "./b.yaml",
            "https://bitbucket.org/o/r/src/main/a/c.yaml",
            None,
            "https://bitbucket.org/o/r/src/main/a/b.yaml",
        ),
        (
            "/b.yaml",
            "https://bitbucket.org/o/r/src/main/a/c.yaml",
            3,
            "https://bitbucket.org/o/r/src/main/b.yaml#lines-3",
        ),
    ],
)
def test_resolve_url(url: str, base: str, line: int | None, expected: str) -> None:
    assert (
        BitbucketCloudIntegration(DEFAULT).resolve_url(url=url, base=base, line_number=line)
        == expected
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://bitbucket.org/o/r/src/main/a/c.yaml",
            "https://bitbucket.org/o/r/src/main/a/c.yaml?mode=edit&at=main",
        ),
        (
            "https://bitbucket.org/o/r/src/main/a/c.yaml?at=main",
            "https://bitbucket.org/o/r/src/main/a/c.yaml?at=main&mode=edit",
        ),
        (
            "https://bitbucket.org/o/r/src/v2/c.yaml?mode=view&x=1",
            "https://bitbucket.org/o/r/src/v2/c.yaml?mode=edit&x=1&at=v2",
        ),
        ("not a url", "not a url"),
    ],
)
def test_resolve_edit_url(url: str, expected: str) -> None:
    assert BitbucketCloudIntegration(DEFAULT).resolve_edit_url(url) == expected


def test_registry_hook() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("bitbucketCloud", 50)
    registry = ScmIntegrations.from_config(
        {"integrations": {"bitbucketCloud": [{"username": "me", "token": "tok-9999"}]}}
    )
    group = registry.group("bitbucketCloud").list()
    assert [i.title for i in group] == ["bitbucket.org"]
    found = registry.by_url("https://bitbucket.org/o/r/src/main/x")
    assert isinstance(found, BitbucketCloudIntegration) and found.config.username == "me"
