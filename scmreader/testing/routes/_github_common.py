"""GitHub emulation, shared parts: state, settings, GitHub's common answers and the API
wrapper (rate limit, conditional answers, headers). See :mod:`.github`.
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
from typing import TYPE_CHECKING, Any

from scmreader.testing.exceptions import FakeHostError, UnknownRefError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import FakeRepo
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
    #: Owners that are users, not organisations (``/orgs/{owner}/repos`` answers 404).
    users: set[str] = field(default_factory=set)
    check_tokens: bool = False
    #: The raw host sends an ETag and answers If-None-Match with 304 (seen, not documented);
    #: False makes it a plain file server, to check readers cope with both.
    raw_etag: bool = False
    rate_limit: int = 5000
    rate_remaining: int = 5000
    #: API requests still to refuse with a secondary rate limit (see
    #: :meth:`trip_secondary_limit`), and the ``retry-after`` they carry (None: none).
    secondary_left: int = 0
    secondary_retry_after: int | None = None
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

    def trip_secondary_limit(self, times: int = 1, *, retry_after: int | None = None) -> None:
        """Refuse the next ``times`` API requests as GitHub does past a secondary rate
        limit: 403, a body saying so, ``x-ratelimit-remaining`` not 0, and ``retry-after``
        only when given (https://docs.github.com/en/rest/using-the-rest-api/
        rate-limits-for-the-rest-api#about-secondary-rate-limits)."""
        with self._lock:
            self.secondary_left = times
            self.secondary_retry_after = retry_after

    def take_secondary(self) -> FakeResponse | None:
        """The secondary-limit answer when one is due (see :meth:`trip_secondary_limit`)."""
        with self._lock:
            if self.secondary_left <= 0:
                return None
            self.secondary_left -= 1
            retry_after = self.secondary_retry_after
        response = _error(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again. If you reach out to GitHub Support for help, please include the "
            "request ID.",
            "/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        )
        if retry_after is not None:
            response.set_header("retry-after", str(retry_after))
        return response

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
        elif (secondary := state.take_secondary()) is not None:
            response = secondary
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
        "fork": repo.fork,
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
        "size": _size_kib(repo),
        "archived": repo.archived,
        "disabled": repo.disabled,
        "visibility": "private" if private else "public",
        "default_branch": repo.default_branch,
    }


def _size_kib(repo: FakeRepo) -> int:
    """GitHub's ``size`` (KiB, at least 1 once anything is pushed; 0 for an empty one)."""
    try:
        entries = repo.tree(None)
    except UnknownRefError:
        return 0
    return max(1, sum(e.size or 0 for e in entries) // 1024)


def _resolve(repo: FakeRepo, ref: str | None) -> str | None:
    return repo.resolve_ref(ref or repo.default_branch)


def github(host: FakeScmHost) -> GithubState:
    """The host's GitHub state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: GithubState = host.state[NAME]
    return state


def codeload_base_url(host: FakeScmHost) -> str:
    """Where tarball requests are redirected to."""
    state = github(host)
    if state.codeload is not None:
        return state.codeload.base_url
    if host.bind == "127.0.0.1":
        return f"http://localhost:{host.port}/_codeload"
    return f"{host.base_url}/_codeload"  # no second name for this address: same origin


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
