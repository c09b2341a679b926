"""Plain HTTP files, as FetchUrlReader reads them from an allow-listed web server.

Files answer GET and HEAD with ``ETag`` (strong, from the content's SHA-1, unless given)
and ``Last-Modified`` (a fixed date unless given); ``If-None-Match`` (weak comparison) or,
without it, ``If-Modified-Since`` turn a match into a bodiless 304. Unknown paths fall
through to the host's 404.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.messages import FakeRequest, FakeResponse, HeaderInput, header_pairs

if TYPE_CHECKING:
    from scmreader.testing.server import FakeScmHost

NAME = "plain"
#: Last-Modified sent when none is given: 2024-01-01T00:00:00Z.
DEFAULT_LAST_MODIFIED = datetime(2024, 1, 1, tzinfo=UTC)
_TYPES = {"yaml": "application/yaml", "yml": "application/yaml", "md": "text/markdown"}


@dataclass(frozen=True)
class PlainFile:
    """A file served at one path."""

    content: bytes | Path
    etag: str | None
    last_modified: str | None
    content_type: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PlainRedirect:
    """A redirect served at one path."""

    location: str
    status: int


class PlainSite:
    """The files and redirects of one host (``host.state["plain"]``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: dict[str, PlainFile | PlainRedirect] = {}

    def put(self, path: str, entry: PlainFile | PlainRedirect) -> None:
        """Serve ``entry`` at ``path`` (replacing what was there)."""
        with self._lock:
            self.entries[_key(path)] = entry

    def remove(self, path: str) -> None:
        """Stop serving ``path`` (it answers 404 again)."""
        with self._lock:
            self.entries.pop(_key(path), None)

    def get(self, path: str) -> PlainFile | PlainRedirect | None:
        """What is served at ``path``, if anything."""
        with self._lock:
            return self.entries.get(_key(path))


def install(host: FakeScmHost, **options: Any) -> None:
    """Register the plain-file route on ``host`` (it takes no options)."""
    if options:
        raise FakeHostError(f"the plain emulation takes no options, got {sorted(options)}")
    site = PlainSite()
    host.state[NAME] = site
    host.route("GET", r"/.*", lambda request: _serve(site, request))


def site(host: FakeScmHost) -> PlainSite:
    """The host's plain site, enabling ``plain`` if needed."""
    host.enable(NAME)
    result: PlainSite = host.state[NAME]
    return result


def serve_file(
    host: FakeScmHost,
    path: str,
    content: bytes | str | Path,
    *,
    etag: str | bool | None = None,
    last_modified: datetime | str | bool | None = None,
    content_type: str | None = None,
    headers: HeaderInput = None,
) -> None:
    """Serve ``content`` at ``path``; a Path is streamed from disk at each request.

    ``etag``: None/True computes a strong ETag from the SHA-1 of the content, a string is
    used as given (quoted if bare), False sends none. ``last_modified``: None/True uses
    :data:`DEFAULT_LAST_MODIFIED`, a datetime or HTTP-date string is used, False sends none.
    ``content_type`` defaults to a guess from the path's extension.
    """
    if not path.startswith("/"):
        raise FakeHostError(f"serve_file path must start with '/', got {path!r}")
    body = content.encode("utf-8") if isinstance(content, str) else content
    if isinstance(body, Path) and not body.is_file():
        raise FakeHostError(f"cannot serve {str(body)!r}: not a file")
    if etag is None or etag is True:
        etag = f'"{_sha1(body)}"'
    elif isinstance(etag, str) and not etag.startswith(('"', 'W/"')):
        etag = f'"{etag}"'
    if last_modified is None or last_modified is True:
        last_modified = DEFAULT_LAST_MODIFIED
    if isinstance(last_modified, datetime):
        when = last_modified if last_modified.tzinfo else last_modified.replace(tzinfo=UTC)
        last_modified = format_datetime(when.astimezone(UTC), usegmt=True)
    guessed = _content_type(unquote(path))
    entry = PlainFile(
        content=body,
        etag=etag or None,
        last_modified=last_modified or None,
        content_type=content_type or guessed,
        headers=tuple(header_pairs(headers)),
    )
    site(host).put(path, entry)


def serve_redirect(host: FakeScmHost, path: str, location: str, status: int = 302) -> None:
    """Answer ``path`` with a redirect to ``location``."""
    if status not in (301, 302, 303, 307, 308):
        raise FakeHostError(f"redirect status must be 301, 302, 303, 307 or 308, got {status}")
    site(host).put(path, PlainRedirect(location, status))


def _serve(plain: PlainSite, request: FakeRequest) -> FakeResponse | None:
    entry = plain.get(request.path)
    if entry is None:
        return None
    if isinstance(entry, PlainRedirect):
        return FakeResponse.redirect(entry.location, entry.status)
    validators = []
    if entry.etag:
        validators.append(("ETag", entry.etag))
    if entry.last_modified:
        validators.append(("Last-Modified", entry.last_modified))
    if _not_modified(request, entry):
        return FakeResponse(304, b"", validators)
    headers = [("Content-Type", entry.content_type), *validators, *entry.headers]
    return FakeResponse(200, entry.content, headers)


def _not_modified(request: FakeRequest, entry: PlainFile) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if entry.etag is None:
            return False
        tags = {_opaque(t) for t in if_none_match.split(",")}
        return "*" in tags or _opaque(entry.etag) in tags
    since = request.headers.get("If-Modified-Since")
    if since is None or entry.last_modified is None:
        return False
    try:
        return parsedate_to_datetime(entry.last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def _content_type(path: str) -> str:
    suffix = path.rpartition(".")[2].lower()
    if suffix in _TYPES:
        return _TYPES[suffix]
    # the built-in table only: the system's mime.types would make results machine-dependent
    kind, encoding = mimetypes.MimeTypes().guess_type(path)
    if encoding == "gzip":
        return "application/gzip"
    return kind or "application/octet-stream"


def _key(path: str) -> str:
    return unquote(path.partition("?")[0])


def _sha1(body: bytes | Path) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    if isinstance(body, bytes):
        digest.update(body)
    else:
        with body.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
