"""TestCaches: one test per cache backend, a real Redis started on demand, the README example."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from scmreader.cache import CachedResponse, MemoryCache, RedisCache, SqliteCache
from scmreader.errors import InputError
from scmreader.testing import TestCaches
from scmreader.testing.caches import REDIS_URL_ENV

README = Path(__file__).resolve().parents[2] / "README.md"
ENTRY = CachedResponse(
    url="https://github.com/o/r/blob/main/catalog-info.yaml",
    headers={"ETag": '"abc"'},
    body=b"kind: Component\n",
    stored_at=1_700_000_000.0,
)

caches = TestCaches.create()


@pytest.mark.parametrize("cache_id", caches.each_supported_id())
def test_each_backend_starts_empty_and_works(cache_id: str) -> None:
    test_cache = caches.init(cache_id)
    assert test_cache.id == cache_id
    assert test_cache.cache.get("k") is None
    test_cache.cache.set("k", ENTRY)
    assert test_cache.cache.get("k") == ENTRY
    assert caches.init(cache_id).cache.get("k") is None  # the next init is fresh again


@pytest.mark.parametrize(
    ("cache_id", "kind"), [("memory", MemoryCache), ("sqlite", SqliteCache), ("redis", RedisCache)]
)
def test_init_gives_the_backend_and_a_matching_config_block(cache_id: str, kind: type) -> None:
    from scmreader.cache import cache_from_config
    from scmreader.config import load_config

    test_cache = caches.init(cache_id)
    assert isinstance(test_cache.cache, kind)
    app_config = test_cache.app_config(integrations={"github": [{"host": "ghe.example.com"}]})
    assert app_config["integrations"] == {"github": [{"host": "ghe.example.com"}]}
    from_config = cache_from_config(load_config(app_config))
    assert isinstance(from_config, kind)
    if cache_id != "memory":  # the config names the very same store: it sees the entry
        test_cache.cache.set("shared", ENTRY)
        assert from_config.get("shared") == ENTRY


def test_redis_is_started_once_and_stopped_by_shutdown(tmp_path: Path) -> None:
    own = TestCaches.create(ids=["redis"])
    first, second = own.init("redis"), own.init("redis")
    url_of = [t.config["url"] for t in (first, second)]
    assert url_of[0] == url_of[1]  # one server, two key spaces
    assert first.config["prefix"] != second.config["prefix"]
    first.cache.set("k", ENTRY)
    assert second.cache.get("k") is None
    port = int(re.sub(r".*:(\d+)/0$", r"\1", url_of[0]))
    own.shutdown()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_an_external_redis_is_used_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    server_owner = TestCaches.create(ids=["redis"])
    try:
        url = server_owner.init("redis").config["url"]
        monkeypatch.setenv(REDIS_URL_ENV, url)
        monkeypatch.setenv("PATH", "")  # no redis-server binary: the URL is enough
        external = TestCaches.create(ids=["redis"])
        assert external.supports("redis")
        test_cache = external.init("redis")
        assert test_cache.config["url"] == url
        test_cache.cache.set("k", ENTRY)
        assert test_cache.cache.get("k") == ENTRY
        external.shutdown()  # clears its keys, leaves the server it did not start alone
        assert RedisCache(url, prefix=test_cache.config["prefix"]).get("k") is None
        assert server_owner.init("redis").cache.get("k") is None
    finally:
        server_owner.shutdown()


def test_without_redis_the_case_is_skipped_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    own = TestCaches.create()
    assert [own.supports(i) for i in ("memory", "sqlite", "redis")] == [True, True, False]
    params = {p.id: p for p in own.each_supported_id()}
    assert list(params) == ["memory", "sqlite", "redis"]
    assert not params["memory"].marks
    (mark,) = params["redis"].marks
    assert mark.name == "skip" and "redis-server is not installed" in mark.kwargs["reason"]
    with pytest.raises(pytest.skip.Exception, match="redis-server is not installed"):
        own.init("redis")


def test_without_redis_the_case_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv(REDIS_URL_ENV, raising=False)
    monkeypatch.setenv("CI", "1")
    own = TestCaches.create()
    assert all(not p.marks for p in own.each_supported_id())  # listed, so it runs and fails
    with pytest.raises(pytest.fail.Exception, match="CI is set: not skipping"):
        own.init("redis")


def test_unknown_ids_are_input_errors() -> None:
    with pytest.raises(InputError, match="Unknown test cache memcache; choose from memory"):
        TestCaches.create(ids=["memory", "memcache"])
    with pytest.raises(InputError, match="this TestCaches has memory"):
        TestCaches.create(ids=["memory"]).init("sqlite")


def test_shutdown_deletes_the_sqlite_files() -> None:
    own = TestCaches.create(ids=["sqlite"])
    test_cache = own.init("sqlite")
    test_cache.cache.set("k", ENTRY)
    path = Path(test_cache.config["path"])
    assert path.exists()
    own.shutdown()
    assert not path.parent.exists()


def test_the_readme_example_runs_once_per_backend(tmp_path: Path) -> None:
    text = README.read_text()
    marker = text.index("<!-- README example: TestCaches")
    code = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert code is not None
    (tmp_path / "test_readme_testcaches.py").write_text(code.group(1))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", tmp_path],
        cwd=tmp_path,
        env={**os.environ, "CI": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b3 passed\b", run.stdout), run.stdout
    assert "skipped" not in run.stdout


def test_without_the_redis_package_the_case_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setenv(REDIS_URL_ENV, "redis://127.0.0.1:1/0")  # a URL alone is not enough
    monkeypatch.delenv("CI", raising=False)
    own = TestCaches.create()
    assert not own.supports("redis")
    (mark,) = {p.id: p for p in own.each_supported_id()}["redis"].marks
    assert "pip install 'scmreader[redis]'" in mark.kwargs["reason"]
