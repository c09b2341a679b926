"""UrlReaders.read_many / search_many / map end to end through FakeScmHost's GitHub.

A batch gives one result per URL in input order, each a value or that URL's typed error;
the batch itself never raises for one URL, reports progress in the calling thread, and stops
at Ctrl-C. Readers are shared by 16 threads here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from scmreader.errors import (
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    ScmReaderError,
)
from scmreader.http import HttpClient
from scmreader.readers import BatchResult, UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.messages import FakeRequest, FakeResponse
from scmreader.testing.routes.github import integration_config

TOKEN = "ghp_batch_token_0001"
REPOS = 12


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("github")
    for i in range(REPOS):
        fake_scm_host.add_repo(
            f"team-{i % 3}/service-{i}",
            {"catalog-info.yaml": f"kind: Component\nmetadata:\n  name: service-{i}\n"},
        )
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    config = {"integrations": {"github": [integration_config(host, token=TOKEN)]}}
    return UrlReaders.default(config, http=HttpClient(sleep=lambda s: None))


def file_url(host: FakeScmHost, i: int, path: str = "catalog-info.yaml") -> str:
    return f"{host.base_url}/team-{i % 3}/service-{i}/blob/main/{path}"


def test_results_come_in_input_order_with_one_typed_error_per_failing_url(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    cases: list[tuple[str, type[Exception] | None]] = [
        (file_url(host, 3), None),
        (file_url(host, 0, "missing.yaml"), NotFoundError),
        ("https://unconfigured.example.com/o/r/blob/main/catalog-info.yaml", NotAllowedError),
        (file_url(host, 7), None),
        ("not a url", InvalidUrlError),
        (f"{host.base_url}/team-0/no-such-repo/blob/main/catalog-info.yaml", NotFoundError),
        (file_url(host, 1), None),
    ]
    results = readers.read_many([u for u, _ in cases], max_workers=4)
    assert [r.url for r in results] == [u for u, _ in cases]
    for (url, expected), result in zip(cases, results, strict=True):
        if expected is None:
            assert result.ok, result.error
            name = url.split("/")[4]
            assert result.unwrap().buffer() == (
                f"kind: Component\nmetadata:\n  name: {name}\n".encode()
            )
        else:
            assert isinstance(result.error, expected), (url, result.error)
            assert result.value is None
            with pytest.raises(expected):
                result.unwrap()


def test_etags_turn_unchanged_files_into_not_modified_results(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    urls = [file_url(host, i) for i in range(REPOS)]
    first = readers.read_many(urls)
    etags = {r.url: r.unwrap().etag for r in first if r.value and r.value.etag}
    assert len(etags) == REPOS
    host.repo("team-2/service-5").commit({"catalog-info.yaml": "kind: Component # changed\n"})
    host.clear_requests()

    again = readers.read_many(urls, etags=etags)

    changed = [r for r in again if r.ok]
    assert [r.url for r in changed] == [file_url(host, 5)]
    assert changed[0].unwrap().buffer() == b"kind: Component # changed\n"
    unchanged = [r for r in again if not r.ok]
    assert len(unchanged) == REPOS - 1
    assert all(r.not_modified and isinstance(r.error, NotModifiedError) for r in unchanged)
    assert len(host.requests) == REPOS  # one conditional request per URL


def test_progress_is_reported_once_per_url_from_the_calling_thread(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    urls = [file_url(host, i) for i in range(REPOS)] + [file_url(host, 0, "nope.yaml")]
    seen: list[tuple[int, int, str, bool]] = []
    caller = threading.get_ident()

    def progress(done: int, total: int, result: BatchResult[object]) -> None:
        assert threading.get_ident() == caller
        seen.append((done, total, result.url, result.ok))

    readers.read_many(urls, max_workers=5, progress=progress)
    assert [s[0] for s in seen] == list(range(1, len(urls) + 1))
    assert {s[1] for s in seen} == {len(urls)}
    assert sorted(s[2] for s in seen) == sorted(urls)
    assert [s[3] for s in seen].count(False) == 1


def test_sixteen_threads_share_one_readers_object(host: FakeScmHost, readers: UrlReaders) -> None:
    urls = [file_url(host, i % REPOS) for i in range(16 * 10)]
    results = readers.read_many(urls, max_workers=16)
    assert all(r.ok for r in results), [r.error for r in results if r.error]
    for url, result in zip(urls, results, strict=True):
        name = url.split("/")[4]
        assert f"name: {name}\n".encode() in result.unwrap().buffer()
    searches = readers.search_many(
        [f"{host.base_url}/team-{i % 3}/service-{i}/blob/main/**/*.yaml" for i in range(REPOS)],
        max_workers=16,
    )
    assert [len(r.unwrap().files) for r in searches] == [1] * REPOS


def test_trees_are_written_by_sixteen_threads_at_once(
    host: FakeScmHost, readers: UrlReaders, tmp_path: Path
) -> None:
    urls = [f"{host.base_url}/team-{i % 3}/service-{i}/tree/main" for i in range(REPOS)] * 2

    def fetch(numbered: tuple[int, str]) -> list[str]:
        n, url = numbered
        folder = readers.read_tree(url).dir(tmp_path / f"t{n}")
        return sorted(p.name for p in folder.rglob("*"))

    results = readers.map(fetch, list(enumerate(urls)), max_workers=16)
    assert [r.unwrap() for r in results] == [["catalog-info.yaml"]] * len(urls)
    for n, url in enumerate(urls):
        name = url.split("/")[4]
        assert f"name: {name}" in (tmp_path / f"t{n}" / "catalog-info.yaml").read_text()


def test_map_wraps_any_exception_and_keeps_the_batch_going(readers: UrlReaders) -> None:
    def work(n: int) -> int:
        if n % 4 == 0:
            raise ValueError(f"bad item {n}")
        return n * n

    results = readers.map(work, range(10), max_workers=3)
    assert [r.value for r in results] == [None, 1, 4, 9, None, 25, 36, 49, None, 81]
    assert [type(r.error).__name__ for r in results if r.error] == ["ValueError"] * 3
    assert [r.url for r in results] == [str(n) for n in range(10)]
    assert readers.map(work, [], max_workers=3) == []
    with pytest.raises(ValueError, match="max_workers"):
        readers.map(work, [1], max_workers=0)


def test_keyboard_interrupt_cancels_what_has_not_started(readers: UrlReaders) -> None:
    started: list[int] = []
    release = threading.Event()

    def work(n: int) -> int:
        started.append(n)
        if n > 0:
            release.wait(10)
        return n

    def progress(done: int, total: int, result: BatchResult[object]) -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises in the calling thread

    with pytest.raises(KeyboardInterrupt):
        readers.map(work, range(100), max_workers=2, progress=progress)
    release.set()
    assert 1 <= len(started) <= 3  # item 0, at most the two running ones; 97+ never ran


def test_ctrl_c_stops_a_running_batch_in_another_process(host: FakeScmHost, tmp_path: Path) -> None:
    """A real SIGINT: the process stops with KeyboardInterrupt long before the batch ends."""
    host.route("GET", "/slow/(?P<n>[0-9]+)", _slow_answer)
    script = tmp_path / "batch.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            from scmreader.readers import UrlReaders
            readers = UrlReaders.default({{"backend": {{"reading": {{"allow": [
                {{"host": "{host.host}"}}]}}}}}})
            urls = ["{host.base_url}/slow/%d" % n for n in range(200)]
            def progress(done, total, result):
                print("done", done, flush=True)
            try:
                readers.read_many(urls, max_workers=2, progress=progress)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                raise
            print("finished", flush=True)
            """
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    assert first.startswith("done"), first + child.stderr.read() if child.stderr else ""
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert "interrupted" in out
    assert "finished" not in out
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert len(host.requests_to("/slow/.*")) < 50


def test_ctrl_c_exits_even_while_workers_wait_on_a_stuck_host(
    host: FakeScmHost, tmp_path: Path
) -> None:
    """The workers hang on answers that never come; the process still ends at Ctrl-C."""
    release = threading.Event()

    def stuck(request: FakeRequest) -> FakeResponse:
        if not request.path.endswith("/0"):
            release.wait(600)
        return FakeResponse.text("late\n")

    host.route("GET", "/stuck/[0-9]+", stuck)
    script = tmp_path / "stuck.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from scmreader.readers import UrlReaders
            readers = UrlReaders.default({{"backend": {{"reading": {{"allow": [
                {{"host": "{host.host}"}}]}}}}}})
            urls = ["{host.base_url}/stuck/%d" % n for n in range(40)]
            def progress(done, total, result):
                print("done", done, flush=True)
            readers.read_many(urls, max_workers=4, progress=progress)
            """
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("done 1")
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)  # a guard: the stuck answers take 600 s
        assert "KeyboardInterrupt" in err
    finally:
        release.set()
        child.kill()


def _slow_answer(request: FakeRequest) -> FakeResponse:
    threading.Event().wait(0.1)
    return FakeResponse.text("slow\n")


def test_errors_carry_their_scmreader_type_for_every_failing_url(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    urls = [file_url(host, i, "absent.yaml") for i in range(REPOS)]
    results = readers.read_many(urls, max_workers=16)
    assert all(isinstance(r.error, NotFoundError) for r in results)
    assert all(isinstance(r.error, ScmReaderError) and TOKEN not in str(r.error) for r in results)


def test_github_app_installations_and_tokens_are_shared_by_sixteen_threads(
    host: FakeScmHost, app_key_pair: tuple[str, str]
) -> None:
    from scmreader.testing.routes.github import github

    private, public = app_key_pair
    state = github(host)
    state.add_app(7, public)
    for owner in ("team-0", "team-1", "team-2"):
        state.add_installation(7, owner)
    app = {"appId": 7, "clientId": "Iv1.7", "clientSecret": "secret-7", "privateKey": private}
    config = {"integrations": {"github": [integration_config(host, apps=[app])]}}
    readers = UrlReaders.default(config, http=HttpClient(sleep=lambda s: None))

    urls = [file_url(host, i % REPOS) for i in range(64)]
    results = readers.read_many(urls, max_workers=16)

    assert all(r.ok for r in results), [r.error for r in results if r.error]
    # one installation list for every thread and owner, one token per owner
    assert len(host.requests_to(r"/app/installations$", "GET")) == 1
    assert len(host.requests_to(r"/access_tokens$", "POST")) == 3
    assert len(state.issued_tokens()) == 3
