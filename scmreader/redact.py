"""Keeping secrets out of messages, logs and reprs.

Every credential scmreader reads from config is registered here for good
(:func:`register_config_secret`); tokens received per call (``token=``) or minted at run
time (app installation tokens, OAuth tokens) are registered with :func:`register_secret`
and kept in a separate, bounded set, so that thousands of them never push a configured
secret out. :func:`redact` replaces any registered secret, in raw, URL-encoded and base64
``user:secret`` forms, with ``***``. Independently of registration, :func:`redact` masks
the values of query parameters whose names look like credentials (``?token=``,
``X-Amz-Signature=``, ``sig=`` ...), wherever a URL appears in the text: short-lived
signed links (GitHub's codeload ``?token=``, S3 pre-signed URLs, Azure SAS) are never
registered but must not reach a log either. URLs additionally lose their userinfo.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections import OrderedDict
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

MASK = "***"

#: Query parameter names whose values are credentials.
_SECRET_NAME = (
    r"(?:[\w.-]*(?:token|key|secret|password|passwd|pwd|auth|signature|credential|session|jwt)"
    r"|sig|code|x-amz-[\w-]+|x-goog-[\w-]+)"
)
_SENSITIVE_QUERY = re.compile(rf"^{_SECRET_NAME}$", re.IGNORECASE)
_QUERY_VALUE_IN_TEXT = re.compile(rf"([?&;]{_SECRET_NAME}=)[^&;\s\"'#<>]+", re.IGNORECASE)
_MIN_SECRET_LENGTH = 4
#: Per-call forms kept at most; the oldest (long-expired tokens) are forgotten first.
#: Configured secrets are never forgotten and do not count here.
MAX_SECRETS = 4096

_lock = threading.Lock()
_secrets: OrderedDict[str, None] = OrderedDict()
_pinned: set[str] = set()
_ordered: tuple[str, ...] | None = ()


class Secret(str):
    """A string whose ``repr`` never shows its value; use it for tokens and passwords."""

    def __repr__(self) -> str:
        return "'***'"


def _forms(value: str, username: str | None) -> set[str]:
    forms = {value, quote(value, safe=""), quote_plus(value)}
    forms.add(base64.b64encode(value.encode()).decode())
    forms.add(base64.b64encode(f":{value}".encode()).decode())
    if username is not None:
        forms.add(base64.b64encode(f"{username}:{value}".encode()).decode())
    return forms


def register_config_secret(value: str | None, *, username: str | None = None) -> None:
    """Remember a configured secret for good, so that :func:`redact` always masks it."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    forms = _forms(value, username)
    global _ordered
    with _lock:
        if forms <= _pinned:
            return
        _pinned.update(forms)
        for form in forms:
            _secrets.pop(form, None)
        _ordered = None


def register_secret(value: str | None, *, username: str | None = None) -> None:
    """Remember a per-call or run-time token so that :func:`redact` masks it (with its
    encoded forms); at most :data:`MAX_SECRETS` forms are kept, oldest forgotten first."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    forms = _forms(value, username)
    global _ordered
    with _lock:
        forms -= _pinned
        if all(f in _secrets for f in forms):
            return
        for form in forms:
            _secrets[form] = None
            _secrets.move_to_end(form)
        while len(_secrets) > MAX_SECRETS:
            _secrets.popitem(last=False)
        _ordered = None


def _registered() -> tuple[str, ...]:
    global _ordered
    ordered = _ordered
    if ordered is None:
        with _lock:
            ordered = _ordered = tuple(sorted({*_secrets, *_pinned}, key=len, reverse=True))
    return ordered


def redact(text: str) -> str:
    """``text`` with registered secrets and credential-like query values replaced by ``***``."""
    if not text:
        return text
    for secret in _registered():
        if secret in text:
            text = text.replace(secret, MASK)
    if "=" in text:
        text = _QUERY_VALUE_IN_TEXT.sub(rf"\g<1>{MASK}", text)
    return text


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
            if sep and _SENSITIVE_QUERY.match(name.replace("%2D", "-")):
                pieces.append(f"{name}={MASK}")
            else:
                pieces.append(piece)
        query = "&".join(pieces)
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
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
