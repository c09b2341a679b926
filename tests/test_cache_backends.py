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
