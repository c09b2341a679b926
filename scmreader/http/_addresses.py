"""Which addresses a connection may reach when private addresses are blocked.

With ``HttpSettings.block_private_addresses`` (config ``scmreader.http.blockPrivateAddresses``)
a host name is resolved once, every address it resolves to must be public, and the
connection is made to those checked addresses only: a name that answers a public address to
the check and ``127.0.0.1`` to the connection (DNS rebinding) never reaches the second one.
Addresses are classified by their bytes (:mod:`ipaddress`), never by how they are written,
so ``[::ffff:7f00:1]`` is loopback like ``127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
import socket

from scmreader.errors import NotAllowedError


def blocked_kind(address: str) -> str | None:
    """Why ``address`` (an IP literal) is not public, e.g. 'loopback'; None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, hit in (
        ("loopback", ip.is_loopback),
        ("link-local (cloud metadata lives there)", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    ):
        if hit:
            return kind
    return None


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (one lookup), all checked to be public;
    NotAllowedError naming the first that is not. ``socket.gaierror`` when the name does
    not resolve."""
    found: list[str] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(sockaddr[0])
        kind = blocked_kind(address)
        if kind is not None:
            raise NotAllowedError(
                f"Refusing to connect to {host} ({address}): it is a {kind} address and "
                "scmreader.http.blockPrivateAddresses is on. If the host is trusted, exempt "
                "it with an scmreader.http.hosts entry that sets blockPrivateAddresses: false."
            )
        if address not in found:
            found.append(address)
    return found
