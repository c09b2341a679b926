"""Reading files, trees and glob searches from Gitea and Forgejo (``integrations.gitea[]``).

URLs look like ``<baseUrl>/<owner>/<repo>/src/<branch|tag|commit>/<ref>/<path>`` (the ref is
one segment, as in Backstage). Requests per call:

- ``read_url``: one GET of the contents API (``/api/v1/repos/o/r/contents/<path>?ref=``),
  whose JSON carries the file base64-encoded and its blob id. The blob id is the etag: a
  caller's etag is compared with it before anything is decoded (Gitea's contents API
  sends no validators of its own, so there is no 304 to ask for). Gitea sometimes answers
  ``[]`` for a file created a moment ago; that answer is asked again up to 3 times, 0.5 s
  apart (Backstage's workaround, bounded, with an injectable ``sleep``). A file larger
  than the API's inline limit comes without content: it is then streamed from the raw
  endpoint (``/raw/<path>?ref=``), one more request.
- ``read_tree``: one commit lookup (``/git/commits/<ref>``; Gitea versions before 1.17 take
  only commit ids there, so a 404 for a name is asked again as ``/branches/<ref>``) whose
  sha is the etag, then the ``tar.gz`` archive of exactly that commit (a push between the
  two requests cannot mix two states). An unchanged tree costs the one lookup.
- ``search`` (glob, which Backstage refuses for Gitea): the commit lookup (the etag), then
  the recursive git tree of that commit, 1000 entries a page, and one contents request
  per matched file whose ``content()`` is read. No archive is downloaded.

Credentials (``basic`` with username and password, else ``token <password>``, from
:func:`get_gitea_request_options`; a caller's ``token`` is sent as ``token <token>``) are
bound to the base URL's origin. API requests may only be redirected within it; archive
downloads may go elsewhere (object storage), without credentials. Gitea answers 403 when
credentials lack a scope: that is an AuthenticationError, as in Backstage.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import (
    AuthenticationError,
    InvalidUrlError,
    NotFoundError,
    NotModifiedError,
    UpstreamError,
)
from scmreader.http import (
    OriginCredentials,
    body_stream,
    credentials_for,
    parse_http_date,
    parse_json,
    raise_for_status,
    stay_on_origin,
    unexpected_answer,
)
from scmreader.integrations.gitea import (
    GiteaIntegration,
    GiteaUrl,
    get_gitea_request_options,
    parse_gitea_url,
)
from scmreader.readers.base import BaseUrlReader, ReaderFactory, integration_readers
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
    is_commit_sha,
    parse_url,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

_TREE_PAGE_SIZE = 1000
_URL_FORM = "<baseUrl>/<owner>/<repo>/src/branch/<branch>/<path>"


class GiteaUrlReader(BaseUrlReader):
    """Reads from one configured Gitea host (``gitea{host=...,authed=...}``)."""

    name = "gitea"

    def __init__(
        self,
        integration: GiteaIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        sleep: Callable[[float], None] = time.sleep,
        empty_retries: int = 3,
        empty_retry_wait: float = 0.5,
        max_tree_pages: int = 100,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=bool(config.password))
        self.integration = integration
        self._config = config
        self._http = http
        self._tree = tree
        self._sleep = sleep
        self._empty_retries = empty_retries
        self._empty_retry_wait = empty_retry_wait
        self._max_tree_pages = max_tree_pages
        self._origin = parse_url(config.base_url).origin

    # --- read_url ----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file. The etag is the file's blob id.

        Raises NotModifiedError (the etag still matches, or the file's last commit is not
        after ``last_modified_after``), NotFoundError, AuthenticationError (401/403) and
        InvalidUrlError for other URL shapes.
        """
        parsed = self._parse(url)
        if not parsed.path:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no file after the ref; use {_URL_FORM}."
            )
        return self._read_file(
            parsed, parsed.path, parsed.ref, self._auth(token), url, etag, last_modified_after
        )

    def _read_file(
        self,
        parsed: GiteaUrl,
        path: str,
        ref: str,
        auth: list[OriginCredentials],
        what: str,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
    ) -> ReadUrlResponse:
        query = f"ref={encode_uri_component(ref)}"
        contents = f"{self._repo_api(parsed)}/contents/{encode_path(path)}?{query}"
        body, response = self._contents(contents, auth, what)
        sha = body.get("sha")
        if not isinstance(sha, str) or not sha:
            raise unexpected_answer(response, "describes a file without a sha")
        if etag and _bare_etag(etag) == sha:
            self._raise_if_not_modified(what, sha, sha)
        modified = _last_modified(body, response)
        after = _aware(last_modified_after) if last_modified_after else None
        if after is not None and modified is not None and modified <= after:
            raise NotModifiedError(
                f"{redact_url(what)} has not changed since {after.isoformat()}.", etag=sha
            )
        kind = body.get("type")
        if kind == "symlink" and isinstance(body.get("target"), str):
            return ReadUrlResponse(body["target"].encode(), etag=sha, last_modified_at=modified)
        if kind != "file":
            raise NotFoundError(
                f"{redact_url(what)} is a {kind or 'thing'} in Gitea, not a file; "
                "read_url reads files, read_tree reads folders.",
                status=404,
                url=redact_url(contents),
            )
        encoding, content = body.get("encoding"), body.get("content")
        if encoding is None and content is None:
            raw = f"{self._repo_api(parsed)}/raw/{encode_path(path)}?{query}"
            stream = self._get(raw, auth)
            self._check(stream, what)
            return ReadUrlResponse(
                body_stream(stream, self._http), etag=sha, last_modified_at=modified
            )
        if encoding != "base64" or not isinstance(content, str):
            raise UpstreamError(
                f"Gitea sent {redact_url(what)} in an unknown encoding {encoding!r}; only "
                "base64 is understood. Check the Gitea version or a proxy in between.",
                status=response.status_code,
                url=redact_url(contents),
            )
        try:
            data = base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise unexpected_answer(response, "has content that is not valid base64") from None
        return ReadUrlResponse(data, etag=sha, last_modified_at=modified)

    def _contents(
        self, contents: str, auth: list[OriginCredentials], what: str
    ) -> tuple[dict[str, Any], requests.Response]:
        """The contents API's answer for one entry, asking again while Gitea answers ``[]``
        (it does for a file created a moment ago)."""
        attempts = self._empty_retries + 1
        for attempt in range(1, attempts + 1):
            response = self._get(contents, auth)
            self._check(response, what)
            body = parse_json(response)
            if isinstance(body, dict):
                return body, response
            if not isinstance(body, list):
                raise unexpected_answer(response, "is neither a file nor a folder listing")
            if body:
                raise NotFoundError(
                    f"{redact_url(what)} is a folder in Gitea, not a file; read_url reads "
                    "files, read_tree reads folders.",
                    status=404,
                    url=redact_url(contents),
                )
            if attempt < attempts:
                self._sleep(self._empty_retry_wait)
        raise UpstreamError(
            f"Gitea answered {redact_url(what)} with an empty listing {attempts} times; a "
            "file created a moment ago can do that. Try again in a few seconds.",
            status=200,
            url=redact_url(contents),
            attempts=attempts,
        )

    # --- read_tree ---------------------------------------------------------------------

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read the tree at ``url``. The etag is the commit the ref points at; passing the
        current one raises NotModifiedError before any download."""
        parsed = self._parse(url)
        auth = self._auth(token)
        sha = self._commit_sha(parsed, auth, url)
        self._raise_if_not_modified(url, etag, sha)
        archive = f"{self._repo_api(parsed)}/archive/{sha}.tar.gz"
        response = self._get(archive, auth, api=False)
        self._check(response, url)
        return self._tree.from_tar_archive(
            body_stream(response, self._http),
            etag=sha,
            subpath=parsed.path.strip("/") or None,
            filter=filter,
        )

    # --- search ------------------------------------------------------------------------

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files whose repository path matches the glob after the ref; etag = the commit.
        Only the git tree is listed; contents load lazily, pinned to that commit."""
        parsed = self._parse(url)
        if not parsed.path:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no glob after the ref; use {_URL_FORM}."
            )
        auth = self._auth(token)
        sha = self._commit_sha(parsed, auth, url)
        self._raise_if_not_modified(url, etag, sha)
        matches = glob_matcher(parsed.path)
        browse = self._browse_prefix(url)
        files = [
            SearchResponseFile(
                url=f"{browse}/{encode_path(path)}",
                _content=self._file_reader(parsed, path, sha, auth),
            )
            for path in self._list_blobs(parsed, sha, auth, url)
            if matches(path)
        ]
        return SearchResponse(files=files, etag=sha)

    def _list_blobs(
        self, parsed: GiteaUrl, sha: str, auth: list[OriginCredentials], url: str
    ) -> list[str]:
        blobs: list[str] = []
        for page in range(1, self._max_tree_pages + 1):
            query = f"recursive=true&per_page={_TREE_PAGE_SIZE}&page={page}"
            response = self._get(f"{self._repo_api(parsed)}/git/trees/{sha}?{query}", auth)
            self._check(response, url)
            body = parse_json(response)
            items = body.get("tree") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise unexpected_answer(response, "is not a git tree")
            for item in items:
                if isinstance(item, dict) and item.get("type") == "blob":
                    path = item.get("path")
                    if not isinstance(path, str):
                        raise unexpected_answer(response, "has a tree entry without a path")
                    blobs.append(path)
            if not body.get("truncated") or not items:
                return blobs
        raise UpstreamError(
            f"Listing {redact_url(url)} did not end after {self._max_tree_pages} pages; the "
            "repository is too large to search this way. Use read_tree with a filter instead."
        )

    def _file_reader(
        self, parsed: GiteaUrl, path: str, sha: str, auth: list[OriginCredentials]
    ) -> Callable[[], bytes]:
        def read() -> bytes:
            what = f"{path} of {parsed.owner}/{parsed.name}@{sha}"
            return self._read_file(parsed, path, sha, auth, what).buffer()

        return read

    def _browse_prefix(self, url: str) -> str:
        """``<baseUrl>/<owner>/<repo>/src/<kind>/<ref>`` exactly as the caller wrote it."""
        parsed = parse_url(url)
        base = parse_url(self._config.base_url).path.rstrip("/")
        parts = parsed.path[len(base) :].split("/")
        return f"{parsed.origin}{base}{'/'.join(parts[:6])}"

    # --- commits -------------------------------------------------------------------------

    def _commit_sha(self, parsed: GiteaUrl, auth: list[OriginCredentials], url: str) -> str:
        """The commit id the URL's ref names (branch, tag or commit)."""
        ref = encode_uri_component(parsed.ref)
        lookup = f"{self._repo_api(parsed)}/git/commits/{ref}?stat=false&verification=false"
        response = self._get(f"{lookup}&files=false", auth)
        key: tuple[str, ...] = ("sha",)
        if response.status_code == 404 and not is_commit_sha(parsed.ref):
            response.close()  # Gitea before 1.17 looks up commit ids only
            response = self._get(f"{self._repo_api(parsed)}/branches/{ref}", auth)
            key = ("commit", "id")
        if response.status_code == 404:
            response.close()
            raise NotFoundError(
                f"No branch, tag or commit '{parsed.ref}' in Gitea repository "
                f"{parsed.owner}/{parsed.name} on {self._config.host}; check the URL, and that "
                "the credentials can see the repository.",
                status=404,
                url=redact_url(url),
            )
        self._check(response, url)
        body: Any = parse_json(response)
        for name in key:
            body = body.get(name) if isinstance(body, dict) else None
        if not isinstance(body, str) or not is_commit_sha(body):
            raise unexpected_answer(response, "names no valid commit id")
        return body

    # --- URLs and HTTP -------------------------------------------------------------------

    def _parse(self, url: str) -> GiteaUrl:
        return parse_gitea_url(self._config, url)

    def _repo_api(self, parsed: GiteaUrl) -> str:
        repo = f"{encode_uri_component(parsed.owner)}/{encode_uri_component(parsed.name)}"
        return f"{parsed.url}/api/v1/repos/{repo}"

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        if token:
            register_secret(token)
            headers = {"Authorization": f"token {token}"}
        else:
            headers = get_gitea_request_options(self._config)["headers"]
        return credentials_for(self._config.base_url, headers)

    def _get(
        self, url: str, auth: list[OriginCredentials], *, api: bool = True
    ) -> requests.Response:
        return self._http.get(
            url,
            credentials=auth,
            check_redirect=stay_on_origin(self._origin, "Gitea's API") if api else None,
        )

    @staticmethod
    def _check(response: requests.Response, what: str) -> None:
        """Typed errors for error statuses; Gitea's 403 (a token without the needed scope)
        is an AuthenticationError, as Backstage maps it."""
        if response.status_code == 403:
            response.close()
            raise AuthenticationError(
                f"{redact_url(what)} could not be read: 403 Forbidden. Gitea refused the "
                "credentials; give the token the read:repository scope or use another one.",
                status=403,
                url=redact_url(response.url),
            )
        raise_for_status(response, what=what)


def _bare_etag(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _last_modified(body: dict[str, Any], response: requests.Response) -> datetime | None:
    when = body.get("last_commit_when")
    if isinstance(when, str) and when:
        try:
            return datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            pass
    return parse_http_date(response.headers.get("Last-Modified"))


#: How UrlReaders finds this reader (Backstage reader order 70).
READER_FACTORY = ReaderFactory(
    name="gitea",
    order=70,
    create=integration_readers(
        "gitea",
        lambda integration, context: GiteaUrlReader(
            integration, http=context.http, tree=context.tree
        ),
    ),
)

__all__ = ["READER_FACTORY", "GiteaUrlReader"]
