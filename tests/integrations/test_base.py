"""Shared config-reading helpers of integrations/base.py."""

from __future__ import annotations

import pytest

from scmreader.config import load_config
from scmreader.errors import ConfigError
from scmreader.integrations.base import is_valid_host, read_url_key


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("github.com", True),
        ("ghe.example.net:8443", True),
        ("git_lab.example.com", True),
        ("[::1]:8080", True),
        # Backstage's isValidHost checks against an http:// URL: http's default port is
        # dropped by the URL (rejected), https's is an explicit port there (accepted).
        ("github.com:80", False),
        ("github.com:443", True),
        ("github.com:0443", False),  # written differently once parsed
        ("github.com:", False),
        ("github.com:65536", False),
        ("127.1", False),  # becomes 127.0.0.1
        ("b\u00fccher.example", False),  # becomes xn--bcher-kva.example
        ("user@github.com", False),
        ("github.com.", False),  # Backstage accepts it; scmreader's URLs never have it
        ("GitHub.com", False),
        ("https://github.com", False),
        ("a/b", False),
        ("github.com/", False),
        ("", False),
        ("gith ub.com", False),
    ],
)
def test_is_valid_host(host: str, valid: bool) -> None:
    assert is_valid_host(host) is valid


@pytest.mark.parametrize(
    "url",
    [
        "https://ghe.example.net/api/v3#x",
        "https://ghe.example.net/api/v3?access_token=SECRETVALUE",
        "ghe.example.net/api",
        "https://user:pw@ghe.example.net/api",
    ],
)
def test_base_urls_with_query_fragment_or_userinfo_are_rejected(url: str) -> None:
    entry = load_config({"x": {"apiBaseUrl": url}}).get_config("x")
    with pytest.raises(ConfigError) as info:
        read_url_key(entry, "apiBaseUrl", provider="GitHub")
    assert info.value.key_path == "x.apiBaseUrl"
    assert "SECRETVALUE" not in str(info.value)
    assert "pw" not in str(info.value)


def test_base_url_trailing_slashes_trimmed() -> None:
    entry = load_config({"x": {"apiBaseUrl": "https://h.test/api//"}}).get_config("x")
    assert read_url_key(entry, "apiBaseUrl", provider="GitHub") == "https://h.test/api"
