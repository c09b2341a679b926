"""GitHub credentials providers and GitHub Apps (integration spec §2.5-2.8), with `responses`.

The payloads come from fixtures/payloads/github/ (shaped like GitHub's documented answers).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scmreader.config import load_config
from scmreader.errors import (
    AuthenticationError,
    ConfigError,
    NotAllowedError,
    PermissionDeniedError,
)
from scmreader.http import HttpClient
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.github import (
    DefaultGithubCredentialsProvider,
    GithubAppCredentialsMux,
    GithubCredentials,
    GithubCredentialsProvider,
    SingleInstanceGithubCredentialsProvider,
    read_github_integration_config,
)
from scmreader.integrations.github.config import GithubIntegrationConfig

PAYLOADS = Path(__file__).parents[2] / "fixtures" / "payloads" / "github"
API = "https://api.github.com"
INSTALLATIONS = f"{API}/app/installations"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


@pytest.fixture(scope="module")
def rsa_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class Clock:
    """2030-01-01T00:00:00Z to start with; the fixture tokens expire one hour later."""

    def __init__(self) -> None:
        self.now = 1_893_456_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def github_config(private_key: str, **app: Any) -> GithubIntegrationConfig:
    data = {
        "integrations": {
            "github": [
                {
                    "host": "github.com",
                    "token": "ghp_fallback_token_1234",
                    "apps": [
                        {
                            "appId": 1,
                            "clientId": "Iv1.1",
                            "clientSecret": "client-secret-1",
                            "privateKey": private_key.replace("\n", "\\n"),
                            **app,
                        }
                    ],
                }
            ]
        }
    }
    entry = load_config(data).get_config_array("integrations.github")[0]
    return read_github_integration_config(entry)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def provider(
    config: GithubIntegrationConfig, clock: Clock
) -> SingleInstanceGithubCredentialsProvider:
    return SingleInstanceGithubCredentialsProvider(
        config, http=HttpClient(sleep=lambda s: None), clock=clock
    )


def calls(mock: responses.RequestsMock, method: str, url_prefix: str) -> list[Any]:
    return [
        c
        for c in mock.calls
        if c.request.method == method and str(c.request.url).startswith(url_prefix)
    ]


def test_token_only_config_gives_bearer_credentials_for_repo_and_org_urls() -> None:
    config = GithubIntegrationConfig(host="github.com", token="ghp_x1234")
    single = SingleInstanceGithubCredentialsProvider.create(config)
    for url in ("https://github.com/backstage/foobar", "https://github.com/backstage"):
        credentials = single.get_credentials(url=url)
        assert credentials == GithubCredentials("token", "ghp_x1234")
        assert credentials.headers == {"Authorization": "Bearer ghp_x1234"}


def test_no_token_gives_anonymous_credentials() -> None:
    single = SingleInstanceGithubCredentialsProvider.create(GithubIntegrationConfig(host="ghe.x"))
    credentials = single.get_credentials(url="https://ghe.x/a/b")
    assert credentials.type == "token" and credentials.token is None and credentials.headers is None
    assert isinstance(single, GithubCredentialsProvider)


def test_default_provider_picks_by_host_and_explains_a_missing_one() -> None:
    integrations = ScmIntegrations.from_config(
        {"integrations": {"github": [{"host": "ghe.x", "token": "ghe-token-1"}]}}
    )
    default = DefaultGithubCredentialsProvider.from_integrations(integrations)
    assert default.get_credentials(url="https://ghe.x/o/r").token == "ghe-token-1"
    assert default.get_credentials(url="https://github.com/o/r").token is None
    with pytest.raises(NotAllowedError, match=r"no GitHub integration .*integrations\.github"):
        default.get_credentials(url="https://gitlab.com/o/r")


def test_installation_token_is_minted_once_and_reused(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    private, public = rsa_key
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    api.post(
        f"{INSTALLATIONS}/11/access_tokens",
        json=payload("installation-access-token.json"),
        status=201,
    )
    single = provider(github_config(private), clock)
    first = single.get_credentials(url="https://github.com/backstage/mock/blob/main/x.yaml")
    assert first == GithubCredentials("app", "ghs_16C7e42F292c6912E7710c838347Ae178B4a")
    clock.now += 49 * 60  # still 11 minutes before expiry
    again = single.get_credentials(url="https://github.com/BACKSTAGE/other")
    assert again.token == first.token
    assert len(calls(api, "POST", INSTALLATIONS)) == 1
    assert len(calls(api, "GET", INSTALLATIONS)) == 1
    # The app JWT is RS256, signed with the configured key, issued by the app id.
    auth = calls(api, "POST", INSTALLATIONS)[0].request.headers["Authorization"]
    claims = jwt.decode(
        auth.removeprefix("Bearer "),
        public,
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == "1"
    assert 0 < claims["exp"] - claims["iat"] <= 600


def test_installation_token_is_refreshed_ten_minutes_before_expiry(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    fresh = dict(
        payload("installation-access-token.json"), token="ghs_second_token_0000000000000000000"
    )
    api.post(
        f"{INSTALLATIONS}/11/access_tokens",
        json=payload("installation-access-token.json"),
        status=201,
    )
    single = provider(github_config(rsa_key[0]), clock)
    url = "https://github.com/backstage/mock"
    first = single.get_credentials(url=url).token
    api.replace(responses.POST, f"{INSTALLATIONS}/11/access_tokens", json=fresh, status=201)
    clock.now += 50 * 60 + 1  # 9 minutes and 59 seconds before GitHub's expiry
    assert single.get_credentials(url=url).token == "ghs_second_token_0000000000000000000" != first
    assert len(calls(api, "POST", INSTALLATIONS)) == 2
    assert len(calls(api, "GET", INSTALLATIONS)) == 2  # the list's 10 minutes are over too


def test_concurrent_callers_share_one_refresh(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    api.post(
        f"{INSTALLATIONS}/11/access_tokens",
        json=payload("installation-access-token.json"),
        status=201,
    )
    single = provider(github_config(rsa_key[0]), clock)
    results: list[str | None] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(single.get_credentials(url="https://github.com/backstage/mock").token)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == 8
    assert len(calls(api, "POST", INSTALLATIONS)) == 1
    assert len(calls(api, "GET", INSTALLATIONS)) == 1


def test_owner_outside_allowed_owners_falls_back_to_the_token_without_requests(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    single = provider(github_config(rsa_key[0], allowedInstallationOwners=["Backstage"]), clock)
    credentials = single.get_credentials(url="https://github.com/someone-else/repo")
    assert credentials == GithubCredentials("token", "ghp_fallback_token_1234")
    assert len(api.calls) == 0


def test_owner_without_installation_falls_back_to_the_token(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    single = provider(github_config(rsa_key[0]), clock)
    assert single.get_credentials(url="https://github.com/unknown-org/r").type == "token"
    assert single.get_credentials(url="https://github.com/unknown-org/r").type == "token"
    assert len(calls(api, "GET", INSTALLATIONS)) == 1  # a miss re-lists at most once a minute
    clock.now += 61
    single.get_credentials(url="https://github.com/unknown-org/r")
    assert len(calls(api, "GET", INSTALLATIONS)) == 2


def test_installation_list_expires_after_ten_minutes(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    mux = GithubAppCredentialsMux(
        github_config(rsa_key[0]), http=HttpClient(sleep=lambda s: None), clock=clock
    )
    assert [i["id"] for i in mux.get_all_installations()] == [11, 12, 13]  # null entry ignored
    clock.now += 599
    mux.get_all_installations()
    assert len(calls(api, "GET", INSTALLATIONS)) == 1
    clock.now += 2
    mux.get_all_installations()
    assert len(calls(api, "GET", INSTALLATIONS)) == 2


def test_selected_repositories_are_checked(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    api.post(
        f"{INSTALLATIONS}/12/access_tokens",
        json=payload("installation-access-token-selected.json"),
        status=201,
    )
    api.get(f"{API}/installation/repositories", json=payload("installation-repositories.json"))
    single = provider(github_config(rsa_key[0]), clock)
    ok = single.get_credentials(url="https://github.com/selected-org/Allowed-Repo/blob/main/a")
    assert ok.type == "app"
    repos_call = calls(api, "GET", f"{API}/installation/repositories")[0]
    assert repos_call.request.headers["Authorization"] == f"Bearer {ok.token}"
    with pytest.raises(PermissionDeniedError) as info:
        single.get_credentials(url="https://github.com/selected-org/secret-repo")
    assert "secret-repo" in str(info.value) and "selected repositories" in str(info.value)
    assert ok.token is not None and ok.token not in str(info.value)


def test_suspended_installation_is_an_error(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    single = provider(github_config(rsa_key[0]), clock)
    with pytest.raises(PermissionDeniedError, match="suspended"):
        single.get_credentials(url="https://github.com/frozen-org/repo")


def test_bare_host_url_gets_the_app_jwt(rsa_key: tuple[str, str], clock: Clock) -> None:
    private, public = rsa_key
    single = provider(github_config(private), clock)
    credentials = single.get_credentials(url="https://github.com")
    assert credentials.type == "app" and credentials.token is not None
    assert (
        jwt.decode(
            credentials.token,
            public,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False},
        )["iss"]
        == "1"
    )


def test_public_access_app_lends_its_first_installation(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    api.post(
        f"{INSTALLATIONS}/11/access_tokens",
        json=payload("installation-access-token.json"),
        status=201,
    )
    config = github_config(rsa_key[0], publicAccess=True, allowedInstallationOwners=["backstage"])
    single = provider(config, clock)
    credentials = single.get_credentials(url="https://github.com/public-org/repo")
    assert credentials == GithubCredentials("app", "ghs_16C7e42F292c6912E7710c838347Ae178B4a")


def test_bad_app_credentials_are_an_authentication_error(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    api.get(INSTALLATIONS, json=payload("bad-credentials-401.json"), status=401)
    single = provider(github_config(rsa_key[0]), clock)
    with pytest.raises(AuthenticationError, match="appId and privateKey"):
        single.get_credentials(url="https://github.com/backstage/mock")


def test_stale_installation_id_is_looked_up_again(
    api: responses.RequestsMock, rsa_key: tuple[str, str], clock: Clock
) -> None:
    moved = payload("app-installations.json")
    moved[0]["id"] = 21
    api.get(INSTALLATIONS, json=payload("app-installations.json"))
    api.post(f"{INSTALLATIONS}/11/access_tokens", json=payload("not-found.json"), status=404)
    api.post(
        f"{INSTALLATIONS}/21/access_tokens",
        json=payload("installation-access-token.json"),
        status=201,
    )
    api.get(INSTALLATIONS, json=moved)  # the second listing (after the 404) sees the new id
    single = provider(github_config(rsa_key[0]), clock)
    assert single.get_credentials(url="https://github.com/backstage/mock").type == "app"
    assert [c.request.url.split("/")[-2] for c in calls(api, "POST", INSTALLATIONS)] == ["11", "21"]


def test_missing_pyjwt_is_a_config_error_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, rsa_key: tuple[str, str], clock: Clock
) -> None:
    monkeypatch.setitem(sys.modules, "jwt", None)
    with pytest.raises(ConfigError) as info:
        provider(github_config(rsa_key[0]), clock)
    assert "pip install 'scmreader[github-app]'" in str(info.value)
    assert info.value.key_path == "integrations.github[0].apps[0]"


def test_unusable_private_key_is_a_config_error(clock: Clock) -> None:
    fake = "-----BEGIN RSA PRIVATE KEY-----\nnot really a key\n-----END RSA PRIVATE KEY-----"
    single = provider(github_config(fake), clock)
    with pytest.raises(ConfigError) as info:
        single.get_credentials(url="https://github.com")
    assert info.value.key_path == "integrations.github[0].apps[0].privateKey"
    assert "not really" not in str(info.value)


def test_mux_without_apps_or_outside_app_ids_gives_no_token(rsa_key: tuple[str, str]) -> None:
    config = GithubIntegrationConfig(host="github.com", api_base_url=API)
    assert GithubAppCredentialsMux(config).get_app_token("backstage") is None
    limited = GithubAppCredentialsMux(github_config(rsa_key[0]), app_ids=[2])
    assert limited.managers == []
    assert limited.get_app_token("backstage") is None


def test_apps_need_an_api_base_url(rsa_key: tuple[str, str]) -> None:
    config = github_config(rsa_key[0])
    ghe = GithubIntegrationConfig(host="ghe.x", apps=config.apps)
    with pytest.raises(ConfigError, match="apiBaseUrl"):
        GithubAppCredentialsMux(ghe)
