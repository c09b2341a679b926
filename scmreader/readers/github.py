"""Reading files, trees and glob searches from GitHub and GitHub Enterprise.

The flow is :mod:`scmreader.readers._git`'s; this module holds GitHub's primitives.
Requests per call (with warm caches; see the module's tests for the counted figures):

- ``read_url``: one GET (contents API with a token, else the raw host), conditional on
  the etag (GitHub answers 304, so an unchanged file downloads nothing);
- ``read_tree``: one GET of ``commits/{ref}`` with the sha media type (sent with
  ``If-None-Match: "<etag>"``, so an unchanged tree costs exactly that one small request
  and GitHub answers 304), then the tarball (a 302 to codeload, followed);
- ``search`` (glob): the commit lookup, one recursive tree listing, and one contents
  request per matched file whose ``content()`` is read.

Beyond Backstage:

- Branches and tags with ``/`` (the template's rule): the repository's refs starting with
  the first segment come from ``git/matching-refs``; the raw host resolves such refs
  itself, so raw reads never need the lookup.
- A truncated recursive tree listing (huge repositories) does not fall back to the whole
  tarball: the search walks down to the glob's static prefix and lists only that
  sub-tree (recursively, or level by level with pruning when it is still truncated).
- Redirects: metadata requests may only be redirected within the API's origin; file and
  archive downloads may be redirected to any http(s) host (GitHub sends tarballs to
  codeload), never from https to http, and credentials are dropped as soon as the chain
  leaves the origin they belong to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import (
    InputError,
    InvalidUrlError,
    NotFoundError,
    NotModifiedError,
    RateLimitedError,
)
from scmreader.http import (
    OriginCredentials,
    conditional_headers,
    parse_json,
    read_text,
    unexpected_answer,
)
from scmreader.integrations.github import (
    DefaultGithubCredentialsProvider,
    GithubCredentials,
    GithubCredentialsProvider,
    GithubIntegration,
    github_file_fetch_url,
)
from scmreader.integrations.github.core import GITHUB_PATH_KEEP, parse_github_url
from scmreader.readers._git import (
    GitArchive,
    GitHostReader,
    GitLocation,
    browse_parts,
    folder_may_match,
)
from scmreader.readers.base import (
    ReaderContext,
    ReaderFactory,
    ReaderTuple,
    exact_host,
    read_url_response,
)
from scmreader.readers.types import ReadTreeResponse, ReadUrlResponse, SearchResponse, TreeFilter
from scmreader.redact import redact_url, register_secret
from scmreader.urls import (
    encode_path,
    encode_uri_component,
    glob_static_prefix,
    is_commit_sha,
    parse_url,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers._listing import DiscoveryTarget, Repository
    from scmreader.readers.tree import TreeResponseFactory

_API_ACCEPT = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_LIST_PAGE = 100  # repositories per listing page (GitHub's maximum)
_RAW_ACCEPT = "application/vnd.github.v3.raw"
_SHA_ACCEPT = "application/vnd.github.sha"
_RATE_LIMIT_HINT = (
    "GitHub gives a GitHub App installation (integrations.github[].apps) a higher limit than "
    "a personal token."
)


@dataclass(frozen=True)
class _Repo:
    """The repository a URL points into, the credentials of the call, the URL's kind."""

    owner: str
    name: str
    credentials: GithubCredentials
    kind: str

    @property
    def path(self) -> str:
        return encode_path(f"{self.owner}/{self.name}", keep=GITHUB_PATH_KEEP)


class GithubUrlReader(GitHostReader):
    """Reads from one configured GitHub host (``github{host=...,authed=...}``)."""

    name = "github"
    service = "GitHub's API"

    def __init__(
        self,
        integration: GithubIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        credentials_provider: GithubCredentialsProvider,
        refs_ttl: float = 60.0,
        max_tree_requests: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        config = integration.config
        if not config.api_base_url and not config.raw_base_url:
            raise config.source.error(
                f"GitHub integration '{integration.title}' must configure an explicit "
                "apiBaseUrl or rawBaseUrl (for GitHub Enterprise usually "
                "https://<host>/api/v3 and https://<host>/raw)."
            )
        super().__init__(host=config.host, authed=bool(config.token or config.apps))
        api_origin = parse_url(config.api_base_url).origin if config.api_base_url else ""
        self._setup(http=http, tree=tree, api_origin=api_origin, refs_ttl=refs_ttl, clock=clock)
        self.integration = integration
        self._config = config
        self._provider = credentials_provider
        self._max_tree_requests = max_tree_requests
        self._raw_origin = parse_url(config.raw_base_url).origin if config.raw_base_url else None

    # --- calls that need the API -------------------------------------------------------

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read the tree at ``url`` (the default branch when it names no ref); the etag is
        the commit sha."""
        self._require_api("read trees")
        return super().read_tree(url, etag=etag, filter=filter, token=token)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files of the tree whose repository path matches the glob; etag = commit sha."""
        self._require_api("search")
        return super().search_glob(url, etag=etag, token=token)

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        form = f"https://{self._config.host}/<owner>/<repo>/<blob|tree|raw>/<ref>/<path>"
        kinds = ("blob", "tree", "raw")
        git = browse_parts(url, kinds=kinds, need_path=need_path, form=form, parse=parse_github_url)
        credentials = self._credentials(url, token)
        repo = _Repo(git.owner, git.name, credentials, git.filepathtype or "tree")
        return GitLocation(
            key=f"{git.owner}/{git.name}".lower(),
            ref=git.ref,
            path=git.filepath,
            url=url,
            native=repo,
            auth=self._auth(credentials),
        )

    def _default_branch(self, loc: GitLocation) -> str:
        body = self._api_json(f"{self._config.api_base_url}/repos/{_repo(loc).path}", loc)
        branch = body.get("default_branch") if isinstance(body, dict) else None
        if not isinstance(branch, str) or not branch:
            raise NotFoundError(
                f"GitHub did not name a default branch for {_repo(loc).owner}/"
                f"{_repo(loc).name}; the repository may be empty. Put a branch in the URL.",
                status=404,
                url=redact_url(loc.url),
            )
        return branch

    def _list_refs(self, loc: GitLocation, first: str) -> list[str]:
        api = self._config.api_base_url
        if not api:
            return []
        names: list[str] = []
        for kind in ("heads", "tags"):
            first_path = encode_path(first, keep=GITHUB_PATH_KEEP)
            url = f"{api}/repos/{_repo(loc).path}/git/matching-refs/{kind}/{first_path}"
            items = self._api_json(url, loc)
            for item in items if isinstance(items, list) else []:
                ref = item.get("ref") if isinstance(item, dict) else None
                if isinstance(ref, str) and ref.startswith(f"refs/{kind}/"):
                    names.append(ref[len(kind) + 6 :])
        return names

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        """The commit sha of ``ref``; NotModifiedError when it equals ``etag`` (304)."""
        repo = _repo(loc)
        api = self._require_api("look up commits")
        url = f"{api}/repos/{repo.path}/commits/{encode_uri_component(ref)}"
        headers = {**_API_ACCEPT, "Accept": _SHA_ACCEPT}
        if etag and is_commit_sha(etag):
            headers["If-None-Match"] = f'"{etag}"'
        response = self._get(url, loc, headers=headers)
        status = response.status_code
        if status == 304:
            response.close()
            raise NotModifiedError(f"{repo.owner}/{repo.name}@{ref} is still at {etag}.", etag=etag)
        if status in (404, 422):
            response.close()
            raise NotFoundError(
                f"No branch, tag or commit '{ref}' in {repo.owner}/{repo.name} on "
                f"{self._config.host} (answer {status}); check the URL, and that the "
                "credentials can see the repository.",
                status=404,
                url=redact_url(url),
            )
        self._check(response, url)
        sha = read_text(response).strip()
        if not is_commit_sha(sha):
            raise unexpected_answer(response, "is not a commit sha")
        return sha

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        api = self._require_api("read trees")
        tarball = f"{api}/repos/{_repo(loc).path}/tarball/{commit}"
        return GitArchive(self._get(tarball, loc, api=False), subpath=path or None)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        trees = f"{self._require_api('search')}/repos/{_repo(loc).path}/git/trees"
        listing = self._api_json(f"{trees}/{commit}?recursive=true", loc)
        if listing.get("truncated"):
            return self._walk_truncated(trees, listing, pattern, loc)
        return _blobs(listing, "")

    def _walk_truncated(
        self, trees: str, root: dict[str, Any], pattern: str, loc: GitLocation
    ) -> list[str]:
        budget = [self._max_tree_requests]

        def listing(tree_sha: str, recursive: bool) -> dict[str, Any]:
            budget[0] -= 1
            if budget[0] < 0:
                raise InputError(
                    f"Searching {redact_url(loc.url)} needs more than "
                    f"{self._max_tree_requests} tree listings (the repository is very "
                    "large); start the glob with a longer fixed folder prefix."
                )
            query = "?recursive=true" if recursive else ""
            body: dict[str, Any] = self._api_json(f"{trees}/{tree_sha}{query}", loc)
            return body

        prefix = glob_static_prefix(pattern)
        tree_sha = str(root.get("sha", ""))
        for segment in prefix.split("/") if prefix else []:
            found = next(
                (
                    e
                    for e in _entries(listing(tree_sha, False))
                    if e.get("path") == segment and e.get("type") == "tree"
                ),
                None,
            )
            if found is None:
                return []
            tree_sha = str(found.get("sha"))
        if prefix:
            sub = listing(tree_sha, True)
            if not sub.get("truncated"):
                return _blobs(sub, prefix)
        may_hold = folder_may_match(pattern)
        result: list[str] = []
        pending = [(tree_sha, prefix)]
        while pending:
            current, folder = pending.pop()
            for entry in _entries(listing(current, False)):
                path = f"{folder}/{entry.get('path')}" if folder else str(entry.get("path"))
                if entry.get("type") == "blob":
                    result.append(path)
                elif entry.get("type") == "tree" and may_hold(path):
                    pending.append((str(entry.get("sha")), path))
        return result

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        repo = _repo(loc)
        fetch_url = github_file_fetch_url(
            self._config,
            owner=repo.owner,
            name=repo.name,
            ref=ref,
            path=path,
            has_token=bool(repo.credentials.token),
        )
        headers = {**conditional_headers(etag, last_modified_after), "Accept": _RAW_ACCEPT}
        response = self._get(fetch_url, loc, headers=headers, api=False)
        self._check(response, loc.url)
        return read_url_response(response, self._http)

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """The file's blob sha from the contents API (when a host sent no ETag)."""
        api = self._require_api("look up files")
        query = f"?ref={encode_uri_component(ref)}"
        url = f"{api}/repos/{_repo(loc).path}/contents/{encode_path(path)}{query}"
        body = self._api_json(url, loc)
        sha = body.get("sha") if isinstance(body, dict) else None
        if not isinstance(sha, str) or not sha:
            raise NotFoundError(f"{redact_url(loc.url)} is not a file.", status=404)
        return sha

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        base = parse_url(loc.url)
        repo = _repo(loc)
        ref_path = encode_path(ref, keep=GITHUB_PATH_KEEP)
        file_path = encode_path(path, keep=GITHUB_PATH_KEEP)
        return f"{base.scheme}://{base.host}/{repo.path}/{repo.kind}/{ref_path}/{file_path}"

    # --- listing (discovery; scmreader.readers._listing is imported by the first one) ---------

    def _discovery_target(self, url: str) -> DiscoveryTarget:
        from scmreader.readers._listing import is_pattern, split_browse

        form = f"https://{self._config.host}/<owner>/<repo or pattern>/blob/<ref or ->/<path>"
        target = split_browse(url, ("blob", "tree", "raw"), form=form)
        if not target.owner or "/" in target.owner or is_pattern(target.owner):
            raise InvalidUrlError(
                f"GitHub cannot list owners: write one organisation or user in {redact_url(url)}."
            )
        return target

    def _list_owner(self, owner: str, token: str | None, origin: str) -> Iterator[Repository]:
        # https://docs.github.com/en/rest/repos/repos#list-organization-repositories, and for
        # users .../repos#list-repositories-for-a-user; Link-paginated, per_page up to 100.
        api = self._require_api("list repositories")
        loc = self._listing_location(
            f"https://{self._config.host}/{owner}",
            self._auth(self._credentials(f"https://{self._config.host}/{owner}", token)),
        )
        name = encode_uri_component(owner)
        listings = [
            f"{api}/orgs/{name}/repos?type=all&per_page={_LIST_PAGE}",
            f"{api}/users/{name}/repos?type=owner&per_page={_LIST_PAGE}",
        ]
        from scmreader.readers._listing import repository_from_api

        for item in self._owner_pages(listings, loc, self._link_page(api)):
            repo = repository_from_api(item, owner)
            if repo is not None:
                yield repo

    def _discovery_url(self, target: DiscoveryTarget, repo: Repository, ref: str) -> str:
        keep = GITHUB_PATH_KEEP
        return (
            f"{target.origin}/{encode_path(repo.full_name, keep=keep)}/blob/"
            f"{encode_path(ref or 'HEAD', keep=keep)}/{encode_path(target.path, keep=keep)}"
        )

    # --- credentials and HTTP ------------------------------------------------------------

    def _credentials(self, url: str, token: str | None) -> GithubCredentials:
        if token:
            register_secret(token)
            return GithubCredentials("token", token)
        return self._provider.get_credentials(url=url)

    def _auth(self, credentials: GithubCredentials) -> list[OriginCredentials]:
        headers = credentials.headers
        if not headers:
            return []
        origins = {o for o in (self._api_origin, self._raw_origin) if o}
        return [OriginCredentials(origin, headers) for origin in sorted(origins)]

    def _require_api(self, what: str) -> str:
        api = self._config.api_base_url
        if not api:
            raise self._config.source.error(
                f"GitHub integration '{self._config.host}' has no apiBaseUrl, which is needed "
                f"to {what}; add apiBaseUrl (for GitHub Enterprise https://<host>/api/v3)."
            )
        return api

    def _get(
        self,
        url: str,
        loc: GitLocation,
        *,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
        method: str = "GET",
    ) -> requests.Response:
        """The shared request; a rate limit gets the URL being read and GitHub's advice."""
        try:
            return super()._get(url, loc, headers=headers, api=api, method=method)
        except RateLimitedError as exc:
            shown = redact_url(loc.url)
            prefix = "" if shown in str(exc) else f"{shown} could not be read: "
            raise RateLimitedError(
                f"{prefix}{exc} {_RATE_LIMIT_HINT}",
                status=exc.status,
                url=exc.url,
                reset_at=exc.reset_at,
            ) from None

    def _api_json(self, url: str, loc: GitLocation) -> Any:
        response = self._get(url, loc, headers=_API_ACCEPT)
        self._check(response, url)
        body = parse_json(response)
        if not isinstance(body, (dict, list)):
            raise unexpected_answer(response, "is not JSON object or list")
        return body


def _repo(loc: GitLocation) -> _Repo:
    repo: _Repo = loc.native
    return repo


def _entries(listing: dict[str, Any]) -> list[dict[str, Any]]:
    tree = listing.get("tree")
    return [e for e in tree if isinstance(e, dict)] if isinstance(tree, list) else []


def _blobs(listing: dict[str, Any], prefix: str) -> list[str]:
    return [
        f"{prefix}/{entry['path']}" if prefix else str(entry["path"])
        for entry in _entries(listing)
        if entry.get("type") == "blob" and isinstance(entry.get("path"), str)
    ]


def _create(context: ReaderContext) -> list[ReaderTuple]:
    provider = DefaultGithubCredentialsProvider.from_integrations(
        context.integrations, http=context.http
    )
    tuples = []
    for integration in context.integrations.group("github").list():
        reader = GithubUrlReader(
            integration, http=context.http, tree=context.tree, credentials_provider=provider
        )
        tuples.append(ReaderTuple(reader, exact_host(integration.config.host)))
    return tuples


#: How UrlReaders finds this reader (Backstage reader order 60).
READER_FACTORY = ReaderFactory(name="github", order=60, create=_create)

__all__ = ["READER_FACTORY", "GithubUrlReader"]
