"""Catalogue: the redaction registry (issue item 10; C04-C06) and path tricks (item 11;
U11, S07), plus the leak fixture itself."""

from __future__ import annotations

import logging
import secrets

import pytest
from leaks import configured_secrets, find_leaks

from scmreader import redact as redact_module
from scmreader.errors import InvalidUrlError, NotAllowedError, NotFoundError
from scmreader.readers import UrlReaders
from scmreader.redact import redact, register_config_secret, register_secret
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import github as github_routes

CONFIGURED = "ghp_configuredSecretThatMustStay0001"


def test_configured_secrets_survive_thousands_of_per_call_tokens() -> None:
    """Issue item 10: the registry forgot configured secrets after a few thousand distinct
    per-call tokens (oldest first)."""
    register_config_secret(CONFIGURED)
    for _ in range(3 * redact_module.MAX_SECRETS):
        register_secret("tok_" + secrets.token_hex(12))
    assert redact(f"Authorization: token {CONFIGURED}") == "Authorization: token ***"
    assert len(redact_module._secrets) <= redact_module.MAX_SECRETS


def test_per_call_tokens_stay_bounded_and_recent_ones_are_masked() -> None:
    tokens = ["tok_" + secrets.token_hex(12) for _ in range(redact_module.MAX_SECRETS)]
    for token in tokens:
        register_secret(token)
    assert redact(tokens[-1]) == "***"
    assert len(redact_module._secrets) <= redact_module.MAX_SECRETS


def test_registering_a_configured_secret_again_per_call_does_not_unpin_it() -> None:
    register_config_secret("pinned-then-passed-per-call-0001")
    register_secret("pinned-then-passed-per-call-0001")
    for _ in range(redact_module.MAX_SECRETS + 10):
        register_secret("tok_" + secrets.token_hex(12))
    assert redact("pinned-then-passed-per-call-0001") == "***"


def test_the_leak_fixture_sees_configured_secrets(no_secret_leaks: list[str]) -> None:
    """The autouse fixture fails a test on any configured secret in a log record or error
    text; here it is shown what it looks for (its check runs after every test)."""
    register_config_secret("fixture-canary-secret-0001")
    assert "fixture-canary-secret-0001" in configured_secrets()
    logging.getLogger("scmreader.test").debug("harmless %s", "message")
    assert not find_leaks(no_secret_leaks)
    assert find_leaks(["oops fixture-canary-secret-0001 in a message"])


@pytest.fixture
def github(fake_scm_host: FakeScmHost) -> tuple[FakeScmHost, UrlReaders]:
    fake_scm_host.enable("github")
    fake_scm_host.add_repo("acme/widgets", {"docs/a.md": "a\n", "secret.txt": "s\n"})
    entry = github_routes.integration_config(fake_scm_host, token=CONFIGURED)
    github_routes.github(fake_scm_host).add_token(CONFIGURED)
    return fake_scm_host, UrlReaders.default({"integrations": {"github": [entry]}})


@pytest.mark.parametrize(
    "path",
    [
        "docs/..;x/secret.txt",
        "docs/%252e%252e/secret.txt",
        "docs/%25252e%25252e/secret.txt",
        "docs/.;/a.md",
        "docs/%2e%2e%3bx/secret.txt",
    ],
)
def test_reader_paths_with_params_or_deep_encoding_are_refused(
    github: tuple[FakeScmHost, UrlReaders], path: str
) -> None:
    host, readers = github
    host.clear_requests()
    with pytest.raises(InvalidUrlError, match="traversal"):
        readers.read_url(f"{host.base_url}/acme/widgets/blob/main/{path}")
    assert host.requests == []


def test_ordinary_semicolons_in_names_still_read(github: tuple[FakeScmHost, UrlReaders]) -> None:
    host, readers = github
    with pytest.raises(NotFoundError):
        readers.read_url(f"{host.base_url}/acme/widgets/blob/main/docs/a;b.md")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/allowed/x.yaml", True),
        ("/allowed/sub/../x.yaml", True),
        ("/allowed/a;b.yaml", True),
        ("/allowed/..;x/secret", False),
        ("/allowed/.;x/../../secret", False),
        ("/allowed/%252e%252e/secret", False),
        ("/allowed/%2e%2e/secret", False),
        ("/allowed/%25252e%25252e/secret", False),
        ("/allowed/%2525252525252525252525252e", False),
        ("/allowed2/x", False),
    ],
)
def test_allow_list_paths_check_sees_what_lenient_servers_see(
    fake_scm_host: FakeScmHost, path: str, allowed: bool
) -> None:
    fake_scm_host.route("GET", r"/.*", lambda r: None)
    config = {
        "backend": {"reading": {"allow": [{"host": fake_scm_host.host, "paths": ["/allowed"]}]}}
    }
    readers = UrlReaders.default(config)
    url = fake_scm_host.base_url + path
    if allowed:
        with pytest.raises(NotFoundError):  # allowed, sent, and the fake has no such file
            readers.read_url(url)
        assert len(fake_scm_host.requests) == 1
    else:
        with pytest.raises((NotAllowedError, InvalidUrlError)):
            readers.read_url(url)
        assert fake_scm_host.requests == []
