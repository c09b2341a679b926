"""Gitea (and Forgejo): the REST API v1 over FakeScmHost repositories.

The API lives under ``{sub_path}/api/v1`` (``sub_path`` like ``/gitea`` for an install
under a sub-path); configure a reader with :func:`integration_config`. Endpoints and their
real answer shapes:

- ``GET /repos/:owner/:repo/contents/:path?ref=``: a file as ``{name, path, sha,
  last_commit_sha, type: "file", size, encoding: "base64", content, url, html_url,
  git_url, download_url, _links}``, a folder as a list of such entries (without
  ``content``/``encoding``); ``ref`` defaults to the default branch;
  (Forgejo's ``last_commit_when`` included); a file above ``max_blob_size`` comes without
  ``content``/``encoding``, as Gitea's ``DEFAULT_MAX_BLOB_SIZE`` makes it;
- ``GET /repos/:owner/:repo/raw/:path?ref=``: the bytes, ``ETag: "<blob sha>"`` (304 on
  ``If-None-Match``) and ``Last-Modified`` (the last commit touching the file);
- ``GET /repos/:owner/:repo/git/commits/:sha``: the commit (``{url, sha, created,
  html_url, commit: {...}, author, committer, parents}``). It takes a branch or tag too,
  as Gitea 1.17+ does; ``install(..., commits_by_ref=False)`` plays older versions that
  only take commit ids (404 ``sha not found`` for a branch name);
- ``GET /repos/:owner/:repo/branches/:branch``: ``{name, commit: {id, message, url,
  timestamp, ...}, protected, ...}``;
- ``GET /repos/:owner/:repo/branches|tags?page=&limit=``: every branch (tag) as
  ``{name, commit: {id, ...}}``, ``limit`` capped at ``max_response_items`` (Gitea's
  ``[api] MAX_RESPONSE_ITEMS``, 50), with ``Link`` (``rel="next"``) and
  ``X-Total-Count`` headers (https://gitea.com/api/swagger#/repository/repoListBranches);
- ``GET /repos/:owner/:repo/git/trees/:sha?recursive=&page=&per_page=``: ``{sha, url,
  tree: [{path, mode, type, size, sha, url}], truncated, page, total_count}``, paged
  (default ``per_page`` 1000, Gitea's ``DEFAULT_GIT_TREES_PER_PAGE``; ``truncated`` while
  more pages follow);
- ``GET /repos/:owner/:repo/archive/:ref.(tar.gz|zip)``: ``git archive`` with the top
  folder ``{repo}/``.

Errors are Gitea's ``{"errors": null, "message": ..., "url": "<base>/api/swagger"}``.
Credentials: ``Authorization: basic base64(user:password)`` for users added with
:meth:`GiteaState.add_user`, ``Authorization: token <t>`` (or ``Bearer``) for tokens added
with :meth:`GiteaState.add_token`. Unknown credentials get 401; a token without the
``read:repository`` scope gets 403; private repositories (:meth:`GiteaState.make_private`)
answer 404 to anonymous callers, as Gitea hides them.
"""

from __future__ import annotations

import base64
import binascii
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import FakeRepo, TreeEntry
    from scmreader.testing.server import FakeScmHost

NAME = "gitea"
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_READ_SCOPE = "read:repository"
_ARCHIVES = {"tar.gz": "application/octet-stream", "zip": "application/octet-stream"}


@dataclass
class GiteaState:
    """The emulation's settings and state, ``host.state["gitea"]``; thread-safe."""

    sub_path: str = ""
    commits_by_ref: bool = True
    trees_per_page: int = 1000
    #: Largest ``limit`` of list endpoints (Gitea's ``[api] MAX_RESPONSE_ITEMS``).
    max_response_items: int = 50
    #: [api] DEFAULT_PAGING_NUM: the page size when a request gives no ``limit``
    #: (https://docs.gitea.com/administration/config-cheat-sheet#api-api).
    default_paging_num: int = 30
    #: Files larger than this come from the contents API without ``content``/``encoding``
    #: (Gitea's ``[api] DEFAULT_MAX_BLOB_SIZE``); None sends every file inline.
    max_blob_size: int | None = None
    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    private: set[str] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def api(self) -> str:
        """The API's path prefix (``/gitea/api/v1``)."""
        return f"{self.sub_path}/api/v1"

    def add_user(self, username: str, password: str) -> None:
        """Accept Basic credentials ``username:password`` for every repository."""
        with self._lock:
            self.users[username] = password

    def add_token(self, token: str, scopes: Iterable[str] = (_READ_SCOPE,)) -> None:
        """Accept the access token ``token``; without ``read:repository`` it gets 403."""
        with self._lock:
            self.tokens[token] = frozenset(scopes)

    def make_private(self, full_name: str) -> None:
        """Hide repository ``owner/repo`` from anonymous callers (404)."""
        with self._lock:
            self.private.add(full_name.casefold())


def install(
    host: FakeScmHost,
    *,
    sub_path: str = "",
    commits_by_ref: bool = True,
    trees_per_page: int = 1000,
    max_blob_size: int | None = None,
) -> None:
    """Register the Gitea routes on ``host`` (see the module docstring)."""
    if sub_path and (not sub_path.startswith("/") or sub_path.endswith("/")):
        raise FakeHostError(f"sub_path must start with '/' and not end with '/', got {sub_path!r}")
    state = GiteaState(
        sub_path, commits_by_ref, max(trees_per_page, 1), max_blob_size=max_blob_size
    )
    host.state[NAME] = state
    repo = state.api + _REPO

    def add(pattern: str, handler: _Handler) -> None:
        host.route("GET", pattern, _api(host, state, handler))

    # https://gitea.com/api/swagger#/repository/repoGetContents
    add(f"{repo}/contents/(?P<path>.*)", _get_contents)
    # https://gitea.com/api/swagger#/repository/repoGetRawFile
    add(f"{repo}/raw/(?P<path>.+)", _get_raw)
    # https://gitea.com/api/swagger#/repository/repoGetSingleCommit
    add(f"{repo}/git/commits/(?P<sha>[^/]+)", _get_commit)
    # https://gitea.com/api/swagger#/repository/repoListBranches
    add(f"{repo}/(?P<kind>branches|tags)", _list_refs)
    # https://gitea.com/api/swagger#/repository/repoGetBranch
    add(f"{repo}/branches/(?P<branch>.+)", _get_branch)
    # https://gitea.com/api/swagger#/repository/GetTree
    add(f"{repo}/git/trees/(?P<sha>[^/]+)", _get_tree)
    # https://gitea.com/api/swagger#/repository/repoGetArchive
    add(rf"{repo}/archive/(?P<ref>.+)\.(?P<fmt>tar\.gz|zip)", _get_archive)
    # https://gitea.com/api/swagger#/organization/orgListRepos and #/user/userListRepos
    host.route(
        "GET",
        f"{state.api}/(?P<kind>orgs|users)/(?P<owner>[^/]+)/repos",
        lambda request: _owner_repos(host, state, request),
    )


def gitea(host: FakeScmHost) -> GiteaState:
    """The host's Gitea state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: GiteaState = host.state[NAME]
    return state


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """The ``integrations.gitea[]`` entry that points a reader at ``host``."""
    state = gitea(host)
    entry: dict[str, Any] = {"host": host.host, "baseUrl": host.base_url + state.sub_path}
    entry.update(extra)
    return entry


# --- common answers ----------------------------------------------------------------------

_Handler = Callable[["FakeScmHost", GiteaState, FakeRequest, "FakeRepo"], FakeResponse]


def _error(request: FakeRequest, state: GiteaState, status: int, message: str) -> FakeResponse:
    swagger = f"{request.base_url}{state.sub_path}/api/swagger"
    return FakeResponse.json({"errors": None, "message": message, "url": swagger}, status)


def _not_found(request: FakeRequest, state: GiteaState) -> FakeResponse:
    return _error(request, state, 404, "The target couldn't be found.")


def _caller(request: FakeRequest, state: GiteaState) -> tuple[str, frozenset[str]] | str | None:
    """The caller and its scopes; None when anonymous, an error message when rejected."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if not scheme:
        return None
    with state._lock:
        if scheme == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return "invalid basic authentication"
            if state.users.get(user) != password:
                return f"user's password is invalid [uid: 0, name: {user}]"
            return user, frozenset({_READ_SCOPE})
        if scheme in ("token", "bearer") and value in state.tokens:
            return "token-user", state.tokens[value]
    return "user does not exist [uid: 0, name: ]"


def _api(host: FakeScmHost, state: GiteaState, handler: _Handler) -> Callable[[FakeRequest], Any]:
    def wrapped(request: FakeRequest) -> FakeResponse:
        caller = _caller(request, state)
        if isinstance(caller, str):
            return _error(request, state, 401, caller)
        full_name = f"{request.params['owner']}/{request.params['repo']}"
        repo = host.get_repo(full_name)
        with state._lock:
            hidden = full_name.casefold() in state.private
        if repo is None or (hidden and caller is None):
            return _not_found(request, state)
        if caller is not None and _READ_SCOPE not in caller[1]:
            message = f"token does not have at least one of required scope(s): [{_READ_SCOPE}]"
            return _error(request, state, 403, message)
        return handler(host, state, request, repo)

    return wrapped


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _web(request: FakeRequest, state: GiteaState, repo: FakeRepo) -> str:
    return f"{request.base_url}{state.sub_path}/{repo.full_name}"


def _api_repo(request: FakeRequest, state: GiteaState, repo: FakeRepo) -> str:
    return f"{request.base_url}{state.api}/repos/{repo.full_name}"


# --- contents and raw files --------------------------------------------------------------


def _entry_json(
    request: FakeRequest, state: GiteaState, repo: FakeRepo, ref: str, sha: str, e: TreeEntry
) -> dict[str, Any]:
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[e.type]
    if e.mode == "120000":
        kind = "symlink"
    api = _api_repo(request, state, repo)
    last = repo.last_commit(sha, e.path)
    path = quote(e.path)
    self_url = f"{api}/contents/{path}?ref={quote(ref)}"
    git_url = f"{api}/git/{'trees' if e.type == 'tree' else 'blobs'}/{e.sha}"
    html_url = f"{_web(request, state, repo)}/src/branch/{quote(ref)}/{path}"
    download = f"{_web(request, state, repo)}/raw/branch/{quote(ref)}/{path}"
    return {
        "name": e.name,
        "path": e.path,
        "sha": e.sha,
        "last_commit_sha": last,
        "last_commit_when": _iso(repo.commit_info(last).committed_at),
        "type": kind,
        "size": e.size or 0,
        "encoding": None,
        "content": None,
        "target": repo.blob_by_sha(e.sha).decode() if kind == "symlink" else None,
        "url": self_url,
        "html_url": html_url,
        "git_url": git_url,
        "download_url": download if kind == "file" else None,
        "submodule_git_url": None,
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    }


def _lookup(request: FakeRequest, repo: FakeRepo) -> tuple[str, str, TreeEntry | None] | None:
    ref = request.query.get("ref") or repo.default_branch
    sha = repo.resolve_ref(ref)
    if sha is None:
        return None
    path = request.params.get("path", "").strip("/")
    try:
        return ref, sha, repo.entry(sha, path)
    except (LookupError, FakeHostError):
        return ref, sha, None


def _get_contents(
    host: FakeScmHost, state: GiteaState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    found = _lookup(request, repo)
    if found is None:
        return _not_found(request, state)
    ref, sha, entry = found
    if entry is None:
        path = request.params.get("path", "")
        return _error(request, state, 404, f"object does not exist [id: , rel_path: {path}]")
    if entry.type == "tree":
        children = repo.tree(sha, entry.path, recursive=False)
        return FakeResponse.json([_entry_json(request, state, repo, ref, sha, c) for c in children])
    body = _entry_json(request, state, repo, ref, sha, entry)
    too_big = state.max_blob_size is not None and (entry.size or 0) > state.max_blob_size
    if body["type"] == "file" and not too_big:
        data = repo.blob_by_sha(entry.sha)
        body.update(encoding="base64", content=base64.b64encode(data).decode("ascii"))
    return FakeResponse.json(body)


# The swagger page documents no headers; Gitea's source does: routers/common/serve.go
# (https://github.com/go-gitea/gitea/blob/main/routers/common/serve.go, ServeBlob) answers
# through httpcache.HandleGenericETagTimeCache with ETag '"<blob id>"' and the last commit's
# time as Last-Modified, and 304 on a matching If-None-Match.
def _get_raw(
    host: FakeScmHost, state: GiteaState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    found = _lookup(request, repo)
    entry = found[2] if found is not None else None
    if found is None or entry is None or entry.type != "blob":
        return _not_found(request, state)
    sha = found[1]
    etag = f'"{entry.sha}"'
    when = repo.commit_info(repo.last_commit(sha, entry.path)).committed_at
    headers = [("ETag", etag), ("Last-Modified", format_datetime(when, usegmt=True))]
    wanted = {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return FakeResponse.not_modified(etag, headers[1:])
    return FakeResponse(200, repo.blob_by_sha(entry.sha), headers)


# --- commits, branches, trees ------------------------------------------------------------


def _user(name: str, email: str, when: datetime) -> dict[str, Any]:
    return {"name": name, "email": email, "date": _iso(when)}


def _commit_json(request: FakeRequest, state: GiteaState, repo: FakeRepo, sha: str) -> Any:
    info = repo.commit_info(sha)
    api = _api_repo(request, state, repo)
    return {
        "url": f"{api}/git/commits/{sha}",
        "sha": sha,
        "created": _iso(info.committed_at),
        "html_url": f"{_web(request, state, repo)}/commit/{sha}",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": _user(info.author_name, info.author_email, info.authored_at),
            "committer": _user(info.committer_name, info.committer_email, info.committed_at),
            "message": info.message,
            "tree": {"url": f"{api}/git/trees/{info.tree}", "sha": info.tree, "created": ""},
            "verification": {"verified": False, "reason": "gpg.error.not_signed_commit"},
        },
        "author": None,
        "committer": None,
        "parents": [
            {"url": f"{api}/git/commits/{p}", "sha": p, "created": ""} for p in info.parents
        ],
        "files": None,
        "stats": None,
    }


def _get_commit(
    host: FakeScmHost, state: GiteaState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    wanted = request.params["sha"]
    sha = repo.resolve_ref(wanted)
    if sha is not None and not state.commits_by_ref and not sha.startswith(wanted):
        sha = None
    if sha is None:
        return _error(request, state, 404, f"sha not found [sha: {wanted}]")
    return FakeResponse.json(_commit_json(request, state, repo, sha))


def _list_refs(
    host: FakeScmHost, state: GiteaState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    refs = repo.branches() if request.params["kind"] == "branches" else repo.tags()
    names, headers = _paged(request, state, sorted(refs))
    return FakeResponse.json(
        [{"name": n, "commit": {"id": refs[n]}} for n in names], headers=headers
    )


def _page_asked(request: FakeRequest, size_key: str, default: int, most: int) -> tuple[int, int]:
    """(page from 1, page size): ``page`` and ``size_key`` of the query, the size capped at
    ``most``; numbers Gitea cannot read give the first page at the default size."""
    try:
        page = max(int(request.query.get("page", "1")), 1)
        size = int(request.query.get(size_key, default))
    except ValueError:
        return 1, default
    return page, min(max(size, 1), most)


def _paged(request: FakeRequest, state: GiteaState, items: list[Any]) -> tuple[list[Any], Any]:
    """One page of ``items`` (``page``, ``limit`` capped at MAX_RESPONSE_ITEMS) and its
    ``X-Total-Count`` and ``Link`` (``rel="next"``) headers."""
    page, limit = _page_asked(request, "limit", state.default_paging_num, state.max_response_items)
    chunk = items[(page - 1) * limit : page * limit]
    headers = [("X-Total-Count", str(len(items)))]
    if page * limit < len(items):
        base = f"{request.base_url}{request.path}"
        headers.append(("Link", f'<{base}?page={page + 1}&limit={limit}>; rel="next"'))
    return chunk, headers


def _owner_repos(host: FakeScmHost, state: GiteaState, request: FakeRequest) -> FakeResponse:
    """An organisation's (``/orgs/``) or a user's (``/users/``) repositories; owners in
    ``GiteaState.users`` are users, every other owner of a repository an organisation."""
    caller = _caller(request, state)
    if isinstance(caller, str):
        return _error(request, state, 401, caller)
    owner = request.params["owner"].casefold()
    with state._lock:
        is_user = owner in {u.casefold() for u in state.users}
        private = set(state.private)
    owned = [r for r in host.repos.values() if r.owner.casefold() == owner]
    if (request.params["kind"] == "orgs") == is_user or not (owned or is_user):
        return _not_found(request, state)
    visible = [r for r in owned if caller is not None or r.full_name.casefold() not in private]
    visible.sort(key=lambda r: r.full_name.casefold())
    chunk, headers = _paged(request, state, visible)
    return FakeResponse.json([_repo_json(request, state, r) for r in chunk], headers=headers)


def _repo_json(request: FakeRequest, state: GiteaState, repo: FakeRepo) -> dict[str, Any]:
    empty = repo.resolve_ref(None) is None
    with state._lock:
        private = repo.full_name.casefold() in state.private
    return {
        "id": zlib.crc32(repo.full_name.encode()),
        "owner": {"login": repo.owner, "username": repo.owner},
        "name": repo.name,
        "full_name": repo.full_name,
        "empty": empty,
        "private": private,
        "fork": repo.fork,
        "template": False,
        "mirror": False,
        "size": 0 if empty else 1,
        "html_url": _web(request, state, repo),
        "clone_url": f"{_web(request, state, repo)}.git",
        "default_branch": repo.default_branch,
        "archived": repo.archived,
    }


def _get_branch(
    host: FakeScmHost, state: GiteaState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    name = request.params["branch"]
    sha = repo.branches().get(name)
    if sha is None:
        return _error(request, state, 404, "Branch Not Found")
    info = repo.commit_info(sha)
    return FakeResponse.json(
        {
            "name": name,
            "commit": {
                "id": sha,
                "message": info.message,
                "url": f"{_web(request, state, repo)}/commit/{sha}",
                "author": {"name": info.author_name, "email": info.author_email},
                "committer": {"name": info.committer_name, "email": info.committer_email},
                "timestamp": _iso(info.committed_at),
            },
            "protected": False,
            "user_can_push": False,
            "user_can_merge": False,
        }
    )


def _get_tree(
    host: FakeScmHost, state: GiteaState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    sha = repo.resolve_ref(request.params["sha"])
    if sha is None:
        return _error(request, state, 400, f"sha not found [sha: {request.params['sha']}]")
    recursive = request.query.get("recursive", "").lower() in ("1", "true")
    entries = repo.tree(sha, "", recursive=recursive)
    page, per_page = _page_asked(request, "per_page", state.trees_per_page, state.trees_per_page)
    chunk = entries[(page - 1) * per_page : page * per_page]
    api = _api_repo(request, state, repo)
    tree = repo.commit_info(sha).tree
    return FakeResponse.json(
        {
            "sha": tree,
            "url": f"{api}/git/trees/{tree}",
            "tree": [
                {
                    "path": e.path,
                    "mode": e.mode,
                    "type": e.type,
                    "size": e.size or 0,
                    "sha": e.sha,
                    "url": f"{api}/git/{'trees' if e.type == 'tree' else 'blobs'}/{e.sha}",
                }
                for e in chunk
            ],
            "truncated": page * per_page < len(entries),
            "page": page,
            "total_count": len(entries),
        }
    )


def _get_archive(
    host: FakeScmHost, state: GiteaState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    fmt = request.params["fmt"]
    ref = request.params["ref"]
    if repo.resolve_ref(ref) is None:
        return _not_found(request, state)
    archive = repo.archive_to_file(ref, fmt="zip" if fmt == "zip" else "tar.gz", prefix=repo.name)
    name = f"{repo.name}-{ref.replace('/', '-')}.{fmt}"
    headers = [
        ("Content-Type", _ARCHIVES[fmt]),
        ("Content-Disposition", f'attachment; filename="{name}"'),
    ]
    return FakeResponse(200, archive, headers)
