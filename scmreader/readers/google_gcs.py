"""Reading objects, name prefixes ("folders") and glob searches from Google Cloud Storage,
through google-cloud-storage, for URLs ``https://storage.cloud.google.com/{bucket}/{name}``.

Requests per call:

- ``read_url``: the object's metadata (one GET), then its content in ranges of
  ``chunk_size`` bytes (one request for a small object), pinned to the generation the
  metadata named, issued as the stream is read (an overwrite in between deletes that
  generation: ChangedWhileReadingError). The etag is the object's generation, so
  passing it back (or a ``last_modified_after`` not older than the object's ``updated``)
  costs only the metadata request and raises NotModifiedError.
- ``read_tree``: the listing of the name prefix (1000 names a page), then the selected
  objects, each when the tree engine reaches it, pinned to the listed generation. The
  etag is a sha256 of the listing (every name with its generation): passing it back costs
  the listing only and raises NotModifiedError before any object is downloaded.
- ``search`` (glob): the listing of the glob's static prefix; matched objects are fetched
  when their ``content()`` is read. The etag is the same kind of hash over the matches.

Beyond Backstage (no etags for GCS there, search limited to a trailing ``*`` with the etag
``NOT/IMPLEMENTED``): etags and NotModifiedError everywhere, the tree ``filter`` is honoured
(with the listed size), a tree's prefix always ends in ``/`` (``docs`` does not take in
``docs2/``), folder markers and names that cannot be files (``.``/``..``/empty segments,
control characters) are skipped, and any glob works. The ``token`` option is ignored, as
in Backstage.

google-cloud-storage is the ``gcs`` extra, imported on first use only. Credentials: the
integration's ``clientEmail``/``privateKey`` as a service account (read-only scope), else
the environment's default credentials (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud, the
metadata server). The endpoint is Google's unless ``STORAGE_EMULATOR_HOST`` names an
emulator (the client library's convention; without a service account it then connects
anonymously), or the reader is built with ``endpoint=``.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote

from scmreader.errors import (
    AuthenticationError,
    ConfigError,
    HttpStatusError,
    InvalidUrlError,
    NotFoundError,
    NotModifiedError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ScmReaderError,
    TransportError,
    UpstreamError,
)
from scmreader.integrations.google_gcs import GOOGLE_GCS_HOST, GoogleGcsIntegration
from scmreader.readers._objects import (
    ObjectLocation,
    ObjectStoreReader,
    StoredObject,
    changed_while_reading,
    vanished_is_changed,
)
from scmreader.readers.base import ReaderContext, ReaderFactory, ReaderTuple, aware
from scmreader.readers.types import (
    ReadUrlResponse,
)
from scmreader.redact import install_log_redaction, redact, redact_url
from scmreader.urls import (
    ParsedUrl,
    parse_url,
    reject_traversal,
)

if TYPE_CHECKING:
    from scmreader.http import HttpSettings
    from scmreader.readers.tree import TreeResponseFactory


#: Google's OAuth token endpoint, where a service account trades its signed JWT for a token.
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
#: The only OAuth scope the reader asks for.
READ_ONLY_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
_INSTALL_HINT = "pip install 'scmreader[gcs]'"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
#: Loggers of the Google client stack that may print request details.
_GOOGLE_LOGGERS = (
    "google.auth.transport.requests",
    "google.auth._default",
    "google.oauth2._client",
    "google.cloud.storage.blob",
    "google.api_core.retry",
    "google.resumable_media.requests.download",
    "urllib3.connectionpool",
)


@dataclass(frozen=True)
class GcsLocation:
    """Where a storage.cloud.google.com URL points: a bucket and an object name (or a
    prefix), both percent-decoded."""

    bucket: str
    name: str


def parse_gcs_url(url: str) -> GcsLocation:
    """Split ``https://storage.cloud.google.com/{bucket}/{name}``; InvalidUrlError for a
    URL on another host or without a valid bucket name."""
    parsed = parse_url(url)
    if parsed.hostname != GOOGLE_GCS_HOST:
        raise InvalidUrlError(
            f"{redact_url(url)} is not a Google Cloud Storage URL; use "
            f"https://{GOOGLE_GCS_HOST}/<bucket>/<object name>."
        )
    first, _, rest = parsed.path[1:].partition("/")
    bucket = unquote(first)
    if not _BUCKET.match(bucket):
        raise InvalidUrlError(
            f"The URL {redact_url(url)} names no valid GCS bucket ({bucket!r}); use "
            f"https://{GOOGLE_GCS_HOST}/<bucket>/<object name>."
        )
    return GcsLocation(bucket=bucket, name=unquote(rest))


def _import_storage() -> Any:
    """The google.cloud.storage module, or a ConfigError saying how to install it."""
    import importlib

    try:
        storage = importlib.import_module("google.cloud.storage")
    except ImportError:
        raise ConfigError(
            "Reading from Google Cloud Storage needs google-cloud-storage, which is not "
            f"installed; install the gcs extra: {_INSTALL_HINT}"
        ) from None
    return storage


class GoogleGcsUrlReader(ObjectStoreReader):
    """Reads from Google Cloud Storage (``googleGcs{host=storage.cloud.google.com,...}``)."""

    name = "googleGcs"
    store = "Google Cloud Storage"

    def __init__(
        self,
        integration: GoogleGcsIntegration,
        *,
        tree: TreeResponseFactory,
        settings: HttpSettings | None = None,
        endpoint: str | None = None,
        token_uri: str = GOOGLE_TOKEN_URI,
        chunk_size: int = 8 * 1024 * 1024,
        page_size: int = 1000,
    ) -> None:
        """``endpoint`` replaces Google's JSON API endpoint (an emulator's URL) and
        ``token_uri`` the OAuth endpoint a service account uses; neither is a config key."""
        config = integration.config
        super().__init__(host=config.host, authed=bool(config.private_key))
        self.integration = integration
        self._config = config
        self._tree = tree
        self._settings = settings
        self._endpoint = endpoint
        self._token_uri = token_uri
        self._chunk_size = chunk_size
        self._page_size = page_size
        self._lock = threading.Lock()
        self._client_instance: Any = None

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one object, streamed. Raises NotModifiedError (the generation or date still
        matches), NotFoundError (no such object or bucket), PermissionDeniedError,
        AuthenticationError and InvalidUrlError (not a GCS object URL)."""
        where = self._locate(url)
        location: GcsLocation = where.native
        if not location.name or location.name.endswith("/"):
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names a folder of bucket {location.bucket}, not an "
                "object; use read_tree for folders, or add the object's name."
            )
        blob = self._call(
            url, lambda c: c.bucket(location.bucket).get_blob(location.name, **self._opts())
        )
        if blob is None:
            raise _not_found(url, f"gs://{location.bucket}/{location.name} does not exist")
        item = _object(blob)
        self._raise_if_not_modified(url, etag, item.fingerprint)
        if (
            last_modified_after is not None
            and item.updated is not None
            and item.updated.replace(microsecond=0) <= aware(last_modified_after)
        ):
            raise NotModifiedError(
                f"{redact_url(url)} has not changed since {last_modified_after.isoformat()}; "
                "keep using the copy you have.",
                etag=etag,
            )
        return ReadUrlResponse(
            self._open(where, item, url),
            etag=item.fingerprint,
            last_modified_at=item.updated,
        )

    # --- read_tree ---------------------------------------------------------------------

    def _locate(self, url: str) -> ObjectLocation:
        location = parse_gcs_url(url)
        reject_traversal(location.name, what="the GCS object name")
        parsed = parse_url(url)
        base = f"{parsed.origin}/{parsed.path[1:].partition('/')[0]}/"
        return ObjectLocation(location.bucket, location.name, base, location)

    def _list(self, location: ObjectLocation, prefix: str, url: str) -> list[StoredObject]:
        """Every object whose name starts with ``prefix``, across all pages."""

        def listing(client: Any) -> list[StoredObject]:
            blobs = client.list_blobs(
                location.container, prefix=prefix or None, page_size=self._page_size, **self._opts()
            )
            return [_object(blob) for blob in blobs]

        return self._call(url, listing)  # type: ignore[no-any-return]

    def _open(self, location: ObjectLocation, item: StoredObject, url: str) -> BinaryIO:
        blob = self._call(
            url, lambda c: c.bucket(location.container).blob(item.name, generation=item.version)
        )
        raw = _ObjectStream(self, blob, item.size, url)
        return io.BufferedReader(raw, buffer_size=min(self._chunk_size, 1024 * 1024))

    def _download(self, blob: Any, start: int, end: int, url: str) -> bytes:
        """Bytes ``start``..``end`` (inclusive) of ``blob``, pinned to its generation: in a
        bucket without Object Versioning an overwrite deletes that generation, so a 404
        here means the object changed (or was deleted) after it was listed or looked up."""
        with vanished_is_changed(self.store, url, blob.name):
            return self._call(  # type: ignore[no-any-return]
                url,
                lambda _: blob.download_as_bytes(
                    start=start, end=end, checksum=None, **self._opts()
                ),
            )

    # --- the client --------------------------------------------------------------------

    def _opts(self) -> dict[str, Any]:
        """Timeout and retry arguments for one call, from the HTTP settings."""
        from google.api_core.retry import Retry
        from google.cloud.storage.retry import DEFAULT_RETRY

        settings = self._settings
        if settings is None:
            return {"retry": DEFAULT_RETRY}
        retry: Retry = DEFAULT_RETRY.with_timeout(settings.retry_budget)
        return {"timeout": (settings.connect_timeout, settings.read_timeout), "retry": retry}

    def _call(self, url: str, operation: Callable[[Any], Any]) -> Any:
        """Run ``operation(client)``, turning the Google libraries' exceptions into
        scmreader's."""
        try:
            return operation(self._client())
        except ScmReaderError:
            raise
        except Exception as exc:
            raise _translate(exc, url) from None

    def _client(self) -> Any:
        """The storage Client, built on first use (it is thread-safe)."""
        if self._client_instance is not None:
            return self._client_instance
        storage = _import_storage()
        install_log_redaction(*_GOOGLE_LOGGERS)
        with self._lock:
            if self._client_instance is None:
                options = {"api_endpoint": self._endpoint} if self._endpoint else None
                client = storage.Client(
                    project=None, credentials=self._credentials(), client_options=options
                )
                # Recent clients fetch each bucket's metadata in the background for
                # tracing: an extra request that needs storage.buckets.get, which a
                # reader's role may lack. The client skips it when the cache is unset.
                if getattr(client, "_bucket_metadata_cache", None) is not None:
                    client._bucket_metadata_cache = None
                self._client_instance = client
        return self._client_instance

    def _credentials(self) -> Any:
        """Service-account credentials from the config, or None for the library's default
        (application default credentials; anonymous for an emulator)."""
        config = self._config
        if not config.private_key:
            return None
        from google.oauth2 import service_account

        info = {
            "type": "service_account",
            "client_email": config.client_email,
            "private_key": str(config.private_key),
            "token_uri": self._token_uri,
        }
        from_info: Any = service_account.Credentials.from_service_account_info
        try:
            return from_info(info, scopes=[READ_ONLY_SCOPE])
        except Exception as exc:
            raise ConfigError(
                f"The googleGcs privateKey could not be used as a service account key "
                f"({type(exc).__name__}); paste the private_key value of the service "
                "account's JSON key file (PEM, '-----BEGIN PRIVATE KEY-----').",
                key_path="integrations.googleGcs.privateKey",
            ) from None


class _ObjectStream(io.RawIOBase):
    """An object's content, fetched in ranges as it is read; failures are scmreader errors."""

    def __init__(self, reader: GoogleGcsUrlReader, blob: Any, size: int, url: str) -> None:
        super().__init__()
        self._reader = reader
        self._blob = blob
        self._size = size
        self._url = url
        self._pos = 0
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending and self._pos < self._size:
            end = min(self._pos + self._reader._chunk_size, self._size) - 1
            chunk = self._reader._download(self._blob, self._pos, end, self._url)
            if not chunk:
                self.close()
                raise TransportError(
                    f"{redact_url(self._url)} ended after {self._pos} of {self._size} bytes; "
                    "the object may have been replaced, read it again."
                )
            self._pos += len(chunk)
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


# --- helpers -------------------------------------------------------------------------


def _object(blob: Any) -> StoredObject:
    generation = int(blob.generation) if blob.generation is not None else None
    fingerprint = (
        str(generation) if generation is not None else str(blob.etag or blob.md5_hash or "")
    )
    return StoredObject(
        name=str(blob.name),
        size=int(blob.size or 0),
        fingerprint=fingerprint,
        updated=blob.updated,
        version=generation,
    )


def _not_found(url: str, detail: str) -> NotFoundError:
    shown = redact_url(url)
    return NotFoundError(
        f"{shown} could not be read from Google Cloud Storage: {detail}. Check the bucket "
        "and object name, and that the credentials may read the bucket.",
        status=404,
        url=shown,
    )


def _translate(exc: BaseException, url: str) -> ScmReaderError:
    """scmreader's error for an exception of the Google client stack (redacted)."""
    import requests
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax

    shown = redact_url(url)
    where = f"reading {shown} from Google Cloud Storage"
    detail = redact(str(exc))
    if isinstance(exc, gx.RetryError) and exc.cause is not None:
        return _translate(exc.cause, url)
    if isinstance(exc, gx.GoogleAPICallError):
        return _api_error(exc, shown, where, detail)
    if isinstance(exc, ax.DefaultCredentialsError):
        return AuthenticationError(
            f"No Google credentials for {where}; set clientEmail and privateKey in "
            "integrations.googleGcs, or provide application default credentials "
            "(GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login).",
            url=shown,
        )
    if isinstance(exc, ax.RefreshError):
        return AuthenticationError(
            f"Google rejected the credentials while {where} ({detail}); check clientEmail "
            "and privateKey of integrations.googleGcs (or the default credentials).",
            url=shown,
        )
    if isinstance(exc, requests.Timeout):
        return RequestTimeoutError(f"Timed out {where}; retry later or raise the timeouts.")
    if isinstance(exc, ax.TransportError | requests.RequestException | OSError):
        return TransportError(
            f"The connection failed while {where} ({type(exc).__name__}: {detail}); check "
            "the network (and STORAGE_EMULATOR_HOST, if set), then retry."
        )
    return TransportError(f"Unexpected failure while {where}: {type(exc).__name__}: {detail}")


def _api_error(exc: Any, shown: str, where: str, detail: str) -> ScmReaderError:
    from google.api_core import exceptions as gx

    status = exc.code if isinstance(exc.code, int) else None
    reasons = {str(e.get("reason")) for e in (exc.errors or []) if isinstance(e, dict)}
    said = redact(str(exc.message or detail))
    if isinstance(exc, gx.NotModified):
        return NotModifiedError(f"{shown} has not changed; keep using the copy you have.")
    if isinstance(exc, gx.NotFound):
        return NotFoundError(
            f"{shown} could not be read from Google Cloud Storage ({said}); check the bucket "
            "and object name, and that the credentials may read the bucket.",
            status=404,
            url=shown,
        )
    if isinstance(exc, gx.Unauthorized):
        return AuthenticationError(
            f"Google Cloud Storage rejected the credentials while {where} ({said}); check "
            "clientEmail and privateKey of integrations.googleGcs (or the default credentials).",
            status=status,
            url=shown,
        )
    if isinstance(exc, gx.TooManyRequests) or reasons & _RATE_REASONS:
        return RateLimitedError(
            f"Google Cloud Storage is throttling requests while {where} ({said}); retry later.",
            status=status,
            url=shown,
        )
    if isinstance(exc, gx.Forbidden):
        return PermissionDeniedError(
            f"Google Cloud Storage denied access while {where} ({said}); grant the service "
            "account storage.objects.get and storage.objects.list on the bucket (e.g. the "
            "Storage Object Viewer role).",
            status=status,
            url=shown,
        )
    if isinstance(exc, gx.PreconditionFailed):
        return changed_while_reading("Google Cloud Storage", shown, status=412)
    if status is not None and status >= 500:
        return UpstreamError(
            f"Google Cloud Storage failed while {where} ({said}); retry later.",
            status=status,
            url=shown,
        )
    return HttpStatusError(
        f"Google Cloud Storage refused {where} ({said}).", status=status, url=shown
    )


def _create(context: ReaderContext) -> list[ReaderTuple]:
    settings = getattr(context.http, "settings", None)
    tuples = []
    for integration in context.integrations.group("googleGcs").list():
        assert isinstance(integration, GoogleGcsIntegration)
        reader = GoogleGcsUrlReader(integration, tree=context.tree, settings=settings)
        tuples.append(ReaderTuple(reader, _is_gcs_host))
    return tuples


def _is_gcs_host(url: ParsedUrl) -> bool:
    return url.host == GOOGLE_GCS_HOST


#: How UrlReaders finds this reader (Backstage reader order 90).
READER_FACTORY = ReaderFactory(name="googleGcs", order=90, create=_create)

__all__ = [
    "GOOGLE_TOKEN_URI",
    "READER_FACTORY",
    "READ_ONLY_SCOPE",
    "GcsLocation",
    "GoogleGcsUrlReader",
    "parse_gcs_url",
]
