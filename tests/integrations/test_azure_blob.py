"""Azure Blob Storage integration: config rules, default host, URL parsing."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.azure_blob import (
    INTEGRATION,
    AzureBlobStorageAadCredential,
    AzureBlobStorageIntegration,
    AzureBlobStorageIntegrationConfig,
    AzureBlobStorageUrl,
    is_path_style_endpoint,
    parse_azure_blob_storage_url,
    read_azure_blob_storage_integration_config,
    read_azure_blob_storage_integration_configs,
)
from scmreader.redact import Secret


def read(data: dict[str, Any]) -> AzureBlobStorageIntegrationConfig:
    return read_azure_blob_storage_integration_config(Config(data))


def test_full_entry_is_trimmed_and_hidden() -> None:
    config = read(
        {
            "accountName": "acct",
            "accountKey": " key-abc= ",
            "connectionString": " DefaultEndpointsProtocol=https;AccountName=acct ",
            "endpointSuffix": " core.usgovcloudapi.net ",
        }
    )
    assert config == AzureBlobStorageIntegrationConfig(
        host="blob.core.windows.net",
        account_name="acct",
        account_key=Secret("key-abc="),
        connection_string=Secret("DefaultEndpointsProtocol=https;AccountName=acct"),
        endpoint_suffix="core.usgovcloudapi.net",
    )
    assert "key-abc" not in repr(config) and "AccountName" not in repr(config)


def test_aad_credential() -> None:
    config = read(
        {
            "accountName": "a",
            "aadCredential": {"clientId": "c", "tenantId": "t", "clientSecret": " s3cret "},
        }
    )
    assert config.aad_credential == AzureBlobStorageAadCredential("c", "t", Secret("s3cret"))
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("endpoint", "host"),
    [
        ("https://acct.blob.core.windows.net", "acct.blob.core.windows.net"),
        ("http://127.0.0.1:10000/", "127.0.0.1:10000"),
    ],
)
def test_endpoint_gives_the_host(endpoint: str, host: str) -> None:
    config = read({"accountName": "acct", "endpoint": endpoint})
    assert (config.host, config.endpoint) == (host, endpoint)


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({}, "accountName", "Missing required"),
        ({"accountName": "a", "endpoint": "invalid-url"}, "endpoint", "not a valid URL"),
        (
            {"accountName": "a", "endpoint": "https://blob.core.windows.net/path"},
            "endpoint",
            "cannot contain a path",
        ),
        (
            {"accountName": "mine", "accountKey": "k1", "sasToken": "s1"},
            "sasToken",
            "for mine.*cannot be used together",
        ),
        (
            {
                "accountName": "mine",
                "accountKey": "k1",
                "aadCredential": {"clientId": "c", "tenantId": "t", "clientSecret": "s"},
            },
            "aadCredential",
            "for mine.*cannot be combined",
        ),
        (
            {"accountName": "a", "aadCredential": {"clientId": "c", "tenantId": "t"}},
            "aadCredential.clientSecret",
            "Missing required",
        ),
        (
            {"accountName": "a", "aadCredential": {"tenantId": "t", "clientSecret": "s"}},
            "aadCredential.clientId",
            "Missing required",
        ),
    ],
)
def test_invalid_config(data: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(data)
    assert info.value.key_path == key


@pytest.mark.parametrize(
    ("entries", "hosts"),
    [
        (None, ["blob.core.windows.net"]),
        ([{"accountName": "a"}], ["blob.core.windows.net"]),
        (
            [{"accountName": "a", "endpoint": "http://127.0.0.1:10000"}],
            ["127.0.0.1:10000", "blob.core.windows.net"],
        ),
    ],
)
def test_default_host_is_added_unless_configured(
    entries: list[dict[str, Any]] | None, hosts: list[str]
) -> None:
    configs = read_azure_blob_storage_integration_configs(
        None if entries is None else [Config(e) for e in entries]
    )
    assert [c.host for c in configs] == hosts
    if entries is None:
        assert configs[0].account_name is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://acct.blob.core.windows.net/container/dir/a.yaml",
            AzureBlobStorageUrl("container", "dir/a.yaml"),
        ),
        ("https://acct.blob.core.windows.net/container", AzureBlobStorageUrl("container", "")),
        (
            "https://acct.blob.core.windows.net/c%20x/my%20file.md",
            AzureBlobStorageUrl("c x", "my file.md"),
        ),
    ],
)
def test_parse_url(url: str, expected: AzureBlobStorageUrl) -> None:
    assert parse_azure_blob_storage_url(url) == expected


def test_parse_url_needs_a_container() -> None:
    with pytest.raises(InvalidUrlError, match="container"):
        parse_azure_blob_storage_url("https://acct.blob.core.windows.net/")


def test_integration_and_exact_host_matching() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("azureBlobStorage", 30)
    registry = ScmIntegrations.from_config(
        {
            "integrations": {
                "azureBlobStorage": [
                    {"accountName": "acct", "endpoint": "https://acct.blob.core.windows.net"}
                ]
            }
        }
    )
    found = registry.by_url("https://acct.blob.core.windows.net/c/a.yaml")
    assert isinstance(found, AzureBlobStorageIntegration) and found.config.account_name == "acct"
    # as in Backstage, the default entry's host matches only that exact host
    assert ScmIntegrations.from_config({}).by_url("https://other.blob.core.windows.net/c/a") is None
    integration = AzureBlobStorageIntegration(AzureBlobStorageIntegrationConfig())
    assert (
        integration.resolve_edit_url("https://blob.core.windows.net/c/a")
        == "https://blob.core.windows.net/c/a"
    )
    assert integration.resolve_url(
        url="b.yaml", base="https://blob.core.windows.net/c/a.yaml", line_number=2
    ) == ("https://blob.core.windows.net/c/b.yaml#L2")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:10000/acct/ctr/docs/a.yaml", AzureBlobStorageUrl("ctr", "docs/a.yaml")),
        ("http://127.0.0.1:10000/acct/ctr", AzureBlobStorageUrl("ctr", "")),
        ("http://localhost:10000/acct/ctr/my%20file.md", AzureBlobStorageUrl("ctr", "my file.md")),
    ],
)
def test_path_style_url(url: str, expected: AzureBlobStorageUrl) -> None:
    assert parse_azure_blob_storage_url(url, account_in_path="acct") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:10000/other/ctr/a.yaml",
        "http://127.0.0.1:10000/acct",
        "http://127.0.0.1:10000/",
    ],
)
def test_path_style_url_errors(url: str) -> None:
    with pytest.raises(InvalidUrlError):
        parse_azure_blob_storage_url(url, account_in_path="acct")


@pytest.mark.parametrize(
    ("endpoint", "path_style"),
    [
        (None, False),
        ("http://127.0.0.1:10000", True),
        ("http://127.0.0.2:10000", True),
        ("http://[::1]:10000", True),
        ("http://localhost:10000", True),
        ("http://azurite.localhost:10000", True),
        ("https://acct.blob.core.windows.net", False),
        ("https://localhost.example.com", False),
    ],
)
def test_is_path_style_endpoint(endpoint: str | None, path_style: bool) -> None:
    config = AzureBlobStorageIntegrationConfig(account_name="acct", endpoint=endpoint)
    assert is_path_style_endpoint(config) is path_style
