"""The ``scmreader.cache`` config block, UrlReaders building its client from it, and the
CLI's ``--cache PATH``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scmreader.cache import (
    MemoryCache,
    RedisCache,
    SqliteCache,
    cache_from_config,
    http_client_from_config,
)
from scmreader.cli import main
from scmreader.config import load_config
from scmreader.errors import ConfigError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost

CONTENT = b"kind: Component\nmetadata:\n  name: cached\n"


def cache_config(**block: Any) -> Any:
    return load_config({"scmreader": {"cache": block}})


def test_no_block_means_no_cache() -> None:
    assert cache_from_config(load_config({})) is None
    readers = UrlReaders.default({})
    assert readers.context.http.cache is None


def test_memory_store() -> None:
    cache = cache_from_config(cache_config(store="memory", maxEntries=10, maxBytes=5000))
    assert isinstance(cache, MemoryCache)
    assert (cache.max_entries, cache.max_bytes) == (10, 5000)


def test_memory_store_defaults() -> None:
    cache = cache_from_config(cache_config(store="memory"))
    assert isinstance(cache, MemoryCache)
    assert (cache.max_entries, cache.max_bytes) == (1024, 64 * 1024 * 1024)


def test_sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = cache_from_config(cache_config(store="sqlite", path="~/c/r.sqlite", maxBytes=99999))
    assert isinstance(cache, SqliteCache)
    assert cache.path == tmp_path / "c" / "r.sqlite"
    assert cache.max_bytes == 99999


def test_redis_store() -> None:
    config = cache_config(
        store="redis", url="redis://:pw-in-config-x1@127.0.0.1:6390/2", prefix="p:", ttl=60
    )
    cache = cache_from_config(config)
    assert isinstance(cache, RedisCache)
    assert (cache.prefix, cache.ttl) == ("p:", 60.0)
    assert "pw-in-config-x1" not in repr(cache)


@pytest.mark.parametrize(
    ("block", "key_path", "message"),
    [
        ({"path": "/tmp/x"}, "scmreader.cache.store", "missing; choose one of memory"),
        ({"store": "disk"}, "scmreader.cache.store", "unknown cache store"),
        ({"store": "memory", "path": "/tmp/x"}, "scmreader.cache.path", "not used by the memory"),
        ({"store": "sqlite"}, "scmreader.cache.path", "needs a file path"),
        ({"store": "sqlite", "path": "x", "ttl": 5}, "scmreader.cache.ttl", "not used by"),
        ({"store": "memory", "maxEntries": 0}, "scmreader.cache.maxEntries", "at least 1"),
        ({"store": "memory", "maxBytes": 1.5}, "scmreader.cache.maxBytes", "whole number"),
        ({"store": "memory", "maxBytes": "lots"}, "scmreader.cache.maxBytes", "number"),
        ({"store": "redis", "ttl": -1}, "scmreader.cache.ttl", "positive"),
        ({"store": "redis", "url": "http://:pw@h:1"}, "scmreader.cache.url", "not a Redis URL"),
    ],
)
def test_config_errors_name_the_key(block: dict[str, Any], key_path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        cache_from_config(cache_config(**block))
    assert info.value.key_path == key_path
    assert message in str(info.value)
    assert ":pw@" not in str(info.value)


def test_config_error_points_at_the_file_and_line(tmp_path: Path) -> None:
    config_file = tmp_path / "app-config.yaml"
    config_file.write_text("scmreader:\n  cache:\n    store: memory\n    maxEntries: -5\n")
    with pytest.raises(ConfigError) as info:
        UrlReaders.default(load_config(config_file))
    assert (info.value.file, info.value.line) == (str(config_file), 4)


def test_url_readers_build_their_client_from_the_config(tmp_path: Path) -> None:
    config = cache_config(store="sqlite", path=str(tmp_path / "c.sqlite"), maxBodyBytes=4096)
    http = UrlReaders.default(config).context.http
    assert isinstance(http.cache, SqliteCache)
    assert http.settings.cache_max_body == 4096


def test_a_given_client_is_used_as_is() -> None:
    from scmreader.http import HttpClient

    client = HttpClient()
    readers = UrlReaders.default(cache_config(store="memory"), http=client)
    assert readers.context.http is client and client.cache is None


def test_cache_path_overrides_the_store(tmp_path: Path) -> None:
    config = cache_config(store="memory", maxBodyBytes=2048)
    client = http_client_from_config(config, cache_path=tmp_path / "cli.sqlite")
    assert isinstance(client.cache, SqliteCache)
    assert client.cache.path == tmp_path / "cli.sqlite"
    assert client.settings.cache_max_body == 2048


# --- the CLI -----------------------------------------------------------------------------


def test_cli_cache_flag_is_offered_for_reading_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("read", "tree", "search"):
        assert main([command, "--help"]) == 0
        assert "--cache PATH" in capsys.readouterr().out
    assert main(["resolve", "--cache", "x", "a", "--base", "https://h/x"]) == 2


def test_cli_read_with_cache_revalidates(
    fake_scm_host: FakeScmHost,
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = fake_scm_host
    host.serve_file("/catalog-info.yaml", CONTENT, etag='"c1"')
    config = tmp_path / "app-config.yaml"
    config.write_text(f"backend:\n  reading:\n    allow:\n      - host: '{host.host}'\n")
    cache = tmp_path / "cache" / "responses.sqlite"
    monkeypatch.chdir(tmp_path)
    argv = ["read", host.url("/catalog-info.yaml"), "-c", str(config), "--cache", str(cache)]
    outputs = []
    for _ in range(2):
        assert main(argv) == 0
        outputs.append(capsysbinary.readouterr().out)
    assert outputs == [CONTENT, CONTENT]
    sent = host.requests_to("/catalog-info.yaml")
    assert [r.headers.get("If-None-Match") for r in sent] == [None, '"c1"']
    assert cache.is_file()
