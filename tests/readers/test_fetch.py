"""FetchUrlReader and backend.reading.allow (spec urlreader §3.1-3.2, reliability S01-S08)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from scmreader.config import load_config
from scmreader.errors import (
    ConfigError,
    HttpStatusError,
    NotAllowedError,
    NotFoundError,
    NotImplementedByReaderError,
    NotModifiedError,
    TooManyRedirectsError,
)
from scmreader.readers import UrlReaders
from scmreader.readers.fetch import FetchUrlReader, parse_port_spec, read_allow_list
from scmreader.testing import FakeScmHost
from scmreader.urls import parse_url


def allow(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"backend": {"reading": {"allow": list(entries)}}}


def allowed(entries: list[dict[str, Any]], url: str) -> bool:
    rules = read_allow_list(load_config(allow(*entries)))
    return any(rule.allows(parse_url(url)) for rule in rules)


# The predicate matrix of Backstage's FetchUrlReader tests, plus the segment-boundary paths rule.
MATRIX = [
    ([{"host": "example.com"}], "https://example.com/test", True),
    ([{"host": "example.com"}], "https://a.example.com/test", False),
    ([{"host": "example.com"}], "https://example.com:600/test", False),
    ([{"host": "example.com"}], "https://example.com:443/test", True),
    ([{"host": "example.com:700"}], "https://example.com:700/test", True),
    ([{"host": "*.examples.org"}], "https://examples.org/test", False),
    ([{"host": "*.examples.org"}], "https://a.examples.org/test", True),
    ([{"host": "*.examples.org"}], "https://a.b.examples.org/test", True),
    ([{"host": "*.examples.org"}], "https://a.examples.org:600/test", False),
    ([{"host": "*.examples.org:700"}], "https://a.examples.org:700/test", True),
    ([{"host": "*.examples.org:900-1000"}], "https://a.examples.org:900/test", True),
    ([{"host": "*.examples.org:900-1000"}], "https://a.examples.org:950/test", True),
    ([{"host": "*.examples.org:900-1000"}], "https://a.examples.org:1000/test", True),
    ([{"host": "*.examples.org:900-1000"}], "https://a.examples.org:1050/test", False),
    ([{"host": "example.com:100-200"}], "https://example.com:150/test", True),
    ([{"host": "example.com:100-200"}], "https://example.com:4000/test", False),
    ([{"host": "https.org:443"}], "https://https.org/test", True),
    ([{"host": "https.org:443"}], "http://https.org/test", False),
    ([{"host": "http.org:80"}], "http://http.org/test", True),
    ([{"host": "http.org:80"}], "https://http.org/test", False),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/dir1/subpath", True),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/dir12", False),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/", False),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/dir1/../secret", False),
    ([{"host": "foobar.org", "paths": ["/dir1"]}], "https://foobar.org/dir1", True),
    ([{"host": "foobar.org", "paths": ["/dir1"]}], "https://foobar.org/dir1/x", True),
    ([{"host": "foobar.org", "paths": ["/dir1"]}], "https://foobar.org/dir12", False),
    ([{"host": "Example.COM"}], "https://EXAMPLE.com/test", True),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/dir1/..%2Fsecret", False),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/dir1/..%5csecret", False),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/dir1/%2e%2e/secret", False),
    ([{"host": "foobar.org", "paths": ["/dir1/"]}], "https://foobar.org/dir1/a%20b", True),
    ([], "https://example.com/test", False),
    ([{"host": "straße.de"}], "https://straße.de/x", True),
    ([{"host": "straße.de"}], "https://strasse.de/x", False),
    ([{"host": "*.bücher.example"}], "https://a.xn--bcher-kva.example/x", True),
]


@pytest.mark.parametrize(("entries", "url", "expected"), MATRIX)
def test_allow_list_matrix(entries: list[dict[str, Any]], url: str, expected: bool) -> None:
    assert allowed(entries, url) is expected


@pytest.mark.parametrize(
    "host",
    [
        "example.com:100-",
        "example.com:-",
        "example.com:500-",
        "example.com:100-50",
        "example.com:-330-",
        "example.com:nb-300",
        "prod.*.example.com",
        "*",
        "*.com",
        "example.*",
        "https://example.com",
        "exa mple.com",
    ],
)
def test_invalid_allow_entries_are_config_errors(host: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_allow_list(load_config(allow({"host": host})))
    assert info.value.key_path == "backend.reading.allow[0].host"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("8080", (8080, 8080)), ("100-200", (100, 200)), ("-100-300", (100, 300))],
)
def test_port_specs(spec: str, expected: tuple[int, int]) -> None:
    assert parse_port_spec(spec) == expected


# --- end to end through FakeScmHost -----------------------------------------------------


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("plain")
    fake_scm_host.serve_file("/docs/catalog-info.yaml", b"kind: Component\n", etag='"v1"')
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return UrlReaders.default(allow({"host": host.host}))


def test_read_url_returns_content_etag_and_date(host: FakeScmHost, readers: UrlReaders) -> None:
    response = readers.read_url(f"{host.base_url}/docs/catalog-info.yaml")
    assert response.buffer() == b"kind: Component\n"
    assert response.etag == '"v1"'
    assert isinstance(response.last_modified_at, datetime)


def test_read_url_not_modified_by_etag_and_date(host: FakeScmHost, readers: UrlReaders) -> None:
    url = f"{host.base_url}/docs/catalog-info.yaml"
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag='"v1"')
    with pytest.raises(NotModifiedError):
        readers.read_url(url, last_modified_after=datetime(2100, 1, 1, tzinfo=UTC))
    assert readers.read_url(url, etag='"old"').buffer() == b"kind: Component\n"


def test_read_url_404(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError, match="could not read"):
        readers.read_url(f"{host.base_url}/missing.yaml")


def test_token_goes_only_to_the_first_origin(
    host: FakeScmHost, fake_scm_host_factory: Callable[..., FakeScmHost]
) -> None:
    other = fake_scm_host_factory(bind="127.0.0.2")
    other.enable("plain")
    other.serve_file("/target.yaml", b"moved\n")
    host.serve_redirect("/moved.yaml", f"{other.base_url}/target.yaml")
    readers = UrlReaders.default(allow({"host": host.host}, {"host": other.host}))
    body = readers.read_url(f"{host.base_url}/moved.yaml", token="user-token-123").buffer()
    assert body == b"moved\n"
    assert "authorization" in host.requests[-1].auth_headers
    assert other.requests[-1].auth_headers == set()


def test_redirect_to_a_host_not_allowed_is_refused(
    host: FakeScmHost, fake_scm_host_factory: Callable[..., FakeScmHost]
) -> None:
    other = fake_scm_host_factory(bind="127.0.0.2")
    other.enable("plain")
    other.serve_file("/secret", b"internal\n")
    host.serve_redirect("/jump", f"{other.base_url}/secret")
    readers = UrlReaders.default(allow({"host": host.host}))
    with pytest.raises(NotAllowedError, match=r"backend\.reading\.allow"):
        readers.read_url(f"{host.base_url}/jump")
    assert other.requests == []


def test_redirect_outside_allowed_paths_is_refused(host: FakeScmHost) -> None:
    host.serve_file("/private/key", b"secret")
    host.serve_redirect("/docs/jump", "/private/key")
    readers = UrlReaders.default(allow({"host": host.host, "paths": ["/docs/"]}))
    with pytest.raises(NotAllowedError):
        readers.read_url(f"{host.base_url}/docs/jump")
    assert host.requests_to(r"^/private") == []


def test_relative_redirects_are_followed(host: FakeScmHost, readers: UrlReaders) -> None:
    host.serve_redirect("/a/b/c", "../../docs/catalog-info.yaml")
    assert readers.read(f"{host.base_url}/a/b/c") == b"kind: Component\n"


def test_redirect_loop_stops(host: FakeScmHost, readers: UrlReaders) -> None:
    host.serve_redirect("/loop1", "/loop2")
    host.serve_redirect("/loop2", "/loop1")
    with pytest.raises(TooManyRedirectsError):
        readers.read_url(f"{host.base_url}/loop1")
    assert len(host.requests) == 6


def test_redirect_without_location_is_an_error(host: FakeScmHost, readers: UrlReaders) -> None:
    host.route("GET", r"^/nolocation$", lambda request: _status(302))
    with pytest.raises(HttpStatusError, match="302 Found"):
        readers.read_url(f"{host.base_url}/nolocation")


def _status(code: int) -> Any:
    from scmreader.testing import FakeResponse

    return FakeResponse(code, b"", {})


def test_disallowed_host_makes_no_request(host: FakeScmHost) -> None:
    readers = UrlReaders.default({})
    with pytest.raises(NotAllowedError, match=r"backend\.reading\.allow"):
        readers.read_url(f"{host.base_url}/docs/catalog-info.yaml")
    assert host.requests == []


def test_search_exact_and_miss_and_glob(host: FakeScmHost, readers: UrlReaders) -> None:
    found = readers.search(f"{host.base_url}/docs/catalog-info.yaml")
    assert [f.url for f in found.files] == [f"{host.base_url}/docs/catalog-info.yaml"]
    assert found.files[0].content() == b"kind: Component\n"
    assert found.etag == '"v1"'
    missing = readers.search(f"{host.base_url}/docs/nothing.yaml")
    assert missing.files == [] and missing.etag == ""
    with pytest.raises(NotImplementedByReaderError, match="Unsupported search pattern URL"):
        readers.search(f"{host.base_url}/docs/*.yaml")


def test_read_tree_is_not_implemented(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotImplementedByReaderError, match="does not implement readTree"):
        readers.read_tree(f"{host.base_url}/docs")


def test_repr_has_no_secrets() -> None:
    reader = FetchUrlReader(http=None, allow=[])  # type: ignore[arg-type]
    assert repr(reader) == "fetch{host=,authed=false}"
