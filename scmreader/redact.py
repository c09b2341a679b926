"""Keeping secrets out of messages, logs and reprs.

Every credential scmreader reads from config (or receives as ``token=``) is registered
here; :func:`redact` replaces any registered secret, in raw, URL-encoded and base64
``user:secret`` forms, with ``***``. URLs additionally lose their userinfo and the values
of query parameters whose names look like credentials.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

MASK = "***"

_SENSITIVE_QUERY = re.compile(
    r"(token|key|secret|password|passwd|pwd|auth|sig|signature|credential|code|session|"
    r"x-amz-[a-z-]+|x-goog-[a-z-]+|se|sp|sv|st|skoid|sktid)$",
    re.IGNORECASE,
)
_MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


class Secret(str):
    """A string whose ``repr`` never shows its value; use it for tokens and passwords."""

    def __repr__(self) -> str:
        return "'***'"


def register_secret(value: str | None, *, username: str | None = None) -> None:
    """Remember ``value`` so that :func:`redact` masks it (with its encoded forms)."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    forms = {value, quote(value, safe=""), quote_plus(value)}
    forms.add(base64.b64encode(value.encode()).decode())
    if username is not None:
        forms.add(base64.b64encode(f"{username}:{value}".encode()).decode())
    forms.add(base64.b64encode(f":{value}".encode()).decode())
    global _pattern
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        _pattern = None  # recompiled on the next redact(): registering stays cheap


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    pattern = _pattern
    if pattern is None and _secrets:
        with _lock:
            ordered = sorted(_secrets, key=len, reverse=True)
            pattern = _pattern = re.compile("|".join(re.escape(s) for s in ordered))
    return pattern


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    if not text:
        return text
    pattern = _compiled()
    return text if pattern is None else pattern.sub(MASK, text)


def redact_url(url: str) -> str:
    """``url`` without userinfo, with credential-like query values masked, then :func:`redact`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pieces = []
        for piece in query.split("&"):
            name, sep, _value = piece.partition("=")
            if sep and _SENSITIVE_QUERY.search(name.replace("%2D", "-")):
                pieces.append(f"{name}={MASK}")
            else:
                pieces.append(piece)
        query = "&".join(pieces)
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


_installed: set[str] = set()


def install_log_redaction(*logger_names: str) -> None:
    """Attach :class:`RedactingFilter` to the named loggers (idempotent)."""
    for name in logger_names:
        if name in _installed:
            continue
        logging.getLogger(name).addFilter(RedactingFilter())
        _installed.add(name)
