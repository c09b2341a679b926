"""``scm://`` for fsspec: read hosts through scmreader from pandas, Dask or any fsspec user.

Extra ``fsspec`` (``pip install 'scmreader[fsspec]'``); registered under fsspec's entry
point group ``fsspec.specs`` as protocol ``scm``.

A path is a reader URL without its scheme: ``scm://github.com/o/r/blob/main/docs/a.md``
reads ``https://github.com/o/r/blob/main/docs/a.md``; whatever form a provider's reader
accepts (``/-/blob/`` on GitLab, ``/+/refs/heads/`` on Gitiles...) works the same way.
The scheme is ``https`` unless the filesystem is created with ``scheme="http"`` (loopback
test hosts). Paths are plain text: a space is a space, and ``?`` and ``#`` are part of a
file name; all are percent-encoded in the URL. URLs that need a query (Azure DevOps
``?path=``, Bitbucket Server ``?at=``) have no ``scm://`` form.

    import fsspec
    with fsspec.open("scm://github.com/o/r/blob/main/catalog-info.yaml", "rt",
                     config="app-config.yaml") as f:
        print(f.read())
    fs = fsspec.filesystem("scm", config="app-config.yaml")
    fs.glob("scm://github.com/o/r/blob/main/**/*.yaml")

Listings (``ls``, ``find``, ``glob``, ``walk``) come from one glob search of the folder
(``<folder>/**``), kept in fsspec's listings cache; they give no sizes. ``info`` of a file
reads it (a bodiless 304 when a response cache is configured) for its size and etag.
``open`` downloads the file whole into a seekable buffer; ``open(..., block_size=0)``
streams it instead. The filesystem is read-only.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from scmreader.errors import (
    ConfigError,
    InputError,
    InvalidUrlError,
    NotFoundError,
    NotImplementedByReaderError,
    PathNotFoundError,
)

try:
    from fsspec.spec import AbstractFileSystem
except ImportError:
    raise ConfigError(
        "scmreader.fsspec needs fsspec; install it with pip install 'scmreader[fsspec]'."
    ) from None

if TYPE_CHECKING:
    from scmreader.config import Config
    from scmreader.readers import UrlReaders
    from scmreader.readers.types import ReadUrlResponse

__all__ = ["ScmFileSystem"]

# Every file below a folder, dot-names included (``**`` alone skips them, as minimatch).
_EVERYTHING = "{**,**/.*,**/.*/**}"
_PATH_SAFE = "/!$&'()*+,;=:@~"
_PLAIN = (str, bytes, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return isinstance(value, (*_PLAIN, os.PathLike))


class _CacheByValue(type(AbstractFileSystem)):  # type: ignore[misc]
    """fsspec reuses filesystems by ``str()`` of their arguments. A Config or UrlReaders
    argument has no such text, so a filesystem made from one is never shared."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if not _plain(list(args)) or not _plain({k: v for k, v in kwargs.items()}):
            kwargs["skip_instance_cache"] = True
        return super().__call__(*args, **kwargs)


class ScmFileSystem(AbstractFileSystem, metaclass=_CacheByValue):  # type: ignore[misc]
    """A read-only fsspec filesystem over :class:`~scmreader.readers.UrlReaders`.

    ``config``: app-config path(s), mapping or Config (integrations, credentials and the
    ``scmreader.cache`` response cache), as for ``UrlReaders.default``; or pass ready
    ``readers``. ``token`` is sent with every request instead of the configured
    credentials; ``scheme`` is ``https`` or ``http``. A filesystem made from ``config``
    pickles (Dask ships it to its workers, which build their own readers); one made from
    ``readers`` stays in its process.
    """

    protocol = ("scm",)
    root_marker = ""

    def __init__(
        self,
        config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        readers: UrlReaders | None = None,
        scheme: str = "https",
        token: str | None = None,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        if scheme not in ("https", "http"):
            raise InputError(f"scheme must be 'https' or 'http', not {scheme!r}.")
        if readers is None:
            from scmreader.config import load_config
            from scmreader.readers import UrlReaders

            if isinstance(config, str | os.PathLike):
                config = load_config(config)
            readers = UrlReaders.default(config)
        self.readers = readers
        self.scheme = scheme
        self._token = token

    # --- paths and URLs ------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return str(path).removeprefix("scm://").strip("/")

    def url(self, path: str) -> str:
        """The reader URL of ``path`` (``scm://`` prefix optional)."""
        host, _, rest = self._strip_protocol(path).partition("/")
        if not host:
            raise InputError(f"{path!r} has no host; write scm://HOST/PATH.")
        return f"{self.scheme}://{host}/{quote(rest, safe=_PATH_SAFE)}"

    def _path(self, url: str) -> str:
        scheme, sep, rest = url.partition("://")
        return unquote(rest if sep else scheme).strip("/")

    # --- listings ------------------------------------------------------------------------

    def _list_tree(self, path: str) -> bool:
        """Fill the listings cache for ``path`` and every folder below; False: no files."""
        try:
            found = self.readers.search(f"{self.url(path)}/{_EVERYTHING}", token=self._token)
        except NotFoundError:  # no such branch or repository: nothing below path either
            return False
        except InvalidUrlError as exc:  # e.g. above the branch: say so without our pattern
            reason = str(exc).replace(f"/{_EVERYTHING}", "")
            raise InvalidUrlError(
                f"{self.unstrip_protocol(path)} cannot be listed: {reason}"
            ) from None
        listings: dict[str, dict[str, dict[str, Any]]] = {}
        for match in found.files:
            file = self._path(match.url)
            if not file.startswith(path + "/"):
                continue
            entry: dict[str, Any] = {"name": file, "type": "file", "size": None}
            if match.last_modified_at is not None:
                entry["last_modified"] = match.last_modified_at
            parent = file.rpartition("/")[0]
            listings.setdefault(parent, {})[file] = entry
            while parent != path:  # every folder between path and the file
                folder, parent = parent, parent.rpartition("/")[0]
                listings.setdefault(parent, {})[folder] = {
                    "name": folder,
                    "type": "directory",
                    "size": 0,
                }
        for folder, entries in listings.items():
            self.dircache[folder] = sorted(entries.values(), key=lambda e: e["name"])
        return bool(listings)

    def _lookup(self, path: str) -> dict[str, Any] | None:
        """The listing entry of ``path``, or None when nothing is there.

        Hosts whose reader cannot list (plain HTTP behind ``backend.reading.allow``) have
        files only: the file is read to see whether it is there.
        """
        try:
            return self._lookup_listed(path)
        except NotImplementedByReaderError:
            try:
                return self._file_entry(path, self._read(path))
            except PathNotFoundError:
                return None

    def _file_entry(self, path: str, response: ReadUrlResponse) -> dict[str, Any]:
        entry = {"name": path, "type": "file", "size": len(response.buffer())}
        entry["etag"] = response.etag
        if response.last_modified_at is not None:
            entry["last_modified"] = response.last_modified_at
        return entry

    def _lookup_listed(self, path: str) -> dict[str, Any] | None:
        folder = {"name": path, "type": "directory", "size": 0}
        if path in self.dircache:
            return folder
        parent = path.rpartition("/")[0]
        if not self._listed(parent):
            if self._list_tree(path):
                return folder
            if not parent:
                return None
            try:
                self._list_tree(parent)
            except InputError:  # the parent is above the branch: nothing to list there
                return None
        return next((e for e in self.dircache.get(parent, []) if e["name"] == path), None)

    def _listed(self, path: str) -> bool:
        """Whether ``path`` or a folder above it was listed: then its subtree is known."""
        while path:
            if path in self.dircache:
                return True
            path = path.rpartition("/")[0]
        return False

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget the listings of ``path``, of the folders above it and below it (all: None)."""
        if path is None:
            self.dircache.clear()
            return
        path = self._strip_protocol(path)
        for key in list(self.dircache):
            if key == path or key.startswith(path + "/") or path.startswith(key + "/"):
                del self.dircache[key]

    def _not_found(self, path: str) -> PathNotFoundError:
        url = self.url(path)
        return PathNotFoundError(
            f"{self.unstrip_protocol(path)} does not exist (no file or folder at {url}). "
            "Check the owner, repository, branch and path.",
            status=404,
            url=url,
        )

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Entries of folder ``path`` (or ``[entry]`` of a file), from one search."""
        path = self._strip_protocol(path)
        if kwargs.get("refresh"):
            self.invalidate_cache(path)
        entry = self._lookup(path)
        if entry is None:
            raise self._not_found(path)
        listing = self.dircache[path] if entry["type"] == "directory" else [entry]
        return listing if detail else [e["name"] for e in listing]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Name, type and size of ``path``; a file is read for its size and etag."""
        path = self._strip_protocol(path)
        entry = self._lookup(path)
        if entry is None:
            raise self._not_found(path)
        if entry["type"] == "file" and entry["size"] is None:
            return {**entry, **self._file_entry(path, self._read(path))}
        return entry

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Whether a file or folder is at ``path`` (from the listings; no file is read).

        A path that no reader can address (above the branch) does not exist; credentials
        that are refused raise, as they would for any other call.
        """
        try:
            return self._lookup(self._strip_protocol(path)) is not None
        except InputError:
            return False

    def isdir(self, path: str) -> bool:
        """Whether ``path`` is a folder (from the listings)."""
        entry = self._lookup(self._strip_protocol(path))
        return entry is not None and entry["type"] == "directory"

    def isfile(self, path: str) -> bool:
        """Whether ``path`` is a file (from the listings; the file is not read)."""
        entry = self._lookup(self._strip_protocol(path))
        return entry is not None and entry["type"] == "file"

    def modified(self, path: str) -> Any:
        """The last-modified time of a file, when its host says."""
        last: Any = self.info(path).get("last_modified")
        if last is None:
            raise NotImplementedByReaderError(
                f"The host does not say when {self.unstrip_protocol(path)} was last modified."
            )
        return last

    # --- reading -------------------------------------------------------------------------

    def _read(self, path: str) -> ReadUrlResponse:
        try:
            return self.readers.read_url(self.url(path), token=self._token)
        except NotFoundError as exc:
            raise PathNotFoundError(str(exc), status=exc.status, url=exc.url) from None

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """The bytes of a file (``start``/``end`` slice them, after a whole download)."""
        data = self._read(self._strip_protocol(path)).buffer()
        return data[start:end] if start is not None or end is not None else data

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> io.IOBase:
        if mode != "rb":
            raise NotImplementedByReaderError(
                f"scm:// is read-only; open {self.unstrip_protocol(path)} with mode 'rb' or 'r'."
            )
        response = self._read(self._strip_protocol(path))
        if block_size == 0:
            return io.BufferedReader(_Raw(response.stream()))
        return io.BytesIO(response.buffer())

    def __repr__(self) -> str:
        return f"ScmFileSystem(scheme={self.scheme!r})"


class _Raw(io.RawIOBase):
    """A stream of a ReadUrlResponse as a raw file, for io.BufferedReader."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()
