"""Reading files, trees and glob searches from Bitbucket Server / Data Center.

The flow is :mod:`scmreader.readers._git`'s; this module holds Bitbucket Server's
primitives. Requests per call (``{repo}`` = ``{apiBaseUrl}/projects/{key}/repos/{slug}``):

- ``read_url``: ``{repo}/commits?path=&until={ref}&limit=1`` (the last commit touching
  the file: the etag, as whether the raw endpoint sends ETags is not documented), then
  ``{repo}/raw/{path}?at={that commit}``; an unchanged file stops after the lookup;
- ``read_tree``: the commit lookup, then ``{repo}/archive?format=tgz&at={commit}`` with the
  sub-path; an unchanged tree stops after the lookup. The lookup is one
  ``branches?filterText=`` request per 100 candidates (usually one), or none for a URL
  whose ``at`` is a full commit id; a URL without ``at`` asks ``default-branch`` first
  (``branches/default`` on servers older than 7.5; its ``204`` on an empty repository is
  a NotFoundError);
- ``search`` (glob): the commit lookup, one ``{repo}/files/{static prefix}`` listing per
  1000 files, and one raw GET per matched file whose ``content()`` is read.

The ref is the URL's ``at`` query parameter, so names with ``/`` need no resolution.
Beyond Backstage: the branch lookup follows ``nextPageStart`` until the exact branch is
found; ``at=refs/heads/x``, tags and full commit ids work; the archive is requested at the
looked-up commit; a glob search downloads only matches; no fixed 1 request/second
throttle; the ``token`` option is honoured (Bearer).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import InvalidUrlError, NotFoundError, UpstreamError
from scmreader.http import parse_json, unexpected_answer
from scmreader.integrations._common import SearchParams, decode_component
from scmreader.integrations.bitbucket_server import (
    BitbucketServerIntegration,
    get_bitbucket_server_default_branch_urls,
    get_bitbucket_server_download_url,
    get_bitbucket_server_request_options,
    read_bitbucket_server_default_branch,
)
from scmreader.readers._git import GitArchive, GitHostReader, GitLocation, Page, browse_parts
from scmreader.readers._listing import DiscoveryTarget, Repository
from scmreader.readers.base import ReaderFactory, integration_readers, read_url_response
from scmreader.readers.types import ReadUrlResponse
from scmreader.redact import redact_url
from scmreader.urls import (
    encode_path,
    encode_uri_component,
    is_commit_sha,
    parse_url,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient, OriginCredentials
    from scmreader.readers.tree import TreeResponseFactory

_URL_FORM = "https://<host>/projects/<KEY>/repos/<repo>/browse/<path>?at=<branch>"
_REF_PAGE = 100
_FILES_PAGE = 1000
_HEADS, _TAGS = "refs/heads/", "refs/tags/"


class BitbucketServerUrlReader(GitHostReader):
    """Reads from one configured Bitbucket Server host (``bitbucketServer{host=...}``)."""

    name = "bitbucketServer"
    service = "Bitbucket Server's API"
    conditional_reads = False
    etag_length = 12  # Backstage's tree etag: the first 12 characters of the commit id

    def __init__(
        self,
        integration: BitbucketServerIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        max_pages: int = 1000,
    ) -> None:
        config = integration.config
        authed = bool(config.token or (config.username and config.password))
        super().__init__(host=config.host, authed=authed)
        origin = parse_url(config.api_base_url).origin
        self._setup(http=http, tree=tree, api_origin=origin, max_pages=max_pages)
        self.integration = integration
        self._config = config

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        kinds = ("browse", "raw", "src")
        git = browse_parts(url, kinds=kinds, need_path=need_path, form=_URL_FORM, ref_in_path=False)
        path = git.filepath.strip("/")
        owner, name = encode_uri_component(git.owner), encode_uri_component(git.name)
        return GitLocation(
            key=f"{git.owner}/{git.name}".casefold(),
            ref=git.ref,
            path=path,
            url=url,
            native=f"{self._config.api_base_url}/projects/{owner}/repos/{name}",
            auth=self._auth(token),
            exact=True,
        )

    def _default_branch(self, loc: GitLocation) -> str:
        return ""  # "at" left empty: Bitbucket reads the default branch itself

    def _default_commit(self, loc: GitLocation) -> str:
        current, legacy = get_bitbucket_server_default_branch_urls(loc.url, self._config)
        response = self._get(current, loc)
        if response.status_code == 404:
            response.close()
            response = self._get(legacy, loc)  # Bitbucket before 7.5
        if response.status_code == 204:  # an empty repository has no default branch
            response.close()
            raise NotFoundError(
                f"{redact_url(loc.url)} could not be read: the Bitbucket Server repository "
                f"{loc.key} is empty (no default branch); push a commit or name a ref.",
                status=404,
                url=redact_url(loc.url),
            )
        self._check(response, loc.url)
        body = parse_json(response)
        if isinstance(body, dict) and body.get("latestCommit"):  # branches/default has it
            return _commit_id(body.get("latestCommit"), loc.url)
        return self._commit(
            loc, _HEADS + read_bitbucket_server_default_branch(body, loc.url), "", None
        )

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        """The full commit id ``ref`` names (branch, tag, ``refs/...``, a commit id, or ''
        for the default branch)."""
        if not ref:
            return self._default_commit(loc)
        if is_commit_sha(ref):
            return ref.lower()
        if ref.startswith(_TAGS):
            kinds = [("tags", ref[len(_TAGS) :])]
        elif ref.startswith(_HEADS):
            kinds = [("branches", ref[len(_HEADS) :])]
        else:
            kinds = [("branches", ref), ("tags", ref)]
        for kind, name in kinds:
            params = SearchParams()
            params.set("filterText", name)
            params.set("limit", str(_REF_PAGE))
            for item in self._paged(f"{loc.native}/{kind}", params, loc):
                if isinstance(item, dict) and item.get("displayId") == name:
                    return _commit_id(item.get("latestCommit"), loc.url)
        raise NotFoundError(
            f"{redact_url(loc.url)} could not be read: Bitbucket Server has no branch or tag "
            f"'{ref}' in {loc.key}, or the credentials cannot see the repository; check the "
            "URL's ?at= and the credentials.",
            status=404,
            url=redact_url(loc.url),
        )

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        archive_url = get_bitbucket_server_download_url(loc.url, self._config, ref=commit)
        return GitArchive(self._get(archive_url, loc, api=False), subpath=path or None)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        folder = f"/{encode_path(prefix)}" if prefix else ""
        params = SearchParams()
        params.set("at", commit)
        params.set("limit", str(_FILES_PAGE))
        names = list(self._paged(f"{loc.native}/files{folder}", params, loc))
        if not all(isinstance(n, str) for n in names):
            raise UpstreamError(
                f"Bitbucket Server listed something other than file paths for "
                f"{redact_url(loc.url)}; check apiBaseUrl.",
                url=redact_url(loc.url),
            )
        return [f"{prefix}/{n}" if prefix else str(n) for n in names]

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        # /raw documents no Last-Modified, and so no If-Modified-Since: the last commit
        # touching the path gives the etag and the date, whatever the host sends. It is
        # asked first, so the content is never older than its etag; at a commit id (a
        # search match) the file cannot change, and the template asks only for an etag.
        commit: str | None = None
        changed: datetime | None = None
        if last_modified_after is not None or not is_commit_sha(ref):
            commit, changed = self._last_commit(loc, ref, path)
            self._raise_if_unchanged_since(loc.url, changed, last_modified_after, commit)
        params = SearchParams()
        params.set("at", ref)
        response = self._get(f"{loc.native}/raw/{encode_path(path)}?{params}", loc)
        self._check(response, loc.url)
        read = read_url_response(response, self._http)
        read.etag = commit
        read.last_modified_at = changed or read.last_modified_at
        return read

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """The last commit on ``ref`` that touched ``path``."""
        return self._last_commit(loc, ref, path)[0]

    def _last_commit(self, loc: GitLocation, ref: str, path: str) -> tuple[str, datetime | None]:
        """The id and commit time of the last commit on ``ref`` that touched ``path``."""
        params = SearchParams()
        params.set("path", path)
        if ref:
            params.set("until", ref)
        params.set("limit", "1")
        body = self._get_json(f"{loc.native}/commits?{params}", loc, loc.url)
        values = body.get("values") if isinstance(body, dict) else None
        if not values:
            raise NotFoundError(
                f"{redact_url(loc.url)} could not be read: Bitbucket Server lists no commit "
                f"touching {path!r} at {ref or 'the default branch'}; check the path.",
                status=404,
                url=redact_url(loc.url),
            )
        last = values[0] if isinstance(values[0], dict) else {}
        stamp = last.get("committerTimestamp")
        when = (
            datetime.fromtimestamp(stamp / 1000, tz=UTC)
            if isinstance(stamp, int | float) and not isinstance(stamp, bool)
            else None
        )
        return _commit_id(last.get("id"), loc.url), when

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        """The input URL with its file path replaced (query kept)."""
        parsed = parse_url(loc.url)
        segments = parsed.path.rstrip("/").split("/")
        base = "/".join(segments[: len(segments) - len(loc.path.split("/"))])
        query = f"?{parsed.query}" if parsed.query else ""
        return f"{parsed.origin}{base}/{encode_path(path)}{query}"

    # --- listing (discovery) ---------------------------------------------------------------

    def _discovery_target(self, url: str) -> DiscoveryTarget:
        """Backstage's ``/projects/<KEY>/repos/<repo>/<path>`` (path defaults to
        ``catalog-info.yaml``) or the browse form ``.../repos/<repo>/browse/<path>?at=<ref>``;
        wildcards in the project key and the repository; no ``at`` (or ``-``) = each
        repository's default branch."""
        parsed = parse_url(url)
        segments = [decode_component(s, url) for s in parsed.path.split("/") if s]
        if len(segments) < 4 or segments[0] != "projects" or segments[2] != "repos":
            raise InvalidUrlError(
                f"Incorrect discovery URL: {redact_url(url)}; expected https://<host>/projects/"
                "<KEY or pattern>/repos/<repo or pattern>/[browse/]<path>[?at=<ref>]."
            )
        rest = segments[5:] if segments[4:5] == ["browse"] else segments[4:]
        return DiscoveryTarget(
            owner=segments[1],
            repo=segments[3],
            ref=SearchParams(parsed.query).get("at") or "",
            path="/".join(rest) or "catalog-info.yaml",
            origin=parsed.origin,
        )

    def _list_owners(self, token: str | None, origin: str) -> Iterator[str]:
        # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-project/
        loc = self._listing_location(self._config.api_base_url, self._auth(token))
        params = SearchParams()
        params.set("limit", str(_REF_PAGE))
        for item in self._paged(f"{self._config.api_base_url}/projects", params, loc):
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                yield str(item["key"])

    def _list_owner(self, owner: str, token: str | None, origin: str) -> Iterator[Repository]:
        # .../api-group-project/ (get repositories for a project), paged by nextPageStart
        endpoint = f"{self._config.api_base_url}/projects/{encode_uri_component(owner)}/repos"
        loc = self._listing_location(endpoint, self._auth(token))
        params = SearchParams()
        params.set("limit", str(_REF_PAGE))
        for item in self._paged(endpoint, params, loc):
            if isinstance(item, dict) and isinstance(item.get("slug"), str):
                project = item.get("project")
                key = project.get("key") if isinstance(project, dict) else None
                yield Repository(
                    owner=str(key or owner),
                    name=str(item["slug"]),
                    archived=bool(item.get("archived")),
                    fork="origin" in item,
                    disabled=item.get("state") not in (None, "AVAILABLE"),
                )

    def _discovery_url(self, target: DiscoveryTarget, repo: Repository, ref: str) -> str:
        owner, name = encode_uri_component(repo.owner), encode_uri_component(repo.name)
        query = ""
        if ref:
            params = SearchParams()
            params.set("at", ref)
            query = f"?{params}"
        return (
            f"{target.origin}/projects/{owner}/repos/{name}/browse/{encode_path(target.path)}"
            f"{query}"
        )

    # --- paging and credentials ----------------------------------------------------------

    def _paged(self, endpoint: str, params: SearchParams, loc: GitLocation) -> Iterator[Any]:
        """The ``values`` of a paged API answer, following ``nextPageStart``."""

        def page(response: requests.Response, body: Any, current: str) -> Page:
            values = body.get("values") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise unexpected_answer(response, "is not a paged list (no 'values')")
            if body.get("isLastPage", True) is not False:
                return Page(values, None)
            following = body.get("nextPageStart")
            start = int(SearchParams(current.partition("?")[2]).get("start") or 0)
            if not isinstance(following, int) or following <= start:
                raise unexpected_answer(response, "has no usable nextPageStart")
            params.set("start", str(following))
            return Page(values, f"{endpoint}?{params}")

        return self._pages(f"{endpoint}?{params}", loc, page)

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        return self._call_auth(
            token, lambda: get_bitbucket_server_request_options(self._config)["headers"]
        )


def _commit_id(value: Any, url: str) -> str:
    if not isinstance(value, str) or not is_commit_sha(value):
        raise UpstreamError(
            f"Bitbucket Server gave no commit id for {redact_url(url)}; the host or a proxy "
            "in between sent something unexpected.",
            url=redact_url(url),
        )
    return value


#: How UrlReaders finds this reader (Backstage reader order 30).
READER_FACTORY = ReaderFactory(
    name="bitbucketServer",
    order=30,
    create=integration_readers(
        "bitbucketServer",
        lambda integration, context: BitbucketServerUrlReader(
            integration, http=context.http, tree=context.tree
        ),
    ),
)

__all__ = ["READER_FACTORY", "BitbucketServerUrlReader"]
