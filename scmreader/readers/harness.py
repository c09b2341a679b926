"""Reading files, trees and glob searches from Harness Code (``app.harness.io`` or others).

URLs are Harness's web URLs, ``https://<host>/ng/account/<acct>/module/code[/orgs/<org>]
[/projects/<proj>]/repos/<repo>/files/<branch>/~/<path>`` (the ``~`` ends the branch, so a
``/`` in it needs no resolution); the API is ``https://<host>/gateway/code/api/v1/repos/
<acct>[/<org>][/<proj>]/<repo>/+/...``. The flow is :mod:`scmreader.readers._git`'s.
Requests per call:

- ``read_url``: one GET of ``+/raw/<path>`` (``If-None-Match`` / ``If-Modified-Since``
  sent; the ETag is the blob id).
- ``read_tree``: one ``+/content/<path>?include_commit=true`` lookup (its
  ``latest_commit``, the latest commit touching the folder, is the etag), then the zip
  archive of exactly that commit, limited to the folder (``+/archive/<sha>.zip?path=``).
- ``search`` (glob; Backstage refuses globs here): the content lookup of the glob's static
  prefix (the etag, and the first listing), one listing per sub-folder the glob can still
  match (pinned to that commit), and one ``+/raw`` request per matched file whose
  ``content()`` is read. Listings may be one level or flattened (``a/b`` paths below the
  folder, as newer Harness versions send); both are read.

Credentials (``x-api-key`` from ``apiKey``, else ``Authorization: Bearer`` from ``token``,
or the call's ``token`` as Bearer) are bound to ``https://<host>``; raw files and archives
may be redirected elsewhere, without credentials. Upstream 401 and 403 both raise
AuthenticationError, as Backstage's Harness reader does for 403.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scmreader.errors import InvalidUrlError, NotFoundError, UpstreamError
from scmreader.http import OriginCredentials, conditional_headers, parse_json
from scmreader.integrations.harness import (
    HarnessIntegration,
    HarnessUrl,
    get_harness_repo_api_url,
    get_harness_request_options,
    parse_harness_url,
)
from scmreader.readers._git import GitArchive, GitHostReader, GitLocation, folder_may_match
from scmreader.readers.base import ReaderFactory, integration_readers, read_url_response
from scmreader.readers.types import ReadUrlResponse
from scmreader.redact import redact_url
from scmreader.urls import encode_path, encode_uri_component, is_commit_sha, parse_url

if TYPE_CHECKING:
    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_FILE_TYPES = ("file", "symlink")
_KEPT_LISTINGS = 64


class HarnessUrlReader(GitHostReader):
    """Reads from one configured Harness Code host (``harness{host=...,authed=...}``)."""

    name = "harness"
    service = "Harness Code's API"
    forbidden_hint = (
        "Harness refused the credentials for this repository; check the apiKey or token "
        "configured for this host and its permissions."
    )

    def __init__(
        self,
        integration: HarnessIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        max_listings: int = 1000,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=bool(config.api_key or config.token))
        origin = parse_url(f"https://{config.host}").origin
        self._setup(http=http, tree=tree, api_origin=origin, max_pages=max_listings)
        self.integration = integration
        self._config = config
        self._listings: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._listings_lock = threading.Lock()

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        harness = parse_harness_url(self._config, url)
        if not harness.branch:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no branch; use https://{self._config.host}"
                "/ng/account/<account>/module/code[/orgs/<org>][/projects/<project>]/repos/"
                "<repo>/files/<branch>/~/<path>."
            )
        if need_path and not harness.path.strip("/"):
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no file path or glob after '/~/'."
            )
        return GitLocation(
            key=_repo_name(harness).casefold(),
            ref=harness.branch,
            path=harness.path.strip("/"),
            url=url,
            native=harness,
            auth=self._auth(token),
            exact=True,
        )

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        """The latest commit touching ``path``; its content answer is kept for the
        archive (a file is no tree) and the search (the first listing)."""
        body = self._content(loc, path, _git_ref(ref), include_commit=True)
        sha = _latest_commit(body, loc.url)
        with self._listings_lock:
            self._listings[(loc.key, sha, path)] = body
            while len(self._listings) > _KEPT_LISTINGS:
                self._listings.popitem(last=False)
        return sha

    def _kept(self, loc: GitLocation, commit: str, path: str) -> dict[str, Any] | None:
        with self._listings_lock:
            return self._listings.pop((loc.key, commit, path), None)

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        kept = self._kept(loc, commit, path)
        if kept is not None and kept.get("type") != "dir":
            raise InvalidUrlError(
                f"The URL {redact_url(loc.url)} names a file, not a folder; read it with "
                "read_url, or point read_tree at its folder."
            )
        harness: HarnessUrl = loc.native
        query = f"routingId={encode_uri_component(harness.account_id)}"
        if path:
            query += f"&path={encode_uri_component(path)}"
        archive = f"{self._repo_api(loc)}/+/archive/{commit}.zip?{query}"
        return GitArchive(self._get(archive, loc, api=False), kind="zip", subpath=path or None)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        """Files below ``prefix``, listing each folder the glob can still match."""
        top = self._kept(loc, commit, prefix)
        if top is None:
            top = self._content(loc, prefix, commit, include_commit=False)
        if top.get("type") != "dir":
            return []  # the static prefix names a file: nothing can be below it
        descend = folder_may_match(pattern)
        found: set[str] = set()
        pending: deque[tuple[str, dict[str, Any]]] = deque([(prefix, top)])
        listed = 1
        while pending:
            folder, body = pending.popleft()
            entries = _entries(body, folder, loc.url)
            covered = {path.rsplit("/", 1)[0] for _, path in entries if "/" in path}
            for kind, path in entries:
                if kind in _FILE_TYPES:
                    found.add(path)
                elif kind == "dir" and path not in covered and descend(path):
                    if listed >= self._max_pages:
                        raise UpstreamError(
                            f"Searching {redact_url(loc.url)} needs more than {listed} folder "
                            "listings; start the glob with a longer fixed folder prefix."
                        )
                    listed += 1
                    listing = self._content(loc, path, commit, include_commit=False)
                    pending.append((path, listing))
        return sorted(found)

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        raw = f"{self._repo_api(loc)}/+/raw/{encode_path(path)}?{self._query(loc, _git_ref(ref))}"
        response = self._get(
            raw, loc, headers=conditional_headers(etag, last_modified_after), api=False
        )
        self._check(response, loc.url)
        return read_url_response(response, self._http)

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """The blob id from the content API (when the raw answer had no ETag)."""
        return str(self._content(loc, path, _git_ref(ref), include_commit=False).get("sha"))

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        """The caller's URL up to and including ``/~/``, then the path."""
        parsed = parse_url(loc.url)
        head = parsed.path.split("/~/", 1)[0]
        return f"{parsed.origin}{head}/~/{encode_path(path)}"

    # --- the content API ---------------------------------------------------------------

    def _content(
        self, loc: GitLocation, path: str, git_ref: str, *, include_commit: bool
    ) -> dict[str, Any]:
        """The content API's answer for ``path`` (a folder lists its entries)."""
        where = f"/{encode_path(path)}" if path else ""
        flag = "true" if include_commit else "false"
        query = self._query(loc, git_ref, include_commit=flag)
        response = self._get(f"{self._repo_api(loc)}/+/content{where}?{query}", loc)
        if response.status_code == 404:
            response.close()
            raise NotFoundError(
                f"{redact_url(loc.url)} could not be read: Harness Code has no "
                f"{'folder ' + repr(path) if path else 'repository'} at {git_ref!r} in "
                f"{_repo_name(loc.native)}. Check the repository, branch and path, and that "
                "the credentials can see the repository.",
                status=404,
                url=redact_url(str(response.url)),
            )
        self._check(response, loc.url)
        body = parse_json(response)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise UpstreamError(
                f"Harness Code answered the content lookup for {redact_url(loc.url)} with "
                "something other than a content description; the host's API may have changed."
            )
        return body

    def _repo_api(self, loc: GitLocation) -> str:
        return get_harness_repo_api_url(self._config, loc.url)

    def _query(self, loc: GitLocation, git_ref: str, **extra: str) -> str:
        pairs = [f"routingId={encode_uri_component(loc.native.account_id)}"]
        pairs += [f"{name}={value}" for name, value in extra.items()]
        pairs.append(f"git_ref={quote(git_ref, safe='/')}")
        return "&".join(pairs)

    # --- HTTP ----------------------------------------------------------------------------

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        return self._call_auth(token, lambda: get_harness_request_options(self._config)["headers"])


def _git_ref(ref: str) -> str:
    """A commit id as it is, a branch as ``refs/heads/<branch>``."""
    return ref if is_commit_sha(ref) else f"refs/heads/{ref}"


def _repo_name(harness: HarnessUrl) -> str:
    ids = (harness.account_id, harness.org_name, harness.project_name, harness.repo_name)
    return "/".join(i for i in ids if i)


def _latest_commit(body: Mapping[str, Any], url: str) -> str:
    commit = body.get("latest_commit")
    sha = commit.get("sha") if isinstance(commit, dict) else None
    if not isinstance(sha, str) or not is_commit_sha(sha):
        raise UpstreamError(
            f"Harness Code answered the content lookup for {redact_url(url)} without a "
            "latest commit id; the host's API may have changed.",
        )
    return sha


def _entries(body: Mapping[str, Any], folder: str, url: str) -> list[tuple[str, str]]:
    """(type, path) of a folder listing's entries, each checked to lie below ``folder``
    (one level, or several when Harness sends the listing flattened)."""
    content = body.get("content")
    entries = content.get("entries") if isinstance(content, dict) else None
    if not isinstance(entries, list):
        raise UpstreamError(
            f"Harness Code listed a folder for {redact_url(url)} without entries; the host's "
            "API may have changed."
        )
    parent = f"{folder}/" if folder else ""
    result: list[tuple[str, str]] = []
    for entry in entries:
        kind = entry.get("type") if isinstance(entry, dict) else None
        path = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(kind, str) or not isinstance(path, str):
            raise UpstreamError(
                f"Harness Code listed an entry without type or path for {redact_url(url)}."
            )
        rest = path[len(parent) :] if path.startswith(parent) else ""
        if not rest or any(part in ("", ".", "..") for part in rest.split("/")):
            raise UpstreamError(
                f"Harness Code listed {path!r} as an entry of folder {folder!r}; refusing "
                "an answer that points outside the folder."
            )
        result.append((kind, path))
    return result


#: How UrlReaders finds this reader (Backstage reader order 100).
READER_FACTORY = ReaderFactory(
    name="harness",
    order=100,
    create=integration_readers(
        "harness",
        lambda integration, context: HarnessUrlReader(
            integration, http=context.http, tree=context.tree
        ),
    ),
)

__all__ = ["READER_FACTORY", "HarnessUrlReader"]
