"""Reading files, trees and glob searches from Bitbucket Server / Data Center.

Requests per call (``{repo}`` = ``{apiBaseUrl}/projects/{key}/repos/{slug}``):

- ``read_url``: one GET of ``{repo}/raw/{path}?at={ref}`` (conditional headers sent);
- ``read_tree``: the commit lookup, then ``{repo}/archive?format=tgz&at={commit}`` with the
  sub-path; an unchanged tree stops after the lookup. The lookup is one
  ``branches?filterText=`` request per 100 candidates (usually one), or none for a URL
  whose ``at`` is a full commit id; a URL without ``at`` asks ``default-branch`` first
  (``branches/default`` on servers older than 7.5, which answers with the commit at once);
- ``search`` (glob): the commit lookup, one ``{repo}/files/{static prefix}`` listing per
  1000 files, and one raw GET per matched file whose ``content()`` is read.

Beyond Backstage:

- the branch lookup follows ``nextPageStart`` until the exact branch is found (Backstage
  reads only the first page, so a branch sorted behind 25 others with the same prefix
  was "not found"); ``at=refs/heads/x``, tags and full commit ids work too;
- the archive is requested at the looked-up commit, so tree and etag always agree;
- a glob search lists only the glob's static prefix and downloads only matches, instead
  of the whole archive;
- no fixed 1 request/second throttle (Backstage's made large catalogs unusable): retries
  and rate-limit waits come from the shared client;
- the ``token`` option is honoured (``Authorization: Bearer``).

Credentials (Bearer ``token``, else Basic ``username:password``, from
:func:`get_bitbucket_server_request_options`) are bound to the API's origin; API requests
may only be redirected within it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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
    stay_on_origin,
    unexpected_answer,
)
from scmreader.integrations._common import SearchParams
from scmreader.integrations.bitbucket_server import (
    BitbucketServerIntegration,
    get_bitbucket_server_default_branch_urls,
    get_bitbucket_server_download_url,
    get_bitbucket_server_file_fetch_url,
    get_bitbucket_server_request_options,
    read_bitbucket_server_default_branch,
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
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_URL_FORM = "https://<host>/projects/<KEY>/repos/<repo>/browse/<path>?at=<branch>"
_REF_PAGE = 100
_FILES_PAGE = 1000
_HEADS, _TAGS = "refs/heads/", "refs/tags/"


class BitbucketServerUrlReader(BaseUrlReader):
    """Reads from one configured Bitbucket Server host (``bitbucketServer{host=...}``)."""

    name = "bitbucketServer"

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
        self.integration = integration
        self._config = config
        self._http = http
        self._tree = tree
        self._max_pages = max_pages
        self._api_origin = parse_url(config.api_base_url).origin

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file: ``/projects/P/repos/r/browse/<path>?at=<ref>`` (or ``raw``).

        Raises NotModifiedError (etag or date still match), NotFoundError and
        InvalidUrlError for URLs that name no file.
        """
        git = self._parse(url)
        if not git.filepath.strip("/") or git.filepathtype not in ("browse", "raw", "src"):
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}; expected {_URL_FORM}.")
        fetch_url = get_bitbucket_server_file_fetch_url(url, self._config)
        response = self._get(
            fetch_url, self._auth(token), headers=conditional_headers(etag, last_modified_after)
        )
        raise_for_status(response, what=url)
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
        """Read the tree at ``url`` (the default branch when it has no ``at``).

        The etag is the first 12 characters of the commit id (as Backstage's); passing the
        current one raises NotModifiedError before the archive is requested.
        """
        git = self._parse(url)
        auth = self._auth(token)
        commit = self._commit(url, git, auth)
        short = commit[:12]
        self._raise_if_not_modified(url, etag, short)
        archive_url = get_bitbucket_server_download_url(url, self._config, ref=commit)
        response = self._get(archive_url, auth, api=False)
        raise_for_status(response, what=url)
        return self._tree.from_tar_archive(
            body_stream(response, self._http),
            etag=short,
            subpath=git.filepath.strip("/") or None,
            filter=filter,
        )

    # --- search ------------------------------------------------------------------------

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search when the URL's (decoded) file path has glob syntax, else one file."""
        if is_glob(self._parse(url).filepath):
            return self.search_glob(url, etag=etag, token=token)
        return self.search_exact(url, etag=etag, token=token)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files matching the glob in the URL's path, with lazily fetched contents.

        Only the glob's static prefix is listed; the etag is the 12-character commit id,
        as for read_tree. Result URLs are browse URLs with the input's ``at``.
        """
        git = self._parse(url)
        auth = self._auth(token)
        commit = self._commit(url, git, auth)
        short = commit[:12]
        self._raise_if_not_modified(url, etag, short)
        pattern = git.filepath.strip("/")
        matches = glob_matcher(pattern)
        browse = self._browse_prefix(url, git)
        files = [
            SearchResponseFile(
                url=browse(path), _content=self._file_reader(git, path, commit, auth)
            )
            for path in self._list_files(url, git, commit, glob_static_prefix(pattern), auth)
            if matches(path)
        ]
        return SearchResponse(files=files, etag=short)

    def _list_files(
        self, url: str, git: GitUrl, commit: str, prefix: str, auth: list[OriginCredentials]
    ) -> list[str]:
        folder = f"/{encode_path(prefix)}" if prefix else ""
        params = SearchParams()
        params.set("at", commit)
        params.set("limit", str(_FILES_PAGE))
        try:
            names = list(self._pages(url, f"{self._repo_api(git)}/files{folder}", params, auth))
        except NotFoundError:
            return []  # the static prefix is not a folder: nothing can match
        if not all(isinstance(n, str) for n in names):
            raise UpstreamError(
                f"Bitbucket Server listed something other than file paths for "
                f"{redact_url(url)}; check apiBaseUrl.",
                url=redact_url(url),
            )
        return [f"{prefix}/{n}" if prefix else str(n) for n in names]

    def _file_reader(
        self, git: GitUrl, path: str, commit: str, auth: list[OriginCredentials]
    ) -> Callable[[], bytes]:
        def read() -> bytes:
            params = SearchParams()
            params.set("at", commit)
            raw = f"{self._repo_api(git)}/raw/{encode_path(path)}?{params}"
            response = self._get(raw, auth)
            raise_for_status(response, what=f"{path} of {git.full_name}@{commit}")
            return body_stream(response, self._http).read()

        return read

    @staticmethod
    def _browse_prefix(url: str, git: GitUrl) -> Callable[[str], str]:
        """Builds a file's URL: the input URL with its file path replaced (query kept)."""
        parsed = parse_url(url)
        segments = parsed.path.rstrip("/").split("/")
        base = "/".join(segments[: len(segments) - len(git.filepath.strip("/").split("/"))])
        query = f"?{parsed.query}" if parsed.query else ""
        return lambda path: f"{parsed.origin}{base}/{encode_path(path)}{query}"

    # --- branches, tags and commits ------------------------------------------------------

    def _commit(self, url: str, git: GitUrl, auth: list[OriginCredentials]) -> str:
        """The full commit id the URL's ``at`` names (the default branch without one)."""
        ref = git.ref
        if not ref:
            return self._default_commit(url, git, auth)
        if is_commit_sha(ref):
            return ref.lower()
        if ref.startswith(_TAGS):
            kinds = [("tags", ref[len(_TAGS) :])]
        elif ref.startswith(_HEADS):
            kinds = [("branches", ref[len(_HEADS) :])]
        else:
            kinds = [("branches", ref), ("tags", ref)]
        for kind, name in kinds:
            found = self._find_ref(url, git, kind, name, auth)
            if found is not None:
                return found
        raise NotFoundError(
            f"{redact_url(url)} could not be read: Bitbucket Server has no branch or tag "
            f"'{ref}' in {git.owner}/{git.name}, or the credentials cannot see the "
            "repository; check the URL's ?at= and the credentials.",
            status=404,
            url=redact_url(url),
        )

    def _find_ref(
        self, url: str, git: GitUrl, kind: str, name: str, auth: list[OriginCredentials]
    ) -> str | None:
        """The latest commit of the branch or tag ``name``, reading every page of the
        ``filterText`` matches (they are substring matches, the exact one may be late)."""
        params = SearchParams()
        params.set("filterText", name)
        params.set("limit", str(_REF_PAGE))
        for ref in self._pages(url, f"{self._repo_api(git)}/{kind}", params, auth):
            if isinstance(ref, dict) and ref.get("displayId") == name:
                return self._latest_commit(ref, url)
        return None

    def _default_commit(self, url: str, git: GitUrl, auth: list[OriginCredentials]) -> str:
        current, legacy = get_bitbucket_server_default_branch_urls(url, self._config)
        response = self._get(current, auth)
        if response.status_code == 404:
            response.close()
            response = self._get(legacy, auth)  # Bitbucket before 7.5
        raise_for_status(response, what=url)
        body = parse_json(response)
        if isinstance(body, dict) and body.get("latestCommit"):
            return self._latest_commit(body, url)
        name = read_bitbucket_server_default_branch(body, url)
        found = self._find_ref(url, git, "branches", name, auth)
        if found is None:
            raise NotFoundError(
                f"Bitbucket Server names '{name}' as the default branch of {git.owner}/"
                f"{git.name} but does not list it; put a branch in the URL with ?at=.",
                status=404,
                url=redact_url(url),
            )
        return found

    @staticmethod
    def _latest_commit(ref: Mapping[str, Any], url: str) -> str:
        sha = ref.get("latestCommit")
        if not isinstance(sha, str) or not is_commit_sha(sha):
            raise UpstreamError(
                f"Bitbucket Server gave no commit id for the branch of {redact_url(url)}; "
                "the host or a proxy in between sent something unexpected.",
                url=redact_url(url),
            )
        return sha

    def _pages(
        self, url: str, endpoint: str, params: SearchParams, auth: list[OriginCredentials]
    ) -> Iterator[Any]:
        """The ``values`` of a paged API answer, following ``nextPageStart``."""
        start: int | None = 0
        for _ in range(self._max_pages):
            if start is None:
                return
            if start:
                params.set("start", str(start))
            response = self._get(f"{endpoint}?{params}", auth)
            raise_for_status(response, what=url)
            body = parse_json(response)
            values = body.get("values") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise unexpected_answer(response, "is not a paged list (no 'values')")
            yield from values
            following = body.get("nextPageStart")
            if body.get("isLastPage", True) is not False:
                start = None
            elif not isinstance(following, int) or following <= start:
                raise unexpected_answer(response, "has no usable nextPageStart")
            else:
                start = following
        if start is not None:
            raise UpstreamError(
                f"Listing for {redact_url(url)} did not end after {self._max_pages} pages; "
                "the host's paging loops or the listing is too large. Name the branch "
                "exactly or start the glob with a longer fixed folder.",
                url=redact_url(url),
            )

    # --- URLs and HTTP -------------------------------------------------------------------

    def _parse(self, url: str) -> GitUrl:
        try:
            git = parse_git_url(url)
        except InvalidUrlError as exc:
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}, {exc}") from None
        if not git.owner or not git.name or git.filepathtype not in ("", "browse", "raw", "src"):
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}; expected {_URL_FORM}.")
        return git

    def _repo_api(self, git: GitUrl) -> str:
        owner, name = encode_uri_component(git.owner), encode_uri_component(git.name)
        return f"{self._config.api_base_url}/projects/{owner}/repos/{name}"

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        if token:
            register_secret(token)
            headers: Mapping[str, str] = {"Authorization": f"Bearer {token}"}
        else:
            headers = get_bitbucket_server_request_options(self._config)["headers"]
        return credentials_for(self._api_origin, headers)

    def _get(
        self,
        url: str,
        auth: list[OriginCredentials],
        *,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
    ) -> requests.Response:
        """GET through the shared client; API requests stay on the API origin, archive
        downloads may be redirected (credentials never follow to another origin)."""
        return self._http.get(
            url,
            headers=headers,
            credentials=auth,
            check_redirect=stay_on_origin(self._api_origin, "Bitbucket Server's API")
            if api
            else None,
        )


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
