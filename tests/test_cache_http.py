"""HttpClient with a response cache, against FakeScmHost: conditional requests, what is
(not) stored, credentials, caller etags, big bodies, broken caches, and GitHub end to end."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scmreader.cache import CACHE_STATUS_HEADER, CachedResponse, MemoryCache, SqliteCache
from scmreader.cache._types import ResponseCache
from scmreader.errors import NotFoundError, NotModifiedError
from scmreader.http import HttpClient, HttpSettings, OriginCredentials, body_stream
from scmreader.readers import UrlReaders
from scmreader.redact import register_secret
from scmreader.testing import FakeRequest, FakeResponse, FakeScmHost
from scmreader.testing.routes import github as github_routes

CANARY = "ghp_CanaryToken4c0ffee5ecret00000001"
CONTENT = b"apiVersion: backstage.io/v1alpha1\nkind: Component\n"


def make_client(cache: ResponseCache | None, **settings: Any) -> HttpClient:
    return HttpClient(HttpSettings(**settings), cache=cache, sleep=lambda _: None)


def fetch_readers(host: FakeScmHost, client: HttpClient) -> UrlReaders:
    return UrlReaders.default(
        {"backend": {"reading": {"allow": [{"host": host.host}]}}}, http=client
    )


def read(client: HttpClient, url: str, **kwargs: Any) -> tuple[bytes, Any]:
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    return body_stream(response, client).read(), response.headers


@pytest.fixture(params=["memory", "sqlite"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResponseCache]:
    if request.param == "memory":
        yield MemoryCache()
    else:
        sqlite = SqliteCache(tmp_path / "cache.sqlite")
        yield sqlite
        sqlite.close()


class SpyCache(MemoryCache):
    """A MemoryCache that records which operations were called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def get(self, key: str) -> CachedResponse | None:
        self.calls.append("get")
        return super().get(key)

    def set(self, key: str, value: CachedResponse) -> None:
        self.calls.append("set")
        super().set(key, value)

    def delete(self, key: str) -> None:
        self.calls.append("delete")
        super().delete(key)


# --- revalidation ------------------------------------------------------------------------


def test_second_get_revalidates_and_is_answered_from_the_cache(
    fake_scm_host: FakeScmHost, cache: ResponseCache
) -> None:
    host = fake_scm_host
    host.serve_file("/catalog-info.yaml", CONTENT, etag='"rev-1"')
    client = make_client(cache)
    url = host.url("/catalog-info.yaml")

    first, first_headers = read(client, url)
    second, second_headers = read(client, url)

    assert first == second == CONTENT
    assert first_headers[CACHE_STATUS_HEADER] == "miss"
    assert second_headers[CACHE_STATUS_HEADER] == "hit"
    assert second_headers["ETag"] == '"rev-1"'
    assert second_headers["Content-Type"] == "application/yaml"
    assert second_headers["Content-Length"] == str(len(CONTENT))
    sent = host.requests_to("/catalog-info.yaml")
    assert len(sent) == 2
    assert "If-None-Match" not in sent[0].headers
    assert sent[1].headers["If-None-Match"] == '"rev-1"'


def test_changed_file_is_refetched_and_stored_again(
    fake_scm_host: FakeScmHost, cache: ResponseCache
) -> None:
    host = fake_scm_host
    url = host.url("/c.yaml")
    client = make_client(cache)
    host.serve_file("/c.yaml", b"version: 1\n", etag='"one"')
    assert read(client, url)[0] == b"version: 1\n"
    host.serve_file("/c.yaml", b"version: 2\n", etag='"two"')

    body, headers = read(client, url)
    assert body == b"version: 2\n"
    assert headers[CACHE_STATUS_HEADER] == "miss"
    body, headers = read(client, url)
    assert body == b"version: 2\n"
    assert headers[CACHE_STATUS_HEADER] == "hit"
    assert [r.headers.get("If-None-Match") for r in host.requests_to("/c.yaml")] == [
        None,
        '"one"',
        '"two"',
    ]


def test_last_modified_alone_is_a_validator(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.serve_file("/lm.txt", b"dated\n", etag=False)
    client = make_client(MemoryCache())
    read(client, host.url("/lm.txt"))
    body, headers = read(client, host.url("/lm.txt"))
    assert (body, headers[CACHE_STATUS_HEADER]) == (b"dated\n", "hit")
    second = host.requests_to("/lm.txt")[1]
    assert second.headers["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert "If-None-Match" not in second.headers


def test_json_answers_from_the_cache_parse(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.serve_file("/data.json", b'{"items": [1, 2]}', content_type="application/json")
    client = make_client(MemoryCache())
    assert client.get_json(host.url("/data.json")) == {"items": [1, 2]}
    assert client.get_json(host.url("/data.json")) == {"items": [1, 2]}
    assert len(host.requests_to("/data.json")) == 2


def test_file_gone_is_not_found_and_forgotten(fake_scm_host: FakeScmHost) -> None:
    from scmreader.testing.routes import plain

    host = fake_scm_host
    cache = MemoryCache()
    client = make_client(cache)
    host.serve_file("/gone.yaml", CONTENT)
    read(client, host.url("/gone.yaml"))
    assert len(cache) == 1
    plain.site(host).remove("/gone.yaml")
    response = client.get(host.url("/gone.yaml"))
    assert response.status_code == 404
    response.close()
    assert len(cache) == 0


# --- what never shares or stores -------------------------------------------------------


def _per_user(request: FakeRequest) -> FakeResponse:
    """A server that (wrongly) gives every user the same ETag: only the key keeps users apart."""
    user = request.headers.get("Authorization", "anonymous").rpartition(" ")[2]
    if request.headers.get("If-None-Match") == '"same-for-all"':
        return FakeResponse(304, b"", [("ETag", '"same-for-all"')])
    return FakeResponse(200, f"secret of {user}\n", [("ETag", '"same-for-all"')])


def test_different_credentials_never_share_an_entry(
    fake_scm_host: FakeScmHost, cache: ResponseCache
) -> None:
    host = fake_scm_host
    host.route("GET", "/private", _per_user)
    client = make_client(cache)
    url = host.url("/private")

    def as_user(token: str) -> tuple[bytes, Any]:
        return read(
            client,
            url,
            credentials=[OriginCredentials(host.base_url, {"Authorization": f"Bearer {token}"})],
        )

    assert as_user("alice-token")[0] == b"secret of alice-token\n"
    body, headers = as_user("bob-token")
    assert body == b"secret of bob-token\n"
    assert headers[CACHE_STATUS_HEADER] == "miss"
    assert "If-None-Match" not in host.requests_to("/private")[1].headers
    assert read(client, url)[0] == b"secret of anonymous\n"  # no credentials: a third entry
    body, headers = as_user("alice-token")
    assert (body, headers[CACHE_STATUS_HEADER]) == (b"secret of alice-token\n", "hit")


def test_caller_accept_header_is_part_of_the_key(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.serve_file("/doc", CONTENT)
    client = make_client(MemoryCache())
    read(client, host.url("/doc"), headers={"Accept": "text/plain"})
    read(client, host.url("/doc"), headers={"Accept": "application/json"})
    assert [r.headers.get("If-None-Match") for r in host.requests_to("/doc")] == [None, None]


def test_caller_etag_bypasses_the_cache_and_still_raises_not_modified(
    fake_scm_host: FakeScmHost,
) -> None:
    host = fake_scm_host
    host.serve_file("/catalog-info.yaml", CONTENT, etag='"rev-1"')
    spy = SpyCache()
    readers = fetch_readers(host, make_client(spy))
    url = host.url("/catalog-info.yaml")
    assert readers.read_url(url).buffer() == CONTENT
    assert spy.calls == ["get", "set"]

    with pytest.raises(NotModifiedError) as info:
        readers.read_url(url, etag='"rev-1"')
    assert info.value.etag == '"rev-1"'
    stale = readers.read_url(url, etag='"rev-0"')
    assert stale.buffer() == CONTENT and stale.etag == '"rev-1"'
    from datetime import UTC, datetime

    with pytest.raises(NotModifiedError):
        readers.read_url(url, last_modified_after=datetime(2025, 1, 1, tzinfo=UTC))
    assert spy.calls == ["get", "set"], "requests with the caller's validators never use the cache"
    sent = host.requests_to("/catalog-info.yaml")
    assert [r.headers.get("If-None-Match") for r in sent] == [None, '"rev-1"', '"rev-0"', None]


def test_big_bodies_are_not_cached_and_still_stream(
    fake_scm_host: FakeScmHost, cache: ResponseCache
) -> None:
    host = fake_scm_host
    big = bytes(range(256)) * 800  # 200 KiB
    host.serve_file("/big.bin", big)
    client = make_client(cache, cache_max_body=64 * 1024)
    for _ in range(2):
        response = client.get(host.url("/big.bin"))
        assert CACHE_STATUS_HEADER not in response.headers
        stream = body_stream(response, client)
        chunks = []
        while chunk := stream.read(10_000):
            chunks.append(chunk)
        assert b"".join(chunks) == big
    assert [r.headers.get("If-None-Match") for r in host.requests_to("/big.bin")] == [None, None]
    assert len(cache) == 0  # type: ignore[arg-type]  # both backends have a length


def test_bodies_without_length_are_streamed_not_cached(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.route(
        "GET",
        "/archive.tar.gz",
        lambda r: FakeResponse(200, iter([b"a" * 100, b"b" * 100]), [("ETag", '"t"')]),
    )
    cache = MemoryCache()
    client = make_client(cache)
    for _ in range(2):
        assert read(client, host.url("/archive.tar.gz"))[0] == b"a" * 100 + b"b" * 100
    assert len(cache) == 0
    assert "If-None-Match" not in host.requests_to("/archive.tar.gz")[1].headers


@pytest.mark.parametrize(
    "headers",
    [
        [],  # no validator: nothing to revalidate with
        [("ETag", '"x"'), ("Cache-Control", "private, no-store")],
        [("ETag", '"x"'), ("Vary", "*")],
    ],
)
def test_answers_that_must_not_be_stored(
    fake_scm_host: FakeScmHost, headers: list[tuple[str, str]]
) -> None:
    host = fake_scm_host
    host.route("GET", "/x", lambda r: FakeResponse(200, b"body", headers))
    cache = MemoryCache()
    client = make_client(cache)
    assert read(client, host.url("/x"))[0] == b"body"
    assert len(cache) == 0


def test_github_private_answers_are_stored(fake_scm_host: FakeScmHost) -> None:
    # GitHub marks authenticated answers "private": right for a per-credential cache.
    host = fake_scm_host
    host.route(
        "GET",
        "/x",
        lambda r: FakeResponse(
            200, b"b", [("ETag", '"x"'), ("Cache-Control", "private, max-age=60")]
        ),
    )
    cache = MemoryCache()
    read(make_client(cache), host.url("/x"))
    assert len(cache) == 1


def test_non_get_and_errors_are_not_stored(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.route("*", "/api", lambda r: FakeResponse(200, b"ok", [("ETag", '"e"')]))
    host.route("GET", "/missing", lambda r: FakeResponse(404, b"nope", [("ETag", '"e"')]))
    cache = SpyCache()
    client = make_client(cache)
    client.request("POST", host.url("/api"), data=b"{}").close()
    client.get(host.url("/missing")).close()
    assert cache.calls == ["get"]  # the 404's lookup; the POST never touches the cache
    assert len(cache) == 0


def test_gzip_bodies_are_stored_decoded(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    packed = gzip.compress(CONTENT)
    host.route(
        "GET",
        "/z",
        lambda r: (
            FakeResponse(304, b"", [("ETag", '"z"')])
            if r.headers.get("If-None-Match") == '"z"'
            else FakeResponse(200, packed, [("ETag", '"z"'), ("Content-Encoding", "gzip")])
        ),
    )
    cache = MemoryCache()
    client = make_client(cache)
    assert read(client, host.url("/z"))[0] == CONTENT
    (stored,) = [cache.get(k) for k in list(cache._entries)]
    assert stored is not None and stored.body == CONTENT
    body, headers = read(client, host.url("/z"))
    assert (body, headers[CACHE_STATUS_HEADER]) == (CONTENT, "hit")
    assert "Content-Encoding" not in headers


def test_gzip_bodies_that_inflate_past_the_limit_stream_whole(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    inflated = b"0123456789abcdef" * 50_000  # 800 KB of text, a few KB packed
    packed = gzip.compress(inflated)
    host.route(
        "GET",
        "/bomb",
        lambda r: FakeResponse(200, packed, [("ETag", '"b"'), ("Content-Encoding", "gzip")]),
    )
    cache = MemoryCache()
    client = make_client(cache, cache_max_body=64 * 1024)
    assert len(packed) < 64 * 1024
    assert read(client, host.url("/bomb"))[0] == inflated
    assert len(cache) == 0


def test_no_secret_reaches_the_sqlite_file(fake_scm_host: FakeScmHost, tmp_path: Path) -> None:
    import base64

    register_secret(CANARY)
    host = fake_scm_host
    host.route(
        "GET",
        "/secret-headers",
        lambda r: FakeResponse(
            200,
            b"public body\n",
            [
                ("ETag", '"s"'),
                ("Set-Cookie", f"session={CANARY}; HttpOnly"),
                ("X-Echo-Authorization", r.headers.get("Authorization", "")),
                ("x-ratelimit-remaining", "4999"),
            ],
        ),
    )
    path = tmp_path / "cache.sqlite"
    cache = SqliteCache(path)
    readers = fetch_readers(host, make_client(cache))
    for _ in range(2):
        assert (
            readers.read_url(host.url("/secret-headers"), token=CANARY).buffer() == b"public body\n"
        )
    assert host.requests_to("/secret-headers")[1].headers["Authorization"] == f"Bearer {CANARY}"
    stored = b"".join(
        p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("cache.sqlite")
    )
    assert b"public body" in stored  # the grep does look at the data
    for form in (CANARY.encode(), base64.b64encode(CANARY.encode()), b"ratelimit", b"Set-Cookie"):
        assert form not in stored, form


# --- redirects -----------------------------------------------------------------------------


def test_validators_go_to_the_origin_the_answer_came_from(
    fake_scm_host: FakeScmHost, fake_scm_host_factory: Any
) -> None:
    first = fake_scm_host
    other = fake_scm_host_factory("127.0.0.2", providers=("plain",))
    other.serve_file("/new.yaml", CONTENT, etag='"moved"')
    first.serve_redirect("/old.yaml", other.url("/new.yaml"))
    cache = MemoryCache()
    client = make_client(cache)
    token = [OriginCredentials(first.base_url, {"Authorization": "Bearer first-host-token"})]

    assert read(client, first.url("/old.yaml"), credentials=token)[0] == CONTENT
    body, headers = read(client, first.url("/old.yaml"), credentials=token)

    assert (body, headers[CACHE_STATUS_HEADER]) == (CONTENT, "hit")
    assert [r.headers.get("If-None-Match") for r in first.requests_to("/old.yaml")] == [None, None]
    assert [r.headers.get("If-None-Match") for r in other.requests_to("/new.yaml")] == [
        None,
        '"moved"',
    ]
    assert all(not r.auth_headers for r in other.requests)
    (stored,) = list(cache._entries.values())
    assert stored.url == other.url("/new.yaml")


# --- a broken cache never fails a read ---------------------------------------------------


class FailingCache:
    """A cache whose store is down; its error text carries a secret (it must be redacted)."""

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self) -> None:
        self.calls += 1
        raise ConnectionError(f"cache server refused AUTH {CANARY}")

    def get(self, key: str) -> CachedResponse | None:
        self._fail()
        return None

    def set(self, key: str, value: CachedResponse) -> None:
        self._fail()

    def delete(self, key: str) -> None:
        self._fail()

    def clear(self) -> None:
        self._fail()


def test_a_failing_cache_logs_once_redacted_and_pauses(
    fake_scm_host: FakeScmHost, caplog: pytest.LogCaptureFixture
) -> None:
    register_secret(CANARY)
    host = fake_scm_host
    host.serve_file("/f.yaml", CONTENT)
    now = [100.0]
    failing = FailingCache()
    client = HttpClient(cache=failing, sleep=lambda _: None, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="scmreader.cache")
    for _ in range(3):
        assert read(client, host.url("/f.yaml"))[0] == CONTENT
    assert failing.calls == 1  # then left alone for a while
    warnings = [r for r in caplog.records if r.name == "scmreader.cache"]
    assert len(warnings) == 1
    assert CANARY not in caplog.text
    assert "reading without it" in caplog.text
    for _ in range(3):  # still down at each retry: still that one warning
        now[0] += 31
        assert read(client, host.url("/f.yaml"))[0] == CONTENT
    assert failing.calls == 4
    assert len([r for r in caplog.records if r.name == "scmreader.cache"]) == 1


def test_unusable_sqlite_path_does_not_fail_reads(
    fake_scm_host: FakeScmHost, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    host = fake_scm_host
    host.serve_file("/f.yaml", CONTENT)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    readers = fetch_readers(host, make_client(SqliteCache(blocker / "cache.sqlite")))
    caplog.set_level(logging.WARNING, logger="scmreader.cache")
    assert readers.read_url(host.url("/f.yaml")).buffer() == CONTENT
    assert readers.read_url(host.url("/f.yaml")).buffer() == CONTENT
    assert "SQLite response cache" in caplog.text


def test_corrupt_sqlite_file_does_not_fail_reads(
    fake_scm_host: FakeScmHost, tmp_path: Path
) -> None:
    host = fake_scm_host
    host.serve_file("/f.yaml", CONTENT)
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"\x00garbage" * 512)
    readers = fetch_readers(host, make_client(SqliteCache(path)))
    assert readers.read_url(host.url("/f.yaml")).buffer() == CONTENT


def test_not_found_through_a_reader_is_unchanged(fake_scm_host: FakeScmHost) -> None:
    readers = fetch_readers(fake_scm_host, make_client(MemoryCache()))
    with pytest.raises(NotFoundError):
        readers.read_url(fake_scm_host.url("/nothing-here.yaml"))


# --- GitHub end to end ---------------------------------------------------------------------

GITHUB_TOKEN = "ghp_cacheTestToken000000000000000001"
REPO = "octo/cached"


@pytest.fixture
def github_readers(fake_scm_host: FakeScmHost) -> tuple[UrlReaders, MemoryCache]:
    host = fake_scm_host
    host.enable("github")
    host.add_repo(REPO, {"catalog-info.yaml": CONTENT.decode(), "docs/index.md": "# Docs\n"})
    state = github_routes.github(host)
    state.add_token(GITHUB_TOKEN)
    state.make_private(REPO)
    cache = MemoryCache()
    readers = UrlReaders.default(
        {"integrations": {"github": [github_routes.integration_config(host, token=GITHUB_TOKEN)]}},
        http=make_client(cache),
    )
    return readers, cache


def _statuses(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage().rpartition(" -> ")[2][:3]
        for r in caplog.records
        if r.name == "scmreader.http" and " -> " in r.getMessage()
    ]


def test_github_repeated_read_url_costs_one_304(
    fake_scm_host: FakeScmHost,
    github_readers: tuple[UrlReaders, MemoryCache],
    caplog: pytest.LogCaptureFixture,
) -> None:
    readers, _cache = github_readers
    url = f"{fake_scm_host.base_url}/{REPO}/blob/main/catalog-info.yaml"
    caplog.set_level(logging.DEBUG, logger="scmreader.http")
    first = readers.read_url(url)
    assert first.buffer() == CONTENT
    assert _statuses(caplog) == ["200"]
    caplog.clear()
    fake_scm_host.clear_requests()

    second = readers.read_url(url)

    assert second.buffer() == CONTENT
    assert second.etag == first.etag
    assert _statuses(caplog) == ["304"]
    (request,) = fake_scm_host.requests
    assert request.headers["If-None-Match"] == first.etag
    with pytest.raises(NotModifiedError):  # the caller's own etag: unchanged semantics
        readers.read_url(url, etag=first.etag)


def test_github_repeated_read_tree_revalidates_the_commit_not_the_archive(
    fake_scm_host: FakeScmHost,
    github_readers: tuple[UrlReaders, MemoryCache],
    caplog: pytest.LogCaptureFixture,
) -> None:
    readers, cache = github_readers
    url = f"{fake_scm_host.base_url}/{REPO}/tree/main"
    first = sorted(f.path for f in readers.read_tree(url).files())
    entries_after_first = len(cache)
    caplog.set_level(logging.DEBUG, logger="scmreader.http")
    second = sorted(f.path for f in readers.read_tree(url).files())
    assert first == second == ["catalog-info.yaml", "docs/index.md"]
    assert _statuses(caplog)[0] == "304"  # the commit lookup, from the cache
    assert len(cache) == entries_after_first  # tarballs are streamed, never stored
    assert all(len(e.body) < 1000 for e in cache._entries.values())
