"""The private helpers the integration modules share (_common)."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader import urls
from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import _common
from scmreader.integrations._common import (
    SearchParams,
    basic_auth,
    decode_component,
    encode_path,
    form_encode,
    multiline_secret,
    read_endpoint,
    reject_traversal,
    replace_fragment,
    required_secret,
    secret,
    with_query,
)
from scmreader.redact import Secret, redact
from scmreader.urls import parse_url


@pytest.mark.parametrize(
    ("query", "steps", "expected"),
    [
        ("", [("set", "mode", "edit"), ("set", "at", "main")], "mode=edit&at=main"),
        ("at=main", [("set", "mode", "edit"), ("set", "at", "main")], "at=main&mode=edit"),
        ("a=1&b=2&a=3", [("set", "a", "x")], "a=x&b=2"),
        ("a=1", [("append", "a", "2")], "a=1&a=2"),
        ("path=%2Fa+b", [("set", "x", "1")], "path=%2Fa+b&x=1"),
        ("path=/a%20b", [("set", "x", "1")], "path=%2Fa+b&x=1"),
        ("flag&k=", [], "flag=&k="),
        ("", [("set", "ref", "feat+x&y ~*-._/")], "ref=feat%2Bx%26y+%7E*-._%2F"),
    ],
)
def test_search_params_behave_like_urlsearchparams(
    query: str, steps: list[tuple[str, str, str]], expected: str
) -> None:
    params = SearchParams(query)
    for op, name, value in steps:
        getattr(params, op)(name, value)
    assert str(params) == expected


def test_search_params_get_returns_first_decoded_value() -> None:
    params = SearchParams("path=%2Ffolder%2Fa.yaml&version=GBmain&path=2")
    assert params.get("path") == "/folder/a.yaml"
    assert params.get("version") == "GBmain"
    assert params.get("missing") is None


@given(st.lists(st.tuples(st.text(min_size=1), st.text()), max_size=5))
def test_form_encoding_round_trips(pairs: list[tuple[str, str]]) -> None:
    params = SearchParams()
    for name, value in pairs:
        params.append(name, value)
    text = str(params)
    assert parse_qsl(text, keep_blank_values=True) == pairs
    assert all(c.isalnum() or c in "*-._+%=&" for c in text)


@given(st.text())
def test_encode_path_keeps_slashes_and_round_trips(path: str) -> None:
    encoded = encode_path(path)
    assert encoded.count("/") == path.count("/")
    assert unquote(encoded) == path


def test_form_encode_matches_javascript_samples() -> None:
    assert form_encode("a b/c") == "a+b%2Fc"
    assert form_encode("~'!()") == "%7E%27%21%28%29"


def test_with_query_and_replace_fragment() -> None:
    parsed = parse_url("https://h.example/a?x=1#f")
    params = SearchParams(parsed.query)
    params.set("y", "2")
    assert with_query(parsed, params) == "https://h.example/a?x=1&y=2#f"
    assert with_query(parsed, SearchParams()) == "https://h.example/a#f"
    assert replace_fragment("https://h/a?x#L1", "lines-3") == "https://h/a?x#lines-3"
    assert replace_fragment("https://h/a", "7") == "https://h/a#7"


def test_path_helpers_are_the_ones_from_urls() -> None:
    # One implementation: the provider modules that import them from here get urls' own.
    assert _common.encode_path is urls.encode_path
    assert _common.reject_traversal is urls.reject_traversal


@pytest.mark.parametrize(
    "path",
    [
        "/a/../b", "/a/%2e%2e/b", "/a/%252e%252e%252fb", "a\\..\\b", "..", "/./x", "%2E",
        "/%ff/%252e%252e/x",  # a non-UTF-8 byte before a twice-encoded '..' (used to crash)
        "/%ff/%" + "25" * 12 + "2e",  # encoded past the bound
    ],
)  # fmt: skip
def test_traversal_is_rejected_however_encoded(path: str) -> None:
    with pytest.raises(InvalidUrlError, match="path traversal"):
        reject_traversal(path)


@pytest.mark.parametrize("path", ["/a/b", "/a/..b/c", "/a/b..", "/.well-known/x", ""])
def test_ordinary_paths_pass_the_traversal_check(path: str) -> None:
    reject_traversal(path)


def test_decode_component_rejects_non_utf8() -> None:
    assert decode_component("a%20b%2Fc", "https://h/x") == "a b/c"
    with pytest.raises(InvalidUrlError, match="not UTF-8"):
        decode_component("%ff", "https://h/x?token=abc")


def test_secrets_are_wrapped_registered_and_checked() -> None:
    entry = Config({"token": "  tok-1234  ", "raw": " pw-5678 ", "bad": "a\nb"})
    token = secret(entry, "token")
    assert token == "tok-1234" and isinstance(token, Secret) and repr(token) == "'***'"
    assert secret(entry, "raw", strip=False) == " pw-5678 "
    assert secret(entry, "missing") is None
    assert redact("x tok-1234 y") == "x *** y"
    with pytest.raises(ConfigError, match="line breaks"):
        secret(entry, "bad")


def test_multiline_and_required_secrets() -> None:
    pem = "-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----\n"
    entry = Config({"key": pem, "token": "abcd-efgh", "empty": "  "})
    value = multiline_secret(entry, "key")
    assert value == pem and repr(value) == "'***'"
    assert multiline_secret(entry, "key", strip=True) == pem.strip()
    assert required_secret(entry, "token") == "abcd-efgh"
    with pytest.raises(ConfigError, match="Missing required") as info:
        required_secret(entry, "nope")
    assert info.value.key_path == "nope"
    with pytest.raises(ConfigError, match="Missing required") as info:
        required_secret(entry, "empty")
    assert info.value.key_path == "empty"


def test_multiline_secret_unescapes_newlines_and_registers_the_whole_value() -> None:
    body = "bXVsdGlsaW5lLXNlY3JldC1ib2R5LTc3"
    escaped = f"  -----BEGIN KEY-----\\n{body}\\n-----END KEY-----\\n  "
    entry = Config({"key": escaped})
    assert multiline_secret(entry, "key") == escaped  # unchanged unless asked
    value = multiline_secret(entry, "key", strip=True, unescape_newlines=True)
    assert value == f"-----BEGIN KEY-----\n{body}\n-----END KEY-----"
    assert redact(f"key: {value}!") == "key: ***!"
    # One registration for the whole key, not one per line (the redactor stays small).
    assert redact(f"line: {body}") == f"line: {body}"


def test_basic_auth_value_is_redacted() -> None:
    value = basic_auth("user", "s3cr3t-pass")
    assert value == "Basic dXNlcjpzM2NyM3QtcGFzcw=="
    assert basic_auth("u", "p", scheme="basic").startswith("basic ")
    assert redact(value) == "Basic ***"


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://localhost:4566", ("http://localhost:4566", "localhost:4566")),
        ("https://minio.example.com/", ("https://minio.example.com/", "minio.example.com")),
        ("https://s3.example.com:443", ("https://s3.example.com:443", "s3.example.com")),
    ],
)
def test_read_endpoint_gives_the_host(endpoint: str, expected: tuple[str, str]) -> None:
    assert read_endpoint(Config({"endpoint": endpoint}), "awsS3", "http://x") == expected
    assert read_endpoint(Config({}), "awsS3", "http://x") is None


def test_read_endpoint_errors_name_the_key_and_mask_credentials() -> None:
    with pytest.raises(ConfigError, match="not a valid URL") as info:
        read_endpoint(Config({"endpoint": "https://me:hunter22@x.example"}), "awsS3", "http://x")
    assert info.value.key_path == "endpoint"
    assert "hunter22" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot contain a path"):
        read_endpoint(Config({"endpoint": "https://x.example/path"}), "awsS3", "http://x")
