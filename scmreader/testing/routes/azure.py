"""Azure DevOps (and Azure DevOps Server): the Git REST API 6.0 over FakeScmHost repos.

API paths: ``/{org}/{project}/_apis/git/repositories/{repo}/...`` (dev.azure.com and
servers), ``/{collection path}/{project}/_apis/...`` (Azure DevOps Server with a
collection, e.g. ``/tfs/DefaultCollection/...``) and, when the ``Host`` header is
``{org}.visualstudio.com``, ``/{project}/_apis/...``. Repositories are the host's repos
named ``{org}/{project}/{repo}`` (``tfs/DefaultCollection/project/repo`` on a server),
or ``{org}/{repo}`` when project and repository share their name. Endpoints:

- ``GET .../items?path=`` : a file's bytes (no ``ETag``: the Items - Get page documents
  none; ``AzureState.items_etag`` adds ``ETag: "{objectId}"`` and 304 on
  ``If-None-Match``, to check a reader copes with both), or its metadata (``objectId``,
  ``gitObjectType``, ``commitId``, ``path``, ``url``; ``isFolder`` on folders) with
  ``Accept: application/json`` or ``$format=json``; a folder always answers with its
  metadata;
- ``GET .../items?scopePath=&recursionLevel=none|oneLevel|full``: ``{"count", "value"}``
  listing the scope item and what lies below it, or, with ``Accept: application/zip`` or
  ``$format=zip``, a zip without a top folder, except that a zip scoped to ``/a/b`` names
  its entries ``b/...`` (Azure's own quirk);
- ``GET .../commits?searchCriteria.itemVersion.version=&searchCriteria.$top=``: newest
  first, ``{"count", "value": [{"commitId", "author", "committer", "comment",
  "changeCounts", "url", "remoteUrl"}]}``;
- any API request whose ``api-version`` is newer than :attr:`AzureState.max_api_version`
  (a server's): ``400`` ``VssVersionOutOfRangeException`` naming the latest it supports;
- ``POST /{tenant}/oauth2/v2.0/token``: Azure AD client credentials (clients registered
  with :meth:`AzureState.add_client`); serve it as ``login.microsoftonline.com`` through
  :func:`http_client`.

Versions come from ``versionDescriptor.version`` / ``versionDescriptor.versionType``
(``branch``, ``tag`` or ``commit``; default branch when absent). Errors have Azure's
shape (``$id``, ``innerException``, ``message`` with a ``TF`` code, ``typeName``,
``typeKey``, ``errorCode``, ``eventId``). Credentials: ``Authorization: Basic`` with a
personal access token as the password (any user name) registered for the organization
(:meth:`AzureState.add_pat`), or ``Bearer`` with an issued Azure AD token. A private
repository (:meth:`AzureState.make_private`) asked without valid credentials answers
``203`` with the HTML sign-in page, as Azure does; a bad PAT on a public one gets 401.
"""

from __future__ import annotations

import base64
import functools
import io
import secrets
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.http import HttpClient
    from scmreader.testing.repo import FakeRepo, TreeEntry
    from scmreader.testing.server import FakeScmHost

NAME = "azure"
#: The Azure AD host :func:`http_client` can send to the fake.
LOGIN_HOST = "login.microsoftonline.com"
#: The scope Azure DevOps tokens are asked for.
SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
_API = r"(?P<prefix>(?:/[^/]+){1,3}?)/_apis/git/repositories/(?P<repo>[^/]+)"
_SIGN_IN = (
    '<!DOCTYPE html>\n<html lang="en-US"><head><meta charset="utf-8">'
    "<title>Azure DevOps Services | Sign In</title></head>"
    '<body><div id="signin">Sign in to your account to continue to Azure DevOps.</div>'
    "</body></html>\n"
)


@dataclass
class AzureState:
    """The emulation's credentials and private repositories, ``host.state["azure"]``."""

    pats: dict[str, set[str]] = field(default_factory=dict)
    private: set[str] = field(default_factory=set)
    clients: dict[tuple[str, str], str] = field(default_factory=dict)
    bearer_tokens: set[str] = field(default_factory=set)
    token_lifetime: int = 3599
    #: Play Azure DevOps Server 2019 ("5.0") or TFS 2018 ("4.1"): a newer ``api-version``
    #: gets 400 VssVersionOutOfRangeException naming this one. None: every version works.
    max_api_version: str | None = None
    #: File answers carry ``ETag: "{objectId}"`` and answer ``If-None-Match`` with 304
    #: (not documented, so off by default).
    items_etag: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def add_pat(self, organization: str, pat: str) -> None:
        """Accept ``pat`` for the repositories of ``organization`` (``tfs/Collection``
        on a server)."""
        with self._lock:
            self.pats.setdefault(organization.casefold(), set()).add(pat)

    def make_private(self, full_name: str) -> None:
        """Answer requests for repository ``full_name`` without valid credentials with
        the sign-in page (203)."""
        with self._lock:
            self.private.add(full_name.casefold())

    def add_client(self, tenant: str, client_id: str, client_secret: str) -> None:
        """Register an Azure AD app; its tokens are accepted for every organization."""
        with self._lock:
            self.clients[(tenant, client_id)] = client_secret


def install(host: FakeScmHost, *, token_lifetime: int = 3599) -> None:
    """Register the Azure DevOps routes on ``host`` (see the module docstring)."""
    state = AzureState(token_lifetime=token_lifetime)
    host.state[NAME] = state
    # https://learn.microsoft.com/en-us/rest/api/azure/devops/git/items
    host.route("GET", f"{_API}/items", _api(host, state, functools.partial(_items, state=state)))
    # https://learn.microsoft.com/en-us/rest/api/azure/devops/git/commits/get-commits
    host.route("GET", f"{_API}/commits", _api(host, state, _commits))
    host.route("POST", r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", lambda r: _token(state, r))
    # https://learn.microsoft.com/en-us/rest/api/azure/devops/git/repositories/list: an
    # organisation's or a project's repositories, all in one answer (no paging)
    host.route(
        "GET",
        r"/(?P<org>[^/]+)(?:/(?P<project>[^/]+))?/_apis/git/repositories/?",
        lambda r: _list_repositories(host, state, r),
    )


def azure(host: FakeScmHost) -> AzureState:
    """The host's Azure state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: AzureState = host.state[NAME]
    return state


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """The ``integrations.azure[]`` entry for ``host`` as an on-premises server (URLs
    ``http://127.0.0.1:PORT/{org}/{project}/_git/{repo}``); ``extra`` adds keys such as
    ``credentials``."""
    azure(host)
    return {"host": host.host, **extra}


def pat_credential(pat: str, *organizations: str) -> dict[str, Any]:
    """A ``credentials[]`` entry for a personal access token."""
    entry: dict[str, Any] = {"personalAccessToken": pat}
    if organizations:
        entry["organizations"] = list(organizations)
    return entry


def http_client(host: FakeScmHost, names: Iterable[str], **kwargs: Any) -> HttpClient:
    """An HttpClient sending ``https://<name>`` for each of ``names`` (``dev.azure.com``,
    ``acme.visualstudio.com``, :data:`LOGIN_HOST`...) to ``host`` over plain HTTP,
    keeping the ``Host`` header; ``kwargs`` go to HttpClient."""
    from scmreader.http import HttpClient
    from scmreader.testing.transport import https_to_fake

    return https_to_fake(HttpClient(**kwargs), dict.fromkeys(names, host))


# --- answers -------------------------------------------------------------------------


def _version_out_of_range(state: AzureState, asked: str) -> FakeResponse | None:
    """Servers refuse versions newer than theirs and name the latest they support
    (https://learn.microsoft.com/en-us/rest/api/azure/devops/#api-and-tfs-version-mapping)."""
    latest = state.max_api_version
    number = asked.split("-")[0]
    if latest is None or not number:
        return None
    if tuple(map(int, number.split("."))) <= tuple(map(int, latest.split("."))):
        return None
    message = (
        f"The requested REST API version of {asked} is out of range for this server. The "
        f"latest REST API version this server supports is {latest}."
    )
    return FakeResponse.json(
        {
            "$id": "1",
            "innerException": None,
            "message": message,
            "typeName": "Microsoft.VisualStudio.Services.WebApi.VssVersionOutOfRangeException,"
            " Microsoft.VisualStudio.Services.WebApi",
            "typeKey": "VssVersionOutOfRangeException",
            "errorCode": 0,
            "eventId": 3000,
        },
        400,
    )


def _error(status: int, code: str, message: str, type_key: str) -> FakeResponse:
    return FakeResponse.json(
        {
            "$id": "1",
            "innerException": None,
            "message": f"{code}: {message}",
            "typeName": f"Microsoft.TeamFoundation.Git.Server.{type_key}, "
            "Microsoft.TeamFoundation.Git.Server",
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": 3000,
        },
        status,
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Target:
    organization: str
    project: str
    repo: FakeRepo
    api_base: str  # {base}{prefix}/_apis/git/repositories/{repo}
    web_base: str  # {base}{prefix}/_git/{repo}


def _locate(host: FakeScmHost, request: FakeRequest) -> tuple[str, _Target | None]:
    segments = [s for s in request.params["prefix"].split("/") if s]
    name = request.params["repo"]
    hostname = request.headers.get("Host", "").rsplit(":", 1)[0].lower()
    if hostname.endswith(".visualstudio.com") and len(segments) == 1:
        organization, project = hostname.split(".")[0], segments[0]
    elif len(segments) == 1:
        organization, project = segments[0], name
    else:
        organization, project = "/".join(segments[:-1]), segments[-1]
    candidates = [f"{organization}/{project}/{name}"]
    if project.casefold() == name.casefold():
        candidates.append(f"{organization}/{name}")
    repo = next((r for c in candidates if (r := host.get_repo(c)) is not None), None)
    if repo is None:
        return organization, None
    prefix = request.path.split("/_apis/", 1)[0]
    return organization, _Target(
        organization,
        project,
        repo,
        f"{request.base_url}{prefix}/_apis/git/repositories/{quote(name, safe='')}",
        f"{request.base_url}{prefix}/_git/{quote(name, safe='')}",
    )


def _credential(state: AzureState, request: FakeRequest, organization: str) -> bool | None:
    """None without credentials, else whether they are valid for ``organization``."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    scheme = scheme.lower()
    with state._lock:
        if scheme == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return False
            pat = decoded.partition(":")[2]
            return pat in state.pats.get(organization.casefold(), set())
        if scheme == "bearer":
            return value.strip() in state.bearer_tokens
    return None if not scheme else False


def _api(
    host: FakeScmHost,
    state: AzureState,
    handler: Callable[[FakeRequest, _Target], FakeResponse],
) -> Callable[[FakeRequest], FakeResponse]:
    def wrapped(request: FakeRequest) -> FakeResponse:
        refused = _version_out_of_range(state, request.query.get("api-version", ""))
        if refused is not None:
            return refused
        organization, target = _locate(host, request)
        valid = _credential(state, request, organization)
        with state._lock:
            private = target is not None and target.repo.full_name.casefold() in state.private
        if private and not valid:
            return FakeResponse.text(_SIGN_IN, 203, content_type="text/html; charset=utf-8")
        if valid is False:
            return _unauthorized()
        if target is None:
            return _error(
                404,
                "TF401019",
                f"The Git repository with name or identifier {request.params['repo']} does "
                "not exist or you do not have permissions for the operation you are "
                "attempting.",
                "GitRepositoryNotFoundException",
            )
        response = handler(request, target)
        response.set_header("X-VSS-E2EID", secrets.token_hex(16))
        return response

    return wrapped


def _unauthorized() -> FakeResponse:
    return _error(
        401,
        "TF400813",
        "The user is not authorized to access this resource.",
        "UnauthorizedRequestException",
    )


def _list_repositories(host: FakeScmHost, state: AzureState, request: FakeRequest) -> FakeResponse:
    refused = _version_out_of_range(state, request.query.get("api-version", ""))
    if refused is not None:
        return refused
    org, project = request.params["org"], request.params.get("project")
    valid = _credential(state, request, org)
    if valid is False:
        return _unauthorized()
    with state._lock:
        private = set(state.private)
    found: list[tuple[str, FakeRepo]] = []
    for repo in host.repos.values():
        parts = repo.full_name.split("/")
        if parts[0].casefold() != org.casefold() or len(parts) not in (2, 3):
            continue
        in_project = parts[1] if len(parts) == 3 else parts[-1]
        if project and in_project.casefold() != project.casefold():
            continue
        if valid or repo.full_name.casefold() not in private:
            found.append((in_project, repo))
    if project and not found:
        return _error(
            404,
            "TF200016",
            f"The following project does not exist: {project}. Verify that the name of the "
            "project is correct and that the project exists on the specified Azure DevOps "
            "Server.",
            "ProjectDoesNotExistWithNameException",
        )
    base = f"{request.base_url}/{org}"
    value = []
    for in_project, repo in sorted(found, key=lambda f: f[1].full_name.casefold()):
        rid = f"{abs(zlib.crc32(repo.full_name.encode())):08x}-0000-0000-0000-000000000000"
        item: dict[str, Any] = {
            "id": rid,
            "name": repo.name,
            "url": f"{base}/{in_project}/_apis/git/repositories/{rid}",
            "project": {"id": f"{zlib.crc32(in_project.encode()):08x}", "name": in_project},
            "size": 0 if repo.resolve_ref(None) is None else 1024,
            "remoteUrl": f"{base}/{in_project}/_git/{repo.name}",
            "webUrl": f"{base}/{in_project}/_git/{repo.name}",
            "isDisabled": repo.disabled,
            "isInMaintenance": False,
        }
        if repo.resolve_ref(None) is not None:
            item["defaultBranch"] = f"refs/heads/{repo.default_branch}"
        if repo.fork:
            item["isFork"] = True
        value.append(item)
    return FakeResponse.json({"value": value, "count": len(value)})


def _resolve(repo: FakeRepo, version: str | None, kind: str | None) -> str | None:
    if not version:
        return repo.resolve_ref(None)
    kind = (kind or "branch").lower()
    if kind == "branch":
        return repo.resolve_ref(f"refs/heads/{version}")
    if kind == "tag":
        return repo.resolve_ref(f"refs/tags/{version}")
    if kind == "commit" and len(version) >= 4:
        return repo.resolve_ref(version)
    return None


def _bad_version(version: str | None, kind: str | None) -> FakeResponse:
    label = (kind or "branch").capitalize()
    return _error(
        404,
        "TF401175",
        f"The version descriptor <{label}: {version} > could not be resolved to a version commit.",
        "GitUnresolvableToCommitException",
    )


# --- items ---------------------------------------------------------------------------


def _item_json(target: _Target, sha: str, entry: TreeEntry) -> dict[str, Any]:
    path = "/" + entry.path
    item: dict[str, Any] = {
        "objectId": entry.sha,
        "gitObjectType": entry.type,
        "commitId": sha,
        "path": path,
    }
    if entry.type == "tree":
        item["isFolder"] = True
    item["url"] = (
        f"{target.api_base}/items?path={quote(path, safe='')}&versionType=Commit"
        f"&version={sha}&versionOptions=None"
    )
    return item


def _items(request: FakeRequest, target: _Target, *, state: AzureState) -> FakeResponse:
    query = request.query
    version = query.get("versionDescriptor.version") or query.get("version")
    kind = query.get("versionDescriptor.versionType") or query.get("versionType")
    sha = _resolve(target.repo, version, kind)
    if sha is None:
        return _bad_version(version, kind)
    fmt = query.get("$format", "").lower()
    accept = request.headers.get("Accept", "")
    zipped = fmt == "zip" or (not fmt and "application/zip" in accept)
    as_json = fmt == "json" or (not fmt and "application/json" in accept)
    scoped = "path" not in query
    raw = (query.get("scopePath") if scoped else query.get("path")) or "/"
    path = raw.strip("/")
    try:
        entry = target.repo.entry(sha, path)
    except (LookupError, FakeHostError):
        entry = None
    if entry is None:
        return _error(
            404,
            "TF401174",
            f"The item '{raw}' could not be found in the repository '{target.repo.name}' at "
            f"the version specified by '<{(kind or 'Branch').capitalize()}: "
            f"{version or target.repo.default_branch} >' (resolved to commit '{sha}').",
            "GitItemNotFoundException",
        )
    if zipped:
        return _zip(target, sha, entry)
    if not scoped:
        if entry.type == "blob" and not as_json:
            return _content(request, target, entry, etag=state.items_etag)
        return FakeResponse.json(_item_json(target, sha, entry))
    level = query.get("recursionLevel", "none").lower()
    entries = [entry]
    if entry.type == "tree" and level in ("onelevel", "full", "onelevelplusnestedemptyfolders"):
        entries += target.repo.tree(sha, path, recursive=level == "full")
    items = [_item_json(target, sha, e) for e in entries]
    return FakeResponse.json({"count": len(items), "value": items})


def _content(
    request: FakeRequest, target: _Target, entry: TreeEntry, *, etag: bool
) -> FakeResponse:
    headers = [("Content-Type", "application/octet-stream")]
    if etag:  # AzureState.items_etag: not documented
        validator = f'"{entry.sha}"'
        wanted = {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}
        if validator in wanted or "*" in wanted:
            return FakeResponse.not_modified(validator)
        headers.append(("ETag", validator))
    if request.query.get("download", "").lower() == "true":
        headers.append(("Content-Disposition", f'attachment; filename="{entry.name}"'))
    return FakeResponse(200, target.repo.blob_by_sha(entry.sha), headers)


def _zip(target: _Target, sha: str, entry: TreeEntry) -> FakeResponse:
    name = entry.name or target.repo.name
    headers = [
        ("Content-Type", "application/zip"),
        ("Content-Disposition", f'attachment; filename="{name}.zip"'),
    ]
    if entry.type == "tree":
        archive = target.repo.archive_to_file(
            sha, fmt="zip", prefix=entry.name, subdir=entry.path or None
        )
        return FakeResponse(200, archive, headers)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive_file:
        archive_file.writestr(entry.name, target.repo.blob_by_sha(entry.sha))
    return FakeResponse(200, buffer.getvalue(), headers)


# --- commits -------------------------------------------------------------------------


def _first_parent(repo: FakeRepo, sha: str) -> Iterable[str]:
    current: str | None = sha
    while current is not None:
        yield current
        parents = repo.commit_info(current).parents
        current = parents[0] if parents else None


def _blobs(repo: FakeRepo, sha: str | None) -> dict[str, str]:
    if sha is None:
        return {}
    return {e.path: e.sha for e in repo.tree(sha) if e.type == "blob"}


def _commit_json(target: _Target, sha: str) -> dict[str, Any]:
    info = target.repo.commit_info(sha)
    before = _blobs(target.repo, info.parents[0] if info.parents else None)
    after = _blobs(target.repo, sha)
    comment = info.message.strip()
    return {
        "commitId": sha,
        "author": {
            "name": info.author_name,
            "email": info.author_email,
            "date": _iso(info.authored_at),
        },
        "committer": {
            "name": info.committer_name,
            "email": info.committer_email,
            "date": _iso(info.committed_at),
        },
        "comment": comment[:200],
        **({"commentTruncated": True} if len(comment) > 200 else {}),
        "changeCounts": {
            "Add": len(after.keys() - before.keys()),
            "Edit": sum(1 for p in after.keys() & before.keys() if after[p] != before[p]),
            "Delete": len(before.keys() - after.keys()),
        },
        "url": f"{target.api_base}/commits/{sha}",
        "remoteUrl": f"{target.web_base}/commit/{sha}",
    }


def _commits(request: FakeRequest, target: _Target) -> FakeResponse:
    query = request.query
    version = query.get("searchCriteria.itemVersion.version")
    kind = query.get("searchCriteria.itemVersion.versionType")
    if target.repo.resolve_ref(None) is None and not version:
        return FakeResponse.json({"count": 0, "value": []})
    sha = _resolve(target.repo, version, kind)
    if sha is None:
        return _bad_version(version, kind)
    try:
        top = max(int(query.get("searchCriteria.$top", "100")), 0)
        skip = max(int(query.get("searchCriteria.$skip", "0")), 0)
    except ValueError:
        return _error(400, "TF400898", "An invalid $top or $skip was given.", "ArgumentException")
    wanted: list[str] = []
    for index, commit in enumerate(_first_parent(target.repo, sha)):
        if index >= skip + top:
            break
        if index >= skip:
            wanted.append(commit)
    commits = [_commit_json(target, c) for c in wanted]
    return FakeResponse.json({"count": len(commits), "value": commits})


# --- Azure AD ------------------------------------------------------------------------


# https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
# (the token request with a shared secret, and its error answers)
def _token(state: AzureState, request: FakeRequest) -> FakeResponse:
    form: Mapping[str, str] = dict(parse_qsl(request.body.decode("utf-8", "replace")))
    if form.get("grant_type") != "client_credentials":
        return _aad_error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant type.")
    if form.get("scope") != SCOPE:
        return _aad_error(400, "invalid_scope", "AADSTS70011: the provided scope is not valid.")
    key = (request.params["tenant"], form.get("client_id", ""))
    with state._lock:
        secret = state.clients.get(key)
        if secret is None or not secrets.compare_digest(secret, form.get("client_secret", "")):
            return _aad_error(401, "invalid_client", "AADSTS7000215: Invalid client secret.")
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(24)
        state.bearer_tokens.add(token)
        lifetime = state.token_lifetime
    return FakeResponse.json(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": token,
        }
    )


def _aad_error(status: int, error: str, description: str) -> FakeResponse:
    return FakeResponse.json({"error": error, "error_description": description}, status)
