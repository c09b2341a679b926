"""GitHub / GitHub Enterprise: REST API, raw host and codeload over FakeScmHost repositories.

Layout, as GitHub Enterprise Server lays it out on one host:

- browse URLs at the root: ``{base_url}/{owner}/{repo}/blob/{ref}/{path}``;
- the REST API under ``/api/v3`` (``api_prefix``);
- raw files under ``/raw`` (``raw_prefix``): ``/raw/{owner}/{repo}/{ref}/{path}``;
- archives: ``GET /api/v3/repos/{o}/{r}/tarball/{ref}`` answers ``302`` to codeload, which
  is this same server addressed as ``localhost`` (another origin, so clients must drop
  credentials on the hop; hosts bound elsewhere than 127.0.0.1 redirect to their own
  origin) unless ``codeload=<another FakeScmHost>`` is given.

So a reader is configured with :func:`integration_config`. Answers carry GitHub's shapes,
statuses and headers: ``ETag`` (``If-None-Match`` gives 304), ``x-ratelimit-*``, 404 bodies
``{"message": "Not Found", "documentation_url": ...}``, 422 for unknown commits, recursive
tree listings that are ``truncated`` past ``tree_limit`` entries, GitHub Apps
(``/app/installations``, installation access tokens, ``/installation/repositories``),
``/user`` (the owner of a personal token; 403 for app and installation tokens, as GitHub
answers) and ``/rate_limit`` (free of charge, and answered even when the limit is spent).

Authentication is only checked where it matters: app endpoints need the app's RS256 JWT
(verified with the public key given to :meth:`GithubState.add_app`, so PyJWT is needed
for them); private repositories (:meth:`GithubState.make_private`) answer 404 unless the
token is a registered personal token or an installation token that covers them. Once any
token or app is registered, unknown tokens get ``401 Bad credentials``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scmreader.testing.exceptions import FakeHostError, UnknownPathError, UnknownRefError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import ArchiveFormat, FakeRepo, TreeEntry
    from scmreader.testing.server import FakeScmHost

NAME = "github"
DOCS = "https://docs.github.com/rest"
_OWNER = r"(?P<owner>[^/]+)"
_REPO = r"(?P<repo>[^/]+)"
_RAW_TYPES = ("application/vnd.github.v3.raw", "application/vnd.github.raw")
_SHA_TYPES = ("application/vnd.github.v3.sha", "application/vnd.github.sha")

Handler = Callable[[FakeRequest], FakeResponse | None]


@dataclass
class FakeInstallation:
    """One installation of a fake GitHub App."""

    id: int
    app_id: int
    account: str
    repositories: list[str] | None = None
    suspended: bool = False


@dataclass
class FakeApp:
    """A fake GitHub App: its id and the PEM public key its JWTs are checked with."""

    app_id: int
    public_key: str
    slug: str


@dataclass
class _Issued:
    installation_id: int | None
    expires_at: float
    login: str | None = None


@dataclass
class _Identity:
    kind: str  # "anonymous", "pat", "installation", "app", "unknown"
    installation: FakeInstallation | None = None
    app: FakeApp | None = None
    login: str | None = None  # the user a personal token belongs to


@dataclass
class GithubState:
    """The emulation's settings and state, ``host.state["github"]``; thread-safe."""

    api_prefix: str = "/api/v3"
    raw_prefix: str = "/raw"
    tree_limit: int | None = None
    token_ttl: float = 3600.0
    codeload: FakeScmHost | None = None
    apps: dict[int, FakeApp] = field(default_factory=dict)
    installations: dict[int, FakeInstallation] = field(default_factory=dict)
    tokens: dict[str, _Issued] = field(default_factory=dict)
    private: set[str] = field(default_factory=set)
    check_tokens: bool = False
    rate_limit: int = 5000
    rate_remaining: int = 5000
    rate_reset: int = field(default_factory=lambda: int(time.time()) + 3600)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000), repr=False)
    _tree_index: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict, repr=False)

    # --- configuring -------------------------------------------------------------------

    def add_token(self, token: str, *, login: str = "octocat") -> None:
        """Accept ``token`` as a personal access token of user ``login`` (what ``/user``
        answers) that can read every repository."""
        with self._lock:
            self.tokens[token] = _Issued(None, float("inf"), login)
            self.check_tokens = True

    def make_private(self, full_name: str) -> None:
        """Hide ``full_name`` from anonymous callers and from tokens that do not cover it."""
        with self._lock:
            self.private.add(full_name.lower())

    def add_app(self, app_id: int, public_key: str, *, slug: str | None = None) -> FakeApp:
        """Register a GitHub App whose JWTs verify with ``public_key`` (PEM)."""
        with self._lock:
            app = FakeApp(app_id, public_key, slug or f"app-{app_id}")
            self.apps[app_id] = app
            self.check_tokens = True
            return app

    def add_installation(
        self,
        app_id: int,
        account: str,
        *,
        repositories: Iterable[str] | None = None,
        suspended: bool = False,
    ) -> FakeInstallation:
        """Install app ``app_id`` on ``account``: all its repositories, or only ``repositories``
        (names without the owner)."""
        with self._lock:
            if app_id not in self.apps:
                raise FakeHostError(f"add_app({app_id}, ...) before installing it")
            installation = FakeInstallation(
                next(self._ids),
                app_id,
                account,
                None if repositories is None else list(repositories),
                suspended,
            )
            self.installations[installation.id] = installation
            return installation

    def remove_installation(self, installation_id: int) -> None:
        """Uninstall (token creation for it then answers 404)."""
        with self._lock:
            self.installations.pop(installation_id, None)

    def set_rate_limit(
        self, remaining: int, *, limit: int = 5000, reset: int | float | None = None
    ) -> None:
        """Set the core rate limit; once ``remaining`` is 0 API requests answer 403."""
        with self._lock:
            self.rate_limit = limit
            self.rate_remaining = remaining
            self.rate_reset = int(reset if reset is not None else time.time() + 3600)

    def issued_tokens(self) -> list[str]:
        """Installation tokens minted so far, oldest first."""
        with self._lock:
            return [t for t, i in self.tokens.items() if i.installation_id is not None]

    # --- used by handlers --------------------------------------------------------------

    def remember_tree(self, full_name: str, tree_sha: str, commit: str, path: str) -> None:
        with self._lock:
            self._tree_index[(full_name, tree_sha)] = (commit, path)

    def find_tree(self, full_name: str, tree_sha: str) -> tuple[str, str] | None:
        with self._lock:
            return self._tree_index.get((full_name, tree_sha))

    def mint(self, installation_id: int) -> tuple[str, float]:
        with self._lock:
            token = "ghs_" + secrets.token_urlsafe(27).replace("-", "a").replace("_", "b")[:36]
            expires = time.time() + self.token_ttl
            self.tokens[token] = _Issued(installation_id, expires)
            return token, expires

    def take_rate(self, counted: bool) -> bool:
        """Consume one request of the limit; False when it is exhausted."""
        with self._lock:
            if self.rate_remaining <= 0:
                return False
            if counted:
                self.rate_remaining -= 1
            return True

    def rate_headers(self) -> list[tuple[str, str]]:
        with self._lock:
            return [
                ("x-ratelimit-limit", str(self.rate_limit)),
                ("x-ratelimit-remaining", str(max(self.rate_remaining, 0))),
                ("x-ratelimit-reset", str(self.rate_reset)),
                ("x-ratelimit-used", str(self.rate_limit - max(self.rate_remaining, 0))),
                ("x-ratelimit-resource", "core"),
            ]


# --- installing ------------------------------------------------------------------------


def install(
    host: FakeScmHost,
    *,
    api_prefix: str = "/api/v3",
    raw_prefix: str = "/raw",
    codeload: FakeScmHost | None = None,
    tree_limit: int | None = None,
    token_ttl: float = 3600.0,
) -> None:
    """Register the GitHub routes on ``host`` (see the module docstring for the options)."""
    for name, prefix in (("api_prefix", api_prefix), ("raw_prefix", raw_prefix)):
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise FakeHostError(f"{name} must start with '/' and not end with '/', got {prefix!r}")
    state = GithubState(api_prefix, raw_prefix, tree_limit, token_ttl, codeload)
    host.state[NAME] = state
    api = api_prefix
    repo = f"{api}/repos/{_OWNER}/{_REPO}"

    def add(method: str, pattern: str, handler: Callable[..., FakeResponse]) -> None:
        host.route(method, pattern, lambda request: handler(host, state, request))

    add("GET", repo, _api(_get_repo))
    add("GET", f"{repo}/commits/(?P<rest>.+)", _api(_get_commit))
    add("GET", f"{repo}/contents(?:/(?P<path>.*))?", _api(_get_contents))
    add("GET", f"{repo}/(?P<format>tarball|zipball)(?:/(?P<ref>.+))?", _api(_get_archive))
    add("GET", f"{repo}/git/trees/(?P<sha>.+)", _api(_get_tree))
    add("GET", f"{repo}/git/blobs/(?P<sha>[0-9a-fA-F]{{40}})", _api(_get_blob))
    add("GET", f"{repo}/git/matching-refs(?:/(?P<ref>.*))?", _api(_matching_refs))
    add("GET", f"{repo}/branches", _api(_branches))
    add("GET", f"{api}/app/installations", _api(_list_installations))
    add("POST", f"{api}/app/installations/(?P<id>[0-9]+)/access_tokens", _api(_create_token))
    add("GET", f"{api}/installation/repositories", _api(_installation_repos))
    add("GET", f"{api}/user", _api(_get_user))
    add("GET", f"{api}/rate_limit", _rate_limit)
    add("GET", f"{raw_prefix}/{_OWNER}/{_REPO}/(?P<rest>.+)", _raw)
    codeload_pattern = rf"/{_OWNER}/{_REPO}/legacy\.(?P<fmt>tar\.gz|zip)/(?P<ref>.+)"
    if codeload is None:
        add("GET", "/_codeload" + codeload_pattern, _codeload)
    else:
        codeload.route("GET", codeload_pattern, lambda request: _codeload(host, state, request))


def github(host: FakeScmHost) -> GithubState:
    """The host's GitHub state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: GithubState = host.state[NAME]
    return state


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """The ``integrations.github[]`` entry that points a reader at ``host``."""
    state = github(host)
    entry: dict[str, Any] = {
        "host": host.host,
        "apiBaseUrl": host.base_url + state.api_prefix,
        "rawBaseUrl": host.base_url + state.raw_prefix,
    }
    entry.update(extra)
    return entry


def codeload_base_url(host: FakeScmHost) -> str:
    """Where tarball requests are redirected to."""
    state = github(host)
    if state.codeload is not None:
        return state.codeload.base_url
    if host.bind == "127.0.0.1":
        return f"http://localhost:{host.port}/_codeload"
    return f"{host.base_url}/_codeload"  # no second name for this address: same origin


# --- common answers --------------------------------------------------------------------


def _json(
    obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> FakeResponse:
    return FakeResponse.json(obj, status, headers)


def _error(status: int, message: str, doc: str = "") -> FakeResponse:
    return _json(
        {"message": message, "documentation_url": f"{DOCS}{doc}", "status": str(status)}, status
    )


def _not_found(doc: str = "") -> FakeResponse:
    return _error(404, "Not Found", doc)


def _etag_of(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _api(handler: Callable[[FakeScmHost, GithubState, FakeRequest], FakeResponse]) -> Any:
    """Wrap an API handler: rate limit, conditional JSON answers, GitHub's headers."""

    def wrapped(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
        identity = _identify(state, request)
        authed = identity.kind != "anonymous"
        if not state.take_rate(counted=False):
            response = _error(
                403,
                f"API rate limit exceeded for {request.client_address[0]}.",
                "/overview/rate-limits-for-the-rest-api",
            )
        elif identity.kind == "unknown":
            response = _error(401, "Bad credentials")
        else:
            response = handler(host, state, request)
            if response.status == 200 and request.method == "GET":
                body = response.body if isinstance(response.body, bytes) else None
                etag = response.header("ETag")
                if etag is None and body is not None:
                    etag = _etag_of(body)
                    response.set_header("ETag", etag)
                if etag and _matches(request.headers.get("If-None-Match"), etag):
                    response = FakeResponse.not_modified(etag)
            # GitHub: a 304 to an authenticated request does not count against the limit.
            state.take_rate(counted=not (response.status == 304 and authed))
        for name, value in state.rate_headers():
            response.set_header(name, value)
        response.set_header("X-GitHub-Media-Type", "github.v3; format=json")
        response.set_header("X-GitHub-Request-Id", secrets.token_hex(8).upper())
        return response

    return wrapped


def _identify(state: GithubState, request: FakeRequest) -> _Identity:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header or scheme.lower() not in ("bearer", "token") or not token:
        return _Identity("anonymous")
    with state._lock:
        issued = state.tokens.get(token)
        if issued is not None:
            if issued.expires_at < time.time():
                return _Identity("unknown")
            if issued.installation_id is None:
                return _Identity("pat", login=issued.login)
            installation = state.installations.get(issued.installation_id)
            return _Identity("installation", installation) if installation else _Identity("unknown")
    if token.count(".") == 2:
        app = _verify_jwt(state, token)
        return _Identity("app", app=app) if app else _Identity("unknown")
    return _Identity("unknown") if state.check_tokens else _Identity("anonymous")


def _verify_jwt(state: GithubState, token: str) -> FakeApp | None:
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        app = state.apps.get(int(claims.get("iss", 0)))
        if app is None:
            return None
        claims = jwt.decode(
            token,
            app.public_key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_iss": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int) or not 0 < exp - iat <= 600:
        return None  # GitHub: exp at most 10 minutes after iat
    return app


def _repo_or_none(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeRepo | None:
    params = request.params
    repo = host.get_repo(f"{params['owner']}/{params['repo']}")
    if repo is None or not _can_read(state, _identify(state, request), repo):
        return None
    return repo


def _can_read(state: GithubState, identity: _Identity, repo: FakeRepo) -> bool:
    if repo.full_name.lower() not in state.private or identity.kind == "pat":
        return True
    installation = identity.installation
    if identity.kind != "installation" or installation is None:
        return False
    if installation.account.lower() != repo.owner.lower():
        return False
    wanted = installation.repositories
    return wanted is None or repo.name.lower() in {r.lower() for r in wanted}


def _api_base(state: GithubState, request: FakeRequest) -> str:
    return request.base_url + state.api_prefix


def _repo_api(state: GithubState, request: FakeRequest, repo: FakeRepo) -> str:
    return f"{_api_base(state, request)}/repos/{repo.full_name}"


def _stable_id(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode(), usedforsecurity=False).digest()[:3], "big")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64_lines(data: bytes) -> str:
    text = base64.b64encode(data).decode("ascii")
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def _owner_json(base: str, api: str, login: str) -> dict[str, Any]:
    uid = _stable_id(login)
    return {
        "login": login,
        "id": uid,
        "node_id": base64.b64encode(f"04:User{uid}".encode()).decode(),
        "avatar_url": f"{base}/avatars/u/{uid}",
        "url": f"{api}/users/{login}",
        "html_url": f"{base}/{login}",
        "type": "Organization",
        "site_admin": False,
    }


def _repo_json(state: GithubState, request: FakeRequest, repo: FakeRepo) -> dict[str, Any]:
    base = request.base_url
    api = _repo_api(state, request, repo)
    private = repo.full_name.lower() in state.private
    rid = _stable_id(repo.full_name)
    try:
        pushed = _iso(repo.commit_info().committed_at)
    except UnknownRefError:
        pushed = None
    return {
        "id": rid,
        "node_id": base64.b64encode(f"010:Repository{rid}".encode()).decode(),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": private,
        "owner": _owner_json(base, _api_base(state, request), repo.owner),
        "html_url": f"{base}/{repo.full_name}",
        "description": None,
        "fork": False,
        "url": api,
        "archive_url": api + "/{archive_format}{/ref}",
        "blobs_url": api + "/git/blobs{/sha}",
        "branches_url": api + "/branches{/branch}",
        "commits_url": api + "/commits{/sha}",
        "contents_url": api + "/contents/{+path}",
        "git_refs_url": api + "/git/refs{/sha}",
        "statuses_url": api + "/statuses/{sha}",
        "trees_url": api + "/git/trees{/sha}",
        "clone_url": f"{base}/{repo.full_name}.git",
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": pushed,
        "pushed_at": pushed,
        "size": 0,
        "archived": False,
        "disabled": False,
        "visibility": "private" if private else "public",
        "default_branch": repo.default_branch,
    }


def _resolve(repo: FakeRepo, ref: str | None) -> str | None:
    return repo.resolve_ref(ref or repo.default_branch)


# --- repository endpoints --------------------------------------------------------------


def _get_repo(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    if repo is None:
        return _not_found("/repos/repos#get-a-repository")
    return _json(_repo_json(state, request, repo))


def _get_commit(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    rest = request.params["rest"]
    status = rest.endswith("/status")
    ref = rest[: -len("/status")] if status else rest
    if repo is None:
        return _not_found("/commits/commits#get-a-commit")
    sha = _resolve(repo, ref)
    if sha is None:
        if status:
            return _not_found("/commits/statuses#get-the-combined-status-for-a-specific-reference")
        return _error(422, f"No commit found for SHA: {ref}", "/commits/commits#get-a-commit")
    api = _repo_api(state, request, repo)
    if status:
        return _json(
            {
                "state": "pending",
                "statuses": [],
                "sha": sha,
                "total_count": 0,
                "repository": _repo_json(state, request, repo),
                "commit_url": f"{api}/commits/{sha}",
                "url": f"{api}/commits/{sha}/status",
            }
        )
    accept = request.headers.get("Accept", "")
    if any(t in accept for t in _SHA_TYPES):
        return FakeResponse.text(
            sha,
            headers=[("ETag", f'"{sha}"')],
            content_type="application/vnd.github.sha; charset=utf-8",
        )
    info = repo.commit_info(sha)
    person = {"name": info.author_name, "email": info.author_email, "date": _iso(info.authored_at)}
    committer = {
        "name": info.committer_name,
        "email": info.committer_email,
        "date": _iso(info.committed_at),
    }
    return _json(
        {
            "sha": sha,
            "node_id": base64.b64encode(f"06:Commit{sha}".encode()).decode(),
            "commit": {
                "author": person,
                "committer": committer,
                "message": info.message.rstrip("\n"),
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "url": f"{api}/git/commits/{sha}",
                "comment_count": 0,
            },
            "url": f"{api}/commits/{sha}",
            "html_url": f"{request.base_url}/{repo.full_name}/commit/{sha}",
            "author": None,
            "committer": None,
            "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in info.parents],
            "files": [],
        }
    )


def _last_modified(repo: FakeRepo, sha: str, path: str) -> str:
    info = repo.commit_info(repo.last_commit(sha, path))
    return format_datetime(info.committed_at, usegmt=True)


def _not_modified_since(request: FakeRequest, last_modified: str) -> bool:
    since = request.headers.get("If-Modified-Since")
    if not since or request.headers.get("If-None-Match"):
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _content_json(
    state: GithubState, request: FakeRequest, repo: FakeRepo, ref: str, entry: TreeEntry
) -> dict[str, Any]:
    api = _repo_api(state, request, repo)
    kind = {"blob": "file", "tree": "dir", "commit": "submodule"}[entry.type]
    if entry.mode == "120000":
        kind = "symlink"
    html = f"{request.base_url}/{repo.full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref}"
    git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
    raw = f"{request.base_url}{state.raw_prefix}/{repo.full_name}/{ref}/{quote(entry.path)}"
    self_url = f"{api}/contents/{quote(entry.path)}?ref={quote(ref, safe='')}"
    return {
        "type": kind,
        "size": entry.size or 0,
        "name": entry.name,
        "path": entry.path,
        "sha": entry.sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": f"{html}/{quote(entry.path)}",
        "download_url": raw if kind == "file" else None,
        "_links": {"self": self_url, "git": git_url, "html": f"{html}/{quote(entry.path)}"},
    }


def _get_contents(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    doc = "/repos/contents#get-repository-content"
    repo = _repo_or_none(host, state, request)
    if repo is None:
        return _not_found(doc)
    ref = request.query.get("ref") or repo.default_branch
    sha = repo.resolve_ref(ref)
    if sha is None:
        return _error(404, f"No commit found for the ref {ref}", doc)
    path = request.params.get("path", "").strip("/")
    try:
        entry = repo.entry(sha, path)
    except FakeHostError:
        entry = None
    if entry is None:
        return _not_found(doc)
    if entry.type == "tree":
        children = repo.tree(sha, path, recursive=False)
        return _json([_content_json(state, request, repo, ref, e) for e in children])
    last_modified = _last_modified(repo, sha, path)
    accept = request.headers.get("Accept", "")
    if any(t in accept for t in _RAW_TYPES):
        etag = f'"{entry.sha}"'
        headers = [("ETag", etag), ("Last-Modified", last_modified)]
        if _matches(request.headers.get("If-None-Match"), etag) or _not_modified_since(
            request, last_modified
        ):
            return FakeResponse(304, b"", headers)
        content = repo.blob_by_sha(entry.sha)
        return FakeResponse(
            200, content, [("Content-Type", "application/vnd.github.raw"), *headers]
        )
    body = _content_json(state, request, repo, ref, entry)
    body.update(encoding="base64", content=_b64_lines(repo.blob_by_sha(entry.sha)))
    response = _json(body, headers=[("Last-Modified", last_modified)])
    if _not_modified_since(request, last_modified):
        return FakeResponse(304, b"", [("Last-Modified", last_modified)])
    return response


def _codeload_ref(repo: FakeRepo, ref: str, sha: str) -> str:
    if f"refs/heads/{ref}" in repo.refs():
        return f"refs/heads/{ref}"
    if f"refs/tags/{ref}" in repo.refs():
        return f"refs/tags/{ref}"
    return sha


#: Prefix of the signed-link tokens the fake puts on private archive redirects.
_CODELOAD_TOKEN_PREFIX = "AQYV3CODELOAD"


def _get_archive(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    if repo is None:
        return _not_found("/repos/contents#download-a-repository-archive-tar")
    ref = request.params.get("ref") or repo.default_branch
    sha = repo.resolve_ref(ref)
    if sha is None:
        return _not_found("/repos/contents#download-a-repository-archive-tar")
    fmt = "tar.gz" if request.params["format"] == "tarball" else "zip"
    target = quote(_codeload_ref(repo, ref, sha), safe="/")
    location = f"{codeload_base_url(host)}/{repo.full_name}/legacy.{fmt}/{target}"
    if repo.full_name.lower() in state.private:
        # Real GitHub signs private archive links with a short-lived query token.
        location += f"?token={_CODELOAD_TOKEN_PREFIX}{sha[:20]}"
    return FakeResponse.redirect(location, 302)


def _codeload(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    params = request.params
    repo = host.get_repo(f"{params['owner']}/{params['repo']}")
    sha = repo.resolve_ref(params["ref"]) if repo is not None else None
    if repo is None or sha is None:
        return FakeResponse.text("404: Not Found", 404)
    prefix = f"{repo.owner}-{repo.name}-{sha[:7]}"
    fmt: ArchiveFormat = "zip" if params["fmt"] == "zip" else "tar.gz"
    path = repo.archive_to_file(sha, fmt=fmt, prefix=prefix)
    kind = "application/zip" if fmt == "zip" else "application/x-gzip"
    headers = [
        ("Content-Type", kind),
        ("Content-Disposition", f"attachment; filename={prefix}.{fmt}"),
        ("ETag", f'"{sha}"'),
        ("Access-Control-Allow-Origin", "https://render.githubusercontent.com"),
    ]
    return FakeResponse(200, path, headers, chunked=True)


def _tree_item(api: str, entry: TreeEntry, base_path: str) -> dict[str, Any]:
    path = entry.path[len(base_path) + 1 :] if base_path else entry.path
    item: dict[str, Any] = {"path": path, "mode": entry.mode, "type": entry.type, "sha": entry.sha}
    if entry.type == "blob":
        item["size"] = entry.size
        item["url"] = f"{api}/git/blobs/{entry.sha}"
    elif entry.type == "tree":
        item["url"] = f"{api}/git/trees/{entry.sha}"
    return item


def _get_tree(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    doc = "/git/trees#get-a-tree"
    repo = _repo_or_none(host, state, request)
    if repo is None:
        return _not_found(doc)
    wanted = request.params["sha"]
    found = state.find_tree(repo.full_name, wanted)
    if found is None:
        commit = repo.resolve_ref(wanted)
        found = (commit, "") if commit else None
    if found is None:
        return _not_found(doc)
    commit, path = found
    recursive = "recursive" in request.query
    try:
        root = repo.entry(commit, path)
        entries = repo.tree(commit, path, recursive=recursive)
    except (UnknownPathError, FakeHostError):
        return _not_found(doc)
    assert root is not None
    for e in [root, *entries]:
        if e.type == "tree":
            state.remember_tree(repo.full_name, e.sha, commit, e.path)
    truncated = False
    if recursive and state.tree_limit is not None and len(entries) > state.tree_limit:
        entries, truncated = entries[: state.tree_limit], True
    api = _repo_api(state, request, repo)
    return _json(
        {
            "sha": root.sha,
            "url": f"{api}/git/trees/{root.sha}",
            "tree": [_tree_item(api, e, path) for e in entries],
            "truncated": truncated,
        }
    )


def _get_blob(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    sha = request.params["sha"].lower()
    try:
        data = repo.blob_by_sha(sha) if repo is not None else None
    except UnknownPathError:
        data = None
    if repo is None or data is None:
        return _not_found("/git/blobs#get-a-blob")
    if any(t in request.headers.get("Accept", "") for t in _RAW_TYPES):
        return FakeResponse(200, data, [("Content-Type", "application/vnd.github.raw")])
    return _json(
        {
            "sha": sha,
            "node_id": base64.b64encode(f"04:Blob{sha}".encode()).decode(),
            "size": len(data),
            "url": f"{_repo_api(state, request, repo)}/git/blobs/{sha}",
            "content": _b64_lines(data),
            "encoding": "base64",
        }
    )


def _matching_refs(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    if repo is None:
        return _not_found("/git/refs#list-matching-references")
    prefix = request.params.get("ref", "")
    api = _repo_api(state, request, repo)
    items = []
    for full, sha in repo.refs().items():
        short = full.removeprefix("refs/")
        if not short.startswith(prefix):
            continue
        tag_object = repo.tag_object(short[5:]) if short.startswith("tags/") else None
        target = tag_object or sha
        kind = "tag" if tag_object else "commit"
        items.append(
            {
                "ref": full,
                "node_id": base64.b64encode(f"03:Ref{repo.full_name}:{full}".encode()).decode(),
                "url": f"{api}/git/{full}",
                "object": {"sha": target, "type": kind, "url": f"{api}/git/{kind}s/{target}"},
            }
        )
    return _json(items)


def _paged(
    request: FakeRequest, items: list[Any], url: str
) -> tuple[list[Any], list[tuple[str, str]]]:
    try:
        per_page = min(max(int(request.query.get("per_page", "30")), 1), 100)
        page = max(int(request.query.get("page", "1")), 1)
    except ValueError:
        per_page, page = 30, 1
    chunk = items[(page - 1) * per_page : page * per_page]
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []
    if page < last:
        links.append(f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"')
        links.append(f'<{url}?per_page={per_page}&page={last}>; rel="last"')
    return chunk, [("Link", ", ".join(links))] if links else []


def _branches(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    if repo is None:
        return _not_found("/branches/branches#list-branches")
    api = _repo_api(state, request, repo)
    items = [
        {"name": name, "commit": {"sha": sha, "url": f"{api}/commits/{sha}"}, "protected": False}
        for name, sha in sorted(repo.branches().items())
    ]
    chunk, headers = _paged(request, items, f"{api}/branches")
    return _json(chunk, headers=headers)


# --- GitHub Apps -----------------------------------------------------------------------


def _installation_json(
    state: GithubState, request: FakeRequest, installation: FakeInstallation
) -> dict[str, Any]:
    api = _api_base(state, request)
    app = state.apps[installation.app_id]
    suspended = installation.suspended
    return {
        "id": installation.id,
        "account": _owner_json(request.base_url, api, installation.account),
        "repository_selection": "all" if installation.repositories is None else "selected",
        "access_tokens_url": f"{api}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{request.base_url}/organizations/{installation.account}/settings/"
        f"installations/{installation.id}",
        "app_id": installation.app_id,
        "app_slug": app.slug,
        "target_id": _stable_id(installation.account),
        "target_type": "Organization",
        "permissions": {"contents": "read", "metadata": "read"},
        "events": [],
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "single_file_name": None,
        "suspended_by": {"login": "octo-admin", "id": 1} if suspended else None,
        "suspended_at": "2024-02-01T00:00:00Z" if suspended else None,
    }


def _jwt_error() -> FakeResponse:
    return _error(401, "A JSON web token could not be decoded", "/apps")


def _list_installations(
    host: FakeScmHost, state: GithubState, request: FakeRequest
) -> FakeResponse:
    identity = _identify(state, request)
    if identity.app is None:
        return _jwt_error()
    with state._lock:
        mine = [i for i in state.installations.values() if i.app_id == identity.app.app_id]
    items = [_installation_json(state, request, i) for i in mine]
    chunk, headers = _paged(request, items, f"{_api_base(state, request)}/app/installations")
    return _json(chunk, headers=headers)


def _create_token(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    identity = _identify(state, request)
    if identity.app is None:
        return _jwt_error()
    with state._lock:
        installation = state.installations.get(int(request.params["id"]))
    if installation is None or installation.app_id != identity.app.app_id:
        return _not_found("/apps/apps#create-an-installation-access-token-for-an-app")
    if installation.suspended:
        return _error(403, "This installation has been suspended", "/apps")
    token, expires = state.mint(installation.id)
    return _json(
        {
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {"contents": "read", "metadata": "read"},
            "repository_selection": "all" if installation.repositories is None else "selected",
        },
        201,
    )


def _installation_repos(
    host: FakeScmHost, state: GithubState, request: FakeRequest
) -> FakeResponse:
    identity = _identify(state, request)
    installation = identity.installation
    if installation is None:
        return _error(401, "Requires authentication", "/apps/installations")
    owned = [
        r
        for r in host.repos.values()
        if r.owner.lower() == installation.account.lower()
        and (
            installation.repositories is None
            or r.name.lower() in {n.lower() for n in installation.repositories}
        )
    ]
    repos = [_repo_json(state, request, r) for r in owned]
    chunk, headers = _paged(
        request, repos, f"{_api_base(state, request)}/installation/repositories"
    )
    selection = "all" if installation.repositories is None else "selected"
    return _json(
        {"total_count": len(repos), "repository_selection": selection, "repositories": chunk},
        headers=headers,
    )


# --- the authenticated user and the rate limit ------------------------------------------


def _user_json(
    host: FakeScmHost, state: GithubState, request: FakeRequest, login: str
) -> dict[str, Any]:
    """The private profile ``GET /user`` gives the owner of a personal token."""
    user = _owner_json(request.base_url, _api_base(state, request), login)
    url = user["url"]
    owned = [r for r in host.repos.values() if r.owner.lower() == login.lower()]
    private = sum(r.full_name.lower() in state.private for r in owned)
    user.update(
        {
            "gravatar_id": "",
            "followers_url": f"{url}/followers",
            "following_url": url + "/following{/other_user}",
            "gists_url": url + "/gists{/gist_id}",
            "starred_url": url + "/starred{/owner}{/repo}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": url + "/events{/privacy}",
            "received_events_url": f"{url}/received_events",
            "type": "User",
            "user_view_type": "private",
            "name": None,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": len(owned) - private,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "private_gists": 0,
            "total_private_repos": private,
            "owned_private_repos": private,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {
                "name": "free",
                "space": 976562499,
                "collaborators": 0,
                "private_repos": 10000,
            },
        }
    )
    return user


def _get_user(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    doc = "/users/users#get-the-authenticated-user"
    identity = _identify(state, request)
    if identity.kind == "pat" and identity.login:
        return _json(_user_json(host, state, request, identity.login))
    if identity.kind in ("installation", "app"):
        return _error(403, "Resource not accessible by integration", doc)
    if request.headers.get("Authorization"):
        return _error(401, "Bad credentials")  # a token the host does not know
    return _error(401, "Requires authentication", doc)


def _rate_limit(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    """``GET /rate_limit``: not counted, and answered even once the limit is spent."""
    if _identify(state, request).kind == "unknown":
        response = _error(401, "Bad credentials")
    else:
        now = int(time.time())
        with state._lock:
            remaining = max(state.rate_remaining, 0)
            core = {
                "limit": state.rate_limit,
                "used": state.rate_limit - remaining,
                "remaining": remaining,
                "reset": state.rate_reset,
            }

        def fresh(limit: int, seconds: int) -> dict[str, int]:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": now + seconds}

        response = _json(
            {
                "resources": {
                    "core": core,
                    "search": fresh(30, 60),
                    "code_search": fresh(10, 60),
                    "graphql": fresh(5000, 3600),
                    "integration_manifest": fresh(5000, 3600),
                    "source_import": fresh(100, 60),
                    "code_scanning_upload": fresh(1000, 3600),
                    "actions_runner_registration": fresh(10000, 3600),
                    "scim": fresh(15000, 3600),
                    "dependency_snapshots": fresh(100, 60),
                },
                "rate": dict(core),
            }
        )
    for name, value in state.rate_headers():
        response.set_header(name, value)
    response.set_header("X-GitHub-Media-Type", "github.v3; format=json")
    response.set_header("X-GitHub-Request-Id", secrets.token_hex(8).upper())
    return response


# --- raw host --------------------------------------------------------------------------


def _raw(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    split = repo.split_ref_path(request.params["rest"]) if repo is not None else None
    entry = None
    if repo is not None and split is not None and split[2]:
        try:
            entry = repo.entry(split[1], split[2])
        except FakeHostError:
            entry = None
    if repo is None or split is None or entry is None or entry.type != "blob":
        return FakeResponse.text("404: Not Found", 404)
    data = repo.blob_by_sha(entry.sha)
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    headers = [
        ("ETag", etag),
        ("Cache-Control", "max-age=300"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if _matches(request.headers.get("If-None-Match"), etag):
        return FakeResponse(304, b"", headers)
    return FakeResponse(200, data, [("Content-Type", "text/plain; charset=utf-8"), *headers])
