"""``scmreader config validate --online`` against the GitHub emulation of FakeScmHost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cli_helpers import Cli

from scmreader.config import load_config
from scmreader.testing import FakeRequest, FakeResponse, FakeScmHost
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


def _serve_user(host: FakeScmHost) -> None:
    """GitHub's ``GET /user``: the token's owner, or 401 Bad credentials."""
    state = github(host)

    def user(request: FakeRequest) -> FakeResponse:
        token = request.headers.get("Authorization", "").partition(" ")[2]
        if token in state.tokens:
            return FakeResponse.json({"login": "octocat", "id": 1})
        return FakeResponse.json({"message": "Bad credentials"}, 401)

    host.route("GET", f"{state.api_prefix}/user", user)


@pytest.fixture
def online_config(
    fake_scm_host: FakeScmHost,
    fake_scm_host_factory: Callable[..., FakeScmHost],
    write_config: Callable[..., str],
) -> tuple[str, FakeScmHost, FakeScmHost]:
    state = github(fake_scm_host)
    state.add_token(GOOD)
    private, public = _key_pair()
    state.add_app(4242, public)
    state.add_installation(4242, "octo-org")
    _serve_user(fake_scm_host)
    other = fake_scm_host_factory("127.0.0.2", providers=["github"])
    github(other).add_token("ghp_someoneelsesvalidtoken")
    _serve_user(other)
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
        f"by {api} (user 'octocat')",
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
