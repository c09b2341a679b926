"""Reading blobs, blob-name prefixes ("folders") and glob searches from Azure Blob Storage
(and Azurite), through azure-storage-blob.

Requests per call:

- ``read_url``: one Get Blob, conditional on the caller's ``etag`` (If-None-Match) and
  ``last_modified_after`` (If-Modified-Since); the body is streamed in 4 MiB ranges.
- ``read_tree``: List Blobs of the name prefix (5000 names a page), then one Get Blob per
  selected file, issued only when the tree engine reaches that file. The etag is a sha256
  of the listing (every name with its ETag), so passing it back costs only the listing and
  raises NotModifiedError before any blob is downloaded. Each download asks for the ETag
  the listing saw (If-Match): a blob replaced or deleted mid-read (also between the ranges
  of a large read_url) is a ChangedWhileReadingError, not a mix of states.
- ``search`` (glob): List Blobs of the glob's static prefix; matched blobs are downloaded
  when their ``content()`` is read. The etag is the same kind of hash over the matches.

Beyond Backstage: the tree ``filter`` is honoured (with the listed size), a tree's prefix
always ends in ``/`` (``docs`` does not take in ``docs2/``), folder markers and names that
cannot be files (``.``/``..``/empty segments also once percent-decoded and split on ``\\``,
control characters) are skipped, and glob searches work. The ``token`` option is ignored.

One reader per configured account. It claims URLs on ``{accountName}.{host}`` (host
``blob.core.windows.net``, or ``blob.{endpointSuffix}``), or on the ``endpoint``'s host;
an endpoint on an IP address or ``localhost`` (Azurite) takes path-style URLs
``{endpoint}/{accountName}/{container}/{blob}``. Credentials, in this order: the connection
string, the account key, the SAS token, the ``aadCredential`` app, else the Azure SDK's
default credential chain (the last two need azure-identity). azure-storage-blob and
azure-identity are the ``azure`` extra and are imported on first use only.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

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
from scmreader.integrations.azure_blob import (
    AzureBlobStorageIntegration,
    AzureBlobStorageIntegrationConfig,
    AzureBlobStorageUrl,
    is_path_style_endpoint,
    parse_azure_blob_storage_url,
)
from scmreader.readers._objects import (
    ObjectLocation,
    ObjectStoreReader,
    StoredObject,
    changed_while_reading,
)
from scmreader.readers.base import ReaderContext, ReaderFactory, ReaderTuple, aware
from scmreader.readers.types import (
    ReadUrlResponse,
)
from scmreader.redact import install_log_redaction, redact, redact_url, register_secret
from scmreader.urls import (
    ParsedUrl,
    encode_path,
    parse_url,
    reject_traversal,
)

if TYPE_CHECKING:
    from scmreader.http import HttpSettings
    from scmreader.readers.tree import TreeResponseFactory


_INSTALL_HINT = "pip install 'scmreader[azure]'"
_CHUNK = 4 * 1024 * 1024
#: Storage error codes that mean the credentials themselves were refused.
_AUTH_CODES = frozenset(
    {"AuthenticationFailed", "InvalidAuthenticationInfo", "NoAuthenticationInformation"}
)
#: Loggers of the Azure SDK and its transport that may print URLs or headers.
_SDK_LOGGERS = (
    "azure",
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.core.pipeline.transport._requests_basic",
    "azure.storage.blob._shared.policies",
    "azure.identity",
    "azure.identity._internal.get_token_mixin",
    "msal",
    "urllib3.connectionpool",
)


def _import_blob() -> tuple[Any, Any]:
    """azure.storage.blob and azure.core.MatchConditions, or a ConfigError saying how to
    install them."""
    try:
        import azure.storage.blob as blob
        from azure.core import MatchConditions
    except ImportError:
        raise ConfigError(
            "Reading from Azure Blob Storage needs azure-storage-blob, which is not installed; "
            f"install the azure extra: {_INSTALL_HINT}"
        ) from None
    return blob, MatchConditions


def _import_identity(key: str) -> Any:
    """azure.identity, or a ConfigError naming the config key that needs it."""
    try:
        import azure.identity as identity
    except ImportError:
        raise ConfigError(
            f"The azureBlobStorage integration signs in with {key}, which needs azure-identity; "
            f"it is not installed: {_INSTALL_HINT} (or set accountKey or sasToken instead)."
        ) from None
    return identity


class AzureBlobStorageUrlReader(ObjectStoreReader):
    """Reads from one storage account (``azureBlobStorage{host=...,authed=...}``)."""

    name = "azureBlobStorage"
    store = "Azure Blob Storage"

    def __init__(
        self,
        integration: AzureBlobStorageIntegration,
        *,
        tree: TreeResponseFactory,
        settings: HttpSettings | None = None,
        page_size: int = 5000,
    ) -> None:
        config = integration.config
        if not config.account_name:
            raise ConfigError(
                "An azureBlobStorage reader needs an integration with accountName; add "
                "accountName to the integrations.azureBlobStorage entry."
            )
        super().__init__(host=account_host(config), authed=_has_credentials(config))
        self.integration = integration
        self._config = config
        self._account: str = config.account_name
        self._path_style = is_path_style_endpoint(config)
        self._tree = tree
        self._settings = settings
        self._page_size = page_size
        self._lock = threading.Lock()
        self._service: Any = None
        for value in (
            config.account_key,
            config.sas_token,
            config.connection_string,
            config.aad_credential.client_secret if config.aad_credential else None,
        ):
            register_secret(value)

    @property
    def account_url(self) -> str:
        """The URL of the account's blob service (path-style: the endpoint plus account)."""
        config = self._config
        if config.endpoint:
            base = config.endpoint.rstrip("/")
            return f"{base}/{self._account}" if self._path_style else base
        return f"https://{self._host}"

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one blob, streamed. Raises NotModifiedError (the ETag or date still
        matches), NotFoundError (no such blob or container), AuthenticationError,
        PermissionDeniedError and InvalidUrlError (not a blob URL)."""
        location = self._parse(url)
        if not location.path or parse_url(url).path.endswith("/"):
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names a folder of container {location.container}, "
                "not a blob; use read_tree for folders, or add the blob's name."
            )
        _, match_conditions = _import_blob()
        options: dict[str, Any] = {}
        if etag:
            options.update(etag=etag, match_condition=match_conditions.IfModified)
        if last_modified_after is not None:
            options["if_modified_since"] = aware(last_modified_after)
        blob = self._blob_client(location.container, location.path)
        downloader = self._call(url, etag, lambda: blob.download_blob(**options))
        properties = downloader.properties
        return ReadUrlResponse(
            _stream(downloader, url),
            etag=properties.etag,
            last_modified_at=properties.last_modified,
        )

    # --- object-store hooks (read_tree and glob search live in ObjectStoreReader) -------

    def _locate(self, url: str) -> ObjectLocation:
        location = self._parse(url)
        reject_traversal(location.path, what="the blob name")
        base = f"{self._browse_base(url)}{encode_path(location.container)}/"
        return ObjectLocation(location.container, location.path, base, location)

    def _list(self, location: ObjectLocation, prefix: str, url: str) -> list[StoredObject]:
        """Every blob whose name starts with ``prefix`` (folder markers of hierarchical
        namespaces, ``hdi_isfolder`` metadata, left out)."""
        client = self._service_client().get_container_client(location.container)

        def run() -> list[StoredObject]:
            found: list[StoredObject] = []
            pages = client.list_blobs(
                name_starts_with=prefix or None,
                include=["metadata"],
                results_per_page=self._page_size,
            )
            for raw in pages:
                metadata = raw.metadata or {}
                if str(metadata.get("hdi_isfolder", "")).lower() == "true":
                    continue
                found.append(
                    StoredObject(
                        name=str(raw.name),
                        size=int(raw.size or 0),
                        fingerprint=str(raw.etag or ""),
                        updated=raw.last_modified,
                    )
                )
            return found

        result: list[StoredObject] = self._call(url, None, run)
        return result

    def _open(self, location: ObjectLocation, item: StoredObject, url: str) -> BinaryIO:
        _, match_conditions = _import_blob()
        options: dict[str, Any] = {}
        if item.fingerprint:  # the listed version, or a clear failure
            options.update(etag=item.fingerprint, match_condition=match_conditions.IfNotModified)
        blob = self._blob_client(location.container, item.name)
        downloader = self._call(url, None, lambda: blob.download_blob(**options))
        return _stream(downloader, url)

    def _parse(self, url: str) -> AzureBlobStorageUrl:
        return parse_azure_blob_storage_url(
            url, account_in_path=self._account if self._path_style else None
        )

    def _browse_base(self, url: str) -> str:
        """The URL up to the container (``origin/`` or ``origin/account/``)."""
        parsed = parse_url(url)
        if self._path_style:
            first = parsed.path[1:].partition("/")[0]
            return f"{parsed.origin}/{first}/"
        return f"{parsed.origin}/"

    # --- the SDK -----------------------------------------------------------------------

    def _call(self, url: str, etag: str | None, action: Callable[[], Any]) -> Any:
        """Run one SDK operation, turning its exceptions into scmreader's."""
        try:
            return action()
        except ScmReaderError:
            raise
        except Exception as exc:
            raise _translate(exc, url, etag) from None

    def _blob_client(self, container: str, name: str) -> Any:
        return self._service_client().get_blob_client(container, name)

    def _service_client(self) -> Any:
        """The account's BlobServiceClient, made on first use (it is thread-safe)."""
        if self._service is not None:
            return self._service
        blob, _ = _import_blob()
        install_log_redaction(*_SDK_LOGGERS)
        with self._lock:
            if self._service is None:
                options = self._client_options()
                config = self._config
                if config.connection_string:
                    self._service = blob.BlobServiceClient.from_connection_string(
                        str(config.connection_string), **options
                    )
                else:
                    self._service = blob.BlobServiceClient(
                        self.account_url, credential=self._credential(), **options
                    )
        return self._service

    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_single_get_size": _CHUNK,
            "max_chunk_get_size": _CHUNK,
            "use_env_settings": False,
            "user_agent": "scmreader",
        }
        settings = self._settings
        if settings is not None:
            options.update(
                connection_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                connection_verify=settings.verify,
                retry_total=max(settings.max_attempts - 1, 0),
                initial_backoff=settings.backoff_initial,
                increment_base=2,
                random_jitter_range=1,
            )
            if settings.proxies:
                options["proxies"] = dict(settings.proxies)
        return options

    def _credential(self) -> Any:
        """The SDK credential for the entry (see the module's docstring)."""
        config = self._config
        if config.account_key:
            return {"account_name": self._account, "account_key": str(config.account_key)}
        if config.sas_token:
            from azure.core.credentials import AzureSasCredential

            return AzureSasCredential(str(config.sas_token).lstrip("?"))
        if config.aad_credential:
            aad = config.aad_credential
            identity = _import_identity("aadCredential")
            return identity.ClientSecretCredential(
                tenant_id=aad.tenant_id,
                client_id=aad.client_id,
                client_secret=str(aad.client_secret),
            )
        identity = _import_identity("the default Azure credential chain (no accountKey)")
        return identity.DefaultAzureCredential()


# --- helpers -------------------------------------------------------------------------


class _DownloadBody(io.RawIOBase):
    """A StorageStreamDownloader's chunks as a raw binary stream whose failures are
    scmreader errors."""

    def __init__(self, downloader: Any, url: str) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] = iter(downloader.chunks())
        self._url = url
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            except ScmReaderError:
                raise
            except Exception as exc:
                self.close()
                error = _translate(exc, self._url, None)
                if isinstance(error, NotFoundError):  # its first range was read: it vanished
                    error = changed_while_reading("Azure Blob Storage", self._url, status=404)
                raise error from None
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._pending = b""
        self._chunks = iter(())
        super().close()


def _stream(downloader: Any, url: str) -> BinaryIO:
    return io.BufferedReader(_DownloadBody(downloader, url), buffer_size=256 * 1024)


def _has_credentials(config: AzureBlobStorageIntegrationConfig) -> bool:
    return bool(
        config.account_key or config.sas_token or config.connection_string or config.aad_credential
    )


def account_host(config: AzureBlobStorageIntegrationConfig) -> str:
    """The host (with ``:port``) whose URLs the entry's reader claims: the endpoint's, or
    ``{accountName}.{host}`` (``{accountName}.blob.{endpointSuffix}`` with a suffix)."""
    if config.endpoint:
        return config.host
    host = f"blob.{config.endpoint_suffix.strip('.')}" if config.endpoint_suffix else config.host
    return f"{config.account_name}.{host}"


def _translate(exc: BaseException, url: str, etag: str | None) -> ScmReaderError:
    """scmreader's error for an Azure SDK exception (the message is redacted)."""
    from azure.core import exceptions as ax

    shown = redact_url(url)
    where = f"reading {shown} from Azure Blob Storage"
    if isinstance(exc, ax.HttpResponseError):
        return _response_error(exc, shown, where, etag)
    detail = redact(_first_line(str(exc)))
    if isinstance(exc, ax.ClientAuthenticationError):  # token acquisition, no response
        return AuthenticationError(
            f"Could not sign in for {where} ({detail}); check aadCredential or the default "
            "Azure credential chain.",
            url=shown,
        )
    if isinstance(exc, ax.ServiceResponseTimeoutError | ax.ServiceRequestTimeoutError):
        return RequestTimeoutError(
            f"Timed out {where} ({detail}); retry later or raise the timeouts."
        )
    if isinstance(exc, ax.AzureError | OSError):
        return TransportError(
            f"The connection failed while {where} ({type(exc).__name__}: {detail}); check the "
            "endpoint and the network, then retry."
        )
    if isinstance(exc, ValueError):
        return InvalidUrlError(f"The URL {shown} does not name a valid blob ({detail}).")
    return TransportError(f"Unexpected failure while {where}: {type(exc).__name__}: {detail}")


def _response_error(exc: Any, shown: str, where: str, etag: str | None) -> ScmReaderError:
    status = exc.status_code
    raw_code = getattr(exc, "error_code", None)
    code = str(getattr(raw_code, "value", raw_code) or "")
    message = _first_line(str(exc.message or ""))
    said = redact(f"{code or exc.reason or 'error'}: {message}")
    if status == 304:
        return NotModifiedError(
            f"{shown} has not changed (etag {etag or 'or date'}); keep using the copy you have.",
            etag=etag,
        )
    if status == 404:
        return NotFoundError(
            f"{shown} could not be read from Azure Blob Storage ({said}); check the container "
            "and blob name, and that the credentials may list the container.",
            status=404,
            url=shown,
        )
    # Azure says AuthenticationFailed for a bad key or SAS; Azurite says AuthorizationFailure
    if status == 401 or code in _AUTH_CODES or "failed to authenticate" in message.lower():
        return AuthenticationError(
            f"Azure Blob Storage rejected the credentials while {where} ({said}); check "
            "accountKey, sasToken (and its expiry) or aadCredential.",
            status=status,
            url=shown,
        )
    if status == 403:
        return PermissionDeniedError(
            f"Azure Blob Storage denied access while {where} ({said}); grant read and list "
            "permissions (e.g. the Storage Blob Data Reader role, or a SAS with r and l).",
            status=status,
            url=shown,
        )
    if status == 429 or code == "ServerBusy":
        return RateLimitedError(
            f"Azure Blob Storage is throttling requests while {where} ({said}); retry later.",
            status=status,
            url=shown,
        )
    if status == 412:  # the If-Match of a listed blob, or of a download's later range
        return changed_while_reading("Azure Blob Storage", shown, status=412)
    if isinstance(status, int) and status >= 500:
        return UpstreamError(
            f"Azure Blob Storage failed while {where} ({said}); retry later.",
            status=status,
            url=shown,
        )
    return HttpStatusError(
        f"Azure Blob Storage refused {where} ({said}).", status=status, url=shown
    )


def _first_line(text: str) -> str:
    """The first line of an SDK message (the rest repeats headers, bodies and URLs)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return re.sub(r"https?://\S+", lambda m: redact_url(m.group(0)), line)


def _create(context: ReaderContext) -> list[ReaderTuple]:
    tuples = []
    settings = getattr(context.http, "settings", None)
    for integration in context.integrations.group("azureBlobStorage").list():
        assert isinstance(integration, AzureBlobStorageIntegration)
        if not integration.config.account_name:
            continue  # the default entry names no account, so it can read nothing
        reader = AzureBlobStorageUrlReader(integration, tree=context.tree, settings=settings)
        tuples.append(ReaderTuple(reader, _host_is(account_host(integration.config))))
    return tuples


def _host_is(host: str) -> Callable[[ParsedUrl], bool]:
    """The URL's host (with ``:port``) is exactly ``host``, case-insensitively. (Backstage
    tests ``endsWith``, which also takes ``evil{host}``.)"""
    wanted = host.lower()
    return lambda url: url.host.lower() == wanted


#: How UrlReaders finds this reader (Backstage reader order 120).
READER_FACTORY = ReaderFactory(name="azureBlobStorage", order=120, create=_create)

__all__ = ["READER_FACTORY", "AzureBlobStorageUrlReader", "account_host"]
