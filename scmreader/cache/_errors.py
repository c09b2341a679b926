"""The error a cache backend raises when its store fails."""

from __future__ import annotations

from scmreader.errors import ScmReaderError


class CacheError(ScmReaderError):
    """A response cache could not be read or written (a locked or corrupt SQLite file, a
    Redis server that is down). :class:`~scmreader.http.HttpClient` never lets it fail a
    read: it logs a warning and goes on without the cache."""
