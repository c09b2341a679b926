"""The plain-file emulation: ETag, Last-Modified, conditional requests, HEAD, redirects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from scmreader.testing import FakeHostError, FakeScmHost

CONTENT = b"apiVersion: backstage.io/v1alpha1\nkind: Component\n"
ETAG = f'"{hashlib.sha1(CONTENT).hexdigest()}"'
DEFAULT_DATE = "Mon, 01 Jan 2024 00:00:00 GMT"


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.serve_file("/catalog-info.yaml", CONTENT)
    return fake_scm_host


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        yield s


def test_get_sends_validators_and_content(host: FakeScmHost, session: requests.Session) -> None:
    response = session.get(host.url("/catalog-info.yaml"))
    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["ETag"] == ETAG
    assert response.headers["Last-Modified"] == DEFAULT_DATE
    assert response.headers["Content-Length"] == str(len(CONTENT))
    assert response.headers["Content-Type"] == "application/yaml"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": ETAG}, 304),
        ({"If-None-Match": f"W/{ETAG}"}, 304),
        ({"If-None-Match": f'"other", {ETAG}'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": DEFAULT_DATE}, 304),
        ({"If-Modified-Since": "Tue, 02 Jan 2024 00:00:00 GMT"}, 304),
        ({"If-Modified-Since": "Sun, 31 Dec 2023 23:59:59 GMT"}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
        ({"If-None-Match": '"other"', "If-Modified-Since": DEFAULT_DATE}, 200),
        ({}, 200),
    ],
)
def test_conditional_requests(
    host: FakeScmHost, session: requests.Session, headers: dict[str, str], status: int
) -> None:
    response = session.get(host.url("/catalog-info.yaml"), headers=headers)
    assert response.status_code == status
    assert response.headers["ETag"] == ETAG
    assert response.content == (b"" if status == 304 else CONTENT)
    if status == 304:
        assert "Content-Length" not in response.headers
        assert "Content-Type" not in response.headers


def test_head_has_headers_but_no_body(host: FakeScmHost, session: requests.Session) -> None:
    response = session.head(host.url("/catalog-info.yaml"))
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Content-Length"] == str(len(CONTENT))
    assert response.headers["ETag"] == ETAG
    assert (
        session.head(host.url("/catalog-info.yaml"), headers={"If-None-Match": ETAG}).status_code
        == 304
    )
    assert session.get(host.url("/catalog-info.yaml")).content == CONTENT  # connection still fine


def test_explicit_validators_and_content_type(host: FakeScmHost, session: requests.Session) -> None:
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    host.serve_file("/a.json", "{}", etag="v1", last_modified=when, content_type="text/x-json")
    host.serve_file("/weak", "w", etag='W/"w1"', headers={"Cache-Control": "no-cache"})
    host.serve_file("/bare", "b", etag=False, last_modified=False)
    host.serve_file("/string-date", "s", last_modified="Wed, 05 Mar 2025 10:00:00 GMT")
    a = session.get(host.url("/a.json"))
    assert (a.headers["ETag"], a.headers["Last-Modified"]) == (
        '"v1"',
        "Tue, 04 Mar 2025 05:06:07 GMT",
    )
    assert a.headers["Content-Type"] == "text/x-json"
    weak = session.get(host.url("/weak"))
    assert (weak.headers["ETag"], weak.headers["Cache-Control"]) == ('W/"w1"', "no-cache")
    assert session.get(host.url("/weak"), headers={"If-None-Match": '"w1"'}).status_code == 304
    bare = session.get(
        host.url("/bare"), headers={"If-None-Match": "*", "If-Modified-Since": DEFAULT_DATE}
    )
    assert bare.status_code == 200
    assert "ETag" not in bare.headers and "Last-Modified" not in bare.headers
    assert session.get(host.url("/string-date")).headers["Last-Modified"] == (
        "Wed, 05 Mar 2025 10:00:00 GMT"
    )


def test_replacing_a_file_changes_its_etag(host: FakeScmHost, session: requests.Session) -> None:
    host.serve_file("/catalog-info.yaml", b"kind: System\n")
    response = session.get(host.url("/catalog-info.yaml"), headers={"If-None-Match": ETAG})
    assert response.status_code == 200 and response.content == b"kind: System\n"
    assert response.headers["ETag"] != ETAG


def test_files_are_streamed_from_disk(
    host: FakeScmHost, session: requests.Session, tmp_path: Path
) -> None:
    path = tmp_path / "archive.tar.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(200_000))
    host.serve_file("/dl/archive.tar.gz", path)
    response = session.get(host.url("/dl/archive.tar.gz"))
    assert response.content == path.read_bytes()
    assert response.headers["ETag"] == f'"{hashlib.sha1(path.read_bytes()).hexdigest()}"'
    assert response.headers["Content-Type"] == "application/gzip"
    with pytest.raises(FakeHostError, match="not a file"):
        host.serve_file("/missing", tmp_path / "missing")


def test_percent_encoded_paths_and_unknown_paths(
    host: FakeScmHost, session: requests.Session
) -> None:
    host.serve_file("/docs/my file.md", "spaced")
    assert session.get(host.url("/docs/my%20file.md")).text == "spaced"
    assert session.get(host.url("/docs/other.md")).status_code == 404
    assert session.get(host.url("/catalog-info.yaml?ref=x")).content == CONTENT
    assert session.post(host.url("/catalog-info.yaml")).status_code == 404
    host.state["plain"].remove("/docs/my file.md")
    assert session.get(host.url("/docs/my%20file.md")).status_code == 404
    with pytest.raises(FakeHostError, match="must start with '/'"):
        host.serve_file("relative.txt", "x")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects(host: FakeScmHost, session: requests.Session, status: int) -> None:
    host.serve_redirect("/old", "/catalog-info.yaml", status)
    response = session.get(host.url("/old"), allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (status, "/catalog-info.yaml")
    assert session.get(host.url("/old")).content == CONTENT
    assert [r.path for r in host.requests_to("")][-2:] == ["/old", "/catalog-info.yaml"]


def test_redirect_status_must_be_a_redirect(host: FakeScmHost) -> None:
    with pytest.raises(FakeHostError, match="redirect status"):
        host.serve_redirect("/x", "/y", 200)
