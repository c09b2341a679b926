"""Benchmark: N Dask worker processes sharing a Redis response cache vs one process.

    python benchmarks/dask_workers.py [--repos 120] [--workers 4] [--latency 0.05]

Serves ``--repos`` repositories, each with a ``catalog-info.yaml``, from FakeScmHost's
GitHub emulation (token auth, every answer delayed by ``--latency`` seconds to stand in
for a remote host), starts a real ``redis-server`` on loopback and measures, in one run:

- one process reading every file in turn, cold then warm, with the Redis cache;
- ``scmreader.dask.read_many`` on a LocalCluster of ``--workers`` processes (one thread
  each), cold then warm, with the Redis cache under another prefix (cluster start-up and
  each worker's first UrlReaders build are reported apart and not counted).

FakeScmHost runs in this process, on the same cores as the workers: on a small machine
the host, not the readers, limits the cold passes.

It prints each pass's wall time, the requests the host received, how many were
conditional and how many the host had to answer with content (from the emulated rate
limit, which GitHub charges only for non-304 answers), and the ratios between the passes.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from typing import Any

from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.redis_server import RedisServer
from scmreader.testing.routes import github as github_routes

TOKEN = "ghp_benchmarkToken00000000000000000001"


def catalog(n: int) -> str:
    return f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-{n}\n"


def build_readers(config: dict[str, Any]) -> int:
    """On a worker: import scmreader and build its readers for ``config``, as a first
    task would."""
    import scmreader.dask

    scmreader.dask.worker_readers(config)
    return scmreader.dask.worker_readers_built()


class Pass:
    """Counts what the host saw during one timed pass."""

    def __init__(self, host: FakeScmHost, label: str) -> None:
        self.host, self.label = host, label
        self.state = github_routes.github(host)

    def __enter__(self) -> Pass:
        self.host.clear_requests()
        self.remaining = self.state.rate_remaining
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        requests = self.host.requests_to("/contents/")
        self.requests = len(requests)
        self.all_requests = len(self.host.requests)
        self.conditional = sum(1 for r in requests if r.headers.get("If-None-Match"))
        self.with_content = self.remaining - self.state.rate_remaining

    def line(self) -> str:
        return (
            f"{self.label:<26} {self.seconds:6.2f} s  file requests {self.requests:4d} "
            f"(all {self.all_requests:4d})  "
            f"conditional {self.conditional:4d}  answered with content {self.with_content:4d}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repos", type=int, default=120)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args(argv)
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not installed (apt-get install redis-server)", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory() as workdir,
        RedisServer(binary, workdir) as redis,
        FakeScmHost(providers=["github"]) as host,
    ):
        repos = [f"platform/svc-{n:03d}" for n in range(args.repos)]
        for n, repo in enumerate(repos):
            host.add_repo(repo, {"catalog-info.yaml": catalog(n)})
        github_routes.github(host).add_token(TOKEN)
        host.faults.delay("/contents/", args.latency, times=None)
        urls = [f"{host.base_url}/{repo}/blob/main/catalog-info.yaml" for repo in repos]
        print(f"{len(urls)} repositories x catalog-info.yaml, latency {args.latency * 1000:.0f} ms")
        return compare(host, urls, token=TOKEN, redis_url=redis.url, workers=args.workers)


def compare(host: FakeScmHost, urls: list[str], *, token: str, redis_url: str, workers: int) -> int:
    """Read ``urls`` (on ``host``'s GitHub emulation, where ``token`` is known) in one
    process, then with ``scmreader.dask.read_many`` on a LocalCluster of ``workers``, each
    cold then warm with the Redis cache at ``redis_url``; print the passes and the ratios.
    Returns 1 when a read failed, else 0."""
    from distributed import Client, LocalCluster

    import scmreader.dask

    def config(prefix: str) -> dict[str, Any]:
        entry = github_routes.integration_config(host, token=token)
        cache = {"store": "redis", "url": redis_url, "prefix": prefix}
        return {"integrations": {"github": [entry]}, "scmreader": {"cache": cache}}

    readers = UrlReaders.default(config("one-process:"))
    one: list[Pass] = []
    for label in ("one process, cold", "one process, warm"):
        with Pass(host, label) as p:
            for url in urls:
                readers.read(url)
        one.append(p)
        print(p.line())

    started = time.perf_counter()
    shared = config("dask:")
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(build_readers, shared)
        took = time.perf_counter() - started
        print(
            f"LocalCluster of {workers} started, readers built in each worker: "
            f"{took:.2f} s (not counted: long-lived workers pay it once)"
        )
        size = max(1, len(urls) // (workers * 4))
        many: list[Pass] = []
        for state in ("cold", "warm"):
            with Pass(host, f"{workers} Dask workers, {state}") as p:
                results = scmreader.dask.read_many(client, urls, config=shared, partition_size=size)
            many.append(p)
            print(p.line())
            failed = [r for r in results if not r.ok]
            if failed:
                print(f"  {len(failed)} failed, first: {failed[0].error}", file=sys.stderr)
                return 1

    print(f"cold: one process / {workers} workers = {one[0].seconds / many[0].seconds:.2f}x")
    print(f"warm: one process / {workers} workers = {one[1].seconds / many[1].seconds:.2f}x")
    print(f"{workers} workers warm / cold = {many[1].seconds / many[0].seconds:.2f}")
    print(
        f"{workers} workers warm: {many[1].with_content} of {many[1].requests} answered "
        "with content (target 0: every file revalidated from the shared Redis)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
