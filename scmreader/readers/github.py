"""Reading files, trees and glob searches from GitHub and GitHub Enterprise.

Requests per call (with warm caches; see the module's tests for the counted figures):

- ``read_url``: one GET (contents API with a token, else the raw host);
- ``read_tree``: one GET of ``commits/{ref}`` with the sha media type (sent with
  ``If-None-Match: "<etag>"``, so an unchanged tree costs exactly that one small request
  and GitHub answers 304), then the tarball (a 302 to codeload, followed);
- ``search`` (glob): the commit lookup, one recursive tree listing, and one blob request
  per matched file whose ``content()`` is read.

Beyond Backstage:

- Branches with ``/``: ``/blob/feature/x/catalog-info.yaml`` is first tried with the ref
  ``feature``; when that is not found, the repository's branches and tags that start with
  ``feature`` are listed (``git/matching-refs``, cached per repository for ``refs_ttl``
  seconds) and the longest one that prefixes the URL's segments is used. While the cache
  is fresh it is consulted first, so later calls cost nothing extra. The raw host resolves
  such refs itself, so raw reads skip this.
- A truncated recursive tree listing (huge repositories) does not fall back to the whole
  tarball: the search walks down to the glob's static prefix and lists only that
  sub-tree (recursively, or level by level with pruning when it is still truncated).
- Redirects: metadata requests may only be redirected within the API's origin; file and
  archive downloads may be redirected to any http(s) host (GitHub sends tarballs to
  codeload), never from https to http, and credentials are dropped as soon as the chain
  leaves the origin they belong to.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, Mapping
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
    body_stream,
    conditional_headers,
    parse_json,
    raise_for_status,
    read_text,
    stay_on_origin,
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
from scmreader.readers.base import (
    BaseUrlReader,
    ReaderContext,
    ReaderFactory,
    ReaderTuple,
    exact_host,
    read_url_response,
)
from scmreader.readers.types import (
    ReadTreeResponse,
    ReadUrlResponse,
    SearchResponse,
    SearchResponseFile,
    TreeFilter,
)
from scmreader.redact import redact_url, register_secret
from scmreader.urls import (
    GitUrl,
    encode_path,
    encode_uri_component,
    glob_matcher,
    glob_static_prefix,
    is_commit_sha,
    is_glob,
    parse_url,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_API_ACCEPT = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_RAW_ACCEPT = "application/vnd.github.v3.raw"
_SHA_ACCEPT = "application/vnd.github.sha"
_RATE_LIMIT_HINT = (
    "GitHub gives a GitHub App installation (integrations.github[].apps) a higher limit than "
    "a personal token."
)

# --- glob matching ---------------------------------------------------------------------


def _dir_may_hold_matches(pattern: str) -> Callable[[str], bool]:
    """A conservative predicate: may files below folder ``dir`` match ``pattern``?"""
    from wcmatch import glob as wc

    if pattern.startswith("!") or any(c in pattern for c in "{}()"):
        return lambda path: True
    parts = pattern.split("/")
    flags = wc.BRACE | wc.EXTGLOB

    def may(path: str) -> bool:
        for i, segment in enumerate(path.split("/")):
            if i >= len(parts) - 1:
                return False
            if parts[i] == "**":
                return True
            if not wc.globmatch(segment, parts[i], flags=flags):
                return False
        return True

    return may


# --- the reader ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Repo:
    """The repository a URL points into."""

    owner: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.name}".lower()

    @property
    def path(self) -> str:
        return encode_path(f"{self.owner}/{self.name}", keep=GITHUB_PATH_KEEP)


class GithubUrlReader(BaseUrlReader):
    """Reads from one configured GitHub host (``github{host=...,authed=...}``)."""

    name = "github"

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
        self.integration = integration
        self._config = config
        self._http = http
        self._tree = tree
        self._provider = credentials_provider
        self._refs_ttl = refs_ttl
        self._max_tree_requests = max_tree_requests
        self._clock = clock
        self._lock = threading.Lock()
        self._refs: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
        self._default_branches: dict[str, tuple[float, str]] = {}
        self._api_origin = parse_url(config.api_base_url).origin if config.api_base_url else None
        self._raw_origin = parse_url(config.raw_base_url).origin if config.raw_base_url else None

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file: ``/owner/repo/(blob|tree|raw)/ref/path``.

        Raises NotModifiedError (the etag or date still matches), NotFoundError,
        RateLimitedError (with ``reset_at``) and InvalidUrlError for other URL shapes.
        """
        git = self._parse(url, types=("blob", "tree", "raw"), need_path=True)
        repo = _Repo(git.owner, git.name)
        credentials = self._credentials(url, token)
        headers = {**conditional_headers(etag, last_modified_after), "Accept": _RAW_ACCEPT}
        segments = [git.ref, *git.filepath.split("/")]

        def fetch(ref: str, path: str) -> requests.Response:
            fetch_url = github_file_fetch_url(
                self._config,
                owner=repo.owner,
                name=repo.name,
                ref=ref,
                path=path,
                has_token=bool(credentials.token),
            )
            response = self._get(fetch_url, credentials, what=url, headers=headers, api=False)
            raise_for_status(response, what=url)
            return response

        if self._uses_api(credentials):
            response = self._with_ref(repo, segments, credentials, fetch)
        else:  # the raw host splits ref and path itself
            response = fetch(git.ref, git.filepath)
        return read_url_response(response, self._http)

    # --- read_tree ---------------------------------------------------------------------

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read the tree at ``url`` (the default branch when it names no ref).

        The etag is the commit sha; passing the current one raises NotModifiedError
        before any archive is requested.
        """
        api = self._require_api("read trees")
        git = self._parse(url, types=("tree", "blob"), need_path=False)
        repo = _Repo(git.owner, git.name)
        credentials = self._credentials(url, token)
        segments = self._segments(git, repo, credentials)

        def lookup(ref: str, path: str) -> tuple[str, str]:
            return self._commit_sha(repo, ref, credentials, etag), path

        sha, path = self._with_ref(repo, segments, credentials, lookup)
        self._raise_if_not_modified(url, etag, sha)
        response = self._get(
            f"{api}/repos/{repo.path}/tarball/{sha}", credentials, what=url, api=False
        )
        raise_for_status(response, what=url)
        return self._tree.from_tar_archive(
            body_stream(response, self._http),
            etag=sha,
            subpath=path.strip("/") or None,
            filter=filter,
        )

    # --- search ------------------------------------------------------------------------

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search when the URL's (decoded) path has glob syntax, else one file."""
        git = self._parse(url, types=("tree", "blob", "raw"), need_path=False)
        if is_glob(git.filepath):
            return self.search_glob(url, etag=etag, token=token)
        return self.search_exact(url, etag=etag, token=token)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files of the tree whose repository path matches the glob; etag = commit sha."""
        api = self._require_api("search")
        git = self._parse(url, types=("tree", "blob"), need_path=True)
        repo = _Repo(git.owner, git.name)
        credentials = self._credentials(url, token)
        segments = [git.ref, *git.filepath.split("/")]

        def lookup(ref: str, rest: str) -> tuple[str, str, str]:
            return ref, rest, self._commit_sha(repo, ref, credentials, etag)

        ref, pattern, sha = self._with_ref(repo, segments, credentials, lookup)
        self._raise_if_not_modified(url, etag, sha)
        pattern = pattern.lstrip("/")
        matches = glob_matcher(pattern)
        trees = f"{api}/repos/{repo.path}/git/trees"
        listing = self._get_json(f"{trees}/{sha}?recursive=true", credentials, url)
        if listing.get("truncated"):
            blobs = self._walk_truncated(trees, listing, pattern, credentials, url)
        else:
            blobs = _blobs(listing, "")
        base = parse_url(url)
        ref_path = encode_path(ref, keep=GITHUB_PATH_KEEP)
        prefix = f"{base.scheme}://{base.host}/{repo.path}/{git.filepathtype}/{ref_path}"
        files = [
            SearchResponseFile(
                url=f"{prefix}/{encode_path(path, keep=GITHUB_PATH_KEEP)}",
                _content=self._blob_reader(api, repo, blob_sha, credentials),
            )
            for path, blob_sha in blobs
            if matches(path)
        ]
        return SearchResponse(files=files, etag=sha)

    def _walk_truncated(
        self,
        trees: str,
        root: dict[str, Any],
        pattern: str,
        credentials: GithubCredentials,
        url: str,
    ) -> list[tuple[str, str]]:
        budget = [self._max_tree_requests]

        def listing(tree_sha: str, recursive: bool) -> dict[str, Any]:
            budget[0] -= 1
            if budget[0] < 0:
                raise InputError(
                    f"Searching {redact_url(url)} needs more than {self._max_tree_requests} "
                    "tree listings (the repository is very large); start the glob with a "
                    "longer fixed folder prefix."
                )
            query = "?recursive=true" if recursive else ""
            return self._get_json(f"{trees}/{tree_sha}{query}", credentials, url)

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
        may_hold = _dir_may_hold_matches(pattern)
        result: list[tuple[str, str]] = []
        pending = [(tree_sha, prefix)]
        while pending:
            current, folder = pending.pop()
            for entry in _entries(listing(current, False)):
                path = f"{folder}/{entry.get('path')}" if folder else str(entry.get("path"))
                if entry.get("type") == "blob":
                    result.append((path, str(entry.get("sha"))))
                elif entry.get("type") == "tree" and may_hold(path):
                    pending.append((str(entry.get("sha")), path))
        return sorted(result)

    def _blob_reader(
        self, api: str, repo: _Repo, blob_sha: str, credentials: GithubCredentials
    ) -> Callable[[], bytes]:
        def read() -> bytes:
            url = f"{api}/repos/{repo.path}/git/blobs/{blob_sha}"
            body = self._get_json(url, credentials, url)
            content = body.get("content")
            if body.get("encoding") != "base64" or not isinstance(content, str):
                raise NotFoundError(
                    f"GitHub sent blob {blob_sha} of {repo.owner}/{repo.name} without base64 "
                    "content; it may be too large for the blobs API.",
                    url=redact_url(url),
                )
            try:
                return base64.b64decode(content)
            except (binascii.Error, ValueError):
                raise InputError(f"GitHub sent invalid base64 for blob {blob_sha}.") from None

        return read

    # --- refs, commits and branches ----------------------------------------------------

    def _with_ref(
        self,
        repo: _Repo,
        segments: list[str],
        credentials: GithubCredentials,
        attempt: Callable[[str, str], Any],
    ) -> Any:
        """Run ``attempt(ref, path)`` for the URL's ``ref/path`` segments.

        The first segment is tried as the ref; when it is not found and more segments
        follow, the longest branch or tag that prefixes the segments is tried instead.
        """
        first = segments[0]
        cached = self._cached_refs(repo, first)
        if cached is not None:
            ref, path = _longest_ref(cached, segments)
            return attempt(ref, path)
        try:
            return attempt(first, "/".join(segments[1:]))
        except NotFoundError as missing:
            if len(segments) < 2 or self._api_origin is None:
                raise
            try:
                names = self._load_refs(repo, first, credentials)
            except NotFoundError:
                raise missing from None  # the repository itself is missing or invisible
            ref, path = _longest_ref(names, segments)
            if ref == first:
                raise
            return attempt(ref, path)

    def _cached_refs(self, repo: _Repo, first: str) -> tuple[str, ...] | None:
        with self._lock:
            hit = self._refs.get((repo.key, first))
        if hit is None or self._clock() >= hit[0]:
            return None
        return hit[1]

    def _load_refs(
        self, repo: _Repo, first: str, credentials: GithubCredentials
    ) -> tuple[str, ...]:
        api = self._config.api_base_url
        names: list[str] = []
        for kind in ("heads", "tags"):
            first_path = encode_path(first, keep=GITHUB_PATH_KEEP)
            url = f"{api}/repos/{repo.path}/git/matching-refs/{kind}/{first_path}"
            items = self._get_json_any(url, credentials, url)
            if not isinstance(items, list):
                items = []
            for item in items:
                ref = item.get("ref") if isinstance(item, dict) else None
                if isinstance(ref, str) and ref.startswith(f"refs/{kind}/"):
                    names.append(ref[len(kind) + 6 :])
        result = tuple(names)
        with self._lock:
            self._refs[(repo.key, first)] = (self._clock() + self._refs_ttl, result)
        return result

    def _segments(self, git: GitUrl, repo: _Repo, credentials: GithubCredentials) -> list[str]:
        if git.ref:
            return [git.ref, *(git.filepath.split("/") if git.filepath else [])]
        return [self._default_branch(repo, credentials)]

    def _default_branch(self, repo: _Repo, credentials: GithubCredentials) -> str:
        with self._lock:
            hit = self._default_branches.get(repo.key)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        url = f"{self._config.api_base_url}/repos/{repo.path}"
        body = self._get_json(url, credentials, url)
        branch = body.get("default_branch")
        if not isinstance(branch, str) or not branch:
            raise NotFoundError(
                f"GitHub did not name a default branch for {repo.owner}/{repo.name}; the "
                "repository may be empty. Put a branch in the URL.",
                url=redact_url(url),
            )
        with self._lock:
            self._default_branches[repo.key] = (self._clock() + self._refs_ttl, branch)
        return branch

    def _commit_sha(
        self, repo: _Repo, ref: str, credentials: GithubCredentials, etag: str | None
    ) -> str:
        """The commit sha of ``ref``; NotModifiedError when it equals ``etag`` (304)."""
        url = f"{self._config.api_base_url}/repos/{repo.path}/commits/{encode_uri_component(ref)}"
        headers = {**_API_ACCEPT, "Accept": _SHA_ACCEPT}
        if etag and is_commit_sha(etag):
            headers["If-None-Match"] = f'"{etag}"'
        response = self._get(url, credentials, what=url, headers=headers)
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
        raise_for_status(response, what=url)
        sha = read_text(response).strip()
        if not is_commit_sha(sha):
            raise unexpected_answer(response, "is not a commit sha")
        return sha

    # --- HTTP helpers ------------------------------------------------------------------

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

    def _uses_api(self, credentials: GithubCredentials) -> bool:
        config = self._config
        return bool(config.api_base_url and (credentials.token or not config.raw_base_url))

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
        credentials: GithubCredentials,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
    ) -> requests.Response:
        """GET ``url`` through the shared client, which retries and raises RateLimitedError.

        API requests may only be redirected within the API's origin; downloads (``api=False``:
        files, tarballs) may go to any http(s) host, as GitHub sends them to codeload (the
        client refuses https -> http and drops credentials once the chain leaves their
        origin). A rate limit gets the URL being read and GitHub's advice added.
        """
        try:
            return self._http.get(
                url,
                headers=headers,
                credentials=self._auth(credentials),
                check_redirect=stay_on_origin(self._api_origin or "", "GitHub's API")
                if api
                else None,
            )
        except RateLimitedError as exc:
            shown = redact_url(what)
            prefix = "" if shown in str(exc) else f"{shown} could not be read: "
            raise RateLimitedError(
                f"{prefix}{exc} {_RATE_LIMIT_HINT}",
                status=exc.status,
                url=exc.url,
                reset_at=exc.reset_at,
            ) from None

    def _get_ok(self, url: str, credentials: GithubCredentials, what: str) -> requests.Response:
        response = self._get(url, credentials, what=what, headers=_API_ACCEPT)
        raise_for_status(response, what=what)
        return response

    def _get_json_any(self, url: str, credentials: GithubCredentials, what: str) -> Any:
        return parse_json(self._get_ok(url, credentials, what))

    def _get_json(self, url: str, credentials: GithubCredentials, what: str) -> dict[str, Any]:
        response = self._get_ok(url, credentials, what)
        body = parse_json(response)
        if not isinstance(body, dict):
            raise unexpected_answer(response, "is not a JSON object")
        return body

    def _parse(self, url: str, *, types: tuple[str, ...], need_path: bool) -> GitUrl:
        try:
            git = parse_github_url(url)
        except InvalidUrlError as exc:
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}, {exc}") from None
        shape_ok = bool(git.owner and git.name) and (
            (git.ref and git.filepathtype in types) or (not need_path and not git.filepathtype)
        )
        if not shape_ok or (need_path and not git.filepath):
            expected = "/".join(t for t in types)
            raise InvalidUrlError(
                f"Incorrect URL: {redact_url(url)}; expected "
                f"https://{self._config.host}/<owner>/<repo>/<{expected}>/<ref>/<path>."
            )
        return git


def _entries(listing: dict[str, Any]) -> list[dict[str, Any]]:
    tree = listing.get("tree")
    return [e for e in tree if isinstance(e, dict)] if isinstance(tree, list) else []


def _blobs(listing: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    result = []
    for entry in _entries(listing):
        if entry.get("type") == "blob" and isinstance(entry.get("path"), str):
            path = f"{prefix}/{entry['path']}" if prefix else str(entry["path"])
            result.append((path, str(entry.get("sha"))))
    return result


def _longest_ref(names: tuple[str, ...], segments: list[str]) -> tuple[str, str]:
    """Split ``segments`` into the longest known ref that prefixes them and the rest."""
    best = 1
    for name in names:
        count = name.count("/") + 1
        if count > best and count <= len(segments) and "/".join(segments[:count]) == name:
            best = count
    return "/".join(segments[:best]), "/".join(segments[best:])


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
