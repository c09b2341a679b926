"""Host names, IP literals and ports as :func:`scmreader.urls.parse_url` accepts them.

Only canonical forms pass: IDNA 2008 names (Unicode ones encoded to ``xn--``), dotted-decimal
IPv4 (no octal, hex or short forms), IPv6 literals without zone, and decimal ports 1-65535
without leading zeros. Anything else is an :class:`InvalidUrlError`.
"""

from __future__ import annotations

import ipaddress
import re

from scmreader.errors import InvalidUrlError

_PORT_RE = re.compile(r"[0-9]+", re.ASCII)
_ASCII_LABEL_RE = re.compile(r"[a-z0-9_-]{1,63}", re.ASCII)
_NUMERIC_LABEL_RE = re.compile(r"[0-9]+|0x[0-9a-f]*", re.ASCII)


def _parse_port(text: str | None) -> int | None:
    if not text:
        return None
    # The text is never echoed: 'https://user:password/' reaches here with the password.
    if not _PORT_RE.fullmatch(text):
        raise InvalidUrlError("The URL's port is not a plain decimal number; write e.g. :8443.")
    if len(text) > 1 and text.startswith("0"):
        raise InvalidUrlError("The URL's port has leading zeros; write it without them.")
    port = int(text) if len(text) <= 5 else 0
    if not 1 <= port <= 65535:
        raise InvalidUrlError("The URL's port is out of range; ports are 1 to 65535.")
    return port


def _parse_ipv6(text: str) -> str:
    if "%" in text:
        raise InvalidUrlError("IPv6 zone identifiers ('%') are not supported in URLs.")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise InvalidUrlError("The URL's host is not a valid IPv6 address.") from None
    return f"[{address.compressed}]"


def _parse_hostname(text: str) -> str:
    if not text:
        raise InvalidUrlError("The URL has no host; write it as https://host/path.")
    if "%" in text:
        raise InvalidUrlError(
            "The URL's host contains '%'; percent-encoding is not allowed in host names. "
            "Write the host name plainly."
        )
    host = text.lower()
    if host.endswith("."):
        raise InvalidUrlError(
            f"The URL's host '{host}' ends with a dot; remove the trailing dot so that the "
            "host matches the configured one."
        )
    labels = host.split(".")
    if "" in labels:
        raise InvalidUrlError(
            f"The URL's host '{host}' has an empty label ('..' or a leading dot)."
        )
    if _NUMERIC_LABEL_RE.fullmatch(labels[-1]):
        return _parse_ipv4(host)
    encoded = [_encode_label(label) for label in labels]
    hostname = ".".join(encoded)
    if len(hostname) > 253:
        raise InvalidUrlError("The URL's host name is longer than 253 characters.")
    return hostname


def _parse_ipv4(host: str) -> str:
    parts = host.split(".")
    if len(parts) == 4 and all(
        p.isascii() and p.isdigit() and (p == "0" or not p.startswith("0")) and int(p) <= 255
        for p in parts
    ):
        return host
    raise InvalidUrlError(
        f"The URL's host '{host}' looks numeric but is not a dotted IPv4 address like "
        "192.0.2.1 (no octal, hex, short or zero-padded forms)."
    )


def _encode_label(label: str) -> str:
    if label.isascii():
        if not _ASCII_LABEL_RE.fullmatch(label):
            raise InvalidUrlError(
                f"The URL's host has a label '{label}' with characters not allowed in host "
                "names (letters, digits, '-' and '_' only, at most 63 per label)."
            )
        if label.startswith("xn--"):
            _check_idna(label, decode=True)
        return label
    return _check_idna(label, decode=False)


def _check_idna(label: str, *, decode: bool) -> str:
    import idna  # only for non-ASCII or xn-- hosts; keeps the common path cheap

    try:
        if decode:
            idna.decode(label)
            return label
        return idna.encode(label, strict=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise InvalidUrlError(
            f"The URL's host label '{label}' is not a valid internationalised domain name "
            f"({exc}); write the host in its plain ASCII form."
        ) from None
