"""pytest plugin (entry point ``pytest11: scmreader_testing``): FakeScmHost fixtures.

Loaded by every pytest run where scmreader is installed, so it imports nothing heavy:
the server and gitpython are imported when a fixture is first used.

- ``fake_scm_host``: a started FakeScmHost on 127.0.0.1, closed after the test.
- ``fake_scm_host_factory``: ``factory(bind="127.0.0.2", providers=("plain",))`` makes
  more started hosts, all closed after the test.

Both fail the test at teardown if a route handler raised (the client only saw a 500);
clear ``host.errors`` in a test that provokes that on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from scmreader.testing.server import FakeScmHost, FakeScmHostFactory


@pytest.fixture
def fake_scm_host() -> Iterator[FakeScmHost]:
    """A started FakeScmHost on 127.0.0.1 (ephemeral port), closed after the test."""
    from scmreader.testing.server import FakeScmHost

    with FakeScmHost() as host:
        yield host
    _fail_on_handler_errors([host])


@pytest.fixture
def fake_scm_host_factory() -> Iterator[FakeScmHostFactory]:
    """A function making more started FakeScmHosts (e.g. on 127.0.0.2), closed after the test."""
    from scmreader.testing.server import FakeScmHost

    hosts: list[FakeScmHost] = []

    def make(
        bind: str = "127.0.0.1", port: int = 0, *, providers: Iterable[str] = ()
    ) -> FakeScmHost:
        host = FakeScmHost(bind, port, providers=providers)
        hosts.append(host)
        return host.start()

    try:
        yield make
    finally:
        for host in hosts:
            host.close()
    _fail_on_handler_errors(hosts)


def _fail_on_handler_errors(hosts: list[FakeScmHost]) -> None:
    errors = [f"{h.base_url}: {type(e).__name__}: {e}" for h in hosts for e in h.errors]
    if errors:
        pytest.fail("FakeScmHost route handler raised:\n" + "\n".join(errors), pytrace=False)
