"""The one exception hierarchy of scmreader.

Every failure that crosses the public API is a :class:`ScmReaderError`. The classes
follow httpx's split: the caller's input was bad (:class:`InputError`,
:class:`ConfigError`, :class:`NotAllowedError`), the server said no
(:class:`HttpStatusError` and its children), or the transport failed
(:class:`TransportError`); archives get their own (:class:`UnsafeArchiveError`), and so
does the local disk refusing a write (:class:`TargetWriteError`). Names that Backstage
uses (``NotModifiedError``, ``NotFoundError``, ``NotAllowedError``,
``AuthenticationError``, ``ConflictError``) keep their meaning.

Messages say what is wrong and what to do. They never contain a credential: URLs are
passed through :func:`scmreader.redact.redact_url` before they reach a message.
"""

from __future__ import annotations

from datetime import datetime


class ScmReaderError(Exception):
    """Base class of every error scmreader raises on purpose."""

    #: Distinct exit code the CLI uses for this class of error.
    exit_code: int = 1


# --- the request was bad -------------------------------------------------------------


class InputError(ScmReaderError, ValueError):
    """A URL, glob or argument is malformed (e.g. userinfo in a URL, ``..`` in a path)."""

    exit_code = 2


class InvalidUrlError(InputError):
    """A URL cannot be parsed safely, or is not of the form the provider expects."""


class ConfigError(ScmReaderError):
    """The configuration is invalid.

    ``key_path`` is the full path of the offending key (``integrations.gerrit[0].gitilesBaseUrl``);
    ``file`` and ``line`` say where it was written when it came from a YAML file.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        key_path: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.key_path = key_path
        self.file = file
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        key = f"{self.key_path}: " if self.key_path else ""
        return f"{where}{key}{self.message}"


class NotAllowedError(ScmReaderError):
    """No integration and no ``backend.reading.allow`` entry covers the URL (or a redirect)."""

    exit_code = 4


class ConflictError(ScmReaderError):
    """A one-shot response was used twice (``buffer()`` after ``stream()``, a second ``dir()``)."""

    exit_code = 1


class NotImplementedByReaderError(ScmReaderError, NotImplementedError):
    """The reader does not support this operation (e.g. ``read_tree`` on the fetch reader)."""

    exit_code = 2


# --- the server said no --------------------------------------------------------------


class NotModifiedError(ScmReaderError):
    """The resource still has the etag (or last-modified date) the caller passed."""

    exit_code = 10

    def __init__(self, message: str = "Not modified", *, etag: str | None = None) -> None:
        self.etag = etag
        super().__init__(message)


class HttpStatusError(ScmReaderError):
    """The server answered with an error status. ``status`` is the HTTP status code."""

    exit_code = 5

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        self.status = status
        self.url = url
        super().__init__(message)


class NotFoundError(HttpStatusError):
    """The file, tree, branch or repository does not exist (or is invisible to the credentials)."""

    exit_code = 6


class PathNotFoundError(NotFoundError, FileNotFoundError):
    """A path of the ``scm://`` fsspec filesystem does not exist: a NotFoundError that is
    also the built-in FileNotFoundError fsspec callers catch."""


class AuthenticationError(HttpStatusError):
    """The host rejected the credentials (401), or refused anonymous access."""

    exit_code = 7


class PermissionDeniedError(HttpStatusError):
    """The host refused access (403) and it was not a rate limit."""

    exit_code = 7


class RateLimitedError(HttpStatusError):
    """The host's rate limit is exhausted; ``reset_at`` says when it resets, if known."""

    exit_code = 8

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        reset_at: datetime | None = None,
    ) -> None:
        self.reset_at = reset_at
        super().__init__(message, status=status, url=url)


class UpstreamError(HttpStatusError):
    """The host failed (5xx after retries, or an answer of the wrong shape)."""

    exit_code = 9

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        attempts: int | None = None,
    ) -> None:
        self.attempts = attempts
        super().__init__(message, status=status, url=url)


class ResponseTooLargeError(UpstreamError):
    """An answer was larger than the cap for its kind (metadata, file, archive) or inflated
    more than the decompression-ratio cap allows; nothing of it was kept."""


class ChangedWhileReadingError(UpstreamError):
    """An object (or the commit a read was pinned to) changed or vanished while it was
    being read: a download pinned to the listed ETag got 412, or one pinned to a Cloud
    Storage generation got 404. Nothing is wrong with the location; read it again."""


# --- the transport failed ------------------------------------------------------------


class TransportError(ScmReaderError):
    """Connecting, sending or receiving failed: refused, reset, truncated or timed out."""

    exit_code = 9


class RequestTimeoutError(TransportError):
    """A request or a body read took longer than its deadline."""


class TooManyRedirectsError(TransportError):
    """A redirect chain was longer than the limit (5 hops, as Backstage)."""


# --- archives ------------------------------------------------------------------------


class UnsafeArchiveError(ScmReaderError):
    """An archive holds an entry that could escape the target or is not a plain file/dir,
    or it is corrupt or truncated. Nothing from it is left on disk."""

    exit_code = 11


class ArchiveLimitError(UnsafeArchiveError):
    """An archive exceeds a configured limit (entries, uncompressed bytes, ratio, name length)."""


# --- writing locally -----------------------------------------------------------------


class TargetWriteError(ScmReaderError):
    """The local target could not be written: disk full, permission denied, a file where a
    folder is needed... The message says which path (relative to the target) failed and
    what to do."""

    exit_code = 12


__all__ = [
    "ArchiveLimitError",
    "AuthenticationError",
    "ChangedWhileReadingError",
    "ConfigError",
    "ConflictError",
    "HttpStatusError",
    "InputError",
    "InvalidUrlError",
    "NotAllowedError",
    "NotFoundError",
    "NotImplementedByReaderError",
    "NotModifiedError",
    "PathNotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ScmReaderError",
    "TargetWriteError",
    "TooManyRedirectsError",
    "TransportError",
    "UnsafeArchiveError",
    "UpstreamError",
]
