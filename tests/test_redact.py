"""Secrets stay out of text: registered values and credential-like query values."""

from __future__ import annotations

import logging

import pytest

from scmreader import redact as redact_module
from scmreader.redact import MASK, Secret, redact, redact_url, register_secret


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ('"GET /legacy.tar.gz/abc?token=AQYV3SECRET HTTP/1.1" 200', "AQYV3SECRET"),
        ("https://b.s3.amazonaws.com/k?X-Amz-Signature=deadbeef&X-Amz-Date=1", "deadbeef"),
        ("https://a.blob.core.windows.net/c/b?sv=2020&sig=SASsecret%3D", "SASsecret"),
        ("see https://h.test/x?access_token=tok123;next", "tok123"),
        ("https://h.test/x?private_token=glpat-abc&page=2", "glpat-abc"),
    ],
)
def test_query_credentials_are_masked_anywhere_in_text(text: str, leak: str) -> None:
    cleaned = redact(text)
    assert leak not in cleaned
    assert MASK in cleaned


def test_non_secret_query_values_are_kept() -> None:
    assert redact("https://h.test/x?ref=main&page=2") == "https://h.test/x?ref=main&page=2"


def test_registered_secrets_and_their_encodings_are_masked() -> None:
    register_secret("s3cr3t/value+x", username="robot")
    import base64
    from urllib.parse import quote

    for form in (
        "s3cr3t/value+x",
        quote("s3cr3t/value+x", safe=""),
        base64.b64encode(b"robot:s3cr3t/value+x").decode(),
    ):
        assert "s3cr3t" not in redact(f"header {form} end")


def test_redact_url_drops_userinfo() -> None:
    assert redact_url("https://user:pw@h.test/a?token=x") == "https://***@h.test/a?token=***"


def test_secret_repr_is_masked() -> None:
    assert repr(Secret("abc-secret")) == "'***'"
    assert "abc-secret" not in repr({"token": Secret("abc-secret")})


def test_registry_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact_module, "MAX_SECRETS", 50)
    for i in range(100):
        register_secret(f"rotating-token-{i:04d}")
    assert len(redact_module._secrets) <= 50
    assert "rotating-token-0099" not in redact("x rotating-token-0099 y")


def test_urllib3_debug_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    from scmreader.http import HttpClient

    HttpClient()
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s',
        "http",
        "localhost",
        80,
        "GET",
        "/_codeload/o/r/legacy.tar.gz/abc?token=CODELOADSECRET",
        "HTTP/1.1",
        200,
    )
    assert "CODELOADSECRET" not in caplog.text
