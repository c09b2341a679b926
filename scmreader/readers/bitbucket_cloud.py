"""Reading files, trees and glob searches from Bitbucket Cloud (bitbucket.org).

Requests per call:

- ``read_url``: one GET of the src API (``If-None-Match`` / ``If-Modified-Since`` sent);
- ``read_tree``: the repository (only when the URL names no branch), one commit lookup
  (``commits/{branch}?pagelen=1``), then the ``/get/{commit}.tar.gz`` archive from the web
  host; an unchanged tree stops after the commit lookup;
- ``search`` (glob): the commit lookup, one recursive src listing of the glob's static
  prefix per 100 entries, and one src GET per matched file whose ``content()`` is read.

Beyond Backstage:

- the archive is requested at the commit hash the lookup returned, not at the branch, so
  the tree and its etag always agree;
- a glob search lists only the glob's static prefix (src API with ``max_depth``) and
  downloads only the files it matches, instead of the whole repository archive;
- the ``token`` option is honoured (``Authorization: Bearer``);
- OAuth access tokens are fetched through the shared client, cached until ten minutes
  before they expire, with one refresh in flight at a time.

Credentials are bound to the API origin and to the web origin (archives, OAuth); API
requests may not be redirected elsewhere and credentials never follow a redirect to
another origin.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import (
    AuthenticationError,
    InputError,
    InvalidUrlError,
    NotFoundError,
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
from scmreader.integrations.bitbucket_cloud import (
    BitbucketCloudIntegration,
    OAuthToken,
    get_bitbucket_cloud_default_branch_url,
    get_bitbucket_cloud_download_url,
    get_bitbucket_cloud_file_fetch_url,
    get_bitbucket_cloud_oauth_token_request,
    get_bitbucket_cloud_request_options,
    read_bitbucket_cloud_default_branch,
    read_bitbucket_cloud_oauth_token,
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
    parse_git_url,
    parse_url,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_PAGELEN = 100
_URL_FORM = "https://bitbucket.org/<workspace>/<repo>/src/<branch>/<path>"


class BitbucketCloudUrlReader(BaseUrlReader):
    """Reads from one configured Bitbucket Cloud account (``bitbucketCloud{host=...}``)."""

    name = "bitbucketCloud"

    def __init__(
        self,
        integration: BitbucketCloudIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        max_list_requests: int = 1000,
        max_glob_depth: int = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        config = integration.config
        authed = bool(config.token or config.app_password or config.client_id)
        super().__init__(host=config.host, authed=authed)
        self.integration = integration
        self._config = config
        self._http = http
        self._tree = tree
        self._max_list_requests = max_list_requests
        self._max_glob_depth = max_glob_depth
        self._clock = clock
        self._api_origin = parse_url(config.api_base_url).origin
        self._web_origin = f"https://{config.host}"
        self._oauth_lock = threading.Lock()
        self._oauth: OAuthToken | None = None

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file: ``/{workspace}/{repo}/(src|raw)/{ref}/{path}``.

        Raises NotModifiedError (etag or date still match), NotFoundError and
        InvalidUrlError for other URL shapes.
        """
        fetch_url = get_bitbucket_cloud_file_fetch_url(url, self._config)
        response = self._get(
            fetch_url,
            token,
            headers=conditional_headers(etag, last_modified_after),
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
        """Read the tree at ``url`` (the default branch when it names none).

        The etag is the first 12 characters of the commit hash (as Backstage's); passing
        the current one raises NotModifiedError before the archive is requested.
        """
        git = self._parse(url)
        commit = self._commit(url, git, token)
        short = commit[:12]
        self._raise_if_not_modified(url, etag, short)
        archive_url = get_bitbucket_cloud_download_url(url, self._config, ref=commit)
        response = self._get(archive_url, token, api=False)
        raise_for_status(response, what=url)
        return self._tree.from_tar_archive(
            body_stream(response, self._http),
            etag=short,
            subpath=git.filepath.strip("/") or None,
            filter=filter,
        )

    # --- search ------------------------------------------------------------------------

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files matching the glob in the URL's path, with lazily fetched contents.

        Only the glob's static prefix is listed (src API, recursive up to the depth the
        glob can reach); the etag is the 12-character commit hash, as for read_tree.
        """
        git = self._parse(url)
        if not git.ref:
            raise InvalidUrlError(
                f"Incorrect URL: {redact_url(url)}; a glob search needs a branch: {_URL_FORM}"
            )
        commit = self._commit(url, git, token)
        short = commit[:12]
        self._raise_if_not_modified(url, etag, short)
        pattern = git.filepath.strip("/")
        matches = glob_matcher(pattern)
        src = f"{self._repo_api(git)}/src/{commit}"
        base = parse_url(url)
        web = f"{base.origin}/{self._repo_path(git)}/src/{encode_uri_component(git.ref)}"
        files = [
            SearchResponseFile(
                url=f"{web}/{encode_path(path)}",
                _content=self._file_reader(f"{src}/{encode_path(path)}", token),
            )
            for path in self._list_files(url, src, pattern, token)
            if matches(path)
        ]
        return SearchResponse(files=files, etag=short)

    def _list_files(self, url: str, src: str, pattern: str, token: str | None) -> list[str]:
        prefix = glob_static_prefix(pattern)
        rest = pattern[len(prefix) :].strip("/").split("/")
        depth = self._max_glob_depth if any("**" in p for p in rest) else len(rest)
        folder = f"{encode_path(prefix)}/" if prefix else ""
        listing = f"{src}/{folder}?max_depth={depth}&pagelen={_PAGELEN}"
        paths: list[str] = []
        try:
            for entry in self._pages(url, listing, token):
                if entry.get("type") == "commit_file" and isinstance(entry.get("path"), str):
                    paths.append(entry["path"])
        except NotFoundError:
            return []  # the static prefix is not a folder: nothing can match
        return sorted(paths)

    def _pages(self, url: str, first: str, token: str | None) -> Iterator[dict[str, Any]]:
        """The ``values`` of a paginated API answer, following ``next`` within the API."""
        next_url: str | None = first
        for _ in range(self._max_list_requests):
            if next_url is None:
                return
            response = self._get(next_url, token)
            raise_for_status(response, what=url)
            body = parse_json(response)
            values = body.get("values") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise unexpected_answer(response, "is not a paginated list (no 'values')")
            yield from (v for v in values if isinstance(v, dict))
            link = body.get("next")
            next_url = link if isinstance(link, str) and link else None
            if next_url is not None and parse_url(next_url).origin != self._api_origin:
                raise unexpected_answer(response, "points its next page at another host")
        raise InputError(
            f"Searching {redact_url(url)} needs more than {self._max_list_requests} listing "
            "pages (the folder is very large); start the glob with a longer fixed folder."
        )

    def _file_reader(self, fetch_url: str, token: str | None) -> Callable[[], bytes]:
        def read() -> bytes:
            response = self._get(fetch_url, token)
            raise_for_status(response, what=fetch_url)
            return body_stream(response, self._http).read()

        return read

    # --- repository, branch and commit -------------------------------------------------

    def _commit(self, url: str, git: GitUrl, token: str | None) -> str:
        branch = git.ref or self._default_branch(url, token)
        commits = f"{self._repo_api(git)}/commits/{encode_uri_component(branch)}?pagelen=1"
        response = self._get(commits, token)
        raise_for_status(
            response,
            what=url,
            not_found=(
                f"{redact_url(url)} could not be read: Bitbucket Cloud has no branch, tag or "
                f"commit '{branch}' in {git.owner}/{git.name}, or the credentials cannot "
                "see the repository; check the URL and the credentials."
            ),
        )
        body = parse_json(response)
        values = body.get("values") if isinstance(body, dict) else None
        first = values[0] if isinstance(values, list) and values else None
        sha = first.get("hash") if isinstance(first, dict) else None
        if not isinstance(sha, str) or len(sha) < 12:
            raise unexpected_answer(response, "names no commit hash for the branch")
        return sha

    def _default_branch(self, url: str, token: str | None) -> str:
        repo_url = get_bitbucket_cloud_default_branch_url(url, self._config)
        response = self._get(repo_url, token)
        raise_for_status(response, what=url)
        return read_bitbucket_cloud_default_branch(parse_json(response), url)

    def _repo_path(self, git: GitUrl) -> str:
        return f"{encode_uri_component(git.owner)}/{encode_uri_component(git.name)}"

    def _repo_api(self, git: GitUrl) -> str:
        return f"{self._config.api_base_url}/repositories/{self._repo_path(git)}"

    def _parse(self, url: str) -> GitUrl:
        try:
            git = parse_git_url(url)
        except InvalidUrlError as exc:
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}, {exc}") from None
        shape_ok = bool(git.owner and git.name) and (
            (git.filepathtype in ("src", "raw") and bool(git.ref)) or not git.filepathtype
        )
        if not shape_ok:
            raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}; expected {_URL_FORM}.")
        return git

    # --- credentials and HTTP ----------------------------------------------------------

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        if token:
            register_secret(token)
            headers: Mapping[str, str] = {"Authorization": f"Bearer {token}"}
        else:
            options = get_bitbucket_cloud_request_options(self._config, self._oauth_token)
            headers = options["headers"]
        return credentials_for(self._api_origin, headers) + (
            credentials_for(self._web_origin, headers)
            if self._web_origin != self._api_origin
            else []
        )

    def _oauth_token(self, client_id: str, client_secret: str) -> str:
        """A cached access token; one refresh at a time (others wait for its result)."""
        with self._oauth_lock:
            now = self._clock()
            if self._oauth is not None and now < self._oauth.expires_at:
                return self._oauth.token
            request = get_bitbucket_cloud_oauth_token_request(client_id, client_secret)
            origin = parse_url(request.url).origin
            headers = {k: v for k, v in request.headers.items() if k != "Authorization"}
            response = self._http.request(
                "POST",
                request.url,
                headers=headers,
                credentials=[
                    OriginCredentials(origin, {"Authorization": request.headers["Authorization"]})
                ],
                check_redirect=stay_on_origin(origin, "Bitbucket Cloud's API"),
                data=request.data,
            )
            if response.status_code in (400, 401):
                response.close()
                raise AuthenticationError(
                    f"Bitbucket Cloud refused the OAuth client credentials "
                    f"({response.status_code}); check clientId and clientSecret of the "
                    "bitbucketCloud integration and that the consumer is private.",
                    status=response.status_code,
                    url=redact_url(request.url),
                )
            raise_for_status(response, what="the Bitbucket Cloud OAuth token")
            self._oauth = read_bitbucket_cloud_oauth_token(parse_json(response), now=now)
            return self._oauth.token

    def _get(
        self,
        url: str,
        token: str | None,
        *,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
    ) -> requests.Response:
        """GET through the shared client; API requests stay on the API origin, archive
        downloads may be redirected (credentials are dropped once the chain leaves)."""
        return self._http.get(
            url,
            headers=headers,
            credentials=self._auth(token),
            check_redirect=stay_on_origin(self._api_origin, "Bitbucket Cloud's API")
            if api
            else None,
        )


#: How UrlReaders finds this reader (Backstage reader order 20).
READER_FACTORY = ReaderFactory(
    name="bitbucketCloud",
    order=20,
    create=integration_readers(
        "bitbucketCloud",
        lambda integration, context: BitbucketCloudUrlReader(
            integration, http=context.http, tree=context.tree
        ),
    ),
)

__all__ = ["READER_FACTORY", "BitbucketCloudUrlReader"]
