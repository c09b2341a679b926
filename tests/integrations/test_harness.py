"""Harness Code integration: config rules, URL parsing and builders, auth headers."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.harness import (
    INTEGRATION,
    HarnessIntegration,
    HarnessIntegrationConfig,
    HarnessUrl,
    get_harness_archive_url,
    get_harness_edit_contents_url,
    get_harness_file_contents_url,
    get_harness_latest_commit_url,
    get_harness_repo_api_url,
    get_harness_request_options,
    parse_harness_url,
    read_harness_config,
    read_harness_integration_config,
    read_harness_integration_configs,
)
from scmreader.redact import Secret

CONFIG = HarnessIntegrationConfig(host="app.harness.io")
BASE = "https://app.harness.io/ng/account/acc1/module/code"
FULL = f"{BASE}/orgs/org1/projects/proj1/repos/repo1/files/main/~/docs/catalog.yaml"
API = "https://app.harness.io/gateway/code/api/v1/repos"


def read(data: dict[str, Any]) -> HarnessIntegrationConfig:
    return read_harness_integration_config(Config(data))


def test_config_keeps_tokens_verbatim_and_hidden() -> None:
    config = read({"host": "app.harness.io", "token": " pat.x ", "apiKey": "key-123"})
    assert config == HarnessIntegrationConfig(
        "app.harness.io", Secret(" pat.x "), Secret("key-123")
    )
    assert "key-123" not in repr(config)
    assert read_harness_config is read_harness_integration_config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Missing required"),
        ({"host": "https://app.harness.io"}, "Harness Code integration config.*not a valid host"),
    ],
)
def test_invalid_host(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(data)
    assert info.value.key_path == "host"


def test_no_default_host() -> None:
    assert read_harness_integration_configs(None) == []
    assert ScmIntegrations.from_config({}).group("harness").list() == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            FULL,
            HarnessUrl(
                "https://app.harness.io",
                "acc1",
                "org1",
                "proj1",
                "repo1",
                "main",
                "docs/catalog.yaml",
                "main",
                "main",
            ),
        ),
        (
            f"{BASE}/repos/repo1/files/feature/x/~/a.yaml",
            HarnessUrl(
                "https://app.harness.io",
                "acc1",
                "",
                "",
                "repo1",
                "feature/x",
                "a.yaml",
                "feature-x",
                "feature/x",
            ),
        ),
        (
            f"{BASE}/orgs/org1/repos/repo1/edit/main/~/my%20dir/a.yaml",
            HarnessUrl(
                "https://app.harness.io",
                "acc1",
                "org1",
                "",
                "repo1",
                "main",
                "my dir/a.yaml",
                "main",
                "main",
            ),
        ),
        (
            f"{BASE}/orgs/org1/projects/proj1/repos/repo1/files/release/2",
            HarnessUrl(
                "https://app.harness.io",
                "acc1",
                "org1",
                "proj1",
                "repo1",
                "release/2",
                "",
                "release-2",
                "release/2",
            ),
        ),
        (
            f"{BASE}/orgs/repos/repos/repo1/files/main/~/a",
            HarnessUrl(
                "https://app.harness.io", "acc1", "repos", "", "repo1", "main", "a", "main", "main"
            ),
        ),
    ],
)
def test_parse_url(url: str, expected: HarnessUrl) -> None:
    assert parse_harness_url(CONFIG, url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://app.harness.io/ng/module/code/repos/r/files/main/~/a",
            "not a Harness Code repository URL",
        ),
        (f"{BASE}/orgs/o/projects/p", "not a Harness Code repository URL"),
        (f"{BASE}/repos/r/files/main/~/%2e%2e/x", "traversal"),
    ],
)
def test_parse_url_errors(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        parse_harness_url(CONFIG, url)


def test_api_urls() -> None:
    assert get_harness_file_contents_url(CONFIG, FULL) == (
        f"{API}/acc1/org1/proj1/repo1/+/raw/docs/catalog.yaml?routingId=acc1&git_ref=refs/heads/main"
    )
    assert (
        get_harness_archive_url(CONFIG, FULL)
        == f"{API}/acc1/org1/proj1/repo1/+/archive/main.zip?routingId=acc1"
    )
    assert get_harness_latest_commit_url(CONFIG, FULL) == (
        f"{API}/acc1/org1/proj1/repo1/+/content?routingId=acc1&include_commit=true&git_ref=refs/heads/main"
    )
    no_org = f"{BASE}/repos/repo1/files/feature/x/~/a.yaml"
    assert get_harness_file_contents_url(CONFIG, no_org) == (
        f"{API}/acc1/repo1/+/raw/a.yaml?routingId=acc1&git_ref=refs/heads/feature/x"
    )
    with pytest.raises(InvalidUrlError, match="names no branch"):
        get_harness_archive_url(CONFIG, f"{BASE}/repos/repo1")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (FULL, f"{API}/acc1/org1/proj1/repo1"),
        (f"{BASE}/orgs/org1/repos/r%20x/files/main", f"{API}/acc1/org1/r%20x"),
        (f"{BASE}/repos/repo1", f"{API}/acc1/repo1"),
        ("http://app.harness.io/ng/account/a/module/code/repos/r/files/m", f"{API}/a/r"),
    ],
)
def test_repo_api_url(url: str, expected: str) -> None:
    assert get_harness_repo_api_url(CONFIG, url) == expected


def test_edit_url_is_the_normalized_view_url() -> None:
    edit = f"{BASE}/orgs/org1/projects/proj1/repos/repo1/edit/main/~/docs/catalog.yaml"
    assert get_harness_edit_contents_url(CONFIG, edit) == FULL
    assert HarnessIntegration(CONFIG).resolve_edit_url(FULL) == FULL
    assert (
        get_harness_edit_contents_url(CONFIG, f"{BASE}/repos/r/files/b/~/x")
        == f"{BASE}/repos/r/files/b/~/x"
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (HarnessIntegrationConfig("h", token=Secret("t"), api_key=Secret("k")), {"x-api-key": "k"}),
        (HarnessIntegrationConfig("h", token=Secret("t")), {"Authorization": "Bearer t"}),
        (CONFIG, {}),
    ],
)
def test_request_options(config: HarnessIntegrationConfig, expected: dict[str, str]) -> None:
    assert get_harness_request_options(config) == {"headers": expected}


def test_registry_hook() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("harness", 120)
    registry = ScmIntegrations.from_config(
        {"integrations": {"harness": [{"host": "app.harness.io"}]}}
    )
    found = registry.by_url(FULL)
    assert isinstance(found, HarnessIntegration)
    assert found.resolve_url(url="b.yaml", base=FULL, line_number=3) == (
        f"{BASE}/orgs/org1/projects/proj1/repos/repo1/files/main/~/docs/b.yaml#L3"
    )
