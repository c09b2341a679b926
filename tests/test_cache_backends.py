"""The response-cache backends against one contract, plus what each backend adds.

Redis tests run against a real ``redis-server`` started by this module on a free loopback
port (no system service needed). Without the binary they skip locally; with ``CI`` set in
the environment they fail instead, so CI never passes them silently.
"""

from __future__ import annotations

import base64
import logging
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.cache import (
    CachedResponse,
    CacheError,
    MemoryCache,
    RedisCache,
    ResponseCache,
    SqliteCache,
)
from scmreader.errors import ConfigError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.redact import redact, register_secret
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeResponse
from scmreader.testing.redis_server import RedisServer, free_port, redis_server_binary

REDIS_PASSWORD = "redis-pw-Canary-7f3a9c"


def entry(body: bytes = b"kind: Component\n", etag: str = '"v1"', **headers: str) -> CachedResponse:
    return CachedResponse(
        url="https://ghe.example.com/api/v3/repos/o/r/contents/catalog-info.yaml",
        headers={"ETag": etag, "Content-Type": "application/yaml", **headers},
        body=body,
        stored_at=1_700_000_000.5,
    )


# --- a real redis-server for the session ---------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(
        redis_server_binary(), tmp_path_factory.mktemp("redis"), password=REDIS_PASSWORD
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_cache(redis_server: RedisServer) -> Iterator[RedisCache]:
    cache = RedisCache(redis_server.url, prefix=f"test-{uuid.uuid4().hex[:8]}:")
    yield cache
    cache.clear()
    cache.close()


def raw_redis(server: RedisServer):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(server.url)


# --- the contract, for every backend ---------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "redis"])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> ResponseCache:
    if request.param == "memory":
        return MemoryCache()
    if request.param == "sqlite":
        return SqliteCache(tmp_path / "cache.sqlite")
    result: ResponseCache = request.getfixturevalue("redis_cache")
    return result


class TestContract:
    def test_is_a_response_cache(self, cache: ResponseCache) -> None:
        assert isinstance(cache, ResponseCache)

    def test_missing_key_is_none(self, cache: ResponseCache) -> None:
        assert cache.get("0" * 64) is None

    def test_set_then_get_gives_the_same_entry(self, cache: ResponseCache) -> None:
        stored = entry(b"\x00\xffbinary\r\n" + bytes(range(256)), Link='<x?page=2>; rel="next"')
        cache.set("a" * 64, stored)
        assert cache.get("a" * 64) == stored

    def test_empty_body(self, cache: ResponseCache) -> None:
        cache.set("e" * 64, entry(b""))
        got = cache.get("e" * 64)
        assert got is not None and got.body == b""

    def test_set_replaces(self, cache: ResponseCache) -> None:
        cache.set("k", entry(b"old", '"1"'))
        cache.set("k", entry(b"new", '"2"'))
        got = cache.get("k")
        assert got is not None and (got.body, got.etag) == (b"new", '"2"')

    def test_delete(self, cache: ResponseCache) -> None:
        cache.set("k1", entry(b"one"))
        cache.set("k2", entry(b"two"))
        cache.delete("k1")
        cache.delete("never-stored")
        assert cache.get("k1") is None
        assert cache.get("k2") is not None

    def test_clear(self, cache: ResponseCache) -> None:
        for i in range(5):
            cache.set(f"k{i}", entry(str(i).encode()))
        cache.clear()
        assert [cache.get(f"k{i}") for i in range(5)] == [None] * 5

    def test_threads(self, cache: ResponseCache) -> None:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(30):
                    key = f"t{n}-{i % 5}"
                    cache.set(key, entry(f"{n}:{i}".encode()))
                    got = cache.get(key)
                    assert got is not None and got.body.startswith(f"{n}:".encode())
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


# --- CachedResponse --------------------------------------------------------------------


@given(
    body=st.binary(max_size=2000),
    headers=st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=50), max_size=5),
    url=st.text(max_size=100),
    stored_at=st.floats(allow_nan=False, allow_infinity=False),
)
def test_entry_bytes_round_trip(
    body: bytes, headers: dict[str, str], url: str, stored_at: float
) -> None:
    original = CachedResponse(url=url, headers=headers, body=body, stored_at=stored_at)
    assert CachedResponse.from_bytes(original.to_bytes()) == original


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"scmreader-cache/1\n", b"scmreader-cache/1\n\x00\x00\x00\x05{}{}x"],
)
def test_entry_from_garbage_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        CachedResponse.from_bytes(data)


def test_entry_accessors_and_repr_leave_out_the_body() -> None:
    e = entry(b"secret-looking body", **{"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
    assert e.etag == '"v1"' and e.header("etag") == '"v1"'
    assert e.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert e.header("X-Missing") is None
    assert "secret-looking" not in repr(e)


# --- memory ------------------------------------------------------------------------------


def test_memory_evicts_the_least_recently_used_by_count() -> None:
    cache = MemoryCache(max_entries=3)
    for key in "abc":
        cache.set(key, entry(key.encode()))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.set("d", entry(b"d"))
    assert [k for k in "abcd" if cache.get(k) is not None] == ["a", "c", "d"]
    assert len(cache) == 3


def test_memory_evicts_by_bytes_and_keeps_its_count_right() -> None:
    size = entry(b"x" * 1000).size
    cache = MemoryCache(max_bytes=size * 2 + 10)
    cache.set("a", entry(b"x" * 1000))
    cache.set("b", entry(b"y" * 1000))
    assert cache.total_bytes == size * 2
    cache.set("c", entry(b"z" * 1000))
    assert cache.get("a") is None and cache.get("b") is not None and cache.get("c") is not None
    assert cache.total_bytes == size * 2
    cache.delete("b")
    cache.set("c", entry(b"z" * 10))
    assert cache.total_bytes == entry(b"z" * 10).size


def test_memory_does_not_store_an_entry_bigger_than_the_whole_budget() -> None:
    cache = MemoryCache(max_bytes=500)
    cache.set("small", entry(b"s"))
    cache.set("big", entry(b"b" * 1000))
    assert cache.get("big") is None
    assert cache.get("small") is not None


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"max_bytes": 0}])
def test_memory_limits_must_be_positive(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        MemoryCache(**kwargs)


# --- sqlite ------------------------------------------------------------------------------


def test_sqlite_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first = SqliteCache(path)
    first.set("k", entry(b"kept"))
    first.close()
    second = SqliteCache(path)
    got = second.get("k")
    assert got is not None and got.body == b"kept"


_CHILD = """
import sys
from scmreader.cache import CachedResponse, SqliteCache
cache = SqliteCache(sys.argv[1])
if sys.argv[2] == "write":
    cache.set("from-child", CachedResponse("https://h/x", {"ETag": '"c"'}, b"child", 1.0))
else:
    got = cache.get("from-parent")
    sys.stdout.write(got.body.decode() if got else "MISSING")
"""


def test_sqlite_is_shared_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    cache = SqliteCache(path)
    cache.set("from-parent", entry(b"parent"))
    read = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), "read"], capture_output=True, timeout=60
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout == b"parent"
    write = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), "write"], capture_output=True, timeout=60
    )
    assert write.returncode == 0, write.stderr
    got = cache.get("from-child")
    assert got is not None and got.body == b"child"


_WRITER = """
import sys
from scmreader.cache import CachedResponse, SqliteCache
cache = SqliteCache(sys.argv[1])
value = CachedResponse("https://h/x", {"ETag": '"w"'}, b"x" * 2000, 1.0)
for i in range(40):
    cache.set(f"{sys.argv[2]}-{i}", value)
    cache.get(f"{sys.argv[2]}-{i // 2}")
"""


def test_sqlite_concurrent_writer_processes(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite"
    SqliteCache(path).set("warm", entry())  # the schema exists before the race
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), f"w{n}"], stderr=subprocess.PIPE
        )
        for n in range(4)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()
    assert len(SqliteCache(path)) == 4 * 40 + 1


def test_sqlite_file_and_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "c.sqlite"
    cache = SqliteCache(path)
    cache.set("k", entry())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for side in path.parent.glob("c.sqlite-*"):  # WAL and shared-memory files
        assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0, side


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "c.sqlite"
    SqliteCache(path).set("k", entry())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_evicts_least_recently_used_beyond_max_bytes(tmp_path: Path) -> None:
    now = [1000.0]
    size = len(entry(b"x" * 1000).to_bytes())
    cache = SqliteCache(tmp_path / "c.sqlite", max_bytes=size * 3, clock=lambda: now[0])
    for key in "abc":
        cache.set(key, entry(b"x" * 1000))
        now[0] += 100
    assert cache.get("a") is not None  # refreshed: now the most recently used
    now[0] += 100
    cache.set("d", entry(b"x" * 1000))
    assert [k for k in "abcd" if cache.get(k) is not None] == ["a", "c", "d"]
    assert cache.total_bytes <= size * 3
    assert len(cache) == 3


def test_sqlite_does_not_store_an_entry_bigger_than_the_budget(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "c.sqlite", max_bytes=100)
    cache.set("big", entry(b"b" * 1000))
    assert cache.get("big") is None


def test_sqlite_corrupt_file_is_a_cache_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(CacheError, match=r"could not read .*delete it"):
        SqliteCache(path).get("k")


def test_sqlite_undecodable_value_is_a_miss(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "c.sqlite"
    cache = SqliteCache(path)
    cache.set("k", entry())
    with sqlite3.connect(path) as db:
        db.execute("UPDATE responses SET value = x'00010203'")
    assert cache.get("k") is None
    assert len(cache) == 0


def test_sqlite_unusable_path_is_a_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CacheError, match="a-file"):
        SqliteCache(blocker / "c.sqlite").set("k", entry())


# --- redis -------------------------------------------------------------------------------


def test_redis_entries_expire_after_ttl(redis_server: RedisServer) -> None:
    cache = RedisCache(redis_server.url, prefix=f"ttl-{uuid.uuid4().hex[:8]}:", ttl=0.4)
    cache.set("k", entry())
    assert cache.get("k") is not None
    pttl = raw_redis(redis_server).pttl(cache.prefix + "k")
    assert 0 < pttl <= 400
    time.sleep(0.6)
    assert cache.get("k") is None


def test_redis_default_ttl_is_set(redis_cache: RedisCache, redis_server: RedisServer) -> None:
    redis_cache.set("k", entry())
    ttl = raw_redis(redis_server).ttl(redis_cache.prefix + "k")
    assert 7 * 24 * 3600 - 60 < ttl <= 7 * 24 * 3600


def test_redis_clear_only_touches_its_prefix(redis_server: RedisServer) -> None:
    mine = RedisCache(redis_server.url, prefix="app[1]*:")  # glob characters in the prefix
    other = RedisCache(redis_server.url, prefix="app[1]x:")
    try:
        mine.set("k", entry())
        other.set("k", entry())
        mine.clear()
        assert mine.get("k") is None
        assert other.get("k") is not None
    finally:
        other.clear()


def test_redis_keys_are_prefixed(redis_cache: RedisCache, redis_server: RedisServer) -> None:
    redis_cache.set("abc", entry())
    assert raw_redis(redis_server).exists(redis_cache.prefix + "abc") == 1


def test_redis_undecodable_value_is_a_miss(
    redis_cache: RedisCache, redis_server: RedisServer
) -> None:
    raw_redis(redis_server).set(redis_cache.prefix + "k", b"junk")
    assert redis_cache.get("k") is None
    assert raw_redis(redis_server).exists(redis_cache.prefix + "k") == 0


def test_redis_password_never_shown(redis_server: RedisServer) -> None:
    cache = RedisCache(redis_server.url)
    assert REDIS_PASSWORD not in repr(cache)
    assert REDIS_PASSWORD not in cache.url
    assert REDIS_PASSWORD not in redact(f"failed: {redis_server.url}")


def test_redis_server_down_is_a_cache_error_without_the_password() -> None:
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"
    cache = RedisCache(url, timeout=0.5)
    with pytest.raises(CacheError) as info:
        cache.get("k")
    assert REDIS_PASSWORD not in str(info.value)
    assert "check that the server runs" in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "memcached://x"])
def test_redis_url_must_be_a_redis_url(url: str) -> None:
    with pytest.raises(ConfigError, match="not a Redis URL"):
        RedisCache(url)


def test_redis_without_the_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigError, match=r"pip install 'scmreader\[redis\]'"):
        RedisCache("redis://127.0.0.1:6379/0")


def test_redis_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RedisCache(ttl=0)


# --- redis behind HttpClient -------------------------------------------------------------

CANARY = "glpat-RedisCanaryToken-0000000001"


def _readers(host: FakeScmHost, cache: ResponseCache) -> UrlReaders:
    client = HttpClient(cache=cache, sleep=lambda _: None)
    return UrlReaders.default(
        {"backend": {"reading": {"allow": [{"host": host.host}]}}}, http=client
    )


def test_redis_backed_reads_revalidate_and_store_no_secret(
    fake_scm_host: FakeScmHost, redis_cache: RedisCache, redis_server: RedisServer
) -> None:
    register_secret(CANARY)
    host = fake_scm_host
    host.serve_file(
        "/catalog-info.yaml",
        b"kind: Component\n",
        etag='"r1"',
        headers=[("Set-Cookie", f"s={CANARY}"), ("x-ratelimit-remaining", "10")],
    )
    readers = _readers(host, redis_cache)
    url = host.url("/catalog-info.yaml")
    for _ in range(2):
        assert readers.read_url(url, token=CANARY).buffer() == b"kind: Component\n"
    assert [r.headers.get("If-None-Match") for r in host.requests_to("/catalog-info")] == [
        None,
        '"r1"',
    ]
    raw = raw_redis(redis_server)
    names = list(raw.scan_iter(match=redis_cache.prefix + "*"))
    assert len(names) == 1
    dump = b"".join(names) + b"".join(raw.get(n) or b"" for n in names)
    assert b"kind: Component" in dump
    for form in (CANARY.encode(), base64.b64encode(CANARY.encode()), b"ratelimit", b"Cookie"):
        assert form not in dump, form


def test_redis_stopped_does_not_fail_reads(
    fake_scm_host: FakeScmHost, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(redis_server_binary(), tmp_path, password=REDIS_PASSWORD).start()
    try:
        cache = RedisCache(server.url, timeout=0.5)
        host = fake_scm_host
        host.serve_file("/f.yaml", b"content\n")
        readers = _readers(host, cache)
        assert readers.read_url(host.url("/f.yaml")).buffer() == b"content\n"
    finally:
        server.stop()
    caplog.set_level(logging.WARNING, logger="scmreader.cache")
    assert readers.read_url(host.url("/f.yaml")).buffer() == b"content\n"
    assert "Redis response cache" in caplog.text
    assert REDIS_PASSWORD not in caplog.text


# --- state shared by workers: the cache and the rate-limit state in one Redis ------------

WORKER = """
import json, sys
from scmreader.readers import UrlReaders
config, urls = json.loads(sys.argv[1]), json.loads(sys.argv[2])
results = UrlReaders.default(config).read_many(urls, max_workers=4)
print(json.dumps([r.unwrap().buffer().decode() for r in results]))
"""


def _github_with_repos(host: FakeScmHost, token: str, count: int) -> list[str]:
    from scmreader.testing.routes.github import github

    host.enable("github")
    github(host).add_token(token)
    for i in range(count):
        host.add_repo(f"org/svc-{i}", {"catalog-info.yaml": f"name: svc-{i}\n"})
    return [f"{host.base_url}/org/svc-{i}/blob/main/catalog-info.yaml" for i in range(count)]


def _shared_config(
    host: FakeScmHost, server: RedisServer, prefix: str, token: str
) -> dict[str, Any]:
    from scmreader.testing.routes.github import integration_config

    return {
        "integrations": {"github": [integration_config(host, token=token)]},
        "scmreader": {"cache": {"store": "redis", "url": server.url, "prefix": prefix}},
    }


def test_two_processes_share_the_redis_cache(
    fake_scm_host: FakeScmHost, redis_server: RedisServer
) -> None:
    import json

    token = "ghp_shared_cache_token_01"
    urls = _github_with_repos(fake_scm_host, token, 6)
    config = _shared_config(fake_scm_host, redis_server, f"w-{uuid.uuid4().hex[:8]}:", token)
    outputs = []
    for _ in range(2):  # two worker processes, one after the other
        fake_scm_host.clear_requests()
        done = subprocess.run(
            [sys.executable, "-c", WORKER, json.dumps(config), json.dumps(urls)],
            capture_output=True, text=True, check=True, timeout=120,
        )  # fmt: skip
        outputs.append(json.loads(done.stdout))
        if not any(r.headers.get("If-None-Match") for r in fake_scm_host.requests):
            assert len(fake_scm_host.requests) == 6  # the first worker downloads everything
    assert outputs[0] == outputs[1] == [f"name: svc-{i}\n" for i in range(6)]
    # the second worker only revalidated what the first stored: six 304s, no content
    assert len(fake_scm_host.requests) == 6
    assert all(r.headers.get("If-None-Match") for r in fake_scm_host.requests)
    assert token not in redis_dump(redis_server)


def redis_dump(server: RedisServer) -> str:
    raw = raw_redis(server)
    return repr([(n, raw.dump(n)) for n in raw.scan_iter(match="*")])


def test_workers_share_rate_budget_and_pause_through_redis(
    fake_scm_host: FakeScmHost, redis_server: RedisServer
) -> None:
    from scmreader.cache import http_client_from_config
    from scmreader.config import load_config
    from scmreader.errors import RateLimitedError
    from scmreader.http._hosts_redis import RedisHostState
    from scmreader.testing.routes.github import github

    token = "ghp_shared_budget_token_1"
    urls = _github_with_repos(fake_scm_host, token, 2)
    reset = int(time.time()) + 3000
    github(fake_scm_host).set_rate_limit(4, limit=5000, reset=reset)
    raw = _shared_config(fake_scm_host, redis_server, f"b-{uuid.uuid4().hex[:8]}:", token)
    raw["scmreader"]["hosts"] = [{"host": fake_scm_host.host, "budgetFloor": 2}]
    config = load_config(raw)
    a = UrlReaders.default(config, http=http_client_from_config(config))
    b = UrlReaders.default(config, http=http_client_from_config(config))
    assert isinstance(b.context.http.hosts.state, RedisHostState)

    a.read(urls[0])  # worker A learns: 3 left
    assert [(x.remaining, x.limit) for x in b.rate_limits()] == [(3, 5000)]
    b.read(urls[1])  # worker B spends one more: 2 left, the floor
    fake_scm_host.clear_requests()
    with pytest.raises(RateLimitedError, match="rate budget is spent"):
        a.read(urls[0])  # A does not spend what B already took
    assert fake_scm_host.requests == []

    # one pause for all: a 429 seen by A makes B wait for the same moment
    github(fake_scm_host).set_rate_limit(4000, limit=5000, reset=reset + 10)
    fake_scm_host.route(
        "GET", "/busy", lambda r: FakeResponse.text("slow down", 429, {"Retry-After": "600"})
    )
    with pytest.raises(RateLimitedError):
        a.context.http.get(fake_scm_host.url("/busy"))
    fake_scm_host.clear_requests()
    with pytest.raises(RateLimitedError, match="asked to wait"):
        b.read(urls[1])
    assert fake_scm_host.requests == []


def test_redis_stopped_mid_run_degrades_with_one_warning_each(
    fake_scm_host: FakeScmHost, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from scmreader.cache import http_client_from_config
    from scmreader.config import load_config

    token = "ghp_redis_outage_token_01"
    urls = _github_with_repos(fake_scm_host, token, 3)
    server = RedisServer(redis_server_binary(), tmp_path, password=REDIS_PASSWORD).start()
    try:
        config = load_config(_shared_config(fake_scm_host, server, "outage:", token))
        readers = UrlReaders.default(config, http=http_client_from_config(config))
        assert all(r.ok for r in readers.read_many(urls))
    finally:
        server.stop()
    caplog.set_level(logging.INFO)
    for _ in range(3):  # the whole pipeline keeps reading, without the cache
        results = readers.read_many(urls, max_workers=3)
        assert [r.unwrap().buffer() for r in results] == [
            f"name: svc-{i}\n".encode() for i in range(3)
        ]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert sorted(r.name for r in warnings) == ["scmreader.cache", "scmreader.http"]
    assert "Redis" in caplog.text and REDIS_PASSWORD not in caplog.text


@pytest.fixture(params=["memory", "redis"])
def host_state(request: pytest.FixtureRequest) -> Any:
    from scmreader.http import MemoryHostState
    from scmreader.http._hosts_redis import RedisHostState

    if request.param == "memory":
        return MemoryHostState()
    server: RedisServer = request.getfixturevalue("redis_server")
    return RedisHostState(raw_redis(server), prefix=f"hs-{uuid.uuid4().hex[:8]}:")


def test_host_state_contract(host_state: Any) -> None:
    """Budgets and pauses behave the same in this process's memory and in Redis."""
    from scmreader.http._hosts import Budget

    now, key = 1_900_000_000.0, "api.github.com|sha256:0123456789ab"
    assert host_state.reserve(key, 2, now) is None  # unknown budget: go
    host_state.observe(key, Budget(10, 5, now + 60, "core"))
    assert [host_state.reserve(key, 2, now) for _ in range(4)] == [None, None, None, now + 60]
    host_state.observe(key, Budget(10, 4, now + 60, "core"))  # an older answer: stays at 2
    assert host_state.budgets()[key] == Budget(10, 2, now + 60, "core")
    # the window passed: count from the limit until an answer says when the new one ends
    later = now + 61
    assert [host_state.reserve(key, 2, later) for _ in range(8)] == [None] * 8
    assert host_state.reserve(key, 2, later) is None  # no reset to wait for: go, and learn
    host_state.observe(key, Budget(10, 9, later + 3600, "core"))
    assert host_state.budgets()[key] == Budget(10, 2, later + 3600, "core")
    # pauses only grow
    assert host_state.pause_until("api.github.com") == 0
    host_state.set_pause("api.github.com", time.time() + 30)
    host_state.set_pause("api.github.com", time.time() + 10)
    assert host_state.pause_until("api.github.com") == pytest.approx(time.time() + 30, abs=2)
