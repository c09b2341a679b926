"""Gerrit reader (Backstage's ``GerritUrlReader``, post-1.28): Gerrit REST + Gitiles only.

The flow is :mod:`scmreader.readers._git`'s; this module holds Gerrit's primitives.

- ``read_url``: the file's content from Gerrit's REST API (base64, decoded as it streams)
  and its blob id from a Gitiles listing of its folder (the etag). With an etag the
  listing comes first, so an unchanged file costs that one request.
- ``read_tree``: the ref resolved to a commit through Gerrit's REST API (the etag; a
  matching etag stops before any download), then Gitiles' ``+archive`` of that commit,
  already scoped to the sub-folder by Gitiles and without a top-level folder.
- ``search``: a glob lists the tree below its static prefix through Gitiles
  (``?format=JSON&recursive=1``) and fetches only the matches; a plain URL is read_url.

Refs: ``refs/heads/<branch>``, ``refs/tags/<tag>``, commit shas and ``HEAD``, and short
names (``+/main/docs/index.md``) as Gitiles' own revision parser takes them; a branch or
tag with ``/`` is found among the project's refs (``/projects/{p}/branches/?m=``), the
template's rule. Backstage only reads ``refs/heads/`` branches and shas. The reader never
runs git: Backstage 1.28 removed its clone fallback and so the work directory.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from scmreader.errors import ConfigError, InvalidUrlError, NotFoundError, UpstreamError
from scmreader.http import body_stream, credentials_for, raise_for_status, unexpected_answer
from scmreader.integrations.gerrit import (
    GerritIntegration,
    build_gerrit_branch_api_url,
    build_gerrit_file_content_api_url,
    build_gerrit_gitiles_archive_url,
    get_gerrit_head_api_url,
    get_gerrit_projects_api_url,
    get_gerrit_request_options,
    get_gerrit_tag_api_url,
    get_gitiles_authentication_url,
    get_gitiles_tree_json_url,
    parse_gerrit_json_response,
    parse_gitiles_url_ref,
)
from scmreader.readers._git import GitArchive, GitHostReader, GitLocation
from scmreader.readers.base import ReaderContext, ReaderFactory, ReaderTuple
from scmreader.readers.types import ReadTreeResponse, ReadUrlResponse, TreeFilter
from scmreader.redact import redact_url
from scmreader.urls import ParsedUrl, encode_path, encode_uri_component, is_commit_sha, parse_url

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_WRITTEN = {"branch": "refs/heads/", "tag": "refs/tags/"}


@dataclass(frozen=True)
class _Target:
    """The project, how the URL wrote its ref (``branch``, ``tag``, ``short``, ``sha`` or
    ``head``), and the URL up to ``/+/`` (search results keep the caller's form)."""

    project: str
    kind: str
    head: str


class GerritUrlReader(GitHostReader):
    """Reads Gitiles URLs of one Gerrit integration. Takes no work directory."""

    name = "gerrit"
    service = "Gerrit"
    conditional_reads = False

    def __init__(
        self,
        integration: GerritIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=bool(config.password))
        self._setup(http=http, tree=tree, api_origin=parse_url(config.base_url).origin)
        self.integration = integration
        self.config = config
        headers = get_gerrit_request_options(config).get("headers")
        # Credentials belong to Gerrit's origin; Gitiles shares it only when under baseUrl.
        self._credentials = credentials_for(config.base_url, headers)
        self._gitiles_host = config.gitiles_host

    def handles(self, url: ParsedUrl) -> bool:
        """The predicate: URLs on the Gitiles host (not the Gerrit API host)."""
        return url.host == self._gitiles_host

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read the tree at the URL through Gitiles; the etag is the ref's commit sha."""
        get_gitiles_authentication_url(self.config)  # ConfigError before any request
        return super().read_tree(url, etag=etag, filter=filter, token=token)

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        """``token`` is ignored (the integration's password is the only credential)."""
        raw = parse_url(url).path
        short = False
        try:
            ref = parse_gitiles_url_ref(self.config, url)
        except InvalidUrlError:
            if "/+/" not in raw:
                raise
            short = True  # Gitiles also takes short names: +/main/docs -> refs/heads/main
            head, _, rest = str(parse_url(url)).partition("/+/")
            ref = parse_gitiles_url_ref(self.config, f"{head}/+/refs/heads/{rest}")
        if need_path and ref.is_root:
            raise InvalidUrlError(
                f"{redact_url(url)} names the repository root, not a file; add the file's "
                "path after the ref, or use read_tree for folders."
            )
        kind = "short" if short else str(ref.ref_type)
        head = f"{parse_url(url).origin}{raw.split('/+/', 1)[0]}"
        return GitLocation(
            key=ref.project,
            ref=ref.ref,
            path=ref.path.strip("/"),
            url=url,
            native=_Target(ref.project, kind, head),
            auth=self._credentials,
            exact=kind in ("sha", "head"),
        )

    def _list_refs(self, loc: GitLocation, first: str) -> list[str]:
        kinds = {"branch": ("branches",), "tag": ("tags",)}.get(_kind(loc), ("branches", "tags"))
        projects = get_gerrit_projects_api_url(self.config)
        names: list[str] = []
        for kind in kinds:
            listing = (
                f"{projects}{encode_uri_component(_target(loc).project)}/{kind}/"
                f"?m={encode_uri_component(first)}"
            )
            for item in self._json(listing, loc.url, f"project '{_target(loc).project}'"):
                ref = item.get("ref") if isinstance(item, dict) else None
                if isinstance(ref, str):
                    name = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
                    if name == first or name.startswith(f"{first}/"):
                        names.append(name)
        return names

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        """The commit sha the ref points at (no request for a sha URL)."""
        project, kind = _target(loc).project, _kind(loc)
        if kind == "sha" or (is_commit_sha(ref) and ref != loc.ref):
            return ref
        if kind == "tag":
            return self._tag_commit(project, ref, loc.url)
        if kind == "head":
            ref = self._head_branch(project, loc.url)
        elif kind == "short":
            try:
                return self._branch_revision(project, ref, loc.url)
            except NotFoundError:
                return self._tag_commit(project, ref, loc.url)
        return self._branch_revision(project, ref, loc.url)

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        project = _target(loc).project
        archive_url = build_gerrit_gitiles_archive_url(self.config, project, commit, path or "/")
        response = self._get(archive_url, loc)
        if response.status_code == 404 or (response.status_code == 400 and path):
            response.close()
            raise NotFoundError(
                f"Not found: {redact_url(loc.url)} is not a folder at commit {commit} "
                f"(Gitiles answered {response.status_code} for {redact_url(archive_url)}).",
                status=response.status_code,
                url=redact_url(archive_url),
            )
        return GitArchive(response, strip_first_directory=False)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        listing_url = get_gitiles_tree_json_url(
            self.config, _target(loc).project, commit, prefix, recursive=True
        )
        return [
            f"{prefix}/{name}" if prefix else name
            for entry in self._tree_entries(listing_url, loc.url)
            if entry.get("type") == "blob" and isinstance(name := entry.get("name"), str)
        ]

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        """The content (``last_modified_after`` is ignored: Gerrit gives no dates)."""
        project = _target(loc).project
        pinned = is_commit_sha(ref) and ref != loc.ref  # a search result, at its commit
        if _kind(loc) == "branch" and not pinned:
            target = {"branch": ref}
        else:
            commit = ref if is_commit_sha(ref) else self._commit(loc, ref, path, None)
            target = {"commit": commit}
        content_url = build_gerrit_file_content_api_url(self.config, project, path, **target)
        response = self._get(content_url, loc)
        if response.status_code == 404:
            response.close()
            if not pinned:
                self._file_version(loc, ref, path)  # says why: a folder, or no such entry
            raise NotFoundError(
                f"File {redact_url(loc.url)} not found: Gerrit has no such file at that ref "
                f"(requested as {redact_url(content_url)}).",
                status=404,
                url=redact_url(content_url),
            )
        raise_for_status(response, what=loc.url)
        decoded = _Base64Decoder(body_stream(response, self._http), url=content_url)
        return ReadUrlResponse(cast(BinaryIO, io.BufferedReader(decoded)))

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """The file's blob id from Gitiles; the commit when Gitiles cannot be asked."""
        folder, _, name = path.rpartition("/")
        revision = ref if is_commit_sha(ref) else _WRITTEN.get(_kind(loc), "") + ref
        try:
            listing_url = get_gitiles_tree_json_url(
                self.config, _target(loc).project, revision, folder
            )
        except ConfigError:
            # Gitiles on another host with a password: no way to ask it, fall back.
            return self._commit(loc, ref, path, None)
        for entry in self._tree_entries(listing_url, loc.url):
            if entry.get("name") == name:
                kind, blob_id = entry.get("type"), entry.get("id")
                if kind == "blob" and isinstance(blob_id, str):
                    return blob_id
                raise NotFoundError(
                    f"{redact_url(loc.url)} is a {'folder' if kind == 'tree' else str(kind)}, "
                    "not a file; use read_tree for folders.",
                    status=404,
                    url=redact_url(loc.url),
                )
        raise NotFoundError(
            f"File {redact_url(loc.url)} not found: its folder has no entry {name!r}.",
            status=404,
            url=redact_url(loc.url),
        )

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        written = "" if is_commit_sha(ref) else _WRITTEN.get(_kind(loc), "")
        return f"{_target(loc).head}/+/{encode_path(written + ref)}/{encode_path(path)}"

    # --- Gerrit REST ---------------------------------------------------------------------

    def _branch_revision(self, project: str, branch: str, url: str) -> str:
        api_url = build_gerrit_branch_api_url(self.config, project, branch)
        data = self._json(api_url, url, f"branch '{branch}' of Gerrit project '{project}'")
        return self._sha(data, "revision", api_url)

    def _tag_commit(self, project: str, tag: str, url: str) -> str:
        api_url = get_gerrit_tag_api_url(self.config, project, tag)
        data = self._json(api_url, url, f"tag '{tag}' of Gerrit project '{project}'")
        # An annotated tag's "revision" is the tag object; "object" is the tagged commit.
        key = "object" if isinstance(data, dict) and "object" in data else "revision"
        return self._sha(data, key, api_url)

    def _head_branch(self, project: str, url: str) -> str:
        api_url = get_gerrit_head_api_url(self.config, project)
        head = self._json(api_url, url, f"Gerrit project '{project}'")
        if not isinstance(head, str) or not head.startswith("refs/heads/"):
            raise UpstreamError(
                f"Gerrit's HEAD of project '{project}' is not a branch "
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

    def _json(self, api_url: str, url: str, what: str) -> Any:
        response = self._http.get(api_url, credentials=self._credentials)
        raise_for_status(
            response,
            what=url,
            not_found=f"Reading {redact_url(url)} failed: {what} was not found "
            f"({redact_url(api_url)} answered 404). Check the project and ref names and that "
            "the configured account can see them.",
        )
        return parse_gerrit_json_response(response)

    def _tree_entries(self, listing_url: str, url: str) -> list[dict[str, Any]]:
        """The entries of a Gitiles tree listing (NotFoundError for a missing folder)."""
        response = self._http.get(listing_url, credentials=self._credentials)
        if response.status_code == 404:
            response.close()
            raise NotFoundError(
                f"File {redact_url(url)} not found: Gitiles has no such project, ref or "
                f"folder ({redact_url(listing_url)} answered 404).",
                status=404,
                url=redact_url(listing_url),
            )
        raise_for_status(response, what=url)
        data = parse_gerrit_json_response(response)
        entries = data.get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise unexpected_answer(response, "has no 'entries' list of a Gitiles tree")
        return [e for e in entries if isinstance(e, dict)]

    def _get(self, url: str, loc: GitLocation, **options: Any) -> requests.Response:
        """Gerrit's requests may follow redirects as before (Gitiles may be elsewhere)."""
        return self._http.get(url, credentials=self._credentials)


def _target(loc: GitLocation) -> _Target:
    target: _Target = loc.native
    return target


def _kind(loc: GitLocation) -> str:
    return _target(loc).kind


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
