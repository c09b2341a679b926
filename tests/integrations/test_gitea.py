"""Gitea integration: config rules, URL parsing and builders, auth headers."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.gitea import (
    INTEGRATION,
    GiteaIntegration,
    GiteaIntegrationConfig,
    GiteaUrl,
    get_gitea_archive_url,
    get_gitea_edit_contents_url,
    get_gitea_file_contents_url,
    get_gitea_latest_commit_url,
    get_gitea_request_options,
    parse_gitea_url,
    read_gitea_config,
    read_gitea_integration_config,
    read_gitea_integration_configs,
)
from scmreader.redact import Secret

HOST = "gitea.example.com"
CONFIG = GiteaIntegrationConfig(host=HOST, base_url=f"https://{HOST}")
SUBPATH = GiteaIntegrationConfig(host="x.com", base_url="https://x.com/gitea")


def read(data: dict[str, Any]) -> GiteaIntegrationConfig:
    return read_gitea_integration_config(Config(data))


def test_defaults_and_trimming() -> None:
    config = read({"host": HOST, "username": "u", "password": " pw-1234 "})
    assert config == GiteaIntegrationConfig(HOST, f"https://{HOST}", "u", Secret("pw-1234"))
    assert "pw-1234" not in repr(config)
    assert read({"host": HOST, "baseUrl": "https://x.com/gitea/"}).base_url == "https://x.com/gitea"
    assert read_gitea_config is read_gitea_integration_config


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({}, "host", "Missing required"),
        ({"host": "gitea.example.com/x"}, "host", "not a valid host"),
        ({"host": HOST, "baseUrl": "gitea.example.com"}, "baseUrl", "not a valid URL"),
    ],
)
def test_invalid_config(data: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(data)
    assert info.value.key_path == key


def test_no_default_host() -> None:
    assert read_gitea_integration_configs(None) == []
    assert [c.host for c in read_gitea_integration_configs([Config({"host": HOST})])] == [HOST]


@pytest.mark.parametrize(
    ("config", "url", "expected"),
    [
        (
            CONFIG,
            f"https://{HOST}/owner/repo/src/branch/main/path/to/c.yaml",
            GiteaUrl(f"https://{HOST}", "owner", "repo", "main", "path/to/c.yaml"),
        ),
        (
            CONFIG,
            f"https://{HOST}/o/r/src/tag/v1/docs/x.md",
            GiteaUrl(f"https://{HOST}", "o", "r", "v1", "docs/x.md"),
        ),
        (
            CONFIG,
            f"https://{HOST}/o/r/src/branch/feature/x/a.md",
            GiteaUrl(f"https://{HOST}", "o", "r", "feature", "x/a.md"),
        ),
        (
            CONFIG,
            f"https://{HOST}/o/r/src/commit/abc123",
            GiteaUrl(f"https://{HOST}", "o", "r", "abc123", ""),
        ),
        (
            SUBPATH,
            "https://x.com/gitea/o/r/src/branch/main/a%20b.yaml",
            GiteaUrl("https://x.com/gitea", "o", "r", "main", "a b.yaml"),
        ),
    ],
)
def test_parse_url(config: GiteaIntegrationConfig, url: str, expected: GiteaUrl) -> None:
    assert parse_gitea_url(config, url) == expected


@pytest.mark.parametrize(
    ("config", "url", "message"),
    [
        (CONFIG, f"https://{HOST}/owner/repo", "not a Gitea file or folder URL"),
        (CONFIG, f"https://{HOST}/owner/repo/raw/branch/main/a", "not a Gitea file or folder URL"),
        (CONFIG, f"https://{HOST}/owner/repo/src/branch/", "names no branch"),
        (CONFIG, f"https://{HOST}/o/r/src/branch/main/%2e%2e/%2e%2e/x", "traversal"),
        (SUBPATH, "https://x.com/o/r/src/branch/main/a", "not below the Gitea base URL"),
        (CONFIG, "https://other.example/o/r/src/branch/main/a", "not below the Gitea base URL"),
    ],
)
def test_parse_url_errors(config: GiteaIntegrationConfig, url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        parse_gitea_url(config, url)


@pytest.mark.parametrize(
    ("config", "url", "expected"),
    [
        (
            CONFIG,
            f"https://{HOST}/owner/repo/src/branch/main/path/to/c.yaml",
            f"https://{HOST}/api/v1/repos/owner/repo/contents/path/to/c.yaml?ref=main",
        ),
        (
            CONFIG,
            f"https://{HOST}/owner/repo/src/tag/v1/docs/x.md",
            f"https://{HOST}/api/v1/repos/owner/repo/contents/docs/x.md?ref=v1",
        ),
        (
            SUBPATH,
            "https://x.com/gitea/o/r/src/branch/main/a.yaml",
            "https://x.com/gitea/api/v1/repos/o/r/contents/a.yaml?ref=main",
        ),
    ],
)
def test_file_contents_url(config: GiteaIntegrationConfig, url: str, expected: str) -> None:
    assert get_gitea_file_contents_url(config, url) == expected


def test_archive_commit_and_edit_urls() -> None:
    url = f"https://{HOST}/owner/repo/src/branch/main/docs/index.md"
    assert (
        get_gitea_archive_url(CONFIG, url)
        == f"https://{HOST}/api/v1/repos/owner/repo/archive/main.tar.gz"
    )
    assert (
        get_gitea_latest_commit_url(CONFIG, url)
        == f"https://{HOST}/api/v1/repos/owner/repo/git/commits/main"
    )
    assert (
        get_gitea_edit_contents_url(CONFIG, url)
        == f"https://{HOST}/owner/repo/_edit/main/docs/index.md"
    )
    assert (
        GiteaIntegration(CONFIG).resolve_edit_url(url)
        == f"https://{HOST}/owner/repo/_edit/main/docs/index.md"
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (GiteaIntegrationConfig(HOST, "b", username="u", password=Secret("p")), "basic dTpw"),
        (GiteaIntegrationConfig(HOST, "b", password=Secret("p")), "token p"),
        (GiteaIntegrationConfig(HOST, "b", username="u"), None),
        (CONFIG, None),
    ],
)
def test_request_options(config: GiteaIntegrationConfig, expected: str | None) -> None:
    headers = get_gitea_request_options(config)["headers"]
    assert headers == ({"Authorization": expected} if expected else {})


def test_integration_and_registry() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("gitea", 100)
    registry = ScmIntegrations.from_config({"integrations": {"gitea": [{"host": HOST}]}})
    found = registry.by_url(f"https://{HOST}/o/r/src/branch/main/a.yaml")
    assert isinstance(found, GiteaIntegration)
    assert (
        found.resolve_url(
            url="b.yaml", base=f"https://{HOST}/o/r/src/branch/main/a.yaml", line_number=5
        )
        == f"https://{HOST}/o/r/src/branch/main/b.yaml#L5"
    )
