"""GitHub integration: config reading, URL helpers and the registry (integration spec §2)."""

from __future__ import annotations

import importlib
import string
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.config import load_config
from scmreader.errors import ConfigError, InputError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.github import (
    INTEGRATION,
    GithubCredentials,
    GithubIntegration,
    GithubIntegrationConfig,
    get_github_file_fetch_url,
    parse_rate_limit_info,
    read_github_integration_config,
    read_github_integration_configs,
    replace_github_url_type,
)
from scmreader.integrations.github.core import GITHUB_PATH_KEEP
from scmreader.redact import redact
from scmreader.urls import encode_path

GITHUB_COM = GithubIntegrationConfig(
    host="github.com",
    api_base_url="https://api.github.com",
    raw_base_url="https://raw.githubusercontent.com",
)
TOKEN = GithubCredentials("token", "ghp_abcdefgh12345678")
ANONYMOUS = GithubCredentials("token", None)


def entry(data: dict[str, Any]) -> Any:
    return load_config({"integrations": {"github": [data]}}).get_config_array(
        "integrations.github"
    )[0]


def read(data: dict[str, Any]) -> GithubIntegrationConfig:
    return read_github_integration_config(entry(data))


# --- config --------------------------------------------------------------------------


def test_empty_config_has_only_the_github_com_default() -> None:
    assert read_github_integration_configs(None) == [GITHUB_COM]
    assert read_github_integration_configs([]) == [GITHUB_COM]


def test_enterprise_host_is_trimmed_and_github_com_is_appended() -> None:
    configs = read_github_integration_configs(
        [
            entry(
                {
                    "host": "ghe.example.net",
                    "apiBaseUrl": "https://ghe.example.net/api/v3/",
                    "rawBaseUrl": "https://ghe.example.net/raw//",
                    "token": " t0ken-value \n",
                }
            )
        ]
    )
    ghe, default = configs
    assert ghe.host == "ghe.example.net"
    assert ghe.api_base_url == "https://ghe.example.net/api/v3"
    assert ghe.raw_base_url == "https://ghe.example.net/raw"
    assert ghe.token == "t0ken-value"
    assert default == GITHUB_COM


def test_configured_github_com_replaces_the_default_and_keeps_its_urls() -> None:
    configs = read_github_integration_configs([entry({"host": "github.com", "token": "abcd1234"})])
    assert len(configs) == 1
    assert configs[0].api_base_url == "https://api.github.com"
    assert configs[0].raw_base_url == "https://raw.githubusercontent.com"
    assert configs[0].token == "abcd1234"


def test_host_defaults_to_github_com() -> None:
    assert read({"token": "abcd1234"}).host == "github.com"


def test_enterprise_host_without_urls_is_allowed() -> None:
    config = read({"host": "ghe.example.net"})
    assert (config.api_base_url, config.raw_base_url, config.token) == (None, None, None)


@pytest.mark.parametrize("host", ["a/b", "https://ghe.example.net", "GHE.example.net", "ghe x"])
def test_invalid_host_names_the_key(host: str) -> None:
    with pytest.raises(ConfigError) as info:
        read({"host": host})
    assert info.value.key_path == "integrations.github[0].host"
    assert "not a valid host" in str(info.value)


def test_host_with_port_is_valid() -> None:
    assert read({"host": "ghe.example.net:8443"}).host == "ghe.example.net:8443"


def test_invalid_api_base_url_names_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        read({"host": "ghe.example.net", "apiBaseUrl": "not a url"})
    assert info.value.key_path == "integrations.github[0].apiBaseUrl"


def test_token_with_line_break_inside_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        read({"token": "abc\ndef-secret"})
    assert "def-secret" not in str(info.value)
    assert info.value.key_path == "integrations.github[0].token"


PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\\n"
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\\n"
    "-----END RSA PRIVATE KEY-----"
)


def app(**extra: Any) -> dict[str, Any]:
    return {
        "appId": "123",
        "clientId": "Iv1.abc",
        "clientSecret": " client-secret-value ",
        "privateKey": PEM,
        **extra,
    }


def test_apps_are_read_with_numeric_ids_lowercased_owners_and_real_newlines() -> None:
    config = read(
        {
            "apps": [
                app(allowedInstallationOwners=["Backstage", "SPOTIFY"], publicAccess=True),
                app(appId=456, webhookSecret="hook-secret-value"),
            ]
        }
    )
    first, second = config.apps
    assert first.app_id == 123
    assert first.client_secret == "client-secret-value"
    assert first.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----\nMIIBOg")
    assert "\\n" not in first.private_key
    assert first.allowed_installation_owners == ("backstage", "spotify")
    assert first.public_access is True
    assert second.app_id == 456
    assert second.allowed_installation_owners is None
    assert second.public_access is False
    assert second.webhook_secret == "hook-secret-value"


def test_private_key_is_registered_for_redaction_as_one_value() -> None:
    body = "Z2l0aHViLWFwcC1rZXktYm9keS0wMDQy"
    pem = f"-----BEGIN RSA PRIVATE KEY-----\\n{body}\\n-----END RSA PRIVATE KEY-----"
    [config] = read({"apps": [app(privateKey=f"  {pem}\n")]}).apps
    assert config.private_key == pem.replace("\\n", "\n") + "\n"
    assert redact(f"key={config.private_key}") == "key=***\n"
    # The shared multiline_secret registers the whole key, not each of its lines.
    assert redact(body) == body


@pytest.mark.parametrize(
    ("missing", "key"),
    [("clientSecret", "clientSecret"), ("privateKey", "privateKey"), ("appId", "appId")],
)
def test_missing_app_fields_name_the_key(missing: str, key: str) -> None:
    data = app()
    del data[missing]
    with pytest.raises(ConfigError) as info:
        read({"apps": [data]})
    assert info.value.key_path == f"integrations.github[0].apps[0].{key}"


@pytest.mark.parametrize("key", ["clientSecret", "privateKey"])
def test_blank_app_secrets_are_refused(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        read({"apps": [app(**{key: "   "})]})
    assert info.value.key_path == f"integrations.github[0].apps[0].{key}"


@pytest.mark.parametrize("app_id", ["abc", -3, 1.5])
def test_app_id_must_be_a_positive_whole_number(app_id: Any) -> None:
    with pytest.raises(ConfigError) as info:
        read({"apps": [app(appId=app_id)]})
    assert info.value.key_path == "integrations.github[0].apps[0].appId"


def test_private_key_must_look_like_pem() -> None:
    with pytest.raises(ConfigError, match="PEM private key"):
        read({"apps": [app(privateKey="not-a-key")]})


def test_secrets_never_show_in_repr() -> None:
    config = read({"token": "tok-very-secret", "apps": [app(webhookSecret="hook-secret-value")]})
    text = repr(config) + repr(config.apps) + str(config)
    for secret in ("tok-very-secret", "client-secret-value", "MIIBOg", "hook-secret-value"):
        assert secret not in text
    assert "token=***" in repr(config)
    assert repr(TOKEN) == "GithubCredentials(type='token', authed=True)"


# --- the registry --------------------------------------------------------------------


def test_registry_knows_github_by_host_and_url() -> None:
    assert INTEGRATION.key == "github" and INTEGRATION.order == 80
    integrations = ScmIntegrations.from_config(
        {"integrations": {"github": [{"host": "ghe.example.net:8443"}]}}
    )
    hosts = [i.host for i in integrations.github.list()]
    assert hosts == ["ghe.example.net:8443", "github.com"]
    found = integrations.by_url("https://github.com:443/a/b/blob/main/c.yaml")
    assert isinstance(found, GithubIntegration)
    assert found.type == "github" and found.title == "github.com"
    assert integrations.github.by_url("https://ghe.example.net:8443/a/b") is not None
    assert integrations.github.by_url("https://ghe.example.net/a/b") is None


BASE = "https://github.com/a/b/blob/main/folder/a.yaml"


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        ("./b.yaml", BASE, None, "https://github.com/a/b/tree/main/folder/b.yaml"),
        ("/b.yaml", BASE, None, "https://github.com/a/b/tree/main/b.yaml"),
        ("b.yaml", BASE, 14, "https://github.com/a/b/tree/main/folder/b.yaml#L14"),
        (
            "../c/d.yaml",
            "https://github.com/a/b/blob/main/folder/sub/a.yaml",
            None,
            "https://github.com/a/b/tree/main/folder/c/d.yaml",
        ),
        ("https://example.com/x", BASE, None, "https://example.com/x"),
        (
            "docs/x.md",
            "https://ghe.example.net/org/repo/blob/main/catalog-info.yaml",
            None,
            "https://ghe.example.net/org/repo/tree/main/docs/x.md",
        ),
    ],
)
def test_resolve_url_yields_tree_urls(url: str, base: str, line: int | None, expected: str) -> None:
    integration = GithubIntegration(GITHUB_COM)
    assert integration.resolve_url(url=url, base=base, line_number=line) == expected
    integrations = ScmIntegrations.from_config(
        {"integrations": {"github": [{"host": "ghe.example.net"}]}}
    )
    assert integrations.resolve_url(url=url, base=base, line_number=line) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/a/b/blob/main/folder/a.yaml",
            "https://github.com/a/b/edit/main/folder/a.yaml",
        ),
        ("https://github.com/a/b/tree/main/docs", "https://github.com/a/b/edit/main/docs"),
        ("https://github.com/a/b", "https://github.com/a/b"),
    ],
)
def test_resolve_edit_url(url: str, expected: str) -> None:
    assert GithubIntegration(GITHUB_COM).resolve_edit_url(url) == expected
    assert ScmIntegrations.from_config({}).resolve_edit_url(url) == expected


# --- replace_github_url_type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "expected"),
    [
        (
            "https://github.com/a/b/blob/main/c.yaml",
            "tree",
            "https://github.com/a/b/tree/main/c.yaml",
        ),
        (
            "https://github.com/a/b/tree/main/docs/c.md",
            "edit",
            "https://github.com/a/b/edit/main/docs/c.md",
        ),
        ("https://github.com/a/b/edit/main/c.md", "blob", "https://github.com/a/b/blob/main/c.md"),
        ("https://github.com/a/b", "edit", "https://github.com/a/b"),
        (
            "https://github.com/a/b/raw/main/c.yaml",
            "tree",
            "https://github.com/a/b/raw/main/c.yaml",
        ),
        (
            "https://ghe.example.net/org/repo/blob/feature/x/blob/y.md",
            "tree",
            "https://ghe.example.net/org/repo/tree/feature/x/blob/y.md",
        ),
    ],
)
def test_replace_github_url_type(url: str, kind: Any, expected: str) -> None:
    assert replace_github_url_type(url, kind) == expected


def test_replace_github_url_type_rejects_other_types() -> None:
    with pytest.raises(InputError):
        replace_github_url_type("https://github.com/a/b/blob/main/c", "raw")  # type: ignore[arg-type]


SEGMENT = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_"),
    min_size=1,
    max_size=12,
)


@given(owner=SEGMENT, repo=SEGMENT, ref=SEGMENT, path=st.lists(SEGMENT, min_size=1, max_size=4))
def test_replace_github_url_type_changes_only_the_type(
    owner: str, repo: str, ref: str, path: list[str]
) -> None:
    url = f"https://github.com/{owner}/{repo}/blob/{ref}/{'/'.join(path)}"
    as_tree = replace_github_url_type(url, "tree")
    assert as_tree == url.replace("/blob/", "/tree/", 1)
    assert replace_github_url_type(as_tree, "blob") == url


# --- get_github_file_fetch_url -------------------------------------------------------

GHE_API_ONLY = GithubIntegrationConfig(host="ghe.x", api_base_url="https://ghe.x/api/v3")
GHE_RAW_ONLY = GithubIntegrationConfig(host="ghe.x", raw_base_url="https://ghe.x/raw")
GHE_BOTH = GithubIntegrationConfig(
    host="ghe.x", api_base_url="https://ghe.x/api/v3", raw_base_url="https://ghe.x/raw"
)


@pytest.mark.parametrize(
    ("url", "config", "credentials", "expected"),
    [
        (
            "https://github.com/a/b/blob/main/path/to/c.yaml",
            GITHUB_COM,
            TOKEN,
            "https://api.github.com/repos/a/b/contents/path/to/c.yaml?ref=main",
        ),
        (
            "https://github.com/a/b/blob/main/path/to/c.yaml",
            GITHUB_COM,
            ANONYMOUS,
            "https://raw.githubusercontent.com/a/b/main/path/to/c.yaml",
        ),
        (
            "https://github.com/a/b/tree/main/docs",
            GITHUB_COM,
            TOKEN,
            "https://api.github.com/repos/a/b/contents/docs?ref=main",
        ),
        (
            "https://github.com/a/b/raw/main/c.yaml",
            GITHUB_COM,
            None,
            "https://raw.githubusercontent.com/a/b/main/c.yaml",
        ),
        (
            "https://ghe.x/a/b/blob/main/c.yaml",
            GHE_API_ONLY,
            ANONYMOUS,
            "https://ghe.x/api/v3/repos/a/b/contents/c.yaml?ref=main",
        ),
        (
            "https://ghe.x/a/b/blob/main/c.yaml",
            GHE_RAW_ONLY,
            TOKEN,
            "https://ghe.x/raw/a/b/main/c.yaml",
        ),
        (
            "https://ghe.x/a/b/blob/main/c.yaml",
            GHE_BOTH,
            GithubCredentials("app", "ghs_installation"),
            "https://ghe.x/api/v3/repos/a/b/contents/c.yaml?ref=main",
        ),
        (
            "https://github.com/a/b/blob/v1.2%2B3/dir%20with%20space/c%23.yaml",
            GITHUB_COM,
            TOKEN,
            "https://api.github.com/repos/a/b/contents/dir%20with%20space/c%23.yaml?ref=v1.2%2B3",
        ),
    ],
)
def test_file_fetch_url(
    url: str,
    config: GithubIntegrationConfig,
    credentials: GithubCredentials | None,
    expected: str,
) -> None:
    assert get_github_file_fetch_url(url, config, credentials) == expected


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (TOKEN, "https://api.github.com/repos/a/b/contents/d/a+b@c:d$e,f;g=h&i%20j.yaml?ref=v%2B1"),
        (ANONYMOUS, "https://raw.githubusercontent.com/a/b/v+1/d/a+b@c:d$e,f;g=h&i%20j.yaml"),
    ],
)
def test_file_fetch_urls_keep_sub_delimiters_in_paths_like_github_templates(
    credentials: GithubCredentials, expected: str
) -> None:
    url = "https://github.com/a/b/blob/v%2B1/d/a%2Bb%40c%3Ad%24e%2Cf%3Bg%3Dh%26i%20j.yaml"
    assert get_github_file_fetch_url(url, GITHUB_COM, credentials) == expected


def test_github_path_encoding_is_the_shared_encode_path_plus_sub_delimiters() -> None:
    # The set GitHub's module used before it shared encode_path: RFC 3986 pchar minus '%'.
    for char in string.printable.replace("/", "") + "\u00fc\u20ac\U0001f600":
        assert encode_path(char, keep=GITHUB_PATH_KEEP) == quote(char, safe="!$&'()*+,;=:@")


@pytest.mark.parametrize(
    ("url", "inner"),
    [
        ("https://github.com/a/b/edit/main/c.yaml", "Invalid GitHub URL or file path"),
        ("https://github.com/a/b", "Invalid GitHub URL or file path"),
        ("https://github.com/a/b/blob", "Invalid GitHub URL or file path"),
        (
            "https://github.com/o/r/blob/main/%2e%2e%2f%2e%2e%2fuser/repos",
            "path traversal is not allowed",
        ),
        (
            "https://github.com/o/r/blob/main/docs/%252e%252e/secret",
            "path traversal is not allowed",
        ),
        ("https://github.com/o/r/blob/main/a%5C..%5Cb", "path traversal is not allowed"),
    ],
)
def test_file_fetch_url_rejects_bad_urls(url: str, inner: str) -> None:
    with pytest.raises(InvalidUrlError) as info:
        get_github_file_fetch_url(url, GITHUB_COM, TOKEN)
    assert str(info.value).startswith(f"Incorrect URL: {url}, ")
    assert inner in str(info.value)


@given(
    st.lists(st.sampled_from(["a", "..", ".", "%2e%2e", "%252E.", "%2F", "b c", "%5C"]), max_size=6)
)
def test_file_fetch_urls_never_carry_a_traversal(parts: list[str]) -> None:
    url = "https://github.com/o/r/blob/main/" + "/".join(["x", *parts])
    try:
        fetched = get_github_file_fetch_url(url, GITHUB_COM, TOKEN)
    except InvalidUrlError:
        return
    from urllib.parse import unquote

    path = fetched.split("?")[0]
    for _ in range(3):
        path = unquote(path)
    assert ".." not in path.replace("\\", "/").split("/")


# --- rate limits ---------------------------------------------------------------------


class Answer:
    def __init__(self, status: int, headers: dict[str, str]) -> None:
        self.status_code = status
        self.headers = headers


@pytest.mark.parametrize(
    ("status", "headers", "limited"),
    [
        (429, {}, True),
        (403, {"x-ratelimit-remaining": "0"}, True),
        (403, {"x-ratelimit-remaining": "12"}, False),
        (403, {}, False),
        (200, {"x-ratelimit-remaining": "0"}, False),
        (404, {}, False),
    ],
)
def test_parse_rate_limit_info(status: int, headers: dict[str, str], limited: bool) -> None:
    assert parse_rate_limit_info(Answer(status, headers)).is_rate_limited is limited
    assert GithubIntegration(GITHUB_COM).parse_rate_limit_info(Answer(status, headers)) == (
        parse_rate_limit_info(Answer(status, headers))
    )


# --- names Backstage removed ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "GitHubIntegration",
        "GitHubIntegrationConfig",
        "get_git_hub_file_fetch_url",
        "read_git_hub_integration_config",
        "read_git_hub_integration_configs",
        "replace_git_hub_url_type",
        "get_git_hub_request_options",
        "get_github_request_options",
        "GitHubCredentialsProvider",
    ],
)
def test_legacy_github_cased_names_do_not_exist(name: str) -> None:
    for module in ("scmreader", "scmreader.integrations", "scmreader.integrations.github"):
        assert not hasattr(importlib.import_module(module), name)
    with pytest.raises(ImportError):
        exec(f"from scmreader.integrations.github import {name}")


def test_current_names_are_reexported_lazily_from_the_package() -> None:
    import scmreader

    assert scmreader.get_github_file_fetch_url is get_github_file_fetch_url
    assert scmreader.replace_github_url_type is replace_github_url_type
