"""Benchmark: organisation-wide discovery in FakeScmHost's GitHub emulation, cold vs re-run.

    python benchmarks/discover.py [--repos 300] [--workers 16] [--latency 0.02]

Builds ``--repos`` repositories of one organisation (every tenth without a
``catalog-info.yaml``), then runs ``UrlReaders.discover`` on
``<host>/acme/*/blob/-/catalog-info.yaml`` with a personal token: cold, then with the previous
run's state, once with nothing changed and once after one file changed. The host adds
``--latency`` seconds to each file answer (a real API's round trip is of that order).
Printed per run: requests by kind (listing pages, file requests, 304 answers), content
bytes downloaded (bodies of 200 file answers; target 0 on a re-run apart from changed
files), the summary, and the re-run/cold time ratios. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from typing import Any

import requests

from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes.github import github, integration_config

TOKEN = "ghp_discover_benchmark_token"


class Traffic:
    """Requests and 200-answer body bytes by kind, seen on the client's session."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.content_bytes = 0

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        kind = "listing" if "/orgs/" in response.url else "file"
        with self.lock:
            self.requests[kind] += 1
            if response.status_code == 304:
                self.requests["304"] += 1
            elif kind == "file" and response.status_code == 200:
                self.content_bytes += len(response.content)

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.content_bytes = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=300)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per file answer")
    args = parser.parse_args()
    with FakeScmHost() as host:
        github(host).add_token(TOKEN)
        started = time.perf_counter()
        for i in range(args.repos):
            files = {"README.md": f"# svc-{i}\n"}
            if i % 10:
                files["catalog-info.yaml"] = f"kind: Component\nmetadata:\n  name: svc-{i}\n" * 8
            host.add_repo(f"acme/svc-{i:04d}", files)
        print(f"{args.repos} repositories built in {time.perf_counter() - started:.1f}s")
        if args.latency:
            host.faults.delay("/contents/", args.latency, times=None)
        traffic = Traffic()
        http = HttpClient()
        http.session.hooks["response"].append(traffic.hook)
        config = {"integrations": {"github": [integration_config(host, token=TOKEN)]}}
        readers = UrlReaders.default(config, http=http)
        url = f"{host.base_url}/acme/*/blob/-/catalog-info.yaml"

        def run(state: dict[str, Any] | None) -> tuple[float, Any]:
            traffic.reset()
            start = time.perf_counter()
            found = readers.discover(url, state=state, max_workers=args.workers)
            for result in found:
                if result.status in ("added", "changed"):
                    result.content()
            return time.perf_counter() - start, found

        runs = []
        cold_t, cold = run(None)
        runs.append(("cold", cold_t, cold, (dict(traffic.requests), traffic.content_bytes)))
        same_t, same = run(cold.state)
        runs.append(
            ("re-run, no change", same_t, same, (dict(traffic.requests), traffic.content_bytes))
        )
        host.repo("acme/svc-0001").commit({"catalog-info.yaml": "kind: Component\n"})
        warm_t, warm = run(same.state)
        runs.append(
            ("re-run, 1 changed", warm_t, warm, (dict(traffic.requests), traffic.content_bytes))
        )
        for name, seconds, found, (requests_made, content) in runs:
            s = found.summary
            print(
                f"{name:18}: {seconds:6.2f}s, listing pages {requests_made.get('listing', 0)}, "
                f"file requests {requests_made.get('file', 0)} "
                f"({requests_made.get('304', 0)} answered 304), content bytes downloaded "
                f"{content}; added {s.added}, changed {s.changed}, unchanged {s.unchanged}, "
                f"removed {s.removed}, without the file {s.missing}, failed {s.errors}"
            )
        print(
            f"re-run / cold time ratio: {same_t / cold_t:.2f} (no change), "
            f"{warm_t / cold_t:.2f} (one file changed)"
        )


if __name__ == "__main__":
    main()
