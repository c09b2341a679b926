"""Bitbucket Server / Data Center: the REST API 1.0 over FakeScmHost repositories.

A repository ``acme/widgets`` is project ``acme`` (any case: ``ACME``), repository slug
``widgets``. Everything lives under ``/rest/api/1.0/projects/{key}/repos/{slug}``;
configure a reader with :func:`integration_config`. Endpoints and their answer shapes:

- ``/raw/{path}?at=``: the file's bytes, with no ``ETag`` and no ``Last-Modified``:
  whether Bitbucket sends either is not documented, so the fake offers none to depend on
  (``raw_last_modified=True`` adds ``Last-Modified`` and 304 on ``If-Modified-Since``,
  to check a reader copes with both); ``at`` may be ``refs/heads/x``, ``x``, a tag or a
  commit id, empty for the default branch;
- ``/commits?path=&until=&start=&limit=``: paged commits (newest first) reachable from
  ``until`` that changed ``path``, as ``{id, displayId, authorTimestamp,
  committerTimestamp, parents}``
  (https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-repository/);
- ``/branches?filterText=&start=&limit=`` and ``/tags?...``: paged lists
  (``size, limit, isLastPage, start, nextPageStart, values``) of refs
  ``{id, displayId, type, latestCommit, latestChangeset, isDefault}``, sorted by name,
  ``filterText`` a case-insensitive substring of ``displayId``;
- ``/branches/default``: the default branch as a full branch (every version); ``204 No
  Content`` on an empty repository;
- ``/default-branch``: the default branch as a minimal ref ``{id, displayId, type}``
  (Bitbucket 7.5+; 404 when installed with ``legacy=True``, like a 5.x server);
- ``/files[/{path}]?at=&start=&limit=``: paged file paths below ``path``, relative to it;
- ``/archive?format=tgz|tar.gz|tar|zip&at=&prefix=&path=``: the archive, entries under
  ``prefix/`` when given, only the ``path=`` parts when given.

Errors have Bitbucket's shape ``{"errors": [{"context", "message", "exceptionName"}]}``.
Registered users (:meth:`BitbucketServerState.add_user`, Basic) and tokens
(:meth:`BitbucketServerState.add_token`, Bearer) are accepted; other credentials get 401.
Private repositories (:meth:`BitbucketServerState.make_private`) answer 401 to anonymous
callers, as Bitbucket does when anonymous access is off.
"""

from __future__ import annotations

import base64
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import ArchiveFormat, FakeRepo
    from scmreader.testing.server import FakeScmHost

NAME = "bitbucket_server"
API_PREFIX = "/rest/api/1.0"
_REPO = API_PREFIX + r"/projects/(?P<p>[^/]+)/repos/(?P<r>[^/]+)"
_FORMATS: dict[str, tuple[ArchiveFormat, str, str]] = {
    "tgz": ("tar.gz", "application/x-gzip", "tar.gz"),
    "tar.gz": ("tar.gz", "application/x-gzip", "tar.gz"),
    "tar": ("tar", "application/x-tar", "tar"),
    "zip": ("zip", "application/zip", "zip"),
}


@dataclass
class BitbucketServerState:
    """The emulation's accounts and settings, ``host.state["bitbucket_server"]``."""

    users: dict[str, str] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    private: set[str] = field(default_factory=set)
    #: Behave like Bitbucket 5.x: no ``/default-branch`` endpoint.
    legacy: bool = False
    #: ``/raw`` sends ``Last-Modified`` and answers ``If-Modified-Since`` (undocumented).
    raw_last_modified: bool = False
    #: The page size when a request gives no ``limit``, and the largest one allowed.
    default_limit: int = 25
    max_limit: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_user(self, username: str, password: str) -> None:
        """Accept Basic ``username:password``."""
        with self._lock:
            self.users[username] = password

    def add_token(self, token: str) -> None:
        """Accept ``Authorization: Bearer <token>`` (a personal / HTTP access token)."""
        with self._lock:
            self.tokens.add(token)

    def make_private(self, full_name: str) -> None:
        """Refuse ``project/repo`` to anonymous callers."""
        with self._lock:
            self.private.add(full_name.casefold())

    def identify(self, request: FakeRequest) -> str:
        """``anonymous``, ``known`` or ``unknown`` for the request's credentials."""
        value = request.headers.get("Authorization")
        if not value:
            return "anonymous"
        scheme, _, credential = value.partition(" ")
        with self._lock:
            if scheme.lower() == "bearer":
                return "known" if credential in self.tokens else "unknown"
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(credential).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return "unknown"
                return "known" if user in self.users and self.users[user] == password else "unknown"
        return "unknown"


def install(
    host: FakeScmHost,
    *,
    legacy: bool = False,
    raw_last_modified: bool = False,
    default_limit: int = 25,
    max_limit: int = 1000,
) -> None:
    """Register the Bitbucket Server routes on ``host`` (see the module docstring)."""
    if not 0 < default_limit <= max_limit:
        raise FakeHostError("need 0 < default_limit <= max_limit")
    state = BitbucketServerState(
        legacy=legacy,
        raw_last_modified=raw_last_modified,
        default_limit=default_limit,
        max_limit=max_limit,
    )
    host.state[NAME] = state

    def add(
        pattern: str, handler: Callable[[BitbucketServerState, FakeRepo, FakeRequest], Any]
    ) -> None:
        host.route("GET", pattern, _guarded(host, state, handler))

    # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-repository/ (raw)
    add(f"{_REPO}/raw/(?P<path>.+)", _get_raw)
    # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-repository/ (branches)
    add(f"{_REPO}/branches", _list_refs("BRANCH"))
    add(f"{_REPO}/tags", _list_refs("TAG"))
    # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-repository/
    # (commits: paged, newest first, ``path`` filter)
    add(f"{_REPO}/commits", _list_commits)
    # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-repository/
    # (default branch; 204 No Content when the repository has no commits)
    add(f"{_REPO}/branches/default", _get_default_branch)
    # Bitbucket 7.5+: api-group-repository (default-branch)
    add(f"{_REPO}/default-branch", _get_default_ref)
    # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-repository/ (files)
    add(f"{_REPO}/files(?:/(?P<path>.*))?", _list_files)
    # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-repository/ (archive)
    add(f"{_REPO}/archive", _get_archive)
    # https://developer.atlassian.com/server/bitbucket/rest/v811/api-group-project/ (projects,
    # and a project's repositories): paged like every list
    host.route("GET", f"{API_PREFIX}/projects", _listing(host, state, _list_projects))
    host.route(
        "GET", f"{API_PREFIX}/projects/(?P<p>[^/]+)/repos", _listing(host, state, _list_repos)
    )


def bitbucket_server(host: FakeScmHost) -> BitbucketServerState:
    """The host's Bitbucket Server state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: BitbucketServerState = host.state[NAME]
    return state


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """The ``integrations.bitbucketServer[]`` entry that points a reader at ``host``."""
    bitbucket_server(host)
    entry: dict[str, Any] = {"host": host.host, "apiBaseUrl": host.base_url + API_PREFIX}
    entry.update(extra)
    return entry


# --- common answers ----------------------------------------------------------------------


def _error(status: int, message: str, exception: str) -> FakeResponse:
    body = {
        "errors": [
            {
                "context": None,
                "message": message,
                "exceptionName": f"com.atlassian.bitbucket.{exception}",
            }
        ]
    }
    return FakeResponse.json(body, status)


def _guarded(
    host: FakeScmHost,
    state: BitbucketServerState,
    handler: Callable[[BitbucketServerState, FakeRepo, FakeRequest], FakeResponse],
) -> Callable[[FakeRequest], FakeResponse]:
    def wrapped(request: FakeRequest) -> FakeResponse:
        who = state.identify(request)
        if who == "unknown":
            return _bad_credentials()
        project, slug = request.params["p"], request.params["r"]
        repo = host.get_repo(f"{project}/{slug}")
        if repo is None:
            return _error(
                404,
                f"Repository {project}/{slug} does not exist.",
                "repository.NoSuchRepositoryException",
            )
        with state._lock:
            hidden = repo.full_name.casefold() in state.private
        if hidden and who == "anonymous":
            return _error(
                401,
                "You are not permitted to access this resource",
                "AuthorisationException",
            )
        return handler(state, repo, request)

    return wrapped


def _bad_credentials() -> FakeResponse:
    return _error(
        401,
        "Authentication failed. Please check your credentials and try again.",
        "auth.IncorrectPasswordAuthenticationException",
    )


def _listing(
    host: FakeScmHost,
    state: BitbucketServerState,
    handler: Callable[[FakeScmHost, BitbucketServerState, FakeRequest, bool], FakeResponse],
) -> Callable[[FakeRequest], FakeResponse]:
    def wrapped(request: FakeRequest) -> FakeResponse:
        who = state.identify(request)
        if who == "unknown":
            return _bad_credentials()
        return handler(host, state, request, who == "known")

    return wrapped


def _visible(host: FakeScmHost, state: BitbucketServerState, known: bool) -> list[FakeRepo]:
    with state._lock:
        private = set(state.private)
    repos = [r for r in host.repos.values() if known or r.full_name.casefold() not in private]
    return sorted(repos, key=lambda r: r.full_name.casefold())


def _project_json(key: str) -> dict[str, Any]:
    return {
        "key": key.upper(),
        "id": zlib.crc32(key.upper().encode()) % 10**6,
        "name": key,
        "public": True,
    }


def _list_projects(
    host: FakeScmHost, state: BitbucketServerState, request: FakeRequest, known: bool
) -> FakeResponse:
    keys = sorted({r.owner.upper() for r in _visible(host, state, known)})
    return _page(state, request, [_project_json(k) for k in keys])


def _list_repos(
    host: FakeScmHost, state: BitbucketServerState, request: FakeRequest, known: bool
) -> FakeResponse:
    key = request.params["p"]
    if not any(r.owner.casefold() == key.casefold() for r in host.repos.values()):
        return _error(404, f"Project {key} does not exist.", "project.NoSuchProjectException")
    repos = [r for r in _visible(host, state, known) if r.owner.casefold() == key.casefold()]
    base = request.base_url
    items = [
        {
            "slug": r.name.lower(),
            "id": zlib.crc32(r.full_name.encode()) % 10**6,
            "name": r.name,
            "scmId": "git",
            "state": "AVAILABLE",
            "statusMessage": "Available",
            "forkable": True,
            "project": _project_json(r.owner),
            "public": False,
            "archived": r.archived,  # Bitbucket 8.0+
            **(
                {"origin": {"slug": "upstream", "project": _project_json(r.owner)}}
                if r.fork
                else {}
            ),
            "links": {
                "self": [{"href": f"{base}/projects/{r.owner.upper()}/repos/{r.name}/browse"}]
            },
        }
        for r in repos
    ]
    return _page(state, request, items)


def _commit(repo: FakeRepo, request: FakeRequest) -> tuple[str, str] | FakeResponse:
    at = request.query.get("at", "")
    sha = repo.resolve_ref(at or None)
    if sha is None:
        return _error(
            404,
            f"Object \"{at}\" does not exist in repository '{repo.name}'.",
            "commit.NoSuchCommitException",
        )
    return at, sha


def _no_path(path: str, at: str) -> FakeResponse:
    return _error(
        404,
        f'The path "{path}" does not exist at revision "{at}"',
        "content.NoSuchPathException",
    )


def _page(state: BitbucketServerState, request: FakeRequest, items: list[Any]) -> FakeResponse:
    try:
        start = max(int(request.query.get("start", "0")), 0)
        limit = int(request.query.get("limit", str(state.default_limit)))
    except ValueError:
        return _error(400, "start and limit must be numbers", "rest.BadRequestException")
    limit = min(max(limit, 1), state.max_limit)
    chunk = items[start : start + limit]
    last = start + limit >= len(items)
    body: dict[str, Any] = {
        "size": len(chunk),
        "limit": limit,
        "isLastPage": last,
        "values": chunk,
        "start": start,
    }
    if not last:
        body["nextPageStart"] = start + limit
    return FakeResponse.json(body)


# --- files -------------------------------------------------------------------------------


def _get_raw(state: BitbucketServerState, repo: FakeRepo, request: FakeRequest) -> FakeResponse:
    found = _commit(repo, request)
    if isinstance(found, FakeResponse):
        return found
    at, sha = found
    path = request.params["path"].strip("/")
    entry = repo.entry(sha, path)
    if entry is None or entry.type != "blob":
        return _no_path(path, at)
    headers = [("Content-Type", "text/plain;charset=UTF-8")]
    if state.raw_last_modified:
        last = repo.commit_info(repo.last_commit(sha, path)).committed_at
        headers.append(("Last-Modified", format_datetime(last, usegmt=True)))
        if _not_modified(request, last):
            return FakeResponse(304, b"", headers[1:])
    return FakeResponse(200, repo.blob_by_sha(entry.sha), headers)


def _list_commits(
    state: BitbucketServerState, repo: FakeRepo, request: FakeRequest
) -> FakeResponse:
    until = request.query.get("until", "")
    sha = repo.resolve_ref(until or None)
    if sha is None:
        return _error(
            404,
            f"Commit '{until}' does not exist in repository '{repo.name}'.",
            "commit.NoSuchCommitException",
        )
    path = request.query.get("path", "").strip("/")
    found: list[Any] = []
    current: str | None = sha
    while current is not None:
        info = repo.commit_info(current)
        parent = info.parents[0] if info.parents else None
        if not path or _blob_id(repo, current, path) != (
            _blob_id(repo, parent, path) if parent else None
        ):
            stamp = int(info.committed_at.timestamp() * 1000)
            found.append(
                {
                    "id": current,
                    "displayId": current[:11],
                    "authorTimestamp": stamp,
                    "committerTimestamp": stamp,
                    "message": info.message,
                    "parents": [{"id": p, "displayId": p[:11]} for p in info.parents],
                }
            )
        current = parent
    return _page(state, request, found)


def _blob_id(repo: FakeRepo, sha: str, path: str) -> str | None:
    entry = repo.entry(sha, path)
    return entry.sha if entry is not None else None


def _not_modified(request: FakeRequest, last: Any) -> bool:
    since = request.headers.get("If-Modified-Since")
    if not since:
        return False
    try:
        return bool(last <= parsedate_to_datetime(since))
    except (TypeError, ValueError):
        return False


def _list_files(state: BitbucketServerState, repo: FakeRepo, request: FakeRequest) -> FakeResponse:
    found = _commit(repo, request)
    if isinstance(found, FakeResponse):
        return found
    at, sha = found
    folder = request.params.get("path", "").strip("/")
    entry = repo.entry(sha, folder)
    if entry is None or entry.type != "tree":
        return _no_path(folder, at)
    cut = len(folder) + 1 if folder else 0
    names = [e.path[cut:] for e in repo.tree(sha, folder) if e.type == "blob"]
    return _page(state, request, names)


# --- refs --------------------------------------------------------------------------------


def _ref_json(repo: FakeRepo, kind: str, name: str, sha: str) -> dict[str, Any]:
    prefix = "refs/heads/" if kind == "BRANCH" else "refs/tags/"
    ref: dict[str, Any] = {
        "id": prefix + name,
        "displayId": name,
        "type": kind,
        "latestCommit": sha,
        "latestChangeset": sha,
    }
    if kind == "BRANCH":
        ref["isDefault"] = name == repo.default_branch
    else:
        ref["hash"] = repo.tag_object(name)
    return ref


def _list_refs(
    kind: str,
) -> Callable[[BitbucketServerState, FakeRepo, FakeRequest], FakeResponse]:
    def handler(state: BitbucketServerState, repo: FakeRepo, request: FakeRequest) -> FakeResponse:
        refs = repo.branches() if kind == "BRANCH" else repo.tags()
        wanted = request.query.get("filterText", "").casefold()
        items = [
            _ref_json(repo, kind, name, sha)
            for name, sha in sorted(refs.items())
            if wanted in name.casefold()
        ]
        return _page(state, request, items)

    return handler


def _default(repo: FakeRepo) -> dict[str, Any] | None:
    sha = repo.branches().get(repo.default_branch)
    return None if sha is None else _ref_json(repo, "BRANCH", repo.default_branch, sha)


def _no_default(repo: FakeRepo) -> FakeResponse:
    return _error(
        404,
        f"Repository {repo.name} does not have a default branch.",
        "repository.NoDefaultBranchException",
    )


def _get_default_branch(
    state: BitbucketServerState, repo: FakeRepo, request: FakeRequest
) -> FakeResponse:
    branch = _default(repo)
    if branch is None and not repo.branches():
        return FakeResponse(204, b"")  # an empty repository (issue: not a 404)
    return _no_default(repo) if branch is None else FakeResponse.json(branch)


def _get_default_ref(
    state: BitbucketServerState, repo: FakeRepo, request: FakeRequest
) -> FakeResponse:
    if state.legacy:
        return _error(404, "Not Found", "rest.ResourceNotFoundException")
    branch = _default(repo)
    if branch is None:
        return _no_default(repo)
    return FakeResponse.json({k: branch[k] for k in ("id", "displayId", "type")})


# --- archives ----------------------------------------------------------------------------


def _get_archive(state: BitbucketServerState, repo: FakeRepo, request: FakeRequest) -> FakeResponse:
    fmt = _FORMATS.get(request.query.get("format", "zip"))
    if fmt is None:
        return _error(400, "Unsupported archive format", "scm.ArchiveFormatException")
    found = _commit(repo, request)
    if isinstance(found, FakeResponse):
        return found
    at, sha = found
    prefix = request.query.get("prefix", "")
    paths = [p.strip("/") for p in request.query_all.get("path", []) if p.strip("/")]
    for path in paths:
        if repo.entry(sha, path) is None:
            return _no_path(path, at)
    kind, content_type, extension = fmt
    archive = repo.archive_to_file(sha, fmt=kind, prefix=prefix, paths=paths or None)
    filename = f"{repo.name}-{sha[:12]}.{extension}"
    headers = [
        ("Content-Type", content_type),
        ("Content-Disposition", f'attachment; filename="{filename}"'),
    ]
    return FakeResponse(200, archive, headers)
