"""``scmreader config validate --online`` against the GitHub emulation of FakeScmHost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from cli_helpers import Cli

from scmreader.config import load_config
from scmreader.testing import FakeScmHost
from scmreader.testing.routes.github import github, integration_config

pytest.importorskip("jwt")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")

GOOD = "ghp_goodtokengoodtokengood"
BAD = "ghp_revokedtokenrevoked"


def _key_pair() -> tuple[str, str]:
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


@pytest.fixture
def online_config(
    fake_scm_host: FakeScmHost,
    fake_scm_host_factory: Callable[..., FakeScmHost],
    write_config: Callable[..., str],
) -> tuple[str, FakeScmHost, FakeScmHost]:
    state = github(fake_scm_host)
    state.add_token(GOOD, login="catalog-bot")
    private, public = _key_pair()
    state.add_app(4242, public)
    state.add_installation(4242, "octo-org")
    other = fake_scm_host_factory("127.0.0.2", providers=["github"])
    github(other).add_token("ghp_someoneelsesvalidtoken")
    app = {
        "appId": 4242,
        "clientId": "Iv1.example",
        "clientSecret": "app-client-secret-value",
        "privateKey": private,
        "allowedInstallationOwners": ["octo-org", "missing-org"],
    }
    unknown_app = dict(app, appId=999)
    path = write_config(
        {
            "integrations": {
                "github": [
                    integration_config(fake_scm_host, token=GOOD, apps=[app, unknown_app]),
                    integration_config(other, token=BAD),
                    {"host": "ghe.example.net", "token": "ghp_nobaseurlatall"},
                ]
            }
        }
    )
    return path, fake_scm_host, other


def _line(path: str, key: str) -> int | None:
    return load_config(path).location(key)[1]


def test_online_reports_each_credential(
    cli: Cli, online_config: tuple[str, FakeScmHost, FakeScmHost]
) -> None:
    path, host, other = online_config
    result = cli("config", "validate", "--online", path)
    api = f"{host.base_url}/api/v3"
    github_0 = "integrations.github[0]"
    assert result.code == 1
    assert result.out.splitlines() == [
        f"{path}:{_line(path, github_0 + '.token')}: notice: {github_0}.token: token accepted "
        f"by {api} (user 'catalog-bot')",
        f"{path}:{_line(path, github_0 + '.apps[0]')}: warning: {github_0}.apps[0]: GitHub App "
        "4242 is not installed for missing-org (allowedInstallationOwners); install it there",
        f"{path}:{_line(path, github_0 + '.apps[1]')}: error: {github_0}.apps[1]: GitHub App "
        f"999 was rejected by {api} (401); check appId and privateKey, and this machine's clock",
        f"{path}:{_line(path, 'integrations.github[1].token')}: error: "
        f"integrations.github[1].token: token rejected by {other.base_url}/api/v3/user (401); "
        "create a new token and update the configuration",
        f"{path}:{_line(path, 'integrations.github[2]')}: warning: integrations.github[2]: "
        "cannot check the credentials online: the entry has no apiBaseUrl",
        "invalid: 2 errors, 2 warnings in 1 file (3 entries checked)",
    ]
    for secret in (GOOD, BAD, "app-client-secret-value", "PRIVATE KEY"):
        assert secret not in result.out


def test_offline_by_default(cli: Cli, online_config: tuple[str, FakeScmHost, FakeScmHost]) -> None:
    path, host, _ = online_config
    host.clear_requests()
    result = cli("config", "validate", path)
    assert result.code == 0
    assert host.requests == []


def test_online_github_format_has_notices(
    cli: Cli, online_config: tuple[str, FakeScmHost, FakeScmHost]
) -> None:
    path, _, _ = online_config
    result = cli("config", "validate", "--online", "--format", "github", path)
    line = _line(path, "integrations.github[0].token")
    assert result.out.splitlines()[0].startswith(f"::notice file={path},line={line}::")


def test_unreachable_host_is_a_warning(cli: Cli, write_config: Callable[..., str]) -> None:
    path = write_config(
        {
            "integrations": {
                "github": [
                    {
                        "host": "127.0.0.1:9",
                        "apiBaseUrl": "http://127.0.0.1:9/api/v3",
                        "token": "ghp_unreachablehosttoken",
                    }
                ]
            }
        }
    )
    result = cli("config", "validate", "--online", path)
    assert result.code == 0
    assert ": warning: integrations.github[0].token: could not check the credentials at " in (
        result.out
    )


# --- the emulation's /user and /rate_limit, which --online relies on ----------------------

USER_DOC = "https://docs.github.com/rest/users/users#get-the-authenticated-user"


def _get(host: FakeScmHost, path: str, token: str | None = None) -> requests.Response:
    headers = {"Accept": "application/vnd.github+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{host.base_url}/api/v3{path}", headers=headers, timeout=10)


def test_user_is_the_owner_of_a_personal_token(fake_scm_host: FakeScmHost) -> None:
    state = github(fake_scm_host)
    state.add_token(GOOD, login="catalog-bot")
    fake_scm_host.add_repo("catalog-bot/public-one", {"a.txt": "a"})
    fake_scm_host.add_repo("catalog-bot/secret-one", {"a.txt": "a"})
    state.make_private("catalog-bot/secret-one")
    response = _get(fake_scm_host, "/user", GOOD)
    user = response.json()
    assert response.status_code == 200
    assert response.headers["x-ratelimit-resource"] == "core"
    assert (user["login"], user["type"], user["site_admin"]) == ("catalog-bot", "User", False)
    assert isinstance(user["id"], int) and user["node_id"]
    assert user["url"] == f"{fake_scm_host.base_url}/api/v3/users/catalog-bot"
    assert user["html_url"] == f"{fake_scm_host.base_url}/catalog-bot"
    assert (user["public_repos"], user["total_private_repos"]) == (1, 1)
    assert {"repos_url", "organizations_url", "created_at", "plan"} <= set(user)


def test_user_id_matches_the_owner_of_the_users_repositories(fake_scm_host: FakeScmHost) -> None:
    state = github(fake_scm_host)
    state.add_token(GOOD)
    fake_scm_host.add_repo("octocat/hello-world", {"README.md": "hi"})
    user = _get(fake_scm_host, "/user", GOOD).json()
    repo = _get(fake_scm_host, "/repos/octocat/hello-world", GOOD).json()
    assert user["login"] == "octocat"
    assert repo["owner"]["id"] == user["id"]


@pytest.mark.parametrize(
    ("token", "status", "body"),
    [
        (
            "ghp_notknownhereatall",
            401,
            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
        ),
        (None, 401, {"message": "Requires authentication", "documentation_url": USER_DOC}),
    ],
)
def test_user_without_a_known_token(
    fake_scm_host: FakeScmHost, token: str | None, status: int, body: dict[str, str]
) -> None:
    github(fake_scm_host).add_token(GOOD)
    response = _get(fake_scm_host, "/user", token)
    assert response.status_code == status
    assert response.json() == {**body, "status": str(status)}


def test_user_with_an_unknown_token_before_any_token_is_registered(
    fake_scm_host: FakeScmHost,
) -> None:
    github(fake_scm_host)
    response = _get(fake_scm_host, "/user", "ghp_notknownhereatall")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_user_with_an_installation_token_is_forbidden(fake_scm_host: FakeScmHost) -> None:
    state = github(fake_scm_host)
    _, public = _key_pair()
    state.add_app(4242, public)
    installation = state.add_installation(4242, "octo-org")
    token, _ = state.mint(installation.id)
    response = _get(fake_scm_host, "/user", token)
    assert response.status_code == 403
    assert response.json() == {
        "message": "Resource not accessible by integration",
        "documentation_url": USER_DOC,
        "status": "403",
    }


def test_rate_limit_reports_core_and_is_free(fake_scm_host: FakeScmHost) -> None:
    state = github(fake_scm_host)
    state.add_token(GOOD)
    state.set_rate_limit(42, limit=5000, reset=1_900_000_000)
    for _ in range(3):
        response = _get(fake_scm_host, "/rate_limit", GOOD)
    data = response.json()
    core = {"limit": 5000, "used": 4958, "remaining": 42, "reset": 1_900_000_000}
    assert response.status_code == 200
    assert data["resources"]["core"] == core
    assert data["rate"] == core
    assert set(data["resources"]["search"]) == {"limit", "used", "remaining", "reset"}
    assert response.headers["x-ratelimit-remaining"] == "42"


def test_rate_limit_answers_when_the_limit_is_spent(fake_scm_host: FakeScmHost) -> None:
    state = github(fake_scm_host)
    state.add_token(GOOD)
    state.set_rate_limit(0, reset=1_900_000_000)
    assert _get(fake_scm_host, "/user", GOOD).status_code == 403
    response = _get(fake_scm_host, "/rate_limit", GOOD)
    assert response.status_code == 200
    assert response.json()["resources"]["core"]["remaining"] == 0


def test_rate_limit_rejects_an_unknown_token(fake_scm_host: FakeScmHost) -> None:
    github(fake_scm_host).add_token(GOOD)
    response = _get(fake_scm_host, "/rate_limit", "ghp_notknownhereatall")
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"


def test_online_with_an_installation_token_says_it_could_not_check(
    cli: Cli, fake_scm_host: FakeScmHost, write_config: Callable[..., str]
) -> None:
    state = github(fake_scm_host)
    _, public = _key_pair()
    state.add_app(4242, public)
    token, _ = state.mint(state.add_installation(4242, "octo-org").id)
    path = write_config(
        {"integrations": {"github": [integration_config(fake_scm_host, token=token)]}}
    )
    result = cli("config", "validate", "--online", path)
    api = f"{fake_scm_host.base_url}/api/v3"
    assert result.code == 0
    assert result.out.splitlines() == [
        f"{path}:{_line(path, 'integrations.github[0].token')}: warning: "
        f"integrations.github[0].token: could not check the token: {api}/user answered 403",
        "valid: 0 errors, 1 warning in 1 file (1 entry checked)",
    ]
    assert token not in result.out
