"""scmreader.dask on a real LocalCluster (worker processes) against FakeScmHost's GitHub,
with a real Redis as the response cache the workers share."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from distributed import Client, LocalCluster

import scmreader.dask
from scmreader.dask import read_bag, read_many
from scmreader.errors import (
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
)
from scmreader.readers import BatchResult, UrlReaders
from scmreader.testing import FakeScmHost, TestCaches
from scmreader.testing.routes import github as github_routes

TOKEN = "ghp_daskWorkersToken000000000000000001"
REPOS = [f"platform/service-{n:02d}" for n in range(12)]
caches = TestCaches.create(ids=["redis"])


def catalog(repo: str) -> bytes:
    name = repo.split("/")[1]
    return (
        f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n".encode()
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def github() -> Iterator[FakeScmHost]:
    with FakeScmHost(providers=["github"]) as host:
        for repo in REPOS:
            host.add_repo(repo, {"catalog-info.yaml": catalog(repo), "README.md": "# svc\n"})
        state = github_routes.github(host)
        state.add_token(TOKEN)
        for repo in REPOS:
            state.make_private(repo)
        yield host


def app_config(host: FakeScmHost, cache: dict[str, object] | None = None) -> dict[str, object]:
    entry = github_routes.integration_config(host, token=TOKEN)
    config: dict[str, object] = {"integrations": {"github": [entry]}}
    if cache is not None:
        config["scmreader"] = {"cache": cache}
    return config


def file_url(host: FakeScmHost, repo: str, path: str = "catalog-info.yaml") -> str:
    return f"{host.base_url}/{repo}/blob/main/{path}"


def test_results_in_input_order_with_a_typed_error_per_url(
    client: Client, github: FakeScmHost
) -> None:
    urls = [
        file_url(github, REPOS[3]),
        file_url(github, REPOS[0], "missing.yaml"),
        file_url(github, REPOS[0]),
        "https://unconfigured.example.com/o/r/blob/main/catalog-info.yaml",
        file_url(github, REPOS[3]),  # duplicates are read and reported at their place
        "https://github.com/o/r/blob/main/a b\x00.yaml",
        file_url(github, REPOS[7], "README.md"),
    ]
    results = read_many(client, urls, config=app_config(github), partition_size=2)
    assert [r.url for r in results] == urls
    assert [type(r.error) for r in results] == [
        type(None),
        NotFoundError,
        type(None),
        NotAllowedError,
        type(None),
        InvalidUrlError,
        type(None),
    ]
    assert [r.unwrap().buffer() for r in results if r.ok] == [
        catalog(REPOS[3]),
        catalog(REPOS[0]),
        catalog(REPOS[3]),
        b"# svc\n",
    ]
    assert all(r.unwrap().etag for r in results if r.ok)
    not_found = results[1].error
    assert isinstance(not_found, NotFoundError) and not_found.status == 404
    assert "missing.yaml" in str(not_found)
    assert all(TOKEN not in repr(r) + str(r.error) for r in results)


def test_etags_of_an_earlier_read_give_not_modified_results(
    client: Client, github: FakeScmHost
) -> None:
    urls = [file_url(github, repo) for repo in REPOS[:6]]
    first = read_many(client, urls, config=app_config(github))
    etags = {r.url: r.unwrap().etag for r in first if r.ok and r.unwrap().etag}
    assert len(etags) == 6
    etags.pop(urls[2])  # no etag for this one: read again
    again = read_many(client, urls, config=app_config(github), etags=etags)
    assert [type(r.error) for r in again] == [NotModifiedError] * 2 + [type(None)] + [
        NotModifiedError
    ] * 3
    assert again[2].unwrap().buffer() == catalog(REPOS[2])
    assert [r.not_modified for r in again] == [True, True, False, True, True, True]
    modified = again[0].error
    assert isinstance(modified, NotModifiedError) and modified.etag == etags[urls[0]]


def test_workers_share_the_redis_cache_and_build_their_readers_once(
    client: Client, github: FakeScmHost
) -> None:
    """A cold pass in this process fills Redis; the cluster's warm pass downloads nothing."""
    config = app_config(github, caches.init("redis").config)
    urls = [file_url(github, repo) for repo in REPOS]
    state = github_routes.github(github)

    cold_readers = UrlReaders.default(config)
    assert [cold_readers.read(u) for u in urls] == [catalog(r) for r in REPOS]
    github.clear_requests()
    remaining = state.rate_remaining
    built_before = client.run(scmreader.dask.worker_readers_built)

    for _ in range(2):
        warm = read_many(client, urls, config=config, partition_size=1)
        assert [r.unwrap().buffer() for r in warm] == [catalog(r) for r in REPOS]

    contents = github.requests_to("/contents/")
    assert len(contents) == 2 * len(REPOS)
    assert all(r.headers.get("If-None-Match") for r in contents)  # every one conditional
    assert state.rate_remaining == remaining  # GitHub answered 304 (free) to every one
    built = client.run(scmreader.dask.worker_readers_built)
    grown = [built[w] - built_before[w] for w in built]
    assert sorted(grown) == [1, 1]  # 24 tasks, 2 processes, one UrlReaders each


def test_read_bag_chains_with_dask_steps(client: Client, github: FakeScmHost) -> None:
    urls = [file_url(github, repo) for repo in REPOS[:5]]
    names = (
        read_bag(urls, config=app_config(github), partition_size=2)
        .filter(lambda r: r.ok)
        .map(lambda r: r.unwrap().buffer().decode().rsplit("name: ", 1)[1].strip())
    )
    assert client.compute(names).result() == [r.split("/")[1] for r in REPOS[:5]]


def test_empty_input_and_bad_partition_size(client: Client) -> None:
    assert read_many(client, [], config={}) == []
    with pytest.raises(ValueError, match="partition_size"):
        read_bag(["https://github.com/o/r/blob/main/x"], config={}, partition_size=0)


def test_results_are_the_batch_results_of_read_many(client: Client, github: FakeScmHost) -> None:
    """The cluster gives what UrlReaders.read_many gives in one process."""
    urls = [file_url(github, REPOS[4]), file_url(github, REPOS[4], "nope.yaml")]
    local = UrlReaders.default(app_config(github)).read_many(urls)
    remote = read_many(client, urls, config=app_config(github))
    assert [type(r) for r in remote] == [type(r) for r in local] == [BatchResult] * 2
    assert [(r.url, r.ok, type(r.error)) for r in remote] == [
        (r.url, r.ok, type(r.error)) for r in local
    ]
    assert remote[0].unwrap().buffer() == local[0].unwrap().buffer()
    assert remote[0].unwrap().etag == local[0].unwrap().etag
    assert "kind" not in repr(remote[0])  # the content stays out of the repr


def test_without_dask_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from scmreader.errors import ConfigError

    monkeypatch.setitem(sys.modules, "dask.bag", None)
    with pytest.raises(ConfigError, match=r"pip install 'scmreader\[dask\]'"):
        read_bag(["https://github.com/o/r/blob/main/x"], config={})


def test_a_process_keeps_readers_for_its_most_recent_configs() -> None:
    from scmreader.dask import MAX_CONFIGS_PER_WORKER, worker_readers, worker_readers_built

    configs = [
        {"backend": {"reading": {"allow": [{"host": f"h{n}.example.com"}]}}}
        for n in range(MAX_CONFIGS_PER_WORKER + 1)
    ]
    first = worker_readers(configs[0])
    assert worker_readers(dict(configs[0])) is first  # equal configs share readers
    before = worker_readers_built()
    for config in configs[1:]:
        worker_readers(config)
    assert worker_readers_built() == before + MAX_CONFIGS_PER_WORKER
    assert worker_readers(configs[-1]) is worker_readers(configs[-1])
    assert worker_readers(configs[0]) is not first  # the oldest was dropped, built again
    assert worker_readers_built() == before + MAX_CONFIGS_PER_WORKER + 1


def test_without_a_client_the_tasks_run_on_local_threads(github: FakeScmHost) -> None:
    urls = [file_url(github, REPOS[1]), file_url(github, REPOS[1], "nope.yaml")]
    results = read_many(None, urls, config=app_config(github), partition_size=1)
    assert [(r.url, r.ok, type(r.error)) for r in results] == [
        (urls[0], True, type(None)),
        (urls[1], False, NotFoundError),
    ]
    assert results[0].unwrap().buffer() == catalog(REPOS[1])


def test_workers_report_the_rate_budget_into_the_shared_redis(
    client: Client, github: FakeScmHost
) -> None:
    """What the workers learned from x-ratelimit-* headers is what any other process sees."""
    config = app_config(github, caches.init("redis").config)
    urls = [file_url(github, repo, "README.md") for repo in REPOS]
    assert all(r.ok for r in read_many(client, urls, config=config, partition_size=2))
    state = github_routes.github(github)
    (budget,) = UrlReaders.default(config).rate_limits()  # this process made no request
    assert budget.host == github.host
    assert (budget.limit, budget.remaining) == (state.rate_limit, state.rate_remaining)
    assert TOKEN not in repr(budget)
