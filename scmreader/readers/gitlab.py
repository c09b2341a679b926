"""Reading files, trees and glob searches from GitLab (gitlab.com and self-managed).

The flow is :mod:`scmreader.readers._git`'s; this module holds GitLab's primitives. Requests
per call (the project is addressed by its URL-encoded path, so no id lookup is needed):

- ``read_url``: one GET of ``/projects/<path>/repository/files/<file>/raw``; its etag is the
  ``X-Gitlab-Blob-Id`` header (GitLab sends no ETag there and never answers 304). With an
  etag, a ``HEAD`` of ``/repository/files/<file>`` (headers only) comes first, so an
  unchanged file costs that one request and no content. Job artifact URLs
  (``/-/jobs/artifacts/<ref>/raw/<file>?job=<name>``) are one GET of the jobs API.
- ``read_tree``: one commits lookup (the latest commit touching the sub-path: that is the
  etag, so it changes only when that sub-tree changes), then the archive of exactly that
  commit and sub-path; an unchanged tree costs the lookup. A URL without a branch adds
  one project lookup (cached per project).
- ``search`` (glob): the commits lookup for the glob's static prefix (the etag), then the
  recursive tree listing of that prefix (100 entries a page), and one raw GET per matched
  file whose ``content()`` is read.

Branches and tags with ``/`` work: when the first segment after ``blob``/``tree`` is not a
ref, the project's branches and tags starting with it are listed (``?search=^<first>``)
and the longest match wins. Next-page ``Link`` headers are built by GitLab from its
external URL, which may not be the ``apiBaseUrl`` configured here: links whose path is the
API's own are re-based onto ``apiBaseUrl``, any other link is refused.

Credentials (``Authorization: Bearer``, from :func:`get_gitlab_request_options`) are bound
to the API's origin; archive and artifact downloads may be redirected without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import InvalidUrlError, NotFoundError, UpstreamError
from scmreader.http import credentials_for, parse_json, read_text
from scmreader.integrations._common import SearchParams, decode_component
from scmreader.integrations.gitlab import (
    GitLabIntegration,
    get_gitlab_integration_relative_path,
    get_gitlab_request_options,
)
from scmreader.readers._git import GitArchive, GitHostReader, GitLocation, Page, browse_parts
from scmreader.readers._listing import DiscoveryTarget, Repository, literal_prefix, split_browse
from scmreader.readers.base import ReaderFactory, integration_readers, read_url_response
from scmreader.readers.types import ReadUrlResponse, SearchResponse
from scmreader.redact import redact_url, register_secret
from scmreader.urls import (
    encode_path,
    encode_uri_component,
    is_commit_sha,
    parse_url,
    reject_traversal,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_ARTIFACTS = "/-/jobs/artifacts/"
_PAGE_SIZE = 100


class GitlabUrlReader(GitHostReader):
    """Reads from one configured GitLab host (``gitlab{host=...,authed=...}``)."""

    name = "gitlab"
    service = "GitLab's API"
    conditional_reads = False

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
        self._setup(
            http=http,
            tree=tree,
            api_origin=parse_url(config.api_base_url).origin,
            max_pages=max_tree_pages,
        )
        self.integration = integration
        self._config = config
        self._api = config.api_base_url
        self._relative = get_gitlab_integration_relative_path(config)

    # --- job artifacts (GitLab's own URL kind) -------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file (``/<project>/-/blob/<ref>/<path>``) or one job artifact (which
        takes no conditions)."""
        path = parse_url(url).path
        if _ARTIFACTS not in path:
            if "/blob/" not in path and "/-/raw/" not in path:
                raise InvalidUrlError(
                    f"Incorrect URL: {redact_url(url)}; read_url takes a file URL with /blob/ "
                    f"(https://{self._config.host}{self._relative}/<group>/<project>/-/blob/"
                    "<ref>/<path>)."
                )
            return super().read_url(
                url, etag=etag, last_modified_after=last_modified_after, token=token
            )
        loc = GitLocation(key="", ref="", path="", url=url, auth=self._auth(token))
        response = self._get(self._artifact_url(url), loc, api=False)
        self._check(response, url)
        return read_url_response(response, self._http)

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search for blob URLs with glob syntax, else one file (artifacts too)."""
        if _ARTIFACTS in parse_url(url).path:
            return self.search_exact(url, etag=etag, token=token)
        return super().search(url, etag=etag, token=token)

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

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        parsed = parse_url(url)
        if "/-/raw/" in parsed.path:  # GitLab's raw view names the same file
            url = str(parsed).replace("/-/raw/", "/-/blob/", 1)
        form = f"https://{self._config.host}{self._relative}/<group>/<project>/-/blob/<ref>/<path>"
        git = browse_parts(url, kinds=("blob", "tree"), need_path=need_path, form=form)
        project = self._strip_relative(git.full_name, url)
        return GitLocation(
            key=project.casefold(),
            ref=git.ref,
            path=git.filepath,
            url=url,
            native=project,
            auth=self._auth(token),
        )

    def _default_branch(self, loc: GitLocation) -> str:
        body = self._get_json(self._project_api(loc), loc, loc.url)
        branch = body.get("default_branch") if isinstance(body, dict) else None
        if not isinstance(branch, str) or not branch:
            raise NotFoundError(
                f"GitLab names no default branch for {loc.native} (the repository may be "
                "empty); put a branch in the URL.",
                status=404,
                url=redact_url(loc.url),
            )
        return branch

    def _list_refs(self, loc: GitLocation, first: str) -> list[str]:
        # https://docs.gitlab.com/ee/api/branches.html#list-repository-branches (search=^x)
        names: list[str] = []
        for kind in ("branches", "tags"):
            params = SearchParams()
            params.set("search", f"^{first}")
            params.set("per_page", str(_PAGE_SIZE))
            listing = f"{self._project_api(loc)}/repository/{kind}?{params}"
            for item in self._pages(listing, loc, self._page):
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    names.append(item["name"])
        return names

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        """The latest commit on ``ref`` touching ``path`` (GitLab lists none for an
        unknown ref, or a path that is not there)."""
        sha = str(self._latest_commit(loc, ref, path).get("id") or "")
        if not sha:
            what = f"no '{path}' on" if path else "no branch, tag or commit"
            raise NotFoundError(
                f"{redact_url(loc.url)} could not be read: GitLab project {loc.native} on "
                f"{self._config.host} has {what} '{ref}'; check the URL, and that the "
                "credentials can see the project.",
                status=404,
                url=redact_url(loc.url),
            )
        return sha

    def _latest_commit(self, loc: GitLocation, ref: str, path: str) -> dict[str, Any]:
        """The newest commit on ``ref`` that touched ``path`` ({} when GitLab lists none)."""
        params = SearchParams()
        params.set("ref_name", ref)
        if path:
            params.set("path", path)
        params.set("per_page", "1")
        response = self._get(f"{self._project_api(loc)}/repository/commits?{params}", loc)
        if response.status_code == 404 and "Project" not in read_text(response):
            response.close()
            return {}  # GitLab's answer for an unknown ref
        self._check(response, loc.url)
        body = parse_json(response)
        if not isinstance(body, list):
            raise UpstreamError(
                f"GitLab answered the commits lookup for {redact_url(loc.url)} with something "
                "other than a list; check apiBaseUrl.",
                url=redact_url(loc.url),
            )
        first = body[0] if body else {}
        if body and not (isinstance(first, dict) and is_commit_sha(str(first.get("id")))):
            raise UpstreamError(f"GitLab listed a commit without a valid id for {loc.native}.")
        return first if isinstance(first, dict) else {}

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        params = SearchParams()
        params.set("sha", commit)
        if path:
            params.set("path", path)
        archive = f"{self._project_api(loc)}/repository/archive?{params}"
        return GitArchive(self._get(archive, loc, api=False), subpath=path or None)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        params = SearchParams()
        if prefix:
            params.set("path", prefix)
        params.set("ref", commit)
        params.set("recursive", "true")
        params.set("per_page", str(_PAGE_SIZE))
        params.set("pagination", "keyset")
        first = f"{self._project_api(loc)}/repository/tree?{params}"
        return [
            str(item["path"])
            for item in self._pages(first, loc, self._page)
            if isinstance(item, dict)
            and item.get("type") == "blob"
            and isinstance(item.get("path"), str)
        ]

    def _page(self, response: requests.Response, body: Any, current: str) -> Page:
        """One GitLab page: ``Link: rel="next"`` (keyset, re-based onto apiBaseUrl) or
        ``x-next-page`` (offset)."""
        if not isinstance(body, list):
            raise UpstreamError(
                f"GitLab answered {redact_url(current)} with something other than a list.",
                url=redact_url(current),
            )
        link = response.links.get("next", {}).get("url")
        if link:
            return Page(body, self._rebased(response, str(link), self._api))
        number = response.headers.get("x-next-page", "").strip()
        if not number.isdigit():
            return Page(body, None)
        base, _, query = current.partition("?")
        params = SearchParams(query)
        params.set("page", number)
        return Page(body, f"{base}?{params}")

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        changed = None
        if last_modified_after is not None:  # GitLab sends no dates: ask the history
            changed = self._changed_at(loc, ref, path)
            self._raise_if_unchanged_since(loc.url, changed, last_modified_after, etag)
        response = self._get(self._file_api(loc, ref, path, raw=True), loc)
        self._check(response, loc.url)
        return ReadUrlResponse(
            self._stream(response),
            etag=response.headers.get("X-Gitlab-Blob-Id"),
            last_modified_at=changed,
        )

    def _changed_at(self, loc: GitLocation, ref: str, path: str) -> datetime | None:
        when = self._latest_commit(loc, ref, path).get("committed_date")
        try:
            return datetime.fromisoformat(when) if isinstance(when, str) else None
        except ValueError:
            return None

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        # https://docs.gitlab.com/ee/api/repository_files.html#get-file-metadata-only (HEAD)
        response = self._get(self._file_api(loc, ref, path, raw=False), loc, method="HEAD")
        self._check(response, loc.url)
        blob = response.headers.get("X-Gitlab-Blob-Id", "")
        response.close()
        if not blob:
            raise UpstreamError(
                f"GitLab sent no X-Gitlab-Blob-Id for {redact_url(loc.url)}; a proxy in "
                "between may strip it.",
                url=redact_url(loc.url),
            )
        return blob

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        parsed = parse_url(loc.url)
        kind = "-/blob" if "/-/" in parsed.path else "blob"
        project = encode_path(str(loc.native))
        return (
            f"{parsed.origin}{self._relative}/{project}/{kind}/{encode_path(ref)}/"
            f"{encode_path(path)}"
        )

    # --- URLs and credentials ------------------------------------------------------------

    def _file_api(self, loc: GitLocation, ref: str, path: str, *, raw: bool) -> str:
        params = SearchParams()
        params.set("ref", ref)
        files = f"{self._project_api(loc)}/repository/files/{encode_uri_component(path)}"
        return f"{files}{'/raw' if raw else ''}?{params}"

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

    # --- listing (discovery) ---------------------------------------------------------------

    recursive_owners = True

    def _discovery_target(self, url: str) -> DiscoveryTarget:
        """``<group...>/<project>/-/blob/<ref>/<path>`` (the uniform form), or Backstage's
        ``<group...>/blob/<ref>/<path>``: every project of the group and its subgroups,
        where ``*`` as the ref (like ``-``) means each project's default branch."""
        form = (
            f"https://{self._config.host}{self._relative}/<group>/<project or pattern>/-/blob/"
            "<ref or ->/<path>"
        )
        target = split_browse(url, ("blob", "tree"), form=form)
        if "/-/" not in parse_url(url).path:  # Backstage's form names the group only
            group = f"{target.owner}/{target.repo}".strip("/")
            ref = "-" if target.ref == "*" else target.ref
            target = replace(target, owner=group, repo="*", ref=ref)
        owner = self._strip_relative(f"{target.owner}/{target.repo}", url).rpartition("/")[0]
        if not literal_prefix(owner):
            raise InvalidUrlError(
                f"Start {redact_url(url)} with a literal top-level group: GitLab lists a "
                "group's projects, not the whole instance's."
            )
        return replace(target, owner=owner, origin=target.origin + self._relative)

    def _list_owner(self, owner: str, token: str | None, origin: str) -> Iterator[Repository]:
        # https://docs.gitlab.com/ee/api/groups.html#list-projects
        loc = self._listing_location(f"{self._config.base_url}/{owner}", self._auth(token))
        params = SearchParams()
        for key, value in (("include_subgroups", "true"), ("order_by", "path"), ("sort", "asc")):
            params.set(key, value)
        params.set("per_page", str(_PAGE_SIZE))
        first = f"{self._api}/groups/{encode_uri_component(owner)}/projects?{params}"
        for item in self._pages(first, loc, self._page):
            path = item.get("path_with_namespace") if isinstance(item, dict) else None
            if isinstance(path, str) and "/" in path:
                group, _, name = path.rpartition("/")
                yield Repository(
                    owner=group,
                    name=name,
                    default_branch=str(item.get("default_branch") or ""),
                    archived=bool(item.get("archived")),
                    fork="forked_from_project" in item,
                    disabled=item.get("repository_access_level") == "disabled",
                    empty=bool(item.get("empty_repo")),
                )

    def _discovery_url(self, target: DiscoveryTarget, repo: Repository, ref: str) -> str:
        return (
            f"{target.origin}/{encode_path(repo.full_name)}/-/blob/"
            f"{encode_path(ref or 'HEAD')}/{encode_path(target.path)}"
        )

    def _project_api(self, loc: GitLocation) -> str:
        return f"{self._api}/projects/{encode_uri_component(str(loc.native))}"

    def _auth(self, token: str | None) -> list[Any]:
        if token:
            register_secret(token)
        headers = get_gitlab_request_options(self._config, token)["headers"]
        return credentials_for(self._api, headers)


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
