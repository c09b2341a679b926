"""Benchmark: a catalog ingestion loop against FakeScmHost's GitHub emulation.

    python benchmarks/ingest.py [--repos 300] [--workers 16] [--dask-workers 4]
                                [--budget 100] [--window 2]

Builds ``--repos`` repositories, each with a ``catalog-info.yaml``, serves them from an
in-process FakeScmHost (GitHub REST emulation, token auth) and measures in one run:

1. cold, no cache: a sequential ``read_url`` loop vs ``read_many(max_workers=16)``, on bare
   loopback (CPU-bound: client and host share this process and the machine's cores) and
   with ``--latency`` seconds added by the host to each file answer (a real API's
   round trip is of that order);
2. a response cache (MemoryCache): the cold pass, then a warm pass (requests made, 304s,
   content bytes downloaded again, and the warm/cold time ratio);
3. ``--dask-workers`` Dask worker processes sharing a Redis response cache vs one process,
   cold then warm, with ``--latency`` (:func:`dask_workers.compare`; needs ``redis-server``
   and the ``dask`` extra, else the section says it was skipped);
4. an emulated primary rate limit, scaled down from 5,000 an hour to ``--budget`` requests
   per ``--window`` seconds (the host refills at each window, as GitHub does at
   ``x-ratelimit-reset``, and answers 403 once it is spent), with ``maxConcurrency`` 8 and
   ``budgetFloor`` 2, reading for ``--budget-windows`` whole windows: requests refused by
   the host (target 0) and files read per second against the cap (budget / window).


Every figure is printed with what it is compared with; nothing is asserted.
``benchmarks/dask_workers.py`` runs section 3 alone.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests

from scmreader.cache import MemoryCache
from scmreader.http import HostLimits, HostScheduler, HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.redis_server import RedisServer
from scmreader.testing.routes.github import GithubState, github, integration_config

TOKEN = "ghp_ingest_benchmark_token"


class Traffic:
    """What the host answered, seen on the client's session (before the cache)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.body_bytes = 0

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                self.body_bytes += int(response.headers.get("Content-Length") or 0)

    def reset(self) -> None:
        with self.lock:
            self.statuses.clear()
            self.body_bytes = 0


def make_readers(
    host: FakeScmHost, *, cache: MemoryCache | None = None, hosts: HostScheduler | None = None
) -> tuple[UrlReaders, Traffic]:
    traffic = Traffic()
    http = HttpClient(cache=cache, hosts=hosts)
    http.session.hooks["response"].append(traffic.hook)
    config = {"integrations": {"github": [integration_config(host, token=TOKEN)]}}
    return UrlReaders.default(config, http=http), traffic


def ingest_pass(readers: UrlReaders, urls: list[str], workers: int) -> tuple[float, int]:
    """One pass over ``urls``: (seconds, files read)."""
    start = time.perf_counter()
    if workers <= 1:
        ok = sum(1 for url in urls if readers.read_url(url).buffer())
    else:
        ok = sum(1 for r in readers.read_many(urls, max_workers=workers) if r.ok)
    return time.perf_counter() - start, ok


def emulate_windows(state: GithubState, budget: int, window: int) -> None:
    """Refill the fake's limit every ``window`` seconds (reset times on whole seconds)."""
    take, headers = state.take_rate, state.rate_headers

    def roll() -> None:
        with state._lock:
            now = time.time()
            if now >= state.rate_reset:
                state.rate_remaining = budget
                state.rate_reset = int(now) - int(now) % window + window

    def take_rate(counted: bool) -> bool:
        roll()
        return take(counted)

    def rate_headers() -> list[tuple[str, str]]:
        roll()
        return headers()

    state.rate_limit = budget
    state.rate_reset = 0
    state.take_rate = take_rate  # type: ignore[method-assign]
    state.rate_headers = rate_headers  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=300)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the host takes")
    parser.add_argument("--budget", type=int, default=100, help="requests per window")
    parser.add_argument("--window", type=int, default=2, help="seconds per window")
    parser.add_argument("--budget-windows", type=int, default=5)
    parser.add_argument("--dask-workers", type=int, default=4, help="0 skips section 3")
    args = parser.parse_args()

    with FakeScmHost() as host:
        host.enable("github")
        github(host).add_token(TOKEN)
        t0 = time.perf_counter()
        for i in range(args.repos):
            body = (
                f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: svc-{i}}}\n"
            )
            host.add_repo(f"org-{i % 7}/svc-{i}", {"catalog-info.yaml": body, "README.md": "x\n"})
        urls = [
            f"{host.base_url}/org-{i % 7}/svc-{i}/blob/main/catalog-info.yaml"
            for i in range(args.repos)
        ]
        print(f"{args.repos} repositories x catalog-info.yaml, built in "
              f"{time.perf_counter() - t0:.1f}s")  # fmt: skip

        # 1. cold, no cache: sequential vs read_many, on bare loopback and with latency
        for latency in (0.0, args.latency):
            if latency:
                host.faults.delay("/contents/", latency, times=None)
            seq_t, seq_ok = ingest_pass(make_readers(host)[0], urls, 1)
            par_t, par_ok = ingest_pass(make_readers(host)[0], urls, args.workers)
            host.faults.clear()
            print(f"cold, {latency * 1000:3.0f} ms host latency: sequential {seq_t:6.2f}s "
                  f"({seq_ok / seq_t:6.1f}/s), read_many({args.workers}) {par_t:6.2f}s "
                  f"({par_ok / par_t:6.1f}/s): x{seq_t / par_t:.2f}")  # fmt: skip

        # 2. with a response cache: cold, then warm
        readers, traffic = make_readers(host, cache=MemoryCache())
        cold_t, _ = ingest_pass(readers, urls, args.workers)
        cold_requests, cold_bytes = sum(traffic.statuses.values()), traffic.body_bytes
        traffic.reset()
        warm_t, warm_ok = ingest_pass(readers, urls, args.workers)
        warm_requests = sum(traffic.statuses.values())
        print(f"cache cold pass:        {cold_t:6.2f}s  {cold_requests} requests, "
              f"{cold_bytes} content bytes")  # fmt: skip
        print(f"cache warm pass:        {warm_t:6.2f}s  {warm_ok} files, {warm_requests} "
              f"requests, {traffic.statuses[304]} answered 304, {traffic.body_bytes} content "
              f"bytes downloaded again; warm/cold time x{warm_t / cold_t:.2f}")  # fmt: skip

        # 3. Dask workers sharing a Redis cache vs one process, with latency
        if args.dask_workers:
            host.faults.delay("/contents/", args.latency, times=None)
            if dask_section(host, urls, args.dask_workers) != 0:
                raise SystemExit(1)
            host.faults.clear()

        # 4. an emulated, scaled-down primary rate limit and a concurrency cap
        emulate_windows(github(host), args.budget, args.window)
        cap = args.budget / args.window
        scheduler = HostScheduler({host.host: HostLimits(max_concurrency=8, budget_floor=2)})
        readers, traffic = make_readers(host, hosts=scheduler)
        windows = args.budget_windows
        _wait_for_window_start(args.window)
        end = time.monotonic() + windows * args.window

        def read_until_end(url: str) -> bool:
            if time.monotonic() >= end:
                return False
            readers.read_url(url).buffer()
            return time.monotonic() < end

        wanted = [urls[i % len(urls)] for i in range(args.budget * (windows + 2))]
        done = readers.map(read_until_end, wanted, max_workers=args.workers)
        in_time = sum(1 for r in done if r.value)
        refused = traffic.statuses[403] + traffic.statuses[429]
        rate = in_time / (windows * args.window)
        print(f"budget {args.budget}/{args.window}s (5,000/hour scaled), maxConcurrency 8, "
              f"budgetFloor 2, {windows} windows: {in_time} files read = {rate:.1f}/s vs cap "
              f"{cap:.1f}/s ({rate / cap:.0%}); refused by the host (403/429): {refused}; "
              f"statuses {dict(traffic.statuses)}; errors "
              f"{sum(1 for r in done if r.error)}")  # fmt: skip


def dask_section(host: FakeScmHost, urls: list[str], workers: int) -> int:
    """Section 3 on this run's host and URLs, with a Redis server of its own."""
    import importlib.util

    binary = shutil.which("redis-server")
    if binary is None or importlib.util.find_spec("distributed") is None:
        print("dask workers: skipped (needs redis-server and the dask extra)")
        return 0
    from dask_workers import compare

    with tempfile.TemporaryDirectory() as workdir, RedisServer(binary, workdir) as redis:
        return compare(host, urls, token=TOKEN, redis_url=redis.url, workers=workers)


def _wait_for_window_start(window: int, sleep: Callable[[float], None] = time.sleep) -> None:
    now = time.time()
    sleep(window - now % window + 0.01)


if __name__ == "__main__":
    main()
