"""Reading files, folders and glob searches from AWS CodeCommit, through boto3.

URLs are console URLs:
``https://<region>.console.aws.amazon.com/codesuite/codecommit/repositories/<repo>/browse[/<ref>]/--/<path>``
(no ``<ref>``: the default branch). Requests per call:

- ``read_url``: the commit the ref names (GetBranch, or GetCommit for a commit id), then
  one GetFile pinned to that commit. The etag is the commit id, as in Backstage; unlike
  Backstage, a caller's etag is compared before GetFile, so an unchanged file costs one
  small lookup and no download.
- ``read_tree``: the same commit lookup (the etag; NotModifiedError before anything
  else), then a GetFolder walk of the folder at that commit (one call per folder) and one
  GetFile per selected file, issued when the tree engine reaches it.
- ``search`` (glob, which Backstage refuses for CodeCommit): the commit lookup (the etag),
  a GetFolder walk from the glob's static prefix, and one GetFile per matched file whose
  ``content()`` is read.

The ref is resolved as: a full commit id -> GetCommit; otherwise a branch (``main`` or
``refs/heads/main``) -> GetBranch; a name that is no branch (a tag, an abbreviated id) ->
the commit id of a GetFolder of the repository root at that ref (one listing, no content).
No ref -> GetRepository's default branch, then GetBranch.

GetFolder reports no sizes. The tree ``filter`` gets a :class:`FileInfo` whose ``size`` is
looked up only when the filter reads it: that fetches the file (GetFile), and the content
is kept for the tree if the filter accepts it, so a path-only filter costs nothing and a
size filter costs one download per file it looks at. Symbolic links and submodules are not
files of the tree. ``last_modified_after`` and ``token`` are ignored (CodeCommit keeps no
per-file dates; the token option is for HTTP hosts), as in Backstage.

boto3 is the ``s3`` extra, imported on first use. Credentials and roleArn/externalId work
as for S3 (see :mod:`scmreader.readers.aws_s3`, whose session helpers are shared). The
integration config has no endpoint key: the API endpoint is AWS's for the URL's region,
unless the reader is built with ``endpoint=`` or botocore's ``AWS_ENDPOINT_URL_CODECOMMIT``
(or ``AWS_ENDPOINT_URL``) environment variable names another (tests, proxies).
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from scmreader.errors import (
    AuthenticationError,
    HttpStatusError,
    InvalidUrlError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ScmReaderError,
    UpstreamError,
)
from scmreader.integrations.aws_codecommit import (
    AwsCodeCommitIntegration,
    AwsCodeCommitUrl,
    parse_aws_code_commit_url,
)
from scmreader.readers._aws import AwsClients, has_credentials, transport_error
from scmreader.readers._objects import vanished_is_changed
from scmreader.readers.base import BaseUrlReader, ReaderFactory, integration_readers
from scmreader.readers.tree import TreeEntry
from scmreader.readers.types import (
    FileInfo,
    ReadTreeResponse,
    ReadUrlResponse,
    SearchResponse,
    SearchResponseFile,
    TreeFilter,
)
from scmreader.redact import redact, redact_url
from scmreader.urls import (
    ParsedUrl,
    encode_path,
    glob_matcher,
    glob_static_prefix,
    is_commit_sha,
    reject_traversal,
)

if TYPE_CHECKING:
    from scmreader.http import HttpSettings
    from scmreader.readers.tree import TreeResponseFactory

_PATH_PREFIX = "/codesuite/codecommit"
#: The STS role session name used with `roleArn` (Backstage names it after the reader too).
ROLE_SESSION_NAME = "scmreader-aws-codecommit-url-reader"
_NOT_FOUND_CODES = frozenset(
    {
        "RepositoryDoesNotExistException",
        "BranchDoesNotExistException",
        "CommitDoesNotExistException",
        "CommitIdDoesNotExistException",
        "FileDoesNotExistException",
        "FolderDoesNotExistException",
        "ReferenceDoesNotExistException",
    }
)
_AUTH_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignature",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
    }
)
_DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "EncryptionKeyAccessDeniedException",
        "EncryptionKeyDisabledException",
    }
)
_THROTTLE_CODES = frozenset({"ThrottlingException", "TooManyRequestsException"})
_INPUT_CODES = frozenset(
    {
        "InvalidRepositoryNameException",
        "InvalidPathException",
        "InvalidCommitException",
        "InvalidCommitIdException",
        "InvalidBranchNameException",
        "InvalidReferenceNameException",
    }
)


class AwsCodeCommitUrlReader(BaseUrlReader):
    """Reads from one configured CodeCommit region (``awsCodeCommit{host=...,authed=...}``)."""

    name = "awsCodeCommit"

    def __init__(
        self,
        integration: AwsCodeCommitIntegration,
        *,
        tree: TreeResponseFactory,
        settings: HttpSettings | None = None,
        endpoint: str | None = None,
        max_folders: int = 10_000,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=has_credentials(config))
        self.integration = integration
        self._config = config
        self._tree = tree
        self._settings = settings
        self._endpoint = endpoint
        self._max_folders = max_folders
        self._aws = AwsClients(
            service="codecommit",
            label="AWS CodeCommit",
            config=self._config,
            translate=lambda exc: _translate(exc, ""),
            settings=settings,
            endpoint=endpoint,
            region=self._config.region,
            role_session_name=ROLE_SESSION_NAME,
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
        """Read one file; the etag is the commit id the URL's ref points at.

        Raises NotModifiedError (the ref still points at the etag's commit; nothing is
        downloaded), NotFoundError (no such repository, ref or file), AuthenticationError,
        PermissionDeniedError and InvalidUrlError (not a CodeCommit file URL).
        """
        location = self._parse(url, file=True)
        path = location.path.strip("/")
        if not path:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no file after '/--/'; use read_tree for "
                "folders, or add the file's path."
            )
        commit = self._resolve_commit(location, url)
        self._raise_if_not_modified(url, etag, commit)
        return ReadUrlResponse(self._file(location, commit, path, url), etag=commit)

    # --- read_tree ---------------------------------------------------------------------

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Every file below the URL's folder (paths relative to it); etag = the commit id.

        Passing the current etag raises NotModifiedError before any listing or download.
        """
        location = self._parse(url, file=False)
        root = location.path.strip("/")
        commit = self._resolve_commit(location, url)
        self._raise_if_not_modified(url, etag, commit)
        files = self._walk(location, commit, root, url)
        cut = len(root) + 1 if root else 0
        entries = [(path[cut:], path) for path in files]
        return self._tree.from_files(
            _FilteredEntries(self, location, commit, url, entries, filter), etag=commit
        )

    # --- search ------------------------------------------------------------------------

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files whose repository path matches the glob after ``/--/``; etag = the commit
        id. Only the glob's static prefix is walked; contents load when read."""
        location = self._parse(url, file=True)
        pattern = location.path.lstrip("/")
        matches = glob_matcher(pattern)
        commit = self._resolve_commit(location, url)
        self._raise_if_not_modified(url, etag, commit)
        start = glob_static_prefix(pattern)
        try:
            paths = self._walk(location, commit, start, url)
        except NotFoundError:
            if not start:
                raise
            paths = []  # the static prefix is no folder: nothing can match
        base, query = _browse_base(url)
        return SearchResponse(
            files=[
                SearchResponseFile(
                    url=f"{base}{encode_path(path)}{query}",
                    _content=self._content(location, commit, path, url),
                )
                for path in paths
                if matches(path)
            ],
            etag=commit,
        )

    # --- CodeCommit operations -----------------------------------------------------------

    def _resolve_commit(self, location: AwsCodeCommitUrl, url: str) -> str:
        """The full commit id the URL's ref names (see the module docstring)."""
        repo = location.repository_name
        spec = location.commit_specifier
        if spec and is_commit_sha(spec):
            answer = self._call(location, "get_commit", url, commitId=spec)
            return _commit_id(answer.get("commit"), url)
        if not spec:
            answer = self._call(location, "get_repository", url)
            spec = (answer.get("repositoryMetadata") or {}).get("defaultBranch")
            if not isinstance(spec, str) or not spec:
                raise NotFoundError(
                    f"The CodeCommit repository {repo} has no default branch (it is empty); "
                    f"push a commit, or name a ref in the URL ({redact_url(url)}).",
                    status=404,
                    url=redact_url(url),
                )
        branch = spec.removeprefix("refs/heads/")
        try:
            answer = self._call(location, "get_branch", url, branchName=branch)
        except NotFoundError as exc:
            if "BranchDoesNotExist" not in str(exc):
                raise
            folder = self._call(
                location, "get_folder", url, commitSpecifier=spec, folderPath="/"
            )  # a tag or an abbreviated id: the root listing names its commit
            return _commit_id(folder, url)
        return _commit_id(answer.get("branch"), url)

    def _walk(self, location: AwsCodeCommitUrl, commit: str, root: str, url: str) -> list[str]:
        """Repository paths of every file below folder ``root`` at ``commit``."""
        files: list[str] = []
        pending = [root]
        calls = 0
        while pending:
            if calls >= self._max_folders:
                raise UpstreamError(
                    f"Reading {redact_url(url)} needs more than {self._max_folders} folder "
                    "listings; read a narrower folder or raise max_folders.",
                    url=redact_url(url),
                )
            folder = pending.pop()
            with vanished_is_changed("CodeCommit", url, folder) if calls else nullcontext():
                answer = self._call(
                    location,
                    "get_folder",
                    url,
                    commitSpecifier=commit,
                    folderPath=f"/{folder}" if folder else "/",
                )
            calls += 1
            for item in answer.get("subFolders") or ():
                pending.append(_absolute(item, url))
            for item in answer.get("files") or ():
                files.append(_absolute(item, url))
        return sorted(files)

    def _file(self, location: AwsCodeCommitUrl, commit: str, path: str, url: str) -> bytes:
        """The content of ``path`` at ``commit`` (one GetFile)."""
        answer = self._call(location, "get_file", url, commitSpecifier=commit, filePath=f"/{path}")
        content = answer.get("fileContent")
        if isinstance(content, str):  # a client that leaves blobs base64-encoded
            try:
                content = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                content = None
        if not isinstance(content, bytes):
            raise UpstreamError(
                f"CodeCommit answered GetFile for {redact_url(url)} without content; retry, "
                "or check the endpoint.",
                url=redact_url(url),
            )
        return content

    def _content(
        self, location: AwsCodeCommitUrl, commit: str, path: str, url: str
    ) -> Callable[[], bytes]:
        """GetFile of a path a GetFolder listed at ``commit``: if it is gone now, the
        repository changed (deleted, or history rewritten) while it was being read."""

        def fetch() -> bytes:
            with vanished_is_changed("CodeCommit", url, path):
                return self._file(location, commit, path, url)

        return fetch

    def _parse(self, url: str, *, file: bool) -> AwsCodeCommitUrl:
        location = parse_aws_code_commit_url(url, require_git_path=file, config=self._config)
        reject_traversal(location.path, what="the CodeCommit file path")
        return location

    # --- boto3 -------------------------------------------------------------------------

    def _call(self, location: AwsCodeCommitUrl, operation: str, url: str, **params: Any) -> Any:
        """Run one CodeCommit operation, turning botocore's exceptions into scmreader's."""
        client = self._aws.client(location.region)
        try:
            return getattr(client, operation)(repositoryName=location.repository_name, **params)
        except ScmReaderError:
            raise
        except Exception as exc:
            raise _translate(exc, url) from None


class _FilteredEntries:
    """The tree's entries, the filter asked as the engine reaches each one (so a content
    the filter fetched for its size is held for one entry at a time)."""

    def __init__(
        self,
        reader: AwsCodeCommitUrlReader,
        location: AwsCodeCommitUrl,
        commit: str,
        url: str,
        paths: list[tuple[str, str]],
        filter: TreeFilter | None,
    ) -> None:
        self._reader = reader
        self._location = location
        self._commit = commit
        self._url = url
        self._paths = paths
        self._filter = filter

    def __iter__(self) -> Iterator[TreeEntry]:
        for relative, path in self._paths:
            fetch = self._reader._content(self._location, self._commit, path, self._url)
            info = _LazyFileInfo(fetch)
            if self._filter is not None and not self._filter(relative, info):
                continue
            yield TreeEntry(relative, info.opener())


class _LazyFileInfo(FileInfo):
    """A FileInfo whose ``size`` downloads the file on first use (GetFolder lists no sizes)."""

    def __init__(self, fetch: Callable[[], bytes]) -> None:
        object.__setattr__(self, "_fetch", fetch)
        object.__setattr__(self, "_data", None)

    @property
    def size(self) -> int:
        return len(self._load())

    def _load(self) -> bytes:
        data: bytes | None = self.__dict__["_data"]
        if data is None:
            data = self.__dict__["_fetch"]()
            object.__setattr__(self, "_data", data)
        assert data is not None
        return data

    def opener(self) -> Callable[[], BinaryIO]:
        """Open the content: the copy fetched for ``size``, else a new GetFile."""

        def open_() -> BinaryIO:
            data = self._load()
            object.__setattr__(self, "_data", None)  # the engine holds it from here
            return io.BytesIO(data)

        return open_

    def __repr__(self) -> str:
        return (
            "FileInfo(size=<not fetched>)" if self.__dict__["_data"] is None else super().__repr__()
        )


# --- helpers -------------------------------------------------------------------------


def _commit_id(holder: Any, url: str) -> str:
    commit = holder.get("commitId") if isinstance(holder, dict) else None
    if not isinstance(commit, str) or not is_commit_sha(commit):
        raise UpstreamError(
            f"CodeCommit named no valid commit for {redact_url(url)}; retry, or check the "
            "endpoint.",
            url=redact_url(url),
        )
    return commit


def _absolute(item: Any, url: str) -> str:
    path = item.get("absolutePath") if isinstance(item, dict) else None
    if not isinstance(path, str) or not path.strip("/"):
        raise UpstreamError(
            f"CodeCommit listed an entry without a path while reading {redact_url(url)}.",
            url=redact_url(url),
        )
    return path.strip("/")


def _browse_base(url: str) -> tuple[str, str]:
    """The URL up to and including ``/--/``, and its ``?query`` (or '')."""
    without_fragment = url.split("#", 1)[0]
    head, sep, query = without_fragment.partition("?")
    at = head.find("/--/")
    return head[: at + 4], f"{sep}{query}"


def _translate(exc: BaseException, url: str) -> ScmReaderError:
    """scmreader's error for a botocore exception (the message is redacted)."""
    from botocore import exceptions as bx

    shown = redact_url(url)
    where = f"reading {shown} from CodeCommit"
    if isinstance(exc, bx.ClientError):
        return _client_error(exc, shown, where)
    return transport_error(
        exc,
        shown=shown,
        where=where,
        integration="awsCodeCommit",
        names="CodeCommit repository, ref or path",
    )


def _client_error(exc: Any, shown: str, where: str) -> ScmReaderError:
    response = exc.response or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    said = redact(f"{code}: {error.get('Message') or 'no message'}")
    if code in _NOT_FOUND_CODES:
        return NotFoundError(
            f"{shown} could not be read from CodeCommit ({said}); check the repository, ref "
            "and path, and the region in the URL.",
            status=404,
            url=shown,
        )
    if code in _AUTH_CODES or status == 401:
        return AuthenticationError(
            f"CodeCommit rejected the credentials while {where} ({said}); check accessKeyId, "
            "secretAccessKey or the default AWS credential chain.",
            status=status,
            url=shown,
        )
    if code in _DENIED_CODES or status == 403:
        return PermissionDeniedError(
            f"CodeCommit denied access while {where} ({said}); grant codecommit:GetBranch, "
            "GetCommit, GetRepository, GetFile and GetFolder to the credentials (or the role "
            "they assume).",
            status=status,
            url=shown,
        )
    if code in _THROTTLE_CODES or status == 429:
        return RateLimitedError(
            f"CodeCommit is throttling requests while {where} ({said}); retry later.",
            status=status,
            url=shown,
        )
    if code in _INPUT_CODES:
        return InvalidUrlError(
            f"The URL {shown} does not name a valid CodeCommit repository, ref or path ({said})."
        )
    if code == "FileTooLargeException":
        return HttpStatusError(
            f"{shown} is larger than CodeCommit's GetFile limit ({said}); clone the "
            "repository to read it.",
            status=status,
            url=shown,
        )
    if isinstance(status, int) and status >= 500:
        return UpstreamError(
            f"CodeCommit failed while {where} ({said}); retry later.", status=status, url=shown
        )
    return HttpStatusError(f"CodeCommit refused {where} ({said}).", status=status, url=shown)


def _predicate(integration: AwsCodeCommitIntegration) -> Callable[[ParsedUrl], bool]:
    """Backstage's ``url.host.endsWith(host) && path starts with /codesuite/codecommit``,
    the host at a dot boundary."""
    host = integration.config.host
    return lambda url: (
        (url.host == host or url.host.endswith(f".{host}"))
        and (url.path == _PATH_PREFIX or url.path.startswith(f"{_PATH_PREFIX}/"))
    )


def _make(integration: Any, context: Any) -> AwsCodeCommitUrlReader:
    assert isinstance(integration, AwsCodeCommitIntegration)
    settings = getattr(context.http, "settings", None)
    return AwsCodeCommitUrlReader(integration, tree=context.tree, settings=settings)


#: How UrlReaders finds this reader (Backstage reader order 130).
READER_FACTORY = ReaderFactory(
    name="awsCodeCommit",
    order=130,
    create=integration_readers("awsCodeCommit", _make, _predicate),
)

__all__ = ["READER_FACTORY", "AwsCodeCommitUrlReader"]
