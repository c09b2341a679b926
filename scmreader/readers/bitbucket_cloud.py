"""Reading files, trees and glob searches from Bitbucket Cloud (bitbucket.org).

The flow is :mod:`scmreader.readers._git`'s; this module holds Bitbucket Cloud's
primitives. Requests per call:

- ``read_url``: one GET of the src API (``If-None-Match`` / ``If-Modified-Since`` sent);
- ``read_tree``: the repository (only when the URL names no branch), one commit lookup
  (``commits/{branch}?pagelen=1``), then the ``/get/{commit}.tar.gz`` archive from the web
  host; an unchanged tree stops after the commit lookup;
- ``search`` (glob): the commit lookup, one recursive src listing of the glob's static
  prefix per 100 entries, and one src GET per matched file whose ``content()`` is read.

Branches with ``/``: ``src/`` and ``commits/`` reject such names even percent-encoded
(BCLOUD-14674), so they are found with ``refs/branches?q=name="..."`` (and tags), and
files, trees and listings are then read at the commit hash. Which names exist comes from
``refs/branches?q=name ~ "<first segment>"`` (the template's rule for names with ``/``).

Beyond Backstage: the archive is asked for at the commit the lookup returned; a glob
search lists only the glob's static prefix; the ``token`` option is honoured (Bearer);
OAuth access tokens are fetched through the shared client, cached until ten minutes
before they expire, with one refresh in flight at a time. Credentials are bound to the
API origin and to the web origin (archives, OAuth).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import AuthenticationError, NotFoundError
from scmreader.http import (
    OriginCredentials,
    conditional_headers,
    parse_json,
    stay_on_origin,
    unexpected_answer,
)
from scmreader.integrations.bitbucket_cloud import (
    BitbucketCloudIntegration,
    OAuthToken,
    get_bitbucket_cloud_download_url,
    get_bitbucket_cloud_oauth_token_request,
    get_bitbucket_cloud_request_options,
    read_bitbucket_cloud_default_branch,
    read_bitbucket_cloud_oauth_token,
)
from scmreader.readers._git import GitArchive, GitHostReader, GitLocation, Page, browse_parts
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

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_PAGELEN = 100
_URL_FORM = "https://bitbucket.org/<workspace>/<repo>/src/<branch>/<path>"


class BitbucketCloudUrlReader(GitHostReader):
    """Reads from one configured Bitbucket Cloud account (``bitbucketCloud{host=...}``)."""

    name = "bitbucketCloud"
    service = "Bitbucket Cloud's API"
    etag_length = 12  # Backstage's tree etag: the first 12 characters of the commit hash

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
        api_origin = parse_url(config.api_base_url).origin
        self._setup(
            http=http, tree=tree, api_origin=api_origin, max_pages=max_list_requests, clock=clock
        )
        self.integration = integration
        self._config = config
        self._max_glob_depth = max_glob_depth
        self._web_origin = f"https://{config.host}"
        self._oauth_lock = threading.Lock()
        self._oauth: OAuthToken | None = None

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        git = browse_parts(url, kinds=("src", "raw"), need_path=need_path, form=_URL_FORM)
        repo = f"{encode_uri_component(git.owner)}/{encode_uri_component(git.name)}"
        return GitLocation(
            key=f"{git.owner}/{git.name}".lower(),
            ref=git.ref,
            path=git.filepath.strip("/"),
            url=url,
            native=repo,
            auth=self._auth(token),
        )

    def _default_branch(self, loc: GitLocation) -> str:
        body = self._get_json(self._repo_api(loc), loc, loc.url)
        return read_bitbucket_cloud_default_branch(body, loc.url)

    def _list_refs(self, loc: GitLocation, first: str) -> list[str]:
        # https://developer.atlassian.com/cloud/bitbucket/rest/api-group-refs/ (q=name ~ "x")
        return [
            name
            for name in self._refs(loc, f'name ~ "{_quoted(first)}"')
            if name == first or name.startswith(f"{first}/")
        ]

    def _refs(self, loc: GitLocation, query: str) -> list[str]:
        names: list[str] = []
        for kind in ("branches", "tags"):
            first = f"{self._repo_api(loc)}/refs/{kind}?q={encode_uri_component(query)}"
            for item in self._pages(f"{first}&pagelen={_PAGELEN}", loc, self._page):
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    names.append(item["name"])
        return names

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        if "/" in ref:
            return self._ref_target(loc, ref)
        commits = f"{self._repo_api(loc)}/commits/{encode_uri_component(ref)}?pagelen=1"
        response = self._get(commits, loc)
        if response.status_code == 404:
            response.close()
            raise self._missing(loc, ref)
        self._check(response, loc.url)
        body = parse_json(response)
        values = body.get("values") if isinstance(body, dict) else None
        first = values[0] if isinstance(values, list) and values else None
        sha = first.get("hash") if isinstance(first, dict) else None
        if not isinstance(sha, str) or len(sha) < 12:
            raise unexpected_answer(response, "names no commit hash for the branch")
        return sha

    def _ref_target(self, loc: GitLocation, ref: str) -> str:
        """The commit of a branch or tag whose name has ``/`` (``src/`` refuses those)."""
        for kind in ("branches", "tags"):
            query = encode_uri_component(f'name = "{_quoted(ref)}"')
            body = self._get_json(f"{self._repo_api(loc)}/refs/{kind}?q={query}", loc)
            for item in body.get("values", []) if isinstance(body, dict) else []:
                target = item.get("target") if isinstance(item, dict) else None
                sha = target.get("hash") if isinstance(target, dict) else None
                if item.get("name") == ref and isinstance(sha, str) and is_commit_sha(sha):
                    return sha
        raise self._missing(loc, ref)

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        archive_url = get_bitbucket_cloud_download_url(loc.url, self._config, ref=commit)
        return GitArchive(self._get(archive_url, loc, api=False), subpath=path or None)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        rest = pattern[len(prefix) :].strip("/").split("/")
        depth = self._max_glob_depth if any("**" in p for p in rest) else len(rest)
        folder = f"{encode_path(prefix)}/" if prefix else ""
        first = f"{self._repo_api(loc)}/src/{commit}/{folder}?max_depth={depth}"
        return [
            str(entry["path"])
            for entry in self._pages(f"{first}&pagelen={_PAGELEN}", loc, self._page)
            if isinstance(entry, dict)
            and entry.get("type") == "commit_file"
            and isinstance(entry.get("path"), str)
        ]

    def _page(self, response: requests.Response, body: Any, current: str) -> Page:
        """A Bitbucket page: ``values``, and ``next`` re-based onto the API's origin."""
        values = body.get("values") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise unexpected_answer(response, "is not a paginated list (no 'values')")
        link = body.get("next")
        if not isinstance(link, str) or not link:
            return Page(values, None)
        return Page(values, self._rebased(response, link, self._config.api_base_url))

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        at = self._ref_target(loc, ref) if "/" in ref else encode_uri_component(ref)
        response = self._get(
            f"{self._repo_api(loc)}/src/{at}/{encode_path(path)}",
            loc,
            headers=conditional_headers(etag, last_modified_after),
        )
        self._check(response, loc.url)
        return read_url_response(response, self._http)

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """The last commit touching the file (when no ETag came): ``filehistory``."""
        commit = self._commit(loc, ref, path, None)
        history = f"{self._repo_api(loc)}/filehistory/{commit}/{encode_path(path)}?pagelen=1"
        body = self._get_json(history, loc, loc.url)
        values = body.get("values") if isinstance(body, dict) else None
        first = values[0] if isinstance(values, list) and values else {}
        change = first.get("commit") if isinstance(first, dict) else None
        sha = change.get("hash") if isinstance(change, dict) else None
        return sha if isinstance(sha, str) and sha else commit

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        origin = parse_url(loc.url).origin
        return f"{origin}/{loc.native}/src/{encode_path(ref)}/{encode_path(path)}"

    # --- URLs, credentials and OAuth -----------------------------------------------------

    def _repo_api(self, loc: GitLocation) -> str:
        return f"{self._config.api_base_url}/repositories/{loc.native}"

    def _missing(self, loc: GitLocation, ref: str) -> NotFoundError:
        return NotFoundError(
            f"{redact_url(loc.url)} could not be read: Bitbucket Cloud has no branch, tag or "
            f"commit '{ref}' in {loc.key}, or the credentials cannot see the repository; "
            "check the URL and the credentials.",
            status=404,
            url=redact_url(loc.url),
        )

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        def configured() -> dict[str, str]:
            options = get_bitbucket_cloud_request_options(self._config, self._oauth_token)
            return dict(options["headers"])

        return self._call_auth(token, configured, also=(self._web_origin,))

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
                check_redirect=stay_on_origin(origin, self.service),
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
            self._check(response, "the Bitbucket Cloud OAuth token")
            self._oauth = read_bitbucket_cloud_oauth_token(parse_json(response), now=now)
            return self._oauth.token


def _quoted(name: str) -> str:
    """``name`` inside a double-quoted string of Bitbucket's query language."""
    return name.replace("\\", "\\\\").replace('"', '\\"')


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
