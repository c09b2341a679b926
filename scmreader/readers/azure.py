"""Reading files, trees and glob searches from Azure DevOps and Azure DevOps Server.

URLs are repository web URLs (``https://dev.azure.com/<org>/<project>/_git/<repo>``,
``https://<org>.visualstudio.com/<project>/_git/<repo>``, on-premises
``https://<host>/<collection path>/<project>/_git/<repo>``) whose ``path`` query names the
file, folder or glob and whose ``version=GB<branch>`` (or ``GT<tag>``) names the ref (so a
``/`` in a branch name needs no resolution). The flow is :mod:`scmreader.readers._git`'s.

Requests per call:

- ``read_url``: one GET of the items API (``If-None-Match`` sent when an etag is given:
  Azure answers 304 for an unchanged object id);
- ``read_tree``: one commits lookup (``searchCriteria.$top=1``; its commit id is the etag),
  then the zip of exactly that commit (``versionType=commit``); an unchanged tree stops
  after the lookup;
- ``search`` (glob): the commits lookup, one recursive items listing of the glob's static
  prefix only, and one items GET per matched file whose ``content()`` is read. No zip.

``api-version`` is the integration's ``apiVersion`` (6.0 by default, as Backstage); Azure
DevOps Server 2019 and TFS 2018 answer 400 "out of range" to versions they do not know and
name the latest they support, which is then used for the rest of the reader's life.

Azure answers a request it cannot authenticate on a private organization with ``203``
and an HTML sign-in page; that becomes an AuthenticationError instead of being read as
the file. Credentials are chosen per organization as the integration's ``credentials``
say and bound to the Azure origin. Personal access tokens and Azure AD client secrets
(client-credentials flow over plain HTTP) work; the other Azure AD kinds raise
NotImplementedByReaderError naming the credential.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from scmreader.errors import (
    AuthenticationError,
    InvalidUrlError,
    NotFoundError,
    NotImplementedByReaderError,
)
from scmreader.http import (
    OriginCredentials,
    conditional_headers,
    parse_json,
    raise_for_status,
    read_text,
    stay_on_origin,
    unexpected_answer,
)
from scmreader.integrations._common import SearchParams, basic_auth
from scmreader.integrations.azure import (
    AzureDevOpsCredential,
    AzureIntegration,
    AzureUrl,
    is_visual_studio_domain,
)
from scmreader.readers._git import GitArchive, GitHostReader, GitLocation, Page
from scmreader.readers._listing import DiscoveryTarget, Repository
from scmreader.readers.base import ReaderFactory, integration_readers, read_url_response
from scmreader.readers.types import ReadUrlResponse
from scmreader.redact import redact_url, register_secret
from scmreader.urls import encode_path, is_commit_sha, parse_url

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers.tree import TreeResponseFactory

#: Where Azure AD issues tokens (``/{tenant}/oauth2/v2.0/token``).
AUTHORITY = "https://login.microsoftonline.com"
#: The Azure DevOps resource; its ``/.default`` scope grants what the app registration has.
AZURE_DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
_TOKEN_MARGIN = 300.0
_URL_FORM = "https://dev.azure.com/<org>/<project>/_git/<repo>?path=/<path>&version=GB<branch>"
_OUT_OF_RANGE = re.compile(
    r"version of \S+ is out of range.*?supports is (\d+\.\d+(?:-preview(?:\.\d+)?)?)", re.S
)


@dataclasses.dataclass(frozen=True)
class _Token:
    """A Microsoft Entra access token and when it expires."""

    value: str
    expires_at: float


class AzureUrlReader(GitHostReader):
    """Reads from one configured Azure DevOps host (``azure{host=...,authed=...}``)."""

    name = "azure"
    service = "Azure DevOps"

    def __init__(
        self,
        integration: AzureIntegration,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        authority: str = AUTHORITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        config = integration.config
        super().__init__(host=config.host, authed=bool(config.credentials))
        self._setup(http=http, tree=tree, api_origin="", clock=clock)
        self.integration = integration
        self._config = config
        self._api_version = config.api_version
        self._authority = authority.rstrip("/")
        self._token_lock = threading.Lock()
        self._tokens: dict[tuple[str, str], _Token] = {}

    # --- primitives ----------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        azure = AzureUrl.from_repo_url(url)
        if parse_url(azure.origin).host != self._config.host:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} is not on {self._config.host}; use the reader "
                "configured for its host."
            )
        path = (azure.path or "").strip("/")
        if need_path and not path:
            raise InvalidUrlError(
                f"The URL {redact_url(url)} names no file: add ?path=/<file> ({_URL_FORM})."
            )
        return GitLocation(
            key=f"{azure.owner}/{azure.project}/{azure.repo}".casefold(),
            ref=azure.ref or "",
            path=path,
            url=url,
            native=azure,
            auth=self._auth(azure),
            exact=True,
        )

    def _default_branch(self, loc: GitLocation) -> str:
        return ""  # no version: Azure uses the repository's default branch itself

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        azure: AzureUrl = loc.native
        commits = f"{azure.to_commits_url()}&searchCriteria.%24top=1"
        response = self._get(commits, loc, headers={"Accept": "application/json"})
        named = azure.ref or "the default branch"
        self._check_not_found(
            response,
            loc.url,
            f"{redact_url(loc.url)} could not be read: Azure DevOps has no repository "
            f"{azure.repo} in {azure.owner}/{azure.project}, or no {named}; check the URL "
            "and that the credentials can see the repository.",
        )
        body = parse_json(response)
        values = body.get("value") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise unexpected_answer(response, "is not a list of commits (no 'value')")
        if not values:
            raise NotFoundError(
                f"{redact_url(loc.url)} could not be read: {named} of {azure.repo} has no "
                "commits (the repository may be empty).",
                status=404,
                url=redact_url(loc.url),
            )
        commit = values[0].get("commitId") if isinstance(values[0], dict) else None
        if not isinstance(commit, str) or not is_commit_sha(commit):
            raise unexpected_answer(response, "lists a commit without a valid commitId")
        return commit

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        params = _at_commit(SearchParams(), commit)
        archive = f"{_unversioned(loc.native).to_archive_url()}&{params}"
        response = self._get(archive, loc, headers={"Accept": "application/zip"}, api=False)
        # Azure names the entries of a zip scoped to /a/b "b/...": strip that folder.
        return GitArchive(response, kind="zip", subpath=path.rsplit("/", 1)[-1] or None)

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> list[str]:
        params = SearchParams()
        params.set("scopePath", "/" + prefix)
        params.set("recursionLevel", "Full")
        params.set("api-version", self._api_version)
        _at_commit(params, commit)
        listing = f"{_items_url(loc.native)}?{params}"
        response = self._get(listing, loc, headers={"Accept": "application/json"})
        self._check(response, loc.url)
        body = parse_json(response)
        items = body.get("value") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise unexpected_answer(response, "is not a list of items (no 'value')")
        paths: list[str] = []
        for item in items:
            if not isinstance(item, dict) or item.get("isFolder"):
                continue
            if item.get("gitObjectType", "blob") != "blob":
                continue  # submodules (commit) and anything else that is not a file
            path = item.get("path")
            if not isinstance(path, str) or not path.startswith("/"):
                raise unexpected_answer(response, "lists an item without a valid path")
            paths.append(path[1:])
        return paths

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        azure: AzureUrl = dataclasses.replace(loc.native, path="/" + path)
        if ref == loc.ref:
            file_url = azure.to_file_url()
        else:  # a search result, pinned to the listed commit
            params = _at_commit(SearchParams(), ref)
            file_url = f"{_unversioned(azure).to_file_url()}&{params}"
        headers = conditional_headers(etag, last_modified_after)
        response = self._get(file_url, loc, headers=headers)
        self._check(response, loc.url)
        return read_url_response(response, self._http)

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """The file's object id from the items metadata (when no ETag came)."""
        azure: AzureUrl = dataclasses.replace(loc.native, path="/" + path)
        body = self._get_json(f"{azure.to_file_url()}&%24format=json", loc, loc.url)
        object_id = body.get("objectId") if isinstance(body, dict) else None
        if not isinstance(object_id, str) or not object_id:
            raise NotFoundError(f"{redact_url(loc.url)} is not a file.", status=404)
        return object_id

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        return _with_path(loc.url, "/" + path)

    # --- listing (discovery) -----------------------------------------------------------

    #: An organisation-wide listing answers project wildcards (one request, all projects).
    recursive_owners = True

    def _discovery_target(self, url: str) -> DiscoveryTarget:
        """``https://<host>/<org>/<project>[/_git/<repo>][?path=/<file>&version=GB<ref>]``
        (Backstage's Azure DevOps discovery target), wildcards in project and repository;
        the path defaults to ``/catalog-info.yaml``, the ref to each default branch."""
        parsed = parse_url(url)
        segments = [unquote(s) for s in parsed.path.split("/") if s]
        git = len(segments) == 4 and segments[2] == "_git"
        if is_visual_studio_domain(parsed.origin) or not (len(segments) == 2 or git):
            raise InvalidUrlError(
                f"Incorrect discovery URL: {redact_url(url)}; expected https://{self._config.host}"
                "/<org>/<project or pattern>[/_git/<repo or pattern>]?path=/<file or glob>."
            )
        params = SearchParams(parsed.query)
        version = params.get("version") or ""
        if version and not version.startswith("GB"):
            raise InvalidUrlError(
                f"Discovery reads branches: use version=GB<branch> in {redact_url(url)}."
            )
        return DiscoveryTarget(
            owner=f"{segments[0]}/{segments[1]}",
            repo=segments[3] if git else "*",
            ref=version[2:],
            path=(params.get("path") or "/catalog-info.yaml").lstrip("/"),
            origin=parsed.origin,
        )

    def _list_owner(self, owner: str, token: str | None, origin: str) -> Iterator[Repository]:
        # https://learn.microsoft.com/en-us/rest/api/azure/devops/git/repositories/list: one
        # answer holds every repository of the organisation (or of the project)
        org = owner.split("/", 1)[0]
        azure = AzureUrl(origin, org, owner.partition("/")[2] or org, "_")
        url = f"{origin}/{owner}"
        loc = GitLocation(key="", ref="", path="", url=url, native=azure, auth=self._auth(azure))
        listing = f"{origin}/{encode_path(owner)}/_apis/git/repositories?api-version=6.0"

        def page(response: requests.Response, body: Any, current: str) -> Page:
            values = body.get("value") if isinstance(body, dict) else None
            if not isinstance(values, list):
                raise unexpected_answer(response, "is not a list of repositories (no 'value')")
            return Page(values, None)

        for item in self._pages(listing, loc, page):
            project = item.get("project") if isinstance(item, dict) else None
            if not isinstance(project, dict) or not isinstance(item.get("name"), str):
                continue
            branch = str(item.get("defaultBranch") or "")
            yield Repository(
                owner=f"{org}/{project.get('name')}",
                name=str(item["name"]),
                default_branch=branch.removeprefix("refs/heads/"),
                fork=bool(item.get("isFork")),
                disabled=bool(item.get("isDisabled")),
                empty=not branch,
            )

    def _discovery_url(self, target: DiscoveryTarget, repo: Repository, ref: str) -> str:
        org, _, project = repo.owner.partition("/")
        azure = AzureUrl(target.origin, org, project, repo.name, "/" + target.path)
        return dataclasses.replace(azure, ref=ref or None, ref_type="branch").to_repo_url()

    # --- credentials and HTTP ----------------------------------------------------------

    def _credential(self, azure: AzureUrl) -> AzureDevOpsCredential | None:
        credentials = self._config.credentials or ()
        owner = azure.owner
        wanted = {owner, owner.split("/")[0], owner.rsplit("/", 1)[-1]}
        for credential in credentials:
            if wanted & set(credential.organizations):
                return credential
        return next((c for c in credentials if not c.organizations), None)

    def _auth(self, azure: AzureUrl) -> list[OriginCredentials]:
        credential = self._credential(azure)
        if credential is None:
            return []
        if credential.kind == "PersonalAccessToken":
            assert credential.personal_access_token is not None
            header = basic_auth("", str(credential.personal_access_token))
        elif credential.kind == "ClientSecret":
            header = f"Bearer {self._aad_token(credential)}"
        else:
            orgs = ", ".join(credential.organizations) or "every organization"
            raise NotImplementedByReaderError(
                f"The Azure DevOps credential for {orgs} on {self._config.host} is of kind "
                f"{credential.kind} (integrations.azure[].credentials[] with clientId "
                f"{credential.client_id!r}), which scmreader cannot use yet; give this "
                "organization a personalAccessToken or clientId + clientSecret + tenantId "
                "credential instead."
            )
        return [OriginCredentials(azure.origin, {"Authorization": header})]

    def _aad_token(self, credential: AzureDevOpsCredential) -> str:
        """An Azure AD access token for the client credentials, cached until five minutes
        before it expires (one request at a time)."""
        assert credential.tenant_id and credential.client_id and credential.client_secret
        key = (credential.tenant_id, credential.client_id)
        with self._token_lock:
            now = self._clock()
            cached = self._tokens.get(key)
            if cached is not None and now < cached.expires_at:
                return cached.value
            token_url = (
                f"{self._authority}/{quote(credential.tenant_id, safe='')}/oauth2/v2.0/token"
            )
            origin = parse_url(token_url).origin
            response = self._http.request(
                "POST",
                token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": credential.client_id,
                    "client_secret": str(credential.client_secret),
                    "scope": AZURE_DEVOPS_SCOPE,
                },
                check_redirect=stay_on_origin(origin, "Azure DevOps"),
            )
            if response.status_code in (400, 401):
                response.close()
                raise AuthenticationError(
                    f"Azure AD refused the client credentials of {credential.client_id} in "
                    f"tenant {credential.tenant_id} ({response.status_code}); check clientId, "
                    "clientSecret and tenantId of the azure integration.",
                    status=response.status_code,
                    url=redact_url(token_url),
                )
            raise_for_status(response, what="the Azure AD token")
            body = parse_json(response)
            value = body.get("access_token") if isinstance(body, dict) else None
            lifetime = body.get("expires_in") if isinstance(body, dict) else None
            if not isinstance(value, str) or not value:
                raise unexpected_answer(response, "has no access_token")
            register_secret(value)
            seconds = float(lifetime) if isinstance(lifetime, (int, float, str)) else 0.0
            self._tokens[key] = _Token(value, now + max(0.0, seconds - _TOKEN_MARGIN))
            return value

    def _check(self, response: requests.Response, what: str) -> None:
        self._check_not_found(response, what, None)

    def _check_not_found(
        self, response: requests.Response, url: str, not_found: str | None
    ) -> None:
        if response.status_code == 203:
            response.close()
            raise AuthenticationError(
                f"{redact_url(url)} could not be read: Azure DevOps answered with its sign-in "
                "page (203), so the request was not authenticated; configure a valid "
                "personal access token for this organization in integrations.azure[]."
                "credentials.",
                status=203,
                url=redact_url(response.url),
            )
        raise_for_status(response, what=url, not_found=not_found)

    def _redirect_origin(self, loc: GitLocation) -> str:
        """API requests stay on the organization's Azure origin; zip downloads may leave it."""
        origin: str = loc.native.origin
        return origin

    def _get(
        self,
        url: str,
        loc: GitLocation,
        *,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
        method: str = "GET",
    ) -> requests.Response:
        """The shared request at the reader's ``api-version``; a server that answers 400
        "out of range" is asked again at the latest version it names (kept from then on)."""

        def send() -> requests.Response:
            versioned = _with_api_version(url, self._api_version)
            return super(AzureUrlReader, self)._get(
                versioned, loc, headers=headers, api=api, method=method
            )

        response = send()
        if response.status_code == 400:
            found = _OUT_OF_RANGE.search(read_text(response))
            if found and found.group(1) != self._api_version:
                response.close()
                self._api_version = found.group(1)
                response = send()
        return response


def _items_url(azure: AzureUrl) -> str:
    """The items API URL of the repository, without a query."""
    return _unversioned(azure).to_archive_url().split("?", 1)[0]


def _unversioned(azure: AzureUrl) -> AzureUrl:
    return dataclasses.replace(azure, ref=None, ref_type=None)


def _with_api_version(url: str, version: str) -> str:
    """``url`` with its ``api-version`` query value set to ``version`` (when it has one)."""
    base, _, query = url.partition("?")
    if "api-version=" not in query:
        return url
    params = SearchParams(query)
    params.set("api-version", version)
    return f"{base}?{params}"


def _at_commit(params: SearchParams, commit: str) -> SearchParams:
    params.set("versionDescriptor.version", commit)
    params.set("versionDescriptor.versionType", "commit")
    return params


def _with_path(url: str, path: str) -> str:
    """``url`` with its ``path`` query value replaced, the other parameters kept as sent."""
    base, _, rest = url.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    value = quote(path, safe="/!$'()*,;:@~")
    pairs = [p for p in query.split("&") if p]
    replaced = [f"path={value}" if unquote(p.split("=", 1)[0]) == "path" else p for p in pairs]
    if not any(unquote(p.split("=", 1)[0]) == "path" for p in pairs):
        replaced.insert(0, f"path={value}")
    return f"{base}?{'&'.join(replaced)}{hash_mark}{fragment}"


#: How UrlReaders finds this reader (Backstage reader order 10).
READER_FACTORY = ReaderFactory(
    name="azure",
    order=10,
    create=integration_readers(
        "azure",
        lambda integration, context: AzureUrlReader(
            integration, http=context.http, tree=context.tree
        ),
    ),
)

__all__ = ["AUTHORITY", "AZURE_DEVOPS_SCOPE", "READER_FACTORY", "AzureUrlReader"]
