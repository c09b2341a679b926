"""Reading objects, key prefixes ("folders") and glob searches from AWS S3 and
S3-compatible stores (MinIO, LocalStack, Ceph...), through boto3.

Requests per call:

- ``read_url``: one GetObject, conditional on the caller's ``etag`` (If-None-Match) and
  ``last_modified_after`` (If-Modified-Since); the body is streamed, not buffered.
- ``read_tree``: ListObjectsV2 of the key prefix (1000 keys a page), then one GetObject per
  selected file, issued only when the tree engine reaches that file. The etag is a sha256
  of the listing (every key with its ETag), so passing it back costs only the listing and
  raises NotModifiedError before any object is downloaded. Each GetObject asks for the
  ETag the listing saw (If-Match): an object replaced or deleted mid-read is a
  ChangedWhileReadingError, not a mix of two states.
- ``search`` (glob): ListObjectsV2 of the glob's static prefix; matched objects are fetched
  when their ``content()`` is read. The etag is the same kind of hash over the matches.

Beyond Backstage: the tree ``filter`` is honoured (with the listed size), the prefix of a
tree always ends in ``/`` (``docs`` does not take in ``docs2/``), folder markers and keys
that cannot be files (``.``/``..``/empty segments, control characters) are skipped, and
glob searches work. The ``token`` option is ignored, as in Backstage.

boto3 is the ``s3`` extra and is imported on first use only. Credentials: the entry's
access key pair, else boto3's default chain (environment, shared config, instance role);
with ``roleArn`` those credentials assume that role through STS (session name
``scmreader-aws-s3-url-reader``, ``externalId`` when set), refreshed before expiry. STS is
reached at its usual AWS endpoint (``AWS_ENDPOINT_URL_STS`` overrides it).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote

from scmreader.errors import (
    AuthenticationError,
    HttpStatusError,
    InvalidUrlError,
    NotFoundError,
    NotModifiedError,
    PermissionDeniedError,
    RateLimitedError,
    ScmReaderError,
    UpstreamError,
)
from scmreader.integrations.aws_s3 import (
    AMAZON_AWS_HOST,
    AwsS3Integration,
    AwsS3Url,
    parse_aws_s3_url,
)
from scmreader.readers._aws import AwsClients, has_credentials, transport_error
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
from scmreader.redact import redact, redact_url
from scmreader.urls import (
    ParsedUrl,
    parse_url,
    reject_traversal,
)

if TYPE_CHECKING:
    from scmreader.http import HttpSettings
    from scmreader.readers.tree import TreeResponseFactory


#: RoleSessionName of the STS AssumeRole call (visible in CloudTrail).
ROLE_SESSION_NAME = "scmreader-aws-s3-url-reader"
_NOT_MODIFIED_CODES = frozenset({"304", "NotModified"})
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound"})
_AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
    }
)
_THROTTLE_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "TooManyRequests"})


class AwsS3UrlReader(ObjectStoreReader):
    """Reads from one configured S3 service (``awsS3{host=...,authed=...}``)."""

    name = "awsS3"
    store = "S3"

    def __init__(
        self,
        integration: AwsS3Integration,
        *,
        tree: TreeResponseFactory,
        settings: HttpSettings | None = None,
        max_list_pages: int = 10_000,
        page_size: int = 1000,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=has_credentials(config))
        self.integration = integration
        self._config = config
        self._tree = tree
        self._settings = settings
        self._max_list_pages = max_list_pages
        self._page_size = page_size
        self._aws = AwsClients(
            service="s3",
            label="AWS S3",
            config=config,
            translate=lambda exc: _translate(exc, None, None),
            settings=settings,
            endpoint=config.endpoint,
            role_session_name=ROLE_SESSION_NAME,
            extra_config={"s3": {"addressing_style": "path"}}
            if config.s3_force_path_style
            else None,
        )

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one object, streamed. Raises NotModifiedError (the ETag or date still
        matches), NotFoundError (no such key or bucket), PermissionDeniedError,
        AuthenticationError and InvalidUrlError (not an S3 object URL)."""
        location = self._parse(url)
        if not location.path or location.path.endswith("/"):
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names a folder of bucket {location.bucket}, not an "
                "object; use read_tree for folders, or add the object's key."
            )
        conditions: dict[str, Any] = {}
        if etag:
            conditions["IfNoneMatch"] = etag
        if last_modified_after is not None:
            conditions["IfModifiedSince"] = aware(last_modified_after)
        answer = self._call(
            location.region,
            "get_object",
            url,
            etag,
            Bucket=location.bucket,
            Key=location.path,
            **conditions,
        )
        return ReadUrlResponse(
            _stream(answer["Body"], url),
            etag=answer.get("ETag"),
            last_modified_at=answer.get("LastModified"),
        )

    # --- object-store hooks (read_tree and glob search live in ObjectStoreReader) -------

    def _locate(self, url: str) -> ObjectLocation:
        location = self._parse(url)
        reject_traversal(location.path, what="the S3 key")
        return ObjectLocation(location.bucket, location.path, _browse_base(url, location), location)

    def _list(self, location: ObjectLocation, prefix: str, url: str) -> list[StoredObject]:
        """Every object whose key starts with ``prefix``, across all pages."""
        s3: AwsS3Url = location.native
        objects: list[StoredObject] = []
        token: str | None = None
        seen: set[str] = set()
        pages = 0
        while pages < self._max_list_pages:
            params: dict[str, Any] = {
                "Bucket": s3.bucket,
                "Prefix": prefix,
                "MaxKeys": self._page_size,
            }
            if token:
                params["ContinuationToken"] = token
            page = self._call(s3.region, "list_objects_v2", url, None, **params)
            pages += 1
            for raw in page.get("Contents") or ():
                objects.append(
                    StoredObject(
                        name=str(raw["Key"]),
                        size=int(raw.get("Size") or 0),
                        fingerprint=str(raw.get("ETag") or ""),
                        updated=raw.get("LastModified"),
                    )
                )
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                return objects
            if token in seen:
                break
            seen.add(token)
        raise UpstreamError(
            f"Listing {redact_url(url)} did not end after {pages} pages; the store's "
            "pagination loops or the prefix holds too many objects. Read a narrower folder.",
            url=redact_url(url),
        )

    def _open(self, location: ObjectLocation, item: StoredObject, url: str) -> BinaryIO:
        s3: AwsS3Url = location.native
        params: dict[str, Any] = {"Bucket": s3.bucket, "Key": item.name}
        if item.fingerprint:
            params["IfMatch"] = item.fingerprint  # the listed version, or a clear failure
        answer = self._call(s3.region, "get_object", url, None, **params)
        return _stream(answer["Body"], url)

    def _parse(self, url: str) -> AwsS3Url:
        location = parse_aws_s3_url(url, self._config)
        if not location.bucket:
            raise InvalidUrlError(f"The URL {redact_url(url)} names no S3 bucket.")
        return location

    # --- boto3 -------------------------------------------------------------------------

    def _call(self, region: str, operation: str, url: str, etag: str | None, **params: Any) -> Any:
        """Run one S3 operation, turning botocore's exceptions into scmreader's."""
        client = self._aws.client(region)
        try:
            return getattr(client, operation)(**params)
        except ScmReaderError:
            raise
        except Exception as exc:
            raise _translate(exc, url, etag) from None


# --- helpers -------------------------------------------------------------------------


class _ObjectBody(io.RawIOBase):
    """A botocore StreamingBody as a raw binary stream whose failures are TransportErrors."""

    def __init__(self, body: Any, url: str) -> None:
        super().__init__()
        self._body = body
        self._url = url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:
            self.close()
            raise _translate(exc, self._url, None) from None
        size = len(data)
        buffer[:size] = data
        return size

    def close(self) -> None:
        if not self.closed:
            try:
                self._body.close()
            finally:
                super().close()


def _stream(body: Any, url: str) -> BinaryIO:
    return io.BufferedReader(_ObjectBody(body, url), buffer_size=256 * 1024)


def _browse_base(url: str, location: AwsS3Url) -> str:
    """The URL up to the key (origin, and ``/bucket`` for a path-style URL), ending in ``/``."""
    parsed = parse_url(url)
    first, _, rest = parsed.path[1:].partition("/")
    if unquote(first) == location.bucket and unquote(rest) == location.path:
        return f"{parsed.origin}/{first}/"
    return f"{parsed.origin}/"


def _translate(exc: BaseException, url: str | None, etag: str | None) -> ScmReaderError:
    """scmreader's error for a botocore exception (the message is redacted)."""
    from botocore import exceptions as bx

    shown = redact_url(url) if url else "S3"
    where = f"reading {shown} from S3"
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, shown, where, etag)
    return transport_error(
        exc, shown=shown, where=where, integration="awsS3", names="S3 bucket and key"
    )


def _client_error(exc: Any, shown: str, where: str, etag: str | None) -> ScmReaderError:
    response = exc.response or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    said = redact(f"{code}: {error.get('Message') or 'no message'}")
    if status == 304 or code in _NOT_MODIFIED_CODES:
        return NotModifiedError(
            f"{shown} has not changed (etag {etag or 'or date'}); keep using the copy you have.",
            etag=etag,
        )
    if status == 404 or code in _NOT_FOUND_CODES:
        return NotFoundError(
            f"{shown} could not be read from S3 ({said}); check the bucket and key, and that "
            "the credentials may list the bucket.",
            status=404,
            url=shown,
        )
    if code in _AUTH_CODES or status == 401:
        return AuthenticationError(
            f"S3 rejected the credentials while {where} ({said}); check accessKeyId, "
            "secretAccessKey or the default AWS credential chain.",
            status=status,
            url=shown,
        )
    if status == 403 or code == "AccessDenied":
        return PermissionDeniedError(
            f"S3 denied access while {where} ({said}); grant s3:GetObject and s3:ListBucket "
            "to the credentials (or the role they assume).",
            status=status,
            url=shown,
        )
    if status == 429 or code in _THROTTLE_CODES:
        return RateLimitedError(
            f"S3 is throttling requests while {where} ({said}); retry later.",
            status=status,
            url=shown,
        )
    if status == 412 or code == "PreconditionFailed":  # the If-Match of a listed object
        key = error.get("Key")
        return changed_while_reading("S3", shown, key if isinstance(key, str) else None, status=412)
    if isinstance(status, int) and status >= 500:
        return UpstreamError(
            f"S3 failed while {where} ({said}); retry later.", status=status, url=shown
        )
    return HttpStatusError(f"S3 refused {where} ({said}).", status=status, url=shown)


def _create(context: ReaderContext) -> list[ReaderTuple]:
    tuples = []
    settings = getattr(context.http, "settings", None)
    for integration in context.integrations.group("awsS3").list():
        assert isinstance(integration, AwsS3Integration)
        reader = AwsS3UrlReader(integration, tree=context.tree, settings=settings)
        tuples.append(ReaderTuple(reader, _host_within(integration.config.host)))
    return tuples


def _host_within(host: str) -> Callable[[ParsedUrl], bool]:
    """Backstage's ``url.host.endsWith(host)``, at a dot boundary. The AWS entry also
    takes the China partition (``amazonaws.com.cn``), which its URL parser reads."""
    hosts = (host, f"{host}.cn") if host == AMAZON_AWS_HOST else (host,)
    return lambda url: any(url.host == h or url.host.endswith(f".{h}") for h in hosts)


#: How UrlReaders finds this reader (Backstage reader order 110).
READER_FACTORY = ReaderFactory(name="awsS3", order=110, create=_create)

__all__ = ["READER_FACTORY", "ROLE_SESSION_NAME", "AwsS3UrlReader"]
