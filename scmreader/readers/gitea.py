"""Reading files, trees and glob searches from Gitea and Forgejo (``integrations.gitea[]``).

URLs look like ``<baseUrl>/<owner>/<repo>/src/<branch|tag|commit>/<ref>/<path>``; a branch
or tag with ``/`` is resolved against the repository's branches and tags (the template's
rule, as Gitea's own web UI does). The flow is :mod:`scmreader.readers._git`'s; requests
per call:

- ``read_url``: one GET of the contents API (``/api/v1/repos/o/r/contents/<path>?ref=``),
  whose JSON carries the file base64-encoded and its blob id, the etag. With an etag, the
  parent folder is listed first (entries carry their blob ids, no content), so an
  unchanged file costs that one request. Gitea sometimes answers ``[]`` for a file
  created a moment ago; that answer is asked again up to 3 times, 0.5 s apart (Backstage's
  workaround, bounded, with an injectable ``sleep``). A file larger than the API's inline
  limit comes without content and is streamed from ``/raw/<path>?ref=``.
- ``read_tree``: one commit lookup (``/git/commits/<ref>``; Gitea before 1.17 takes only
  commit ids there, so a 404 for a name is asked again as ``/branches/<ref>``) whose sha
  is the etag, then the ``tar.gz`` archive of exactly that commit.
- ``search`` (glob, which Backstage refuses for Gitea): the commit lookup (the etag), the
  recursive git tree of that commit, 1000 entries a page, and one contents request per
  matched file whose ``content()`` is read.

Credentials (``basic`` with username and password, else ``token <password>``, from
:func:`get_gitea_request_options`; a caller's ``token`` is sent as ``token <token>``) are
bound to the base URL's origin; archive downloads may go elsewhere without them. Gitea
answers 403 when credentials lack a scope: that is an AuthenticationError, as in Backstage.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scmreader.errors import (
    InvalidUrlError,
    NotFoundError,
    UpstreamError,
)
from scmreader.http import (
    parse_http_date,
    parse_json,
    unexpected_answer,
)
from scmreader.integrations.gitea import (
    GiteaIntegration,
    get_gitea_request_options,
    parse_gitea_url,
)
from scmreader.readers._git import GitArchive, GitHostReader, GitLocation, Page
from scmreader.readers._listing import (
    DiscoveryTarget,
    Repository,
    is_pattern,
    repository_from_api,
    split_browse,
)
from scmreader.readers.base import ReaderFactory, integration_readers
from scmreader.readers.types import ReadUrlResponse
from scmreader.redact import redact_url
from scmreader.urls import encode_path, encode_uri_component, is_commit_sha, parse_url

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient, OriginCredentials
    from scmreader.readers.tree import TreeResponseFactory

_TREE_PAGE_SIZE = 1000
_REF_PAGE_SIZE = 50  # Gitea's default [api] MAX_RESPONSE_ITEMS
_URL_FORM = "<baseUrl>/<owner>/<repo>/src/branch/<branch>/<path>"


class GiteaUrlReader(GitHostReader):
    """Reads from one configured Gitea host (``gitea{host=...,authed=...}``)."""

    name = "gitea"
    service = "Gitea's API"
    conditional_reads = False
    forbidden_hint = (
        "Gitea refused the credentials; give the token the read:repository scope or use "
        "another one."
    )

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
        origin = parse_url(config.base_url).origin
        self._setup(http=http, tree=tree, api_origin=origin, max_pages=max_tree_pages)
        self.integration = integration
        self._config = config
        self._sleep = sleep
        self._empty_retries = empty_retries
        self._empty_retry_wait = empty_retry_wait

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        parsed = parse_gitea_url(self._config, url)
        if need_path and not parsed.path:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no file or glob after the ref; use {_URL_FORM}."
            )
        base = parse_url(self._config.base_url).path.rstrip("/")
        kind = parse_url(url).path[len(base) :].split("/")[4]
        repo = f"{encode_uri_component(parsed.owner)}/{encode_uri_component(parsed.name)}"
        return GitLocation(
            key=f"{parsed.owner}/{parsed.name}".casefold(),
            ref=parsed.ref,
            path=parsed.path,
            url=url,
            native=f"{parsed.url}/api/v1/repos/{repo}",
            auth=self._auth(token),
            exact=kind == "commit",
        )

    def _list_refs(self, loc: GitLocation, first: str) -> list[str]:
        # https://gitea.com/api/swagger#/repository/repoListBranches (and repoListTags)
        names: list[str] = []
        for kind in ("branches", "tags"):
            listing = f"{loc.native}/{kind}?page=1&limit={_REF_PAGE_SIZE}"
            for item in self._pages(listing, loc, self._ref_page):
                name = item.get("name") if isinstance(item, dict) else None
                if isinstance(name, str) and (name == first or name.startswith(f"{first}/")):
                    names.append(name)
        return names

    def _ref_page(self, response: requests.Response, body: Any, current: str) -> Page:
        if not isinstance(body, list):
            raise unexpected_answer(response, "is not a list of branches or tags")
        link = response.links.get("next", {}).get("url")
        if link:
            return Page(body, self._rebased(response, str(link), self._config.base_url))
        return Page(body, None)

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        """The commit id ``ref`` names (branch, tag or commit)."""
        encoded = encode_uri_component(ref)
        lookup = f"{loc.native}/git/commits/{encoded}?stat=false&verification=false"
        response = self._get(f"{lookup}&files=false", loc)
        key: tuple[str, ...] = ("sha",)
        if response.status_code == 404 and not is_commit_sha(ref):
            response.close()  # Gitea before 1.17 looks up commit ids only
            response = self._get(f"{loc.native}/branches/{encoded}", loc)
            key = ("commit", "id")
        if response.status_code == 404:
            response.close()
            raise NotFoundError(
                f"No branch, tag or commit '{ref}' in Gitea repository {loc.key} on "
                f"{self._config.host}; check the URL, and that the credentials can see the "
                "repository.",
                status=404,
                url=redact_url(loc.url),
            )
        self._check(response, loc.url)
        body: Any = parse_json(response)
        for name in key:
            body = body.get(name) if isinstance(body, dict) else None
        if not isinstance(body, str) or not is_commit_sha(body):
            raise unexpected_answer(response, "names no valid commit id")
        return body

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        response = self._get(f"{loc.native}/archive/{commit}.tar.gz", loc, api=False)
        return GitArchive(response, subpath=path or None)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        first = f"{loc.native}/git/trees/{commit}?recursive=true&per_page={_TREE_PAGE_SIZE}"

        def page(response: requests.Response, body: Any, current: str) -> Page:
            items = body.get("tree") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise unexpected_answer(response, "is not a git tree")
            number = int(body.get("page") or current.rsplit("page=", 1)[-1].split("&")[0] or 1)
            more = bool(body.get("truncated")) and bool(items)
            return Page(items, f"{first}&page={number + 1}" if more else None)

        return [
            str(item["path"])
            for item in self._pages(f"{first}&page=1", loc, page)
            if isinstance(item, dict)
            and item.get("type") == "blob"
            and isinstance(item.get("path"), str)
        ]

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        query = f"ref={encode_uri_component(ref)}"
        contents = f"{loc.native}/contents/{encode_path(path)}?{query}"
        body, response = self._contents(contents, loc)
        sha = body.get("sha")
        if not isinstance(sha, str) or not sha:
            raise unexpected_answer(response, "describes a file without a sha")
        modified = _last_modified(body, response)
        self._raise_if_unchanged_since(loc.url, modified, last_modified_after, sha)
        kind = body.get("type")
        if kind == "symlink" and isinstance(body.get("target"), str):
            return ReadUrlResponse(body["target"].encode(), etag=sha, last_modified_at=modified)
        if kind != "file":
            raise _not_a_file(loc.url, str(kind or "thing"))
        encoding, content = body.get("encoding"), body.get("content")
        if encoding is None and content is None:
            raw = self._get(f"{loc.native}/raw/{encode_path(path)}?{query}", loc)
            self._check(raw, loc.url)
            return ReadUrlResponse(self._stream(raw), etag=sha, last_modified_at=modified)
        if encoding != "base64" or not isinstance(content, str):
            raise UpstreamError(
                f"Gitea sent {redact_url(loc.url)} in an unknown encoding {encoding!r}; only "
                "base64 is understood. Check the Gitea version or a proxy in between.",
                status=response.status_code,
                url=redact_url(contents),
            )
        try:
            data = base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise unexpected_answer(response, "has content that is not valid base64") from None
        return ReadUrlResponse(data, etag=sha, last_modified_at=modified)

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """The blob id from the listing of the file's folder (entries carry no content)."""
        folder, _, name = path.rpartition("/")
        query = f"ref={encode_uri_component(ref)}"
        listing = self._get_json(f"{loc.native}/contents/{encode_path(folder)}?{query}", loc)
        for entry in listing if isinstance(listing, list) else []:
            if isinstance(entry, dict) and entry.get("name") == name:
                if entry.get("type") not in ("file", "symlink"):
                    raise _not_a_file(loc.url, str(entry.get("type")))
                return str(entry.get("sha") or "")
        raise NotFoundError(
            f"File {redact_url(loc.url)} not found: its folder has no entry {name!r}.",
            status=404,
            url=redact_url(loc.url),
        )

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        """``<baseUrl>/<owner>/<repo>/src/<kind>/<ref>/<path>`` as the caller wrote it."""
        parsed = parse_url(loc.url)
        base = parse_url(self._config.base_url).path.rstrip("/")
        head = "/".join(parsed.path[len(base) :].split("/")[:5])
        return f"{parsed.origin}{base}{head}/{encode_path(ref)}/{encode_path(path)}"

    # --- listing (discovery) ---------------------------------------------------------------

    def _discovery_target(self, url: str) -> DiscoveryTarget:
        """``<baseUrl>/<owner>/<repo or pattern>/src/branch/<branch or ->/<path>``."""
        form = f"{self._config.base_url}/<owner>/<repo or pattern>/src/branch/<branch or ->/<path>"
        base = parse_url(self._config.base_url).path.strip("/")
        target = split_browse(url, ("src",), form=form)
        kind, _, rest = target.path.partition("/")
        owner = target.owner[len(base) :].strip("/") if base else target.owner
        if target.ref != "branch" or not rest or not owner or "/" in owner:
            raise InvalidUrlError(f"Incorrect discovery URL: {redact_url(url)}; expected {form}.")
        if is_pattern(owner):
            raise InvalidUrlError(
                f"Gitea cannot list owners: write one organisation or user in {redact_url(url)}."
            )
        return replace(target, owner=owner, ref=kind, path=rest, origin=self._config.base_url)

    def _list_owner(self, owner: str, token: str | None, origin: str) -> Iterator[Repository]:
        # https://gitea.com/api/swagger#/organization/orgListRepos, #/user/userListRepos:
        # page/limit (limit capped at MAX_RESPONSE_ITEMS), Link rel="next", X-Total-Count
        api = f"{self._config.base_url}/api/v1"
        loc = self._listing_location(f"{self._config.base_url}/{owner}", self._auth(token))
        name = encode_uri_component(owner)
        listings = [
            f"{api}/{kind}/{name}/repos?page=1&limit={_REF_PAGE_SIZE}" for kind in ("orgs", "users")
        ]
        for item in self._owner_pages(listings, loc, self._link_page(self._config.base_url)):
            repo = repository_from_api(item, owner)
            if repo is not None:
                yield repo

    def _discovery_url(self, target: DiscoveryTarget, repo: Repository, ref: str) -> str:
        return (
            f"{target.origin}/{encode_path(repo.full_name)}/src/branch/"
            f"{encode_path(ref or repo.default_branch)}/{encode_path(target.path)}"
        )

    # --- Gitea's quirks and credentials --------------------------------------------------

    def _contents(
        self, contents: str, loc: GitLocation
    ) -> tuple[dict[str, Any], requests.Response]:
        """The contents API's answer for one entry, asking again while Gitea answers ``[]``
        (it does for a file created a moment ago)."""
        attempts = self._empty_retries + 1
        for attempt in range(1, attempts + 1):
            response = self._get(contents, loc)
            self._check(response, loc.url)
            body = parse_json(response)
            if isinstance(body, dict):
                return body, response
            if not isinstance(body, list):
                raise unexpected_answer(response, "is neither a file nor a folder listing")
            if body:
                raise _not_a_file(loc.url, "folder")
            if attempt < attempts:
                self._sleep(self._empty_retry_wait)
        raise UpstreamError(
            f"Gitea answered {redact_url(loc.url)} with an empty listing {attempts} times; a "
            "file created a moment ago can do that. Try again in a few seconds.",
            status=200,
            url=redact_url(contents),
            attempts=attempts,
        )

    def _auth(self, token: str | None) -> list[OriginCredentials]:
        return self._call_auth(
            token, lambda: get_gitea_request_options(self._config)["headers"], scheme="token"
        )


def _not_a_file(url: str, kind: str) -> NotFoundError:
    return NotFoundError(
        f"{redact_url(url)} is a {kind} in Gitea, not a file; read_url reads files, "
        "read_tree reads folders.",
        status=404,
        url=redact_url(url),
    )


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
