"""Reading files, trees and glob searches from Harness Code (``app.harness.io`` or others).

URLs are Harness's web URLs, ``https://<host>/ng/account/<acct>/module/code[/orgs/<org>]
[/projects/<proj>]/repos/<repo>/files/<branch>/~/<path>``; the API is always
``https://<host>/gateway/code/api/v1/repos/<acct>[/<org>][/<proj>]/<repo>/+/...`` (an
``http://`` URL is read over https, as Backstage does). Requests per call:

- ``read_url``: one GET of ``+/raw/<path>`` (``If-None-Match`` / ``If-Modified-Since``
  sent; the ETag is the blob id).
- ``read_tree``: one ``+/content/<path>?include_commit=true`` lookup (its
  ``latest_commit`` is the latest commit touching the folder: that is the etag, so it
  changes only when that folder changes), then the zip archive of exactly that commit,
  limited to the folder (``+/archive/<sha>.zip?path=``; asked for by sha, not branch, so a
  push between the two requests cannot mix two states). An unchanged tree costs the one
  small lookup. Harness archives have no top-level folder.
- ``search`` (glob; Backstage refuses globs here): the content lookup of the glob's static
  prefix (its latest commit is the etag, and it lists the folder), one listing per
  sub-folder the glob can still match (pinned to that commit), and one ``+/raw`` request
  per matched file whose ``content()`` is read. No archive is downloaded.

Credentials (``x-api-key`` from ``apiKey``, else ``Authorization: Bearer`` from ``token``,
or the call's ``token`` as Bearer) are bound to ``https://<host>``: JSON API requests may
only be redirected within it; raw files and archives may be redirected elsewhere, without
credentials (requests would forward ``x-api-key``, a custom header, to any host; the
shared HttpClient never does). Upstream 401 and 403 both raise AuthenticationError, as
Backstage's Harness reader does for 403.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scmreader.errors import (
    AuthenticationError,
    InvalidUrlError,
    NotFoundError,
    UpstreamError,
)
from scmreader.http import (
    OriginCredentials,
    body_stream,
    conditional_headers,
    credentials_for,
    parse_json,
    raise_for_status,
    stay_on_origin,
    unexpected_answer,
)
from scmreader.integrations.harness import (
    HarnessIntegration,
    HarnessUrl,
    get_harness_file_contents_url,
    get_harness_repo_api_url,
    get_harness_request_options,
    parse_harness_url,
)
from scmreader.readers.base import (
    BaseUrlReader,
    ReaderFactory,
    integration_readers,
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

_FILE_TYPES = ("file", "symlink")


class HarnessUrlReader(BaseUrlReader):
    """Reads from one configured Harness Code host (``harness{host=...,authed=...}``)."""

    name = "harness"

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
        self.integration = integration
        self._config = config
        self._http = http
        self._tree = tree
        self._max_listings = max_listings
        self._origin = parse_url(f"https://{config.host}").origin

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file (``.../files/<branch>/~/<path>``).

        Raises NotModifiedError (the etag or date still matches), NotFoundError,
        AuthenticationError (401/403) and InvalidUrlError for URLs naming no file.
        """
        self._parse(url, need_path=True)
        response = self._get(
            get_harness_file_contents_url(self._config, url),
            self._auth(token),
            headers=conditional_headers(etag, last_modified_after),
            api=False,
        )
        self._check(response, url)
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
        """Read the folder at ``url`` (the repository root when it names no path).

        The etag is the latest commit that touched the folder; passing the current one
        raises NotModifiedError before any download.
        """
        harness = self._parse(url, need_path=False)
        auth = self._auth(token)
        path = harness.path.strip("/")
        folder = self._content(url, path, _branch_ref(harness), auth, include_commit=True)
        if folder.get("type") != "dir":
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names a file, not a folder; read it with "
                "read_url, or point read_tree at its folder."
            )
        sha = self._latest_commit(folder, url)
        self._raise_if_not_modified(url, etag, sha)
        query = f"routingId={encode_uri_component(harness.account_id)}"
        if path:
            query += f"&path={encode_uri_component(path)}"
        archive = f"{get_harness_repo_api_url(self._config, url)}/+/archive/{sha}.zip?{query}"
        response = self._get(archive, auth, api=False)
        self._check(response, url)
        return self._tree.from_zip_archive(
            body_stream(response, self._http), etag=sha, subpath=path or None, filter=filter
        )

    # --- search ------------------------------------------------------------------------

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search when the URL's file path has glob syntax, else one file."""
        if is_glob(self._parse(url, need_path=False).path):
            return self.search_glob(url, etag=etag, token=token)
        return self.search_exact(url, etag=etag, token=token)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files whose repository path matches the glob; etag = the latest commit touching
        the glob's static prefix. Only folders the glob can match are listed; contents
        load lazily."""
        harness = self._parse(url, need_path=True)
        auth = self._auth(token)
        pattern = harness.path.lstrip("/")
        prefix = glob_static_prefix(pattern)
        try:
            top = self._content(url, prefix, _branch_ref(harness), auth, include_commit=True)
        except NotFoundError:
            if not prefix:
                raise
            self._content(url, "", _branch_ref(harness), auth, include_commit=False)
            return SearchResponse(files=[], etag="")  # the branch exists, the folder not
        sha = self._latest_commit(top, url)
        self._raise_if_not_modified(url, etag, sha)
        matches = glob_matcher(pattern)
        browse = _browse_prefix(url)
        files = [
            SearchResponseFile(
                url=f"{browse}{encode_path(path)}",
                _content=self._file_reader(url, path, sha, auth),
            )
            for path in self._walk(url, top, prefix, sha, _folder_filter(pattern), auth)
            if matches(path)
        ]
        return SearchResponse(files=files, etag=sha)

    def _walk(
        self,
        url: str,
        top: dict[str, Any],
        prefix: str,
        sha: str,
        descend: Callable[[str], bool],
        auth: list[OriginCredentials],
    ) -> list[str]:
        """Paths of the files below ``prefix`` in folders ``descend`` accepts."""
        if top.get("type") != "dir":
            return []  # the static prefix names a file: nothing can be below it
        found: list[str] = []
        pending: deque[tuple[str, dict[str, Any]]] = deque([(prefix, top)])
        listed = 1
        while pending:
            folder, body = pending.popleft()
            for kind, path in _entries(body, folder, url):
                if kind in _FILE_TYPES:
                    found.append(path)
                elif kind == "dir" and descend(path):
                    if listed >= self._max_listings:
                        raise UpstreamError(
                            f"Searching {redact_url(url)} needs more than {listed} folder "
                            "listings; start the glob with a longer fixed folder prefix."
                        )
                    listed += 1
                    pending.append(
                        (path, self._content(url, path, sha, auth, include_commit=False))
                    )
        return found

    def _file_reader(
        self, url: str, path: str, sha: str, auth: list[OriginCredentials]
    ) -> Callable[[], bytes]:
        def read() -> bytes:
            raw = f"{self._repo_api(url)}/+/raw/{encode_path(path)}?{self._query(url, sha)}"
            response = self._get(raw, auth, api=False)
            self._check(response, f"{path} at {sha}")
            return read_url_response(response, self._http).buffer()

        return read

    # --- the content API ---------------------------------------------------------------

    def _content(
        self,
        url: str,
        path: str,
        git_ref: str,
        auth: list[OriginCredentials],
        *,
        include_commit: bool,
    ) -> dict[str, Any]:
        """The content API's answer for ``path`` (a folder lists its entries)."""
        where = f"/{encode_path(path)}" if path else ""
        flag = "true" if include_commit else "false"
        query = self._query(url, git_ref, include_commit=flag)
        response = self._get(f"{self._repo_api(url)}/+/content{where}?{query}", auth)
        if response.status_code == 404:
            harness = parse_harness_url(self._config, url)
            response.close()
            raise NotFoundError(
                f"{redact_url(url)} could not be read: Harness Code has no "
                f"{'folder ' + repr(path) if path else 'repository'} at {git_ref!r} in "
                f"{_repo_name(harness)}. Check the repository, branch and path, and that the "
                "credentials can see the repository.",
                status=404,
                url=redact_url(str(response.url)),
            )
        self._check(response, url)
        body = parse_json(response)
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise unexpected_answer(response, "is not a content description")
        return body

    @staticmethod
    def _latest_commit(body: Mapping[str, Any], url: str) -> str:
        commit = body.get("latest_commit")
        sha = commit.get("sha") if isinstance(commit, dict) else None
        if not isinstance(sha, str) or not is_commit_sha(sha):
            raise UpstreamError(
                f"Harness Code answered the content lookup for {redact_url(url)} without a "
                "latest commit id; the host's API may have changed.",
            )
        return sha

    # --- URLs ----------------------------------------------------------------------------

    def _parse(self, url: str, *, need_path: bool) -> HarnessUrl:
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
        return harness

    def _repo_api(self, url: str) -> str:
        return get_harness_repo_api_url(self._config, url)

    def _query(self, url: str, git_ref: str, **extra: str) -> str:
        account = parse_harness_url(self._config, url).account_id
        pairs = [f"routingId={encode_uri_component(account)}"]
        pairs += [f"{name}={value}" for name, value in extra.items()]
        pairs.append(f"git_ref={quote(git_ref, safe='/')}")
        return "&".join(pairs)

    # --- HTTP ----------------------------------------------------------------------------

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        if token:
            register_secret(token)
            return credentials_for(self._origin, {"Authorization": f"Bearer {token}"})
        return credentials_for(self._origin, get_harness_request_options(self._config)["headers"])

    def _get(
        self,
        url: str,
        auth: list[OriginCredentials],
        *,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
    ) -> requests.Response:
        """GET through the shared client; JSON API requests stay on the Harness origin,
        downloads (raw files, archives) may be redirected (credentials never follow)."""
        return self._http.get(
            url,
            headers=headers,
            credentials=auth,
            check_redirect=stay_on_origin(self._origin, "Harness Code's API") if api else None,
        )

    @staticmethod
    def _check(response: requests.Response, what: str) -> None:
        """raise_for_status, except that 403 is an AuthenticationError (as in Backstage)."""
        if response.status_code == 403:
            response.close()
            raise AuthenticationError(
                f"{redact_url(what)} could not be read: 403 Forbidden. Harness refused the "
                "credentials for this repository; check the apiKey or token configured for "
                "this host and its permissions.",
                status=403,
                url=redact_url(str(response.url)),
            )
        raise_for_status(response, what=what)


def _branch_ref(harness: HarnessUrl) -> str:
    return f"refs/heads/{harness.branch}"


def _repo_name(harness: HarnessUrl) -> str:
    ids = (harness.account_id, harness.org_name, harness.project_name, harness.repo_name)
    return "/".join(i for i in ids if i)


def _browse_prefix(url: str) -> str:
    """The caller's URL up to and including ``/~/``: matches keep its exact form."""
    parsed = parse_url(url)
    head = parsed.path.split("/~/", 1)[0]
    return f"{parsed.origin}{head}/~/"


def _entries(body: Mapping[str, Any], folder: str, url: str) -> list[tuple[str, str]]:
    """(type, path) of a folder listing's entries, each checked to lie in ``folder``."""
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
        if not rest or "/" in rest or rest in (".", ".."):
            raise UpstreamError(
                f"Harness Code listed {path!r} as an entry of folder {folder!r}; refusing "
                "an answer that points outside the folder."
            )
        result.append((kind, path))
    return result


def _folder_filter(pattern: str) -> Callable[[str], bool]:
    """Whether a folder (full path) can hold a match of ``pattern``.

    Segments up to the first ``**`` must match one by one, a pattern without ``**`` is
    never deeper than its segments, and folders starting with ``.`` inside a ``**`` are
    skipped unless a later segment starts with ``.`` (minimatch's ``**`` does not enter
    them). Patterns whose syntax can span segments (braces, extglobs, classes, escapes,
    negation) are not pruned: every folder below the static prefix is listed.
    """
    if pattern.startswith("!") or any(c in pattern for c in "{}()[]\\"):
        return lambda folder: True
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    star = next((i for i, s in enumerate(segments) if "**" in s), None)
    fixed = segments if star is None else segments[:star]
    heads = [glob_matcher("/".join(fixed[: n + 1])) for n in range(len(fixed))]
    dots_later = star is not None and any(s.startswith(".") for s in segments[star + 1 :])

    def descend(folder: str) -> bool:
        parts = folder.split("/")
        if star is None and len(parts) >= len(segments):
            return False
        depth = min(len(parts), len(fixed))
        if depth and not heads[depth - 1]("/".join(parts[:depth])):
            return False
        inside = parts[len(fixed) :]
        return dots_later or not any(p.startswith(".") for p in inside)

    return descend


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
