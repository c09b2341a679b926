"""What the discovery tests of every provider share: a first run, one changed file, and
the re-run with the first run's state (requests recorded from the re-run only)."""

from __future__ import annotations

from typing import Any

from scmreader.readers import UrlReaders
from scmreader.readers._discover import DiscoveryResult, DiscoveryRun
from scmreader.testing import FakeScmHost


def rediscover(
    readers: UrlReaders, host: FakeScmHost, url: str, changed: str, content: str, **options: Any
) -> tuple[DiscoveryRun, dict[str, DiscoveryResult]]:
    """Run ``url`` once, commit ``content`` as ``catalog-info.yaml`` of repository
    ``changed``, clear the host's request log, and run again with the first run's state;
    the second run and its results by repository (or URL, for globs)."""
    first = readers.discover(url, **options)
    list(first)
    host.repo(changed).commit({"catalog-info.yaml": content})
    host.clear_requests()
    again = readers.discover(url, state=first.state, **options)
    return again, {r.repository: r for r in again}


def counts(run: DiscoveryRun) -> tuple[int, int, int, int]:
    """(added, changed, unchanged, removed) of a finished run."""
    s = run.summary
    return s.added, s.changed, s.unchanged, s.removed
