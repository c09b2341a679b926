"""Path helpers every provider shares: encoding, bounded decoding, traversal and commit ids.

:func:`encode_uri_component` and :func:`encode_path` build API URLs from decoded names;
:func:`reject_traversal` (with its bounded :func:`decode_fully`) refuses ``.``/``..``
segments however often they were percent-encoded; :func:`is_commit_sha` tells full commit
ids from branch names.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from scmreader.errors import InvalidUrlError

#: Backstage's exact wording; :func:`reject_traversal` raises it (for its default ``what``).
TRAVERSAL_MESSAGE = "Invalid SCM URL: path traversal is not allowed in the URL"

#: A path still changing after this many percent-decoding passes is refused: no real path
#: is encoded that deeply, and the bound keeps the check linear in the path's length.
MAX_DECODE_ROUNDS = 10

_URI_COMPONENT_SAFE = "-_.!~*'()"


def encode_uri_component(s: str) -> str:
    """JavaScript's ``encodeURIComponent``: everything but ``A-Za-z0-9-_.!~*'()`` escaped."""
    return _quote_component(s, _URI_COMPONENT_SAFE)


def encode_path(path: str, *, keep: str = "") -> str:
    """A decoded ``/``-separated path percent-encoded segment by segment, ``/`` kept.

    Each segment is encoded like :func:`encode_uri_component` (``a/b c/d`` ->
    ``a/b%20c/d``), so ``?``, ``#`` and ``%`` in names never change the URL's shape.
    ``keep`` names extra characters to leave literal: GitHub passes RFC 3986's
    sub-delimiters, ``:`` and ``@``, which its own ``{+path}`` URL templates leave as they
    are (and which Backstage, inserting paths unencoded, sends literally too). ``keep``
    must not contain ``%`` or ``/``.
    """
    safe = _URI_COMPONENT_SAFE + keep
    return "/".join(_quote_component(segment, safe) for segment in path.split("/"))


def _quote_component(text: str, safe: str) -> str:
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidUrlError(
            "The text contains an unpaired surrogate and cannot be URL-encoded."
        ) from None


_SEPARATOR_RE = re.compile(r"[/\\]")
_COMMIT_SHA_RE = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


def decode_fully(text: str) -> str | None:
    """``text`` percent-decoded until it stops changing; None if it still changes after
    :data:`MAX_DECODE_ROUNDS` passes.

    Malformed escapes (``%zz``) stay as they are and decoding goes on past them (Backstage's
    loop stops at the first one, so ``%252e%252e%252fx%25zz`` never shows its ``..``).
    Bytes that are not UTF-8 become lone surrogates (``errors="surrogateescape"``), so
    nothing is lost and nothing raises. The caller decides which error a None deserves.
    """
    for _ in range(MAX_DECODE_ROUNDS + 1):
        if "%" not in text:
            return text
        decoded = unquote(text, errors="surrogateescape")
        if decoded == text:
            return text
        text = decoded
    return None


def reject_traversal(path: str, *, what: str = "the URL") -> str:
    """Refuse a path with a ``.`` or ``..`` segment, however often it was percent-encoded.

    ``path`` is decoded with :func:`decode_fully`, then split on ``/`` and ``\\`` (so
    ``%2F`` and ``%5C`` separate too); a segment's ``;`` parameters are ignored, so
    ``..;x`` counts as ``..``. Returns the fully decoded path. Raises
    :class:`InvalidUrlError` ``Invalid SCM URL: path traversal is not allowed in <what>``
    (exactly :data:`TRAVERSAL_MESSAGE` for the default ``what``), also when the path is
    encoded more than :data:`MAX_DECODE_ROUNDS` levels deep. Names such as ``..foo`` or
    ``.well-known`` are fine.
    """
    decoded = decode_fully(path)
    if decoded is None:
        raise InvalidUrlError(
            f"Invalid SCM URL: path traversal is not allowed in {what}: it is "
            f"percent-encoded more than {MAX_DECODE_ROUNDS} levels deep, which only serves to "
            "hide '..' segments. Decode the path before building the URL."
        )
    if has_dot_segment(decoded):
        raise InvalidUrlError(f"Invalid SCM URL: path traversal is not allowed in {what}")
    return decoded


def has_dot_segment(decoded: str) -> bool:
    """Whether a decoded path has a ``.`` or ``..`` segment, split on ``/`` and ``\\``,
    also with ``;`` parameters (``..;x``: servers such as Tomcat strip them, then see
    ``..``)."""
    return any(segment.split(";", 1)[0] in (".", "..") for segment in _SEPARATOR_RE.split(decoded))


def is_commit_sha(value: str) -> bool:
    """Whether ``value`` is a full git commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.

    Either case is accepted; abbreviated ids are not (they are ambiguous, and a branch may
    be named like one).
    """
    return _COMMIT_SHA_RE.fullmatch(value) is not None
