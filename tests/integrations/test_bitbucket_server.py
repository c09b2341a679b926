"""Bitbucket Server integration: config rules, URL helpers, auth headers, integration."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError, UpstreamError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.bitbucket_server import (
    INTEGRATION,
    BitbucketServerIntegration,
    BitbucketServerIntegrationConfig,
    get_bitbucket_server_default_branch_urls,
    get_bitbucket_server_download_url,
    get_bitbucket_server_file_fetch_url,
    get_bitbucket_server_request_options,
    read_bitbucket_server_default_branch,
    read_bitbucket_server_integration_config,
    read_bitbucket_server_integration_configs,
)
from scmreader.redact import Secret

HOST = "bitbucket.company.com"
CONFIG = BitbucketServerIntegrationConfig(host=HOST, api_base_url=f"https://{HOST}/rest/api/1.0")
API = CONFIG.api_base_url


def read(data: dict[str, Any]) -> BitbucketServerIntegrationConfig:
    return read_bitbucket_server_integration_config(Config(data))


def test_defaults_and_trimming() -> None:
    config = read({"host": HOST, "token": " tok-123 ", "username": "u", "password": " pw "})
    assert config == BitbucketServerIntegrationConfig(
        host=HOST,
        api_base_url=f"https://{HOST}/rest/api/1.0",
        token=Secret("tok-123"),
        username="u",
        password=Secret(" pw "),  # passwords are kept verbatim
    )
    assert "tok-123" not in repr(config)


def test_api_base_url_is_trimmed() -> None:
    config = read({"host": HOST, "apiBaseUrl": f"https://{HOST}/bitbucket/rest/api/1.0//"})
    assert config.api_base_url == f"https://{HOST}/bitbucket/rest/api/1.0"


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({}, "host", "Missing required"),
        ({"host": "https://bitbucket.company.com"}, "host", "not a valid host"),
        ({"host": "Bitbucket.Company.com"}, "host", "not a valid host"),
        ({"host": HOST, "apiBaseUrl": "rest/api/1.0"}, "apiBaseUrl", "not a valid URL"),
    ],
)
def test_invalid_config(data: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(data)
    assert info.value.key_path == key


def test_no_default_host() -> None:
    assert read_bitbucket_server_integration_configs(None) == []
    assert read_bitbucket_server_integration_configs([]) == []
    assert [
        c.host for c in read_bitbucket_server_integration_configs([Config({"host": HOST})])
    ] == [HOST]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://{HOST}/projects/PROJ/repos/repo/browse/docs/index.md?at=main",
            f"{API}/projects/PROJ/repos/repo/raw/docs/index.md?at=main",
        ),
        (
            f"https://{HOST}/projects/PROJ/repos/repo/browse/catalog-info.yaml?at=refs%2Fheads%2Ffeat%26x",
            f"{API}/projects/PROJ/repos/repo/raw/catalog-info.yaml?at=refs%2Fheads%2Ffeat%26x",
        ),
        (
            f"https://{HOST}/projectname/reponame/src/main/file.yaml",
            f"{API}/projects/projectname/repos/reponame/raw/file.yaml?at=main",
        ),
        (
            f"https://{HOST}/projects/PROJ/repos/repo/browse/a.yaml",
            f"{API}/projects/PROJ/repos/repo/raw/a.yaml?at=",
        ),
        (
            f"https://{HOST}/projects/PROJ/repos/repo/raw/my%20dir/a.yaml?at=refs/heads/main",
            f"{API}/projects/PROJ/repos/repo/raw/my%20dir/a.yaml?at=refs%2Fheads%2Fmain",
        ),
    ],
)
def test_file_fetch_url(url: str, expected: str) -> None:
    assert get_bitbucket_server_file_fetch_url(url, CONFIG) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            f"https://{HOST}/projects/PROJ/repos/repo/commits?at=main",
            "not a Bitbucket Server file URL",
        ),
        (f"https://{HOST}/projects/PROJ/repos/repo/browse/%2e%2e/x?at=main", "traversal"),
        (f"https://{HOST}/", "project and repository"),
    ],
)
def test_file_fetch_url_errors(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        get_bitbucket_server_file_fetch_url(url, CONFIG)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://{HOST}/projects/PROJ/repos/repo/browse/docs?at=main",
            f"{API}/projects/PROJ/repos/repo/archive?format=tgz&at=main&prefix=PROJ-repo&path=docs",
        ),
        (
            f"https://{HOST}/projects/PROJ/repos/repo/browse/my%20docs/x.md?at=refs%2Fheads%2Fa%2Bb",
            f"{API}/projects/PROJ/repos/repo/archive?format=tgz&at=refs%2Fheads%2Fa%2Bb&prefix=PROJ-repo&path=my+docs%2Fx.md",
        ),
        (
            f"https://{HOST}/projects/PROJ/repos/repo/browse?at=main",
            f"{API}/projects/PROJ/repos/repo/archive?format=tgz&at=main&prefix=PROJ-repo",
        ),
    ],
)
def test_download_url(url: str, expected: str) -> None:
    assert get_bitbucket_server_download_url(url, CONFIG) == expected


def test_download_url_asks_for_the_default_branch_only_when_needed() -> None:
    url = f"https://{HOST}/projects/PROJ/repos/repo/browse/docs"
    assert get_bitbucket_server_download_url(url, CONFIG, lambda: "develop") == (
        f"{API}/projects/PROJ/repos/repo/archive?format=tgz&at=develop&prefix=PROJ-repo&path=docs"
    )
    with pytest.raises(InvalidUrlError, match="names no branch"):
        get_bitbucket_server_download_url(url, CONFIG)


def test_download_url_ref_override_wins_over_the_url_and_the_default() -> None:
    url = f"https://{HOST}/projects/PROJ/repos/repo/browse/docs?at=main"
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert get_bitbucket_server_download_url(url, CONFIG, lambda: "develop", ref=sha) == (
        f"{API}/projects/PROJ/repos/repo/archive?format=tgz&at={sha}&prefix=PROJ-repo&path=docs"
    )


def test_default_branch_urls_and_answer() -> None:
    url = f"https://{HOST}/projects/PROJ/repos/repo/browse/a.yaml"
    assert get_bitbucket_server_default_branch_urls(url, CONFIG) == (
        f"{API}/projects/PROJ/repos/repo/default-branch",
        f"{API}/projects/PROJ/repos/repo/branches/default",
    )
    assert (
        read_bitbucket_server_default_branch({"id": "refs/heads/main", "displayId": "main"}, url)
        == "main"
    )
    with pytest.raises(UpstreamError, match="default"):
        read_bitbucket_server_default_branch({"id": "refs/heads/main"}, url)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            BitbucketServerIntegrationConfig(
                HOST, API, token=Secret("t"), username="u", password=Secret("p")
            ),
            "Bearer t",
        ),
        (
            BitbucketServerIntegrationConfig(HOST, API, username="u", password=Secret("p")),
            "Basic dTpw",
        ),
        (BitbucketServerIntegrationConfig(HOST, API, username="u"), None),
        (BitbucketServerIntegrationConfig(HOST, API, password=Secret("p")), None),
        (CONFIG, None),
    ],
)
def test_request_options(config: BitbucketServerIntegrationConfig, expected: str | None) -> None:
    headers = get_bitbucket_server_request_options(config)["headers"]
    assert headers == ({"Authorization": expected} if expected else {})


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        (
            "./b.yaml",
            f"https://{HOST}/projects/P/repos/r/browse/a/c.yaml?at=main",
            42,
            f"https://{HOST}/projects/P/repos/r/browse/a/b.yaml?at=main#42",
        ),
        (
            "/b.yaml",
            f"https://{HOST}/projects/P/repos/r/browse/a/c.yaml?at=main",
            None,
            f"https://{HOST}/projects/P/repos/r/browse/b.yaml?at=main",
        ),
    ],
)
def test_resolve_url(url: str, base: str, line: int | None, expected: str) -> None:
    integration = BitbucketServerIntegration(CONFIG)
    assert integration.resolve_url(url=url, base=base, line_number=line) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"https://{HOST}/projects/P/repos/r/browse/a.yaml?at=main",
            f"https://{HOST}/projects/P/repos/r/browse/a.yaml",
        ),
        (
            f"https://{HOST}/projects/P/repos/r/browse/a.yaml",
            f"https://{HOST}/projects/P/repos/r/browse/a.yaml",
        ),
    ],
)
def test_resolve_edit_url_drops_the_query(url: str, expected: str) -> None:
    assert BitbucketServerIntegration(CONFIG).resolve_edit_url(url) == expected


def test_registry_hook() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("bitbucketServer", 60)
    registry = ScmIntegrations.from_config({"integrations": {"bitbucketServer": [{"host": HOST}]}})
    found = registry.by_url(f"https://{HOST}/projects/P/repos/r/browse/a.yaml")
    assert isinstance(found, BitbucketServerIntegration)
    assert ScmIntegrations.from_config({}).group("bitbucketServer").list() == []
