"""Reading files, trees and glob searches from GitLab (gitlab.com and self-managed).

Requests per call:

- ``read_url``: one GET of the files API (``/projects/<path>/repository/files/<file>/raw``);
  the project is addressed by its URL-encoded path, so no project-id lookup is needed.
  Job artifact URLs (``/-/jobs/artifacts/<ref>/raw/<file>?job=<name>``) are one GET of the
  jobs API.
- ``read_tree``: one commits lookup (the latest commit touching the sub-path: that is the
  etag, so it changes only when that sub-tree changes), then the archive of exactly that
  commit and sub-path (asked for by sha, not branch, so a push between the two requests
  cannot mix two states). An unchanged tree costs the one small lookup. A URL without a
  branch adds one project lookup for the default branch.
- ``search`` (glob): the commits lookup for the glob's static prefix (the etag), then the
  recursive tree listing of that prefix only (100 entries a page), and one files-API
  request per matched file whose ``content()`` is read. No archive is downloaded.

Credentials (``Authorization: Bearer``, from :func:`get_gitlab_request_options`) are bound
to the API's origin; API requests may only be redirected within it, while archive and
artifact downloads may go elsewhere without them. Branch names with ``/`` are not
supported in URLs (as in Backstage: the first segment after ``blob``/``tree`` is the ref).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import InvalidUrlError, NotFoundError, UpstreamError
from scmreader.http import (
    OriginCredentials,
    body_stream,
    conditional_headers,
    credentials_for,
    parse_json,
    raise_for_status,
    read_text,
    stay_on_origin,
    unexpected_answer,
)
from scmreader.integrations._common import SearchParams, decode_component
from scmreader.integrations.gitlab import (
    GitLabIntegration,
    get_gitlab_file_fetch_url,
    get_gitlab_integration_relative_path,
    get_gitlab_request_options,
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
    GitUrl,
    encode_path,
    encode_uri_component,
    glob_matcher,
    glob_static_prefix,
    is_commit_sha,
    is_glob,
    parse_git_url,
    parse_url,
    reject_traversal,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_ARTIFACTS = "/-/jobs/artifacts/"
_TREE_PAGE_SIZE = 100


class GitlabUrlReader(BaseUrlReader):
    """Reads from one configured GitLab host (``gitlab{host=...,authed=...}``)."""

    name = "gitlab"

    def __init__(
        self,
        integration: GitLabIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        max_tree_pages: int = 1000,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=bool(config.token))
        self.integration = integration
        self._config = config
        self._http = http
        self._tree = tree
        self._max_tree_pages = max_tree_pages
        self._api = config.api_base_url
        self._api_origin = parse_url(config.api_base_url).origin
        self._relative = get_gitlab_integration_relative_path(config)

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file (``/<project>/-/blob/<ref>/<path>``) or one job artifact.

        Raises NotModifiedError (the etag or date still matches; artifacts do not take
        conditions), NotFoundError and InvalidUrlError for other URL shapes.
        """
        auth = self._auth(token)
        if _ARTIFACTS in parse_url(url).path:
            fetch_url, headers, api = self._artifact_url(url), {}, False
        else:
            fetch_url = self._file_url(url)
            headers, api = conditional_headers(etag, last_modified_after), True
        response = self._get(fetch_url, auth, headers=headers, api=api)
        raise_for_status(response, what=url)
        return read_url_response(response, self._http)

    def _file_url(self, url: str) -> str:
        parsed = parse_url(url)
        if "/-/raw/" in parsed.path:  # GitLab's raw view names the same file
            url = str(parsed).replace("/-/raw/", "/-/blob/", 1)
            parsed = parse_url(url)
        built = get_gitlab_file_fetch_url(url, self._config)
        prefix = f"{parsed.origin}{self._relative}/api/v4/"
        if not built.startswith(prefix):  # pragma: no cover - the helper's own contract
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}")
        return f"{self._api}/{built[len(prefix) :]}"

    def _artifact_url(self, url: str) -> str:
        parsed = parse_url(url)
        reject_traversal(parsed.path)
        project_part, rest = parsed.path.split(_ARTIFACTS, 1)
        job = SearchParams(parsed.query).get("job")
        ref, marker, file = rest.partition("/raw/")
        if not job or not marker or not ref or not file or "/" in ref:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} is not a GitLab job artifact URL; use the form "
                "https://<host>/<group>/<project>/-/jobs/artifacts/<ref>/raw/<file>?job=<name>."
            )
        project = self._strip_relative(project_part.strip("/"), url)
        params = SearchParams()
        params.set("job", job)
        encoded = encode_uri_component(decode_component(project, url))
        return f"{self._api}/projects/{encoded}/jobs/artifacts/{ref}/raw/{file}?{params}"

    # --- read_tree ---------------------------------------------------------------------

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read the tree at ``url`` (the default branch when it names none).

        The etag is the latest commit that touched the sub-path ('' when GitLab lists
        none); passing the current one raises NotModifiedError before any download.
        """
        git = self._parse(url, need_path=False)
        project = self._project(git, url)
        auth = self._auth(token)
        branch = git.ref or self._default_branch(project, auth, url)
        path = git.filepath.strip("/")
        sha = self._latest_commit(project, branch, path, auth, url)
        self._raise_if_not_modified(url, etag, sha)
        params = SearchParams()
        params.set("sha", sha or branch)
        if path:
            params.set("path", path)
        archive = f"{self._project_api(project)}/repository/archive?{params}"
        response = self._get(archive, auth, api=False)
        raise_for_status(response, what=url)
        return self._tree.from_tar_archive(
            body_stream(response, self._http), etag=sha, subpath=path or None, filter=filter
        )

    # --- search ------------------------------------------------------------------------

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search when the URL's (decoded) file path has glob syntax, else one file."""
        if _ARTIFACTS not in parse_url(url).path and is_glob(parse_git_url(url).filepath):
            return self.search_glob(url, etag=etag, token=token)
        return self.search_exact(url, etag=etag, token=token)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files whose repository path matches the glob; etag = the latest commit touching
        the glob's static prefix. Only that prefix is listed; contents load lazily."""
        git = self._parse(url, need_path=True)
        project = self._project(git, url)
        auth = self._auth(token)
        pattern = git.filepath.lstrip("/")
        prefix = glob_static_prefix(pattern)
        sha = self._latest_commit(project, git.ref, prefix, auth, url)
        if not sha:
            if prefix and self._latest_commit(project, git.ref, "", auth, url):
                return SearchResponse(files=[], etag="")  # nothing under the prefix
            raise self._missing_ref(project, git.ref)
        self._raise_if_not_modified(url, etag, sha)
        matches = glob_matcher(pattern)
        browse = self._browse_prefix(url, project, git.ref)
        files = [
            SearchResponseFile(
                url=f"{browse}/{encode_path(path)}",
                _content=self._file_reader(project, path, sha, auth),
            )
            for path in self._list_blobs(project, sha, prefix, auth, url)
            if matches(path)
        ]
        return SearchResponse(files=files, etag=sha)

    def _list_blobs(
        self, project: str, sha: str, prefix: str, auth: list[OriginCredentials], url: str
    ) -> list[str]:
        params = SearchParams()
        if prefix:
            params.set("path", prefix)
        params.set("ref", sha)
        params.set("recursive", "true")
        params.set("per_page", str(_TREE_PAGE_SIZE))
        params.set("pagination", "keyset")
        next_url: str | None = f"{self._project_api(project)}/repository/tree?{params}"
        blobs: list[str] = []
        seen: set[str] = set()
        while next_url is not None:
            if len(seen) >= self._max_tree_pages or next_url in seen:
                raise UpstreamError(
                    f"Listing {redact_url(url)} did not end after {len(seen)} pages; the "
                    "host's pagination loops or the tree is too large to search. Start the "
                    "glob with a longer fixed folder prefix."
                )
            seen.add(next_url)
            response = self._get(next_url, auth)
            if response.status_code == 404 and prefix:
                response.close()
                return []  # the prefix names a file, not a folder
            raise_for_status(response, what=url)
            items = parse_json(response)
            if not isinstance(items, list):
                raise unexpected_answer(response, "is not a list of tree entries")
            for item in items:
                if isinstance(item, dict) and item.get("type") == "blob":
                    path = item.get("path")
                    if not isinstance(path, str):
                        raise unexpected_answer(response, "has a tree entry without a path")
                    blobs.append(path)
            next_url = self._next_page(response, next_url)
        return blobs

    def _next_page(self, response: requests.Response, current: str) -> str | None:
        """The next page: the ``Link: rel="next"`` (keyset) or ``x-next-page`` (offset)."""
        link = response.links.get("next", {}).get("url")
        if link:
            if parse_url(link).origin != self._api_origin:
                raise unexpected_answer(response, "links its next page on another host")
            return str(link)
        page = response.headers.get("x-next-page", "").strip()
        if not page:
            return None
        if not page.isdigit():
            raise unexpected_answer(response, "has an x-next-page header that is not a number")
        base, _, query = current.partition("?")
        params = SearchParams(query)
        params.set("page", page)
        return f"{base}?{params}"

    def _file_reader(
        self, project: str, path: str, sha: str, auth: list[OriginCredentials]
    ) -> Callable[[], bytes]:
        def read() -> bytes:
            params = SearchParams()
            params.set("ref", sha)
            files = f"{self._project_api(project)}/repository/files"
            response = self._get(f"{files}/{encode_uri_component(path)}/raw?{params}", auth)
            raise_for_status(response, what=f"{path} of {project}@{sha}")
            return read_url_response(response, self._http).buffer()

        return read

    def _browse_prefix(self, url: str, project: str, ref: str) -> str:
        parsed = parse_url(url)
        scoped = "/-/" in parsed.path
        kind = "-/blob" if scoped else "blob"
        return f"{parsed.origin}{self._relative}/{encode_path(project)}/{kind}/{encode_path(ref)}"

    # --- project, branches and commits ---------------------------------------------------

    def _default_branch(self, project: str, auth: list[OriginCredentials], url: str) -> str:
        body = self._get_json(self._project_api(project), auth, url)
        if not isinstance(body, dict):
            raise UpstreamError(
                f"GitLab answered the project lookup of {project} with something other than "
                "a project; check apiBaseUrl.",
                url=redact_url(self._project_api(project)),
            )
        branch = body.get("default_branch")
        if not isinstance(branch, str) or not branch:
            raise NotFoundError(
                f"GitLab names no default branch for {project} (the repository may be empty); "
                "put a branch in the URL.",
                url=redact_url(url),
            )
        return branch

    def _latest_commit(
        self, project: str, ref: str, path: str, auth: list[OriginCredentials], url: str
    ) -> str:
        """Id of the latest commit on ``ref`` that touched ``path``; '' when none is listed."""
        params = SearchParams()
        params.set("ref_name", ref)
        if path:
            params.set("path", path)
        params.set("per_page", "1")
        commits_url = f"{self._project_api(project)}/repository/commits?{params}"
        response = self._get(commits_url, auth)
        if response.status_code == 404 and "Project" not in read_text(response):
            raise self._missing_ref(project, ref)
        raise_for_status(response, what=url)
        body = parse_json(response)
        if not isinstance(body, list):
            raise unexpected_answer(response, "is not a list of commits")
        if not body:
            return ""
        sha = body[0].get("id") if isinstance(body[0], dict) else None
        if not isinstance(sha, str) or not is_commit_sha(sha):
            raise unexpected_answer(response, "lists a commit without a valid id")
        return sha

    def _missing_ref(self, project: str, ref: str) -> NotFoundError:
        return NotFoundError(
            f"No branch, tag or commit '{ref}' in GitLab project {project} on "
            f"{self._config.host}; check the URL, and that the credentials can see the project.",
            status=404,
        )

    # --- URLs ----------------------------------------------------------------------------

    def _parse(self, url: str, *, need_path: bool) -> GitUrl:
        try:
            git = parse_git_url(url)
        except InvalidUrlError as exc:
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}, {exc}") from None
        typed = git.filepathtype in ("blob", "tree") and bool(git.ref)
        if not git.owner or not git.name or not (typed or (not need_path and not git.filepathtype)):
            raise InvalidUrlError(
                f"Incorrect URL: {redact_url(url)}; expected https://{self._config.host}"
                f"{self._relative}/<group>/<project>/-/(blob|tree)/<ref>/<path>."
            )
        if need_path and not git.filepath:
            raise InvalidUrlError(
                f"Incorrect URL: {redact_url(url)}; it names no file path or glob after the ref."
            )
        return git

    def _project(self, git: GitUrl, url: str) -> str:
        """The project's full path (subgroups included), without the install's sub-path."""
        return self._strip_relative(git.full_name, url)

    def _strip_relative(self, full_name: str, url: str) -> str:
        relative = self._relative.strip("/")
        if relative:
            if not full_name.startswith(f"{relative}/"):
                raise InvalidUrlError(
                    f"The URL {redact_url(url)} is outside this GitLab instance, whose URLs "
                    f"start with /{relative}/; check the URL against the integration's baseUrl."
                )
            full_name = full_name[len(relative) + 1 :]
        if "/" not in full_name.strip("/"):
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no project; GitLab projects live in a group "
                "or user namespace (https://<host>/<group>/<project>)."
            )
        return full_name

    def _project_api(self, project: str) -> str:
        return f"{self._api}/projects/{encode_uri_component(project)}"

    # --- HTTP ----------------------------------------------------------------------------

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        if token:
            register_secret(token)
        headers = get_gitlab_request_options(self._config, token)["headers"]
        return credentials_for(self._api, headers)

    def _get(
        self,
        url: str,
        auth: list[OriginCredentials],
        *,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
    ) -> requests.Response:
        """GET through the shared client; API requests stay on the API's origin, downloads
        (archives, artifacts) may be redirected (credentials never follow)."""
        return self._http.get(
            url,
            headers=headers,
            credentials=auth,
            check_redirect=stay_on_origin(self._api_origin, "GitLab's API") if api else None,
        )

    def _get_json(self, url: str, auth: list[OriginCredentials], what: str) -> Any:
        response = self._get(url, auth)
        raise_for_status(response, what=what)
        return parse_json(response)


#: How UrlReaders finds this reader (Backstage reader order 80).
READER_FACTORY = ReaderFactory(
    name="gitlab",
    order=80,
    create=integration_readers(
        "gitlab",
        lambda integration, context: GitlabUrlReader(
            integration, http=context.http, tree=context.tree
        ),
    ),
)

__all__ = ["READER_FACTORY", "GitlabUrlReader"]
