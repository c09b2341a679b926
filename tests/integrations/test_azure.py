"""Azure DevOps integration: config and credential rules, AzureUrl, URL builders."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.azure import (
    INTEGRATION,
    AzureDevOpsCredential,
    AzureIntegration,
    AzureIntegrationConfig,
    AzureUrl,
    get_azure_commits_url,
    get_azure_download_url,
    get_azure_file_fetch_url,
    is_visual_studio_domain,
    read_azure_integration_config,
    read_azure_integration_configs,
)
from scmreader.redact import Secret

PAT = {"personalAccessToken": " pat-1234 "}
SECRET = {"clientId": "cid", "clientSecret": " csec-5678 ", "tenantId": "tid"}


def read(data: dict[str, Any]) -> AzureIntegrationConfig:
    return read_azure_integration_config(Config(data))


def test_defaults() -> None:
    assert read({}) == AzureIntegrationConfig(host="dev.azure.com", credentials=None)
    assert read({"host": "tfs.example.com:8080"}).host == "tfs.example.com:8080"


@pytest.mark.parametrize(
    ("credential", "expected"),
    [
        (
            PAT,
            AzureDevOpsCredential("PersonalAccessToken", personal_access_token=Secret("pat-1234")),
        ),
        (
            SECRET,
            AzureDevOpsCredential(
                "ClientSecret", client_id="cid", client_secret=Secret("csec-5678"), tenant_id="tid"
            ),
        ),
        (
            {
                "clientId": "cid",
                "tenantId": "tid",
                "clientCertificate": "-----BEGIN\nX\n-----END\n",
            },
            AzureDevOpsCredential(
                "ClientCertificate",
                client_id="cid",
                tenant_id="tid",
                client_certificate=Secret("-----BEGIN\nX\n-----END"),
            ),
        ),
        (
            {"clientId": "cid", "tenantId": "tid", "clientCertificatePath": " /etc/c.pem "},
            AzureDevOpsCredential(
                "ClientCertificate",
                client_id="cid",
                tenant_id="tid",
                client_certificate_path="/etc/c.pem",
            ),
        ),
        (
            {"clientId": "system-assigned"},
            AzureDevOpsCredential("ManagedIdentity", client_id="system-assigned"),
        ),
        (
            {
                "clientId": "cid",
                "managedIdentityClientId": "mid",
                "tenantId": "tid",
                "organizations": ["o1"],
            },
            AzureDevOpsCredential(
                "ManagedIdentityClientAssertion",
                organizations=("o1",),
                client_id="cid",
                managed_identity_client_id="mid",
                tenant_id="tid",
            ),
        ),
    ],
)
def test_credential_kind_is_inferred(
    credential: dict[str, Any], expected: AzureDevOpsCredential
) -> None:
    config = read({"credentials": [credential]})
    assert config.credentials == (expected,)
    assert "pat-1234" not in repr(config) and "csec-5678" not in repr(config)


@pytest.mark.parametrize(
    ("credentials", "messages"),
    [
        (
            [{"clientId": "cid", "tenantId": "tid"}],
            ["credential at position 1 is not a valid credential"],
        ),
        ([PAT, {**PAT, **SECRET}], ["credential at position 2 is not a valid credential"]),
        (
            [
                {**PAT, "organizations": ["a", "b"]},
                {**PAT, "organizations": ["b"]},
                {**PAT, "organizations": ["b"]},
            ],
            ["organization b is specified multiple times in credentials at positions 1, 2 and 3"],
        ),
        (
            [
                {"tenantId": "t"},
                {**PAT, "organizations": ["x"]},
                {**SECRET, "organizations": ["x"]},
            ],
            [
                "credential at position 1 is not a valid credential",
                "organization x is specified multiple times in credentials at positions 2 and 3",
            ],
        ),
    ],
)
def test_credential_errors_are_collected(
    credentials: list[dict[str, Any]], messages: list[str]
) -> None:
    with pytest.raises(ConfigError) as info:
        read({"credentials": credentials})
    text = str(info.value)
    assert info.value.key_path == "credentials"
    assert "Invalid Azure integration config for dev.azure.com: " + "; ".join(messages) in text
    assert "personalAccessToken" in text  # says what a valid credential looks like
    assert "pat-1234" not in text and "csec-5678" not in text


def test_only_pats_off_dev_azure_com() -> None:
    with pytest.raises(ConfigError, match="only personal access tokens") as info:
        read({"host": "org.visualstudio.com", "credentials": [SECRET]})
    assert "org.visualstudio.com" in str(info.value)
    read({"host": "tfs.example.com", "credentials": [PAT]})


def test_one_credential_without_organizations_at_most() -> None:
    with pytest.raises(ConfigError, match="more than one credential has no organizations"):
        read({"credentials": [PAT, SECRET]})
    config = read({"credentials": [PAT, {**SECRET, "organizations": ["o"]}]})
    assert [c.kind for c in config.credentials or ()] == ["PersonalAccessToken", "ClientSecret"]


@pytest.mark.parametrize("key", ["token", "credential"])
def test_removed_keys_are_an_error_that_never_echoes_the_value(key: str) -> None:
    value: Any = "old-secret-token" if key == "token" else {"token": "old-secret-token"}
    with pytest.raises(ConfigError, match="removed") as info:
        read({key: value})
    assert info.value.key_path == key
    assert "old-secret-token" not in str(info.value)
    assert "credentials" in str(info.value)


def test_invalid_host() -> None:
    with pytest.raises(ConfigError, match="not a valid host") as info:
        read({"host": "https://dev.azure.com"})
    assert info.value.key_path == "host"


@pytest.mark.parametrize(
    ("entries", "hosts"),
    [
        (None, ["dev.azure.com"]),
        ([{"host": "dev.azure.com", "credentials": [PAT]}], ["dev.azure.com"]),
        ([{"host": "tfs.example.com"}], ["tfs.example.com", "dev.azure.com"]),
    ],
)
def test_dev_azure_com_is_added_unless_configured(
    entries: list[dict[str, Any]] | None, hosts: list[str]
) -> None:
    configs = read_azure_integration_configs(
        None if entries is None else [Config(e) for e in entries]
    )
    assert [c.host for c in configs] == hosts


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        (
            "https://dev.azure.com/org/project/_git/repo?path=%2Ffolder%2Fcatalog-info.yaml&version=GBmain",
            ("org", "project", "repo", "/folder/catalog-info.yaml", "main", "branch"),
        ),
        ("https://dev.azure.com/org/_git/repo", ("org", "repo", "repo", None, None, None)),
        (
            "https://org.visualstudio.com/project/_git/repo?version=GTv1",
            ("org", "project", "repo", None, "v1", "tag"),
        ),
        (
            "https://tfs.example.com/tfs/coll/proj/_git/r%20x",
            ("tfs/coll", "proj", "r x", None, None, None),
        ),
    ],
)
def test_azure_url_parts(url: str, parts: tuple[Any, ...]) -> None:
    azure = AzureUrl.from_repo_url(url)
    assert (azure.owner, azure.project, azure.repo, azure.path, azure.ref, azure.ref_type) == parts


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://dev.azure.com/org/project", "git repository"),
        ("https://dev.azure.com/org/project/_wiki/x", "git repository"),
        ("https://dev.azure.com/org/p/_git/r?version=GCabc123", "branch or tag"),
        ("https://dev.azure.com/org/p/_git/r?path=/a/../../b", "traversal"),
    ],
)
def test_azure_url_errors(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        AzureUrl.from_repo_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://dev.azure.com/org/project/_git/repo?path=%2Ffolder%2Fcatalog-info.yaml&version=GBmain&_a=contents",
            "https://dev.azure.com/org/project/_apis/git/repositories/repo/items?api-version=6.0&path=%2Ffolder%2Fcatalog-info.yaml&versionDescriptor.version=main&versionDescriptor.versionType=branch",
        ),
        (
            "https://dev.azure.com/org/_git/repo?path=/a.yaml&version=GTv1.0",
            "https://dev.azure.com/org/repo/_apis/git/repositories/repo/items?api-version=6.0&path=%2Fa.yaml&versionDescriptor.version=v1.0&versionDescriptor.versionType=tag",
        ),
        (
            "https://org.visualstudio.com/project/_git/repo?path=/docs&version=GBfeature/x",
            "https://org.visualstudio.com/project/_apis/git/repositories/repo/items?api-version=6.0&path=%2Fdocs&versionDescriptor.version=feature%2Fx&versionDescriptor.versionType=branch",
        ),
        (
            "https://tfs.example.com/tfs/coll/proj/_git/repo?path=/a.yaml",
            "https://tfs.example.com/tfs/coll/proj/_apis/git/repositories/repo/items?api-version=6.0&path=%2Fa.yaml",
        ),
    ],
)
def test_file_fetch_url(url: str, expected: str) -> None:
    assert get_azure_file_fetch_url(url) == expected


def test_file_fetch_url_needs_a_path() -> None:
    with pytest.raises(InvalidUrlError, match="path"):
        get_azure_file_fetch_url("https://dev.azure.com/org/project/_git/repo?version=GBmain")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://dev.azure.com/org/project/_git/repo",
            "https://dev.azure.com/org/project/_apis/git/repositories/repo/items?recursionLevel=full&download=true&api-version=6.0",
        ),
        (
            "https://dev.azure.com/org/project/_git/repo?path=/catalog-info.yaml",
            "https://dev.azure.com/org/project/_apis/git/repositories/repo/items?recursionLevel=full&download=true&api-version=6.0&scopePath=%2Fcatalog-info.yaml",
        ),
        (
            "https://dev.azure.com/org/project/_git/repo?path=/docs&version=GBdev",
            "https://dev.azure.com/org/project/_apis/git/repositories/repo/items?recursionLevel=full&download=true&api-version=6.0&scopePath=%2Fdocs&versionDescriptor.version=dev&versionDescriptor.versionType=branch",
        ),
    ],
)
def test_download_url(url: str, expected: str) -> None:
    assert get_azure_download_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://dev.azure.com/org/project/_git/repo?path=/a.yaml&version=GBmain",
            "https://dev.azure.com/org/project/_apis/git/repositories/repo/commits?api-version=6.0&searchCriteria.itemVersion.version=main&searchCriteria.itemVersion.versionType=branch",
        ),
        (
            "https://dev.azure.com/org/project/_git/repo",
            "https://dev.azure.com/org/project/_apis/git/repositories/repo/commits?api-version=6.0",
        ),
    ],
)
def test_commits_url(url: str, expected: str) -> None:
    assert get_azure_commits_url(url) == expected


def test_repo_url_round_trip() -> None:
    for url in [
        "https://dev.azure.com/org/project/_git/repo?path=%2Fa.yaml&version=GBmain",
        "https://dev.azure.com/org/_git/repo?version=GTv1",
        "https://org.visualstudio.com/project/_git/repo",
    ]:
        assert AzureUrl.from_repo_url(url).to_repo_url() == url


def test_visual_studio_domain() -> None:
    assert is_visual_studio_domain("https://org.visualstudio.com")
    assert not is_visual_studio_domain("https://dev.azure.com")


BASE = (
    "https://dev.azure.com/org/project/_git/repo?path=%2Ffolder%2Fcatalog-info.yaml&version=GBmain"
)


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        (
            "./docs/index.md",
            BASE,
            None,
            "https://dev.azure.com/org/project/_git/repo?path=%2Ffolder%2Fdocs%2Findex.md&version=GBmain",
        ),
        (
            "/README.md",
            BASE,
            7,
            "https://dev.azure.com/org/project/_git/repo?path=%2FREADME.md&version=GBmain&line=7&lineEnd=8&lineStartColumn=1&lineEndColumn=1",
        ),
        (
            "../my doc.md",
            BASE,
            None,
            "https://dev.azure.com/org/project/_git/repo?path=%2Fmy+doc.md&version=GBmain",
        ),
        (
            "x",
            "https://dev.azure.com/org/project/_wiki/a",
            None,
            "https://dev.azure.com/org/project/_wiki/x",
        ),
        ("https://other.example/x", BASE, 3, "https://other.example/x"),
    ],
)
def test_resolve_url(url: str, base: str, line: int | None, expected: str) -> None:
    assert (
        AzureIntegration(AzureIntegrationConfig()).resolve_url(url=url, base=base, line_number=line)
        == expected
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://dev.azure.com/org/project/_git/repo?path=%2Fa.yaml&version=GBmain&_a=contents",
            "https://dev.azure.com/org/project/_git/repo?path=%2Fa.yaml&version=GBmain&_a=edit",
        ),
        (
            "https://dev.azure.com/org/project/_git/repo?path=/a.yaml",
            "https://dev.azure.com/org/project/_git/repo?path=%2Fa.yaml&_a=edit",
        ),
        (
            "https://dev.azure.com/org/project/_git/repo?path=/",
            "https://dev.azure.com/org/project/_git/repo?path=/",
        ),
        (
            "https://dev.azure.com/org/project/_git/repo",
            "https://dev.azure.com/org/project/_git/repo",
        ),
        ("https://dev.azure.com/org/project/_wiki/a", "https://dev.azure.com/org/project/_wiki/a"),
    ],
)
def test_resolve_edit_url(url: str, expected: str) -> None:
    assert AzureIntegration(AzureIntegrationConfig()).resolve_edit_url(url) == expected


def test_registry_hook() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("azure", 40)
    registry = ScmIntegrations.from_config(
        {"integrations": {"azure": [{"host": "tfs.example.com", "credentials": [PAT]}]}}
    )
    assert [i.title for i in registry.group("azure").list()] == ["tfs.example.com", "dev.azure.com"]
    assert isinstance(registry.by_url("https://dev.azure.com/o/p/_git/r"), AzureIntegration)


_NAME = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp", "Cf"), blacklist_characters="/"
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", "..", "_git"))


@given(org=_NAME, project=_NAME, repo=_NAME, path=_NAME, ref=_NAME)
def test_any_names_survive_a_round_trip(
    org: str, project: str, repo: str, path: str, ref: str
) -> None:
    original = AzureUrl("https://dev.azure.com", org, project, repo, f"/{path}", ref, "branch")
    assert AzureUrl.from_repo_url(original.to_repo_url()) == original
