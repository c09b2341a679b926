"""Private addresses blocked on request (reliability S03, S10, S11): classification by the
address's bytes, no connection to a refused address, one lookup per connection (DNS
rebinding), and per-host exemptions. No test traffic leaves loopback: names are resolved by
a stub, and connections to anything but 127.0.0.1 are refused before a socket is opened."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import urllib3.util.connection

from scmreader.errors import InputError, NotAllowedError, TransportError
from scmreader.http import HttpClient, HttpSettings
from scmreader.http._addresses import blocked_kind
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost

PUBLIC = "93.184.216.34"  # example.com's documented address; never connected to here


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:7f00:1", "loopback"),  # IPv4-mapped 127.0.0.1
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local (cloud metadata lives there)"),
        ("fe80::1", "link-local (cloud metadata lives there)"),
        ("fd00:ec2::254", "private"),  # AWS's IPv6 metadata address (unique local)
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        (PUBLIC, None),
    ],
)
def test_addresses_are_classified_by_their_bytes(address: str, kind: str | None) -> None:
    assert blocked_kind(address) == kind


def _fetch_readers(host: FakeScmHost, settings: HttpSettings) -> UrlReaders:
    host.serve_file("/docs/index.md", b"# Test\n")
    allow = [{"host": host.host}, {"host": f"rebind.test:{host.port}"}]
    config = {"backend": {"reading": {"allow": allow}}}
    return UrlReaders.default(config, http=HttpClient(settings, sleep=lambda _: None))


def test_a_loopback_host_is_refused_before_any_connection(fake_scm_host: FakeScmHost) -> None:
    readers = _fetch_readers(fake_scm_host, HttpSettings(block_private_addresses=True))
    with pytest.raises(NotAllowedError, match=r"127\.0\.0\.1\): it is a loopback address"):
        readers.read_url(fake_scm_host.url("/docs/index.md"))
    assert fake_scm_host.requests == []


def test_a_host_exempted_by_name_is_read(fake_scm_host: FakeScmHost) -> None:
    settings = HttpSettings(
        block_private_addresses=True,
        hosts={fake_scm_host.host: {"block_private_addresses": False}},
    )
    readers = _fetch_readers(fake_scm_host, settings)
    assert readers.read_url(fake_scm_host.url("/docs/index.md")).buffer() == b"# Test\n"


def test_blocking_cannot_be_combined_with_a_proxy() -> None:
    proxies = {"https": "http://proxy.example.com:3128"}
    with pytest.raises(InputError, match="through a proxy"):
        HttpSettings(block_private_addresses=True, proxies=proxies)
    with pytest.raises(InputError, match="through a proxy"):
        HttpSettings(proxies=proxies, hosts={"a.example.com": {"block_private_addresses": True}})
    assert HttpSettings(proxies=proxies).proxies == proxies


def test_blocking_is_off_by_default_as_in_backstage(fake_scm_host: FakeScmHost) -> None:
    readers = _fetch_readers(fake_scm_host, HttpSettings())
    assert readers.read_url(fake_scm_host.url("/docs/index.md")).buffer() == b"# Test\n"


def test_the_config_keys_turn_it_on_and_exempt_a_host(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.serve_file("/docs/index.md", b"# Test\n")
    allow = {"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}}
    blocked = UrlReaders.default({**allow, "scmreader": {"http": {"blockPrivateAddresses": True}}})
    with pytest.raises(NotAllowedError, match="blockPrivateAddresses"):
        blocked.read_url(fake_scm_host.url("/docs/index.md"))
    exempt = {"host": fake_scm_host.host, "blockPrivateAddresses": False}
    http = {"blockPrivateAddresses": True, "hosts": [exempt]}
    readers = UrlReaders.default({**allow, "scmreader": {"http": http}})
    assert readers.read_url(fake_scm_host.url("/docs/index.md")).buffer() == b"# Test\n"
    assert len(fake_scm_host.requests) == 1


@pytest.fixture
def stub_network(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], list[Any]]:
    """Resolve ``rebind.test`` to the given addresses in turn, one per lookup, and record
    every connection attempt; only 127.0.0.1 is really connected to."""
    real_lookup = socket.getaddrinfo
    real_connect = urllib3.util.connection.create_connection
    attempts: list[Any] = []

    def install(answers: list[str]) -> list[Any]:
        def lookup(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host == "rebind.test":
                address = answers.pop(0) if len(answers) > 1 else answers[0]
                return real_lookup(address, port, *args, **kwargs)
            return real_lookup(host, port, *args, **kwargs)

        def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            attempts.append(address)
            resolved = lookup(address[0], address[1], type=socket.SOCK_STREAM)[0][4][0]
            if resolved != "127.0.0.1":
                raise ConnectionRefusedError(f"test: no traffic to {resolved}")
            return real_connect(("127.0.0.1", address[1]), *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", lookup)
        monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
        return attempts

    return install


def test_dns_rebinding_never_reaches_the_second_answer(
    fake_scm_host: FakeScmHost, stub_network: Callable[[list[str]], list[Any]]
) -> None:
    # the check sees a public address; a second lookup at connect time would get loopback
    # (one attempt: a retry looks the name up again, gets loopback and is refused for it)
    attempts = stub_network([PUBLIC, "127.0.0.1"])
    settings = HttpSettings(block_private_addresses=True, max_attempts=1)
    readers = _fetch_readers(fake_scm_host, settings)
    with pytest.raises(TransportError):
        readers.read_url(f"http://rebind.test:{fake_scm_host.port}/docs/index.md")
    assert [address for address, _ in attempts] == [PUBLIC]
    assert fake_scm_host.requests == []


def test_a_name_that_resolves_to_the_metadata_address_is_never_connected_to(
    fake_scm_host: FakeScmHost, stub_network: Callable[[list[str]], list[Any]]
) -> None:
    attempts = stub_network(["169.254.169.254"])
    readers = _fetch_readers(fake_scm_host, HttpSettings(block_private_addresses=True))
    with pytest.raises(NotAllowedError, match="link-local"):
        readers.read_url(f"http://rebind.test:{fake_scm_host.port}/docs/index.md")
    assert attempts == []


def test_without_blocking_the_name_resolves_as_usual(
    fake_scm_host: FakeScmHost, stub_network: Callable[[list[str]], list[Any]]
) -> None:
    attempts = stub_network(["127.0.0.1"])
    readers = _fetch_readers(fake_scm_host, HttpSettings())
    url = f"http://rebind.test:{fake_scm_host.port}/docs/index.md"
    assert readers.read_url(url).buffer() == b"# Test\n"
    assert [address for address, _ in attempts] == ["rebind.test"]
