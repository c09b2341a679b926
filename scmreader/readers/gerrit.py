"""Gerrit reader (Backstage's ``GerritUrlReader``, post-1.28): Gerrit REST + Gitiles only.

- ``read_url``: the file's blob id from a Gitiles listing of its folder (the etag; a
  matching etag stops here), then its content from Gerrit's REST API (base64, decoded as
  it streams).
- ``read_tree``: the ref resolved to a commit through Gerrit's REST API (the etag; a
  matching etag stops before any download), then Gitiles' ``+archive`` of that commit,
  already scoped to the sub-folder by Gitiles and without a top-level folder.
- ``search``: a glob lists the tree below its static prefix through Gitiles
  (``?format=JSON&recursive=1``) and fetches only the matches; a plain URL is read_url.

Branches, commit shas, tags (``/projects/{p}/tags/{t}``) and ``HEAD``
(``/projects/{p}/HEAD``) all work; Backstage only reads branches and shas. The reader
never runs git: Backstage 1.28 removed its clone fallback and so the work directory.
"""

from __future__ import annotations

import base64
import binascii
import io
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from scmreader.errors import (
    ConfigError,
    InvalidUrlError,
    NotFoundError,
    UpstreamError,
)
from scmreader.http import body_stream, credentials_for, raise_for_status, unexpected_answer
from scmreader.integrations.gerrit import (
    GerritIntegration,
    GitilesUrlRef,
    build_gerrit_branch_api_url,
    build_gerrit_file_content_api_url,
    build_gerrit_gitiles_archive_url,
    get_gerrit_head_api_url,
    get_gerrit_request_options,
    get_gerrit_tag_api_url,
    get_gitiles_authentication_url,
    get_gitiles_tree_json_url,
    parse_gerrit_json_response,
    parse_gitiles_url_ref,
)
from scmreader.readers.base import BaseUrlReader, ReaderContext, ReaderFactory, ReaderTuple
from scmreader.readers.types import (
    ReadTreeResponse,
    ReadUrlResponse,
    SearchResponse,
    SearchResponseFile,
    TreeFilter,
)
from scmreader.redact import redact_url
from scmreader.urls import (
    ParsedUrl,
    encode_path,
    glob_matcher,
    glob_static_prefix,
    is_commit_sha,
    is_glob,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient, OriginCredentials
    from scmreader.readers.tree import TreeResponseFactory


class GerritUrlReader(BaseUrlReader):
    """Reads Gitiles URLs of one Gerrit integration. Takes no work directory."""

    name = "gerrit"

    def __init__(
        self,
        integration: GerritIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=bool(config.password))
        self.integration = integration
        self.config = config
        self._http = http
        self._tree = tree
        headers = get_gerrit_request_options(config).get("headers")
        # Credentials belong to Gerrit's origin; Gitiles shares it only when under baseUrl.
        self._credentials: list[OriginCredentials] = credentials_for(config.base_url, headers)
        self._gitiles_host = config.gitiles_host

    def handles(self, url: ParsedUrl) -> bool:
        """The predicate: URLs on the Gitiles host (not the Gerrit API host)."""
        return url.host == self._gitiles_host

    # --- read_url ------------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file; the etag is its git blob id.

        ``last_modified_after`` and ``token`` are ignored (Gerrit gives no dates; the
        integration's password is the only credential), as in Backstage.
        """
        ref = self._parse(url)
        if ref.is_root:
            raise InvalidUrlError(
                f"{redact_url(url)} names the repository root, not a file; add the file's path "
                "after the ref, or use read_tree for folders."
            )
        commit, branch = self._file_target(ref, url)
        new_etag = self._file_etag(ref, url, commit, branch)
        self._raise_if_not_modified(url, etag, new_etag)
        content_url = build_gerrit_file_content_api_url(
            self.config, ref.project, ref.path, branch=branch, commit=commit
        )
        response = self._get(content_url)
        if response.status_code == 404:
            response.close()
            raise NotFoundError(
                f"File {redact_url(url)} not found: Gerrit has no such file at that ref "
                f"(requested as {redact_url(content_url)}).",
                status=404,
                url=redact_url(content_url),
            )
        raise_for_status(response, what=url)
        decoded = _Base64Decoder(body_stream(response, self._http), url=content_url)
        return ReadUrlResponse(cast(BinaryIO, io.BufferedReader(decoded)), etag=new_etag)

    def _file_target(self, ref: GitilesUrlRef, url: str) -> tuple[str | None, str | None]:
        """(commit, branch) to read a file at: one of them is set; tags/HEAD cost a request."""
        if ref.ref_type == "sha":
            return ref.ref, None
        if ref.ref_type == "branch":
            return None, ref.ref
        if ref.ref_type == "tag":
            return self._tag_commit(ref, url), None
        return None, self._head_branch(ref, url)

    def _file_etag(
        self, ref: GitilesUrlRef, url: str, commit: str | None, branch: str | None
    ) -> str:
        """The file's blob id from Gitiles; the commit when Gitiles cannot be asked."""
        folder, _, name = ref.path.strip("/").rpartition("/")
        revision = commit or f"refs/heads/{branch}"
        try:
            listing_url = get_gitiles_tree_json_url(self.config, ref.project, revision, folder)
        except ConfigError:
            # Gitiles on another host with a password: no way to ask it, fall back.
            return commit or self._branch_revision(ref.project, branch or "", url)
        entries = self._list(listing_url, url, missing_ok=False)
        for entry in entries:
            if entry.get("name") == name:
                kind, blob_id = entry.get("type"), entry.get("id")
                if kind == "blob" and isinstance(blob_id, str):
                    return blob_id
                raise NotFoundError(
                    f"{redact_url(url)} is a {'folder' if kind == 'tree' else str(kind)}, not a "
                    "file; use read_tree for folders.",
                    status=404,
                    url=redact_url(url),
                )
        raise NotFoundError(
            f"File {redact_url(url)} not found: its folder has no entry {name!r}.",
            status=404,
            url=redact_url(url),
        )

    # --- read_tree -----------------------------------------------------------------------

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,  # Backstage's option name
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read the tree at the URL through Gitiles; the etag is the ref's commit sha."""
        ref = self._parse(url)
        get_gitiles_authentication_url(self.config)  # ConfigError before any request
        commit = self._commit(ref, url)
        self._raise_if_not_modified(url, etag, commit)
        archive_url = build_gerrit_gitiles_archive_url(self.config, ref.project, commit, ref.path)
        response = self._get(archive_url)
        if response.status_code == 404 or (response.status_code == 400 and not ref.is_root):
            response.close()
            raise NotFoundError(
                f"Not found: {redact_url(url)} is not a folder at commit {commit} "
                f"(Gitiles answered {response.status_code} for {redact_url(archive_url)}).",
                status=response.status_code,
                url=redact_url(archive_url),
            )
        raise_for_status(response, what=url)
        return self._tree.from_tar_archive(
            body_stream(response, self._http),
            etag=commit,
            filter=filter,
            strip_first_directory=False,
        )

    # --- search --------------------------------------------------------------------------

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search when the file path (after the ref) has glob syntax, else read_url."""
        if is_glob(self._parse(url).path):
            return self.search_glob(url, etag=etag, token=token)
        return self.search_exact(url, etag=etag, token=token)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """List the tree below the glob's static prefix and keep the matching files.

        The etag is the commit sha; file contents are fetched when asked for, at that commit.
        """
        ref = self._parse(url)
        pattern = ref.path.strip("/")
        matches = glob_matcher(pattern)
        commit = self._commit(ref, url)
        self._raise_if_not_modified(url, etag, commit)
        prefix = glob_static_prefix(pattern)
        listing_url = get_gitiles_tree_json_url(
            self.config, ref.project, commit, prefix, recursive=True
        )
        files: list[SearchResponseFile] = []
        for entry in self._list(listing_url, url, missing_ok=True):
            name = entry.get("name")
            if entry.get("type") != "blob" or not isinstance(name, str):
                continue
            path = f"{prefix}/{name}" if prefix else name
            if not matches(path):
                continue
            file_url = f"{ref.base_path}/{encode_path(path)}"
            fetch = partial(self._content_at, ref.project, commit, path, file_url)
            files.append(SearchResponseFile(url=file_url, _content=fetch))
        return SearchResponse(files=files, etag=commit)

    def _content_at(self, project: str, commit: str, path: str, file_url: str) -> bytes:
        api_url = build_gerrit_file_content_api_url(self.config, project, path, commit=commit)
        response = self._get(api_url)
        raise_for_status(response, what=file_url)
        with _Base64Decoder(body_stream(response, self._http), url=api_url) as raw:
            return io.BufferedReader(raw).read()

    # --- ref resolution ------------------------------------------------------------------

    def _commit(self, ref: GitilesUrlRef, url: str) -> str:
        """The commit sha the URL's ref points at (no request for a sha URL)."""
        if ref.ref_type == "sha":
            return ref.ref
        if ref.ref_type == "tag":
            return self._tag_commit(ref, url)
        branch = ref.ref if ref.ref_type == "branch" else self._head_branch(ref, url)
        return self._branch_revision(ref.project, branch, url)

    def _branch_revision(self, project: str, branch: str, url: str) -> str:
        api_url = build_gerrit_branch_api_url(self.config, project, branch)
        data = self._get_json(
            api_url, url, f"branch '{branch}' of Gerrit project '{project}' was not found"
        )
        return self._sha(data, "revision", api_url)

    def _tag_commit(self, ref: GitilesUrlRef, url: str) -> str:
        api_url = get_gerrit_tag_api_url(self.config, ref.project, ref.ref)
        data = self._get_json(
            api_url, url, f"tag '{ref.ref}' of Gerrit project '{ref.project}' was not found"
        )
        # An annotated tag's "revision" is the tag object; "object" is the tagged commit.
        key = "object" if isinstance(data, dict) and "object" in data else "revision"
        return self._sha(data, key, api_url)

    def _head_branch(self, ref: GitilesUrlRef, url: str) -> str:
        api_url = get_gerrit_head_api_url(self.config, ref.project)
        head = self._get_json(api_url, url, f"Gerrit project '{ref.project}' was not found")
        if not isinstance(head, str) or not head.startswith("refs/heads/"):
            raise UpstreamError(
                f"Gerrit's HEAD of project '{ref.project}' is not a branch "
                f"({redact_url(api_url)} answered {str(head)[:60]!r}); use a branch URL.",
                url=redact_url(api_url),
            )
        return head.removeprefix("refs/heads/")

    @staticmethod
    def _sha(data: Any, key: str, api_url: str) -> str:
        value = data.get(key) if isinstance(data, dict) else None
        if not isinstance(value, str) or not is_commit_sha(value):
            raise UpstreamError(
                f"The answer of {redact_url(api_url)} has no commit sha in '{key}'; the host "
                "or a proxy in between sent something unexpected.",
                url=redact_url(api_url),
            )
        return value

    # --- HTTP ----------------------------------------------------------------------------

    def _parse(self, url: str) -> GitilesUrlRef:
        return parse_gitiles_url_ref(self.config, url)

    def _get(self, api_url: str) -> requests.Response:
        return self._http.get(api_url, credentials=self._credentials)

    def _get_json(self, api_url: str, url: str, not_found: str) -> Any:
        response = self._get(api_url)
        raise_for_status(
            response,
            what=url,
            not_found=f"Reading {redact_url(url)} failed: {not_found} "
            f"({redact_url(api_url)} answered 404). Check the project and ref names and that "
            "the configured account can see them.",
        )
        return parse_gerrit_json_response(response)

    def _list(self, listing_url: str, url: str, *, missing_ok: bool) -> list[dict[str, Any]]:
        """The entries of a Gitiles tree listing ([] for a missing folder if ``missing_ok``)."""
        response = self._get(listing_url)
        if response.status_code == 404:
            response.close()
            if missing_ok:
                return []
            raise NotFoundError(
                f"File {redact_url(url)} not found: Gitiles has no such project, ref or folder "
                f"({redact_url(listing_url)} answered 404).",
                status=404,
                url=redact_url(listing_url),
            )
        raise_for_status(response, what=url)
        data = parse_gerrit_json_response(response)
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise unexpected_answer(response, "has no 'entries' list of a Gitiles tree")
        return [e for e in entries if isinstance(e, dict)]


class _Base64Decoder(io.RawIOBase):
    """Decodes a base64 text stream (Gerrit's file content) while it is read."""

    def __init__(self, source: BinaryIO, *, url: str) -> None:
        self._source = source
        self._url = url
        self._pending = b""  # undecoded base64 characters (fewer than 4 after a read)
        self._out = b""  # decoded bytes not handed out yet
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._out and not self._eof:
            chunk = self._source.read(64 * 1024)
            if not chunk:
                self._eof = True
                if self._pending:
                    raise self._corrupt("it ends in the middle of a base64 group")
                break
            self._pending += bytes(chunk).translate(None, b" \t\r\n")
            usable = len(self._pending) - len(self._pending) % 4
            try:
                self._out = base64.b64decode(self._pending[:usable], validate=True)
            except binascii.Error:
                raise self._corrupt("it is not base64 text") from None
            self._pending = self._pending[usable:]
        n = min(len(view), len(self._out))
        view[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _corrupt(self, problem: str) -> UpstreamError:
        self.close()
        return UpstreamError(
            f"The file content from {redact_url(self._url)} cannot be decoded: {problem}. "
            "Gerrit sends base64; a proxy or login page may have answered instead.",
            url=redact_url(self._url),
        )

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()


def _create(context: ReaderContext) -> list[ReaderTuple]:
    tuples: list[ReaderTuple] = []
    for integration in context.integrations.gerrit.list():
        reader = GerritUrlReader(integration, http=context.http, tree=context.tree)
        tuples.append(ReaderTuple(reader, reader.handles))
    return tuples


READER_FACTORY = ReaderFactory(name="gerrit", order=50, create=_create)
