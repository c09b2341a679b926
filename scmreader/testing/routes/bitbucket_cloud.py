"""Bitbucket Cloud: the 2.0 REST API, archive downloads and OAuth over FakeScmHost repos.

Bitbucket Cloud always lives at ``bitbucket.org`` with its API at
``https://api.bitbucket.org/2.0``; scmreader (like Backstage) does not let a config move
it. So the fake serves both names on one server and :func:`http_client` returns an
:class:`~scmreader.http.HttpClient` whose session sends ``https://bitbucket.org`` and
``https://api.bitbucket.org`` to the fake (keeping the ``Host`` header), while every other
host is reached normally:

- the API under ``/2.0``: ``/2.0/repositories/{w}/{r}`` (``mainbranch``, ``full_name``,
  ``links``), ``.../commits/{rev}`` (paginated ``values`` of commits with ``hash``),
  ``.../src/{rev}/{path}`` (a file's raw body; ``ETag``/``Last-Modified`` and 304s only
  with ``BitbucketCloudState.src_validators``, as the API reference documents neither;
  a folder, or any path ending in ``/``, as a paginated listing of ``commit_file`` /
  ``commit_directory`` entries, recursive with ``max_depth``);
- ``.../refs/branches|tags?q=name = "x"`` (or ``name ~ "x"``): refs with their target
  commit; the one place that takes names with ``/``
  (https://developer.atlassian.com/cloud/bitbucket/rest/api-group-refs/);
- archives at ``/{w}/{r}/get/{rev}.tar.gz`` with the top folder ``{w}-{r}-{sha[:12]}``;
- OAuth client credentials at ``POST /site/oauth2/access_token``.

Errors have Bitbucket's shape ``{"type": "error", "error": {"message": ...}}``. Private
repositories (:meth:`BitbucketCloudState.make_private`) answer 404 unless the request
carries a registered user's Basic credentials, a registered Bearer token or an issued
OAuth token; unknown credentials get 401.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scmreader.testing.exceptions import UnknownPathError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.http import HttpClient
    from scmreader.testing.repo import FakeRepo
    from scmreader.testing.server import FakeScmHost

NAME = "bitbucket_cloud"
#: The host names :func:`http_client` sends to the fake.
WEB_HOST = "bitbucket.org"
API_HOST = "api.bitbucket.org"
API_PREFIX = "/2.0"
_W = r"(?P<w>[^/]+)"
_R = r"(?P<r>[^/]+)"


@dataclass
class BitbucketCloudState:
    """The emulation's accounts and issued tokens, ``host.state["bitbucket_cloud"]``."""

    users: dict[str, str] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    clients: dict[str, str] = field(default_factory=dict)
    issued: dict[str, float] = field(default_factory=dict)
    private: set[str] = field(default_factory=set)
    token_ttl: int = 7200
    #: When set, archive downloads answer 302 to this base URL (say another host).
    archive_redirect: str | None = None
    #: Serve at most this many values a page whatever ``pagelen`` asks (tests of paging).
    page_cap: int | None = None
    #: File answers of ``src`` carry ``ETag``/``Last-Modified`` and honour conditional
    #: requests (seen, not documented: off by default).
    src_validators: bool = False
    #: Project key of each repository (lower-case full name -> key); others are in "PROJ".
    projects: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_user(self, username: str, password: str) -> None:
        """Accept Basic ``username:password`` (an API token or an app password)."""
        with self._lock:
            self.users[username] = password

    def add_token(self, token: str) -> None:
        """Accept ``Authorization: Bearer <token>`` (a repository/workspace access token)."""
        with self._lock:
            self.tokens.add(token)

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth consumer allowed the client-credentials grant."""
        with self._lock:
            self.clients[client_id] = client_secret

    def make_private(self, full_name: str) -> None:
        """Hide ``workspace/repo`` from anonymous callers."""
        with self._lock:
            self.private.add(full_name.lower())

    def expire_tokens(self) -> None:
        """Make every issued OAuth access token invalid (as if an hour had passed)."""
        with self._lock:
            self.issued = {t: 0.0 for t in self.issued}

    def issue(self) -> str:
        with self._lock:
            token = secrets.token_urlsafe(32)
            self.issued[token] = time.time() + self.token_ttl
            return token

    def identify(self, request: FakeRequest) -> str:
        """``anonymous``, ``known`` or ``unknown`` for the request's credentials."""
        value = request.headers.get("Authorization")
        if not value:
            return "anonymous"
        scheme, _, credential = value.partition(" ")
        with self._lock:
            if scheme.lower() == "bearer":
                expiry = self.issued.get(credential)
                ok = credential in self.tokens or (expiry is not None and expiry > time.time())
                return "known" if ok else "unknown"
            if scheme.lower() == "basic":
                try:
                    user, _, password = base64.b64decode(credential).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return "unknown"
                return "known" if self.users.get(user) == password else "unknown"
        return "unknown"


def install(
    host: FakeScmHost, *, token_ttl: int = 7200, archive_redirect: str | None = None
) -> None:
    """Register the Bitbucket Cloud routes on ``host``."""
    state = BitbucketCloudState(token_ttl=token_ttl, archive_redirect=archive_redirect)
    host.state[NAME] = state
    repo = f"{API_PREFIX}/repositories/{_W}/{_R}"

    def add(method: str, pattern: str, handler: Callable[..., FakeResponse]) -> None:
        host.route(method, pattern, lambda request: handler(host, state, request))

    # https://developer.atlassian.com/cloud/bitbucket/rest/api-group-repositories/
    add("GET", repo, _guarded(_get_repo))
    # .../api-group-repositories/#api-repositories-workspace-get: a workspace's repositories,
    # paginated with "next" (pagelen 10 by default, up to 100)
    add("GET", f"{API_PREFIX}/repositories/{_W}", _list_repos)
    # https://developer.atlassian.com/cloud/bitbucket/rest/api-group-commits/
    add("GET", f"{repo}/commits/(?P<rev>[^/]+)", _guarded(_get_commits))
    add("GET", f"{repo}/refs/(?P<kind>branches|tags)", _guarded(_list_refs))
    # https://developer.atlassian.com/cloud/bitbucket/rest/api-group-source/
    add("GET", f"{repo}/src/(?P<rev>[^/]+)(?P<path>/.*)?", _guarded(_get_src))
    # .../api-group-source/#api-repositories-workspace-repo-slug-filehistory-commit-path-get
    add("GET", f"{repo}/filehistory/(?P<rev>[^/]+)/(?P<path>.+)", _guarded(_file_history))
    add("GET", rf"/{_W}/{_R}/get/(?P<rev>[^/]+)\.tar\.gz", _guarded(_get_archive))
    # https://developer.atlassian.com/cloud/bitbucket/oauth-2/
    add("POST", "/site/oauth2/access_token", _token)


def bitbucket(host: FakeScmHost) -> BitbucketCloudState:
    """The host's Bitbucket Cloud state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: BitbucketCloudState = host.state[NAME]
    return state


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """An ``integrations.bitbucketCloud[]`` entry (only credentials: the host is fixed);
    use it with :func:`http_client`."""
    bitbucket(host)
    return dict(extra)


def http_client(
    host: FakeScmHost,
    *,
    also: Mapping[str, FakeScmHost] | None = None,
    **kwargs: Any,
) -> HttpClient:
    """An HttpClient that sends ``https://bitbucket.org`` and ``https://api.bitbucket.org``
    (plus any ``also`` host name -> fake) to ``host`` over plain HTTP, keeping the original
    ``Host`` header; ``kwargs`` go to HttpClient (``sleep=`` for fast retries)."""
    from scmreader.http import HttpClient
    from scmreader.testing.transport import https_to_fake

    return https_to_fake(HttpClient(**kwargs), {WEB_HOST: host, API_HOST: host, **(also or {})})


# --- answers -------------------------------------------------------------------------


def _error(status: int, message: str) -> FakeResponse:
    return FakeResponse.json({"type": "error", "error": {"message": message}}, status)


def _base(request: FakeRequest, *, api: bool) -> str:
    proto = request.headers.get("X-Forwarded-Proto", "http")
    name = request.headers.get("Host") or request.base_url.removeprefix("http://")
    if name == API_HOST and not api:
        name = WEB_HOST
    elif name == WEB_HOST and api:
        name = API_HOST
    return f"{proto}://{name}" + (API_PREFIX if api else "")


Handler = Callable[["FakeScmHost", BitbucketCloudState, FakeRequest, "FakeRepo"], FakeResponse]


def _guarded(handler: Handler) -> Callable[..., FakeResponse]:
    """Credentials checked (401 unknown), repository found and visible (else 404)."""

    def wrapped(host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest) -> Any:
        who = state.identify(request)
        full_name = f"{request.params['w']}/{request.params['r']}"
        if request.query.get("sig") == _signature(full_name):
            who = "known"  # a signed download link, as the archive redirect hands out
        if who == "unknown":
            return _error(401, "Unauthorized")
        repo = host.get_repo(full_name)
        if repo is None or (repo.full_name.lower() in state.private and who != "known"):
            return _error(404, f"Repository {full_name} not found")
        return handler(host, state, request, repo)

    return wrapped


def _signature(full_name: str) -> str:
    return hashlib.sha256(f"signed:{full_name.lower()}".encode()).hexdigest()[:32]


def _uuid(text: str) -> str:
    h = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    return f"{{{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}}}"


def _get_repo(
    host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    return FakeResponse.json(_repo_json(state, request, repo))


def _list_repos(host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest) -> Any:
    who = state.identify(request)
    if who == "unknown":
        return _error(401, "Unauthorized")
    workspace = request.params["w"].lower()
    owned = [r for r in host.repos.values() if r.owner.lower() == workspace]
    if not owned:
        return _error(404, f"Repository owner {request.params['w']} not found")
    size = _pagelen(request, 10, 100)
    if isinstance(size, FakeResponse):
        return size
    visible = sorted(
        (r for r in owned if who == "known" or r.full_name.lower() not in state.private),
        key=lambda r: r.full_name.lower(),
    )
    items = [_repo_json(state, request, r) for r in visible]
    return FakeResponse.json(_paginated(state, request, items, size))


def _repo_json(state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo) -> Any:
    api, web = _base(request, api=True), _base(request, api=False)
    workspace, slug = repo.full_name.split("/", 1)
    project = state.projects.get(repo.full_name.lower(), "PROJ")
    extra: dict[str, Any] = {}
    if repo.resolve_ref(None) is not None:
        extra["mainbranch"] = {"name": repo.default_branch, "type": "branch"}
    if repo.fork:
        extra["parent"] = {"type": "repository", "full_name": f"{workspace}/upstream"}
    return {
        "type": "repository",
        "full_name": repo.full_name,
        "name": slug,
        "slug": slug,
        "uuid": _uuid(repo.full_name),
        "is_private": repo.full_name.lower() in state.private,
        "scm": "git",
        "size": 0 if "mainbranch" not in extra else 1024,
        "project": {"type": "project", "key": project, "uuid": _uuid(project)},
        "workspace": {"type": "workspace", "slug": workspace, "uuid": _uuid(workspace)},
        **extra,
        "links": {
            "self": {"href": f"{api}/repositories/{repo.full_name}"},
            "html": {"href": f"{web}/{repo.full_name}"},
            "commits": {"href": f"{api}/repositories/{repo.full_name}/commits"},
            "clone": [{"name": "https", "href": f"{web}/{repo.full_name}.git"}],
        },
    }


def _pagelen(request: FakeRequest, default: int, maximum: int) -> int | FakeResponse:
    raw = request.query.get("pagelen", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        return _error(400, f"Invalid pagelen: must be between 1 and {maximum}")
    return int(raw)


def _page(request: FakeRequest) -> int:
    raw = request.query.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _paginated(
    state: BitbucketCloudState, request: FakeRequest, items: list[Any], size: int
) -> dict[str, Any]:
    size = min(size, state.page_cap or size)
    page = _page(request)
    body: dict[str, Any] = {
        "pagelen": size,
        "values": items[(page - 1) * size : page * size],
        "page": page,
    }
    if page * size < len(items):
        query = "&".join(
            f"{k}={quote(v, safe='')}" for k, v in request.query.items() if k != "page"
        )
        proto = request.headers.get("X-Forwarded-Proto", "http")
        host = request.headers.get("Host", "")
        sep = "&" if query else ""
        body["next"] = f"{proto}://{host}{request.path}?{query}{sep}page={page + 1}"
    return body


def _file_history(
    host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    """The commits that changed a file, newest first, as paginated ``commit_file`` values."""
    size = _pagelen(request, 10, 100)
    if isinstance(size, FakeResponse):
        return size
    rev, path = request.params["rev"], request.params["path"].strip("/")
    if repo.resolve_ref(rev) is None:
        return _error(404, f"Commit not found: {rev}")
    if repo.entry(rev, path) is None:
        return _error(404, f"No such file or directory: {path}")
    api = f"{_base(request, api=True)}/repositories/{repo.full_name}"
    items = [
        {
            "type": "commit_file",
            "path": path,
            "commit": {
                "type": "commit",
                "hash": sha,
                "links": {"self": {"href": f"{api}/commit/{sha}"}},
            },
        }
        for sha in repo.history(rev, path)
    ]
    return FakeResponse.json(_paginated(state, request, items, size))


def _get_commits(
    host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    size = _pagelen(request, 30, 100)
    if isinstance(size, FakeResponse):
        return size
    rev = request.params["rev"]
    sha = repo.resolve_ref(rev)
    if sha is None:
        return _error(404, f"Commit not found: {rev}")
    api = _base(request, api=True)
    chain: list[dict[str, Any]] = []
    current: str | None = sha
    while current is not None and len(chain) < _page(request) * size + 1:
        info = repo.commit_info(current)
        chain.append(
            {
                "type": "commit",
                "hash": info.sha,
                "date": info.committed_at.isoformat(),
                "message": info.message,
                "author": {"type": "author", "raw": f"{info.author_name} <{info.author_email}>"},
                "parents": [{"type": "commit", "hash": p} for p in info.parents],
                "links": {"self": {"href": f"{api}/repositories/{repo.full_name}/commit/{sha}"}},
            }
        )
        current = info.parents[0] if info.parents else None
    return FakeResponse.json(_paginated(state, request, chain, size))


def _list_refs(
    host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    """``refs/branches|tags?q=name = "x"`` (exact) or ``name ~ "x"`` (contains), paged;
    names with ``/`` work here, unlike ``src/`` and ``commits/`` (BCLOUD-14674)."""
    size = _pagelen(request, 10, 100)
    if isinstance(size, FakeResponse):
        return size
    refs = repo.branches() if request.params["kind"] == "branches" else repo.tags()
    match = re.fullmatch(r'\s*name\s*(=|~)\s*"((?:[^"\\]|\\.)*)"\s*', request.query.get("q", ""))
    names = sorted(refs)
    if match:
        wanted = re.sub(r"\\(.)", r"\1", match.group(2))
        names = [n for n in names if (n == wanted if match.group(1) == "=" else wanted in n)]
    elif request.query.get("q"):
        return _error(400, "Invalid query")
    items = [
        {
            "type": "branch" if request.params["kind"] == "branches" else "tag",
            "name": n,
            "target": {"type": "commit", "hash": refs[n]},
        }
        for n in names
    ]
    return FakeResponse.json(_paginated(state, request, items, size))


def _get_src(
    host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    rev = request.params["rev"]
    raw_path = request.params.get("path", "/")
    sha = repo.resolve_ref(rev)
    if sha is None:
        return _error(404, f"Commit not found: {rev}")
    path = raw_path.strip("/")
    try:
        entry = repo.entry(sha, path)
    except Exception:
        entry = None
    if entry is None:
        return _error(404, f"No such file or directory: {path}")
    if entry.type == "tree" or raw_path.endswith("/"):
        if entry.type != "tree":
            return _error(404, f"No such file or directory: {path}")
        return _listing(state, request, repo, sha, path)
    content = repo.blob(sha, path)
    headers = [("Content-Type", "text/plain")]
    if state.src_validators:
        etag = f'"{hashlib.sha1(content, usedforsecurity=False).hexdigest()}"'
        modified = format_datetime(repo.commit_info(repo.last_commit(sha, path)).committed_at, True)
        if request.headers.get("If-None-Match") == etag or _not_since(request, modified):
            return FakeResponse.not_modified(etag)
        headers += [("ETag", etag), ("Last-Modified", modified)]
    return FakeResponse(200, content, headers)


def _not_since(request: FakeRequest, modified: str) -> bool:
    since = request.headers.get("If-Modified-Since")
    if not since or request.headers.get("If-None-Match"):
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _listing(
    state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo, sha: str, path: str
) -> FakeResponse:
    size = _pagelen(request, 10, 100)
    if isinstance(size, FakeResponse):
        return size
    depth_raw = request.query.get("max_depth", "1")
    depth = int(depth_raw) if depth_raw.isdigit() and int(depth_raw) > 0 else 1
    api = _base(request, api=True)
    base_depth = path.count("/") + 1 if path else 0
    try:
        entries = repo.tree(sha, path, recursive=depth > 1)
    except UnknownPathError:
        return _error(404, f"No such file or directory: {path}")
    items = []
    for e in entries:
        if e.path.count("/") + 1 - base_depth > depth:
            continue
        link = f"{api}/repositories/{repo.full_name}/src/{sha}/{quote(e.path)}"
        item: dict[str, Any] = {
            "path": e.path,
            "type": "commit_directory" if e.type == "tree" else "commit_file",
            "commit": {"type": "commit", "hash": sha},
            "links": {"self": {"href": link + ("/" if e.type == "tree" else "")}},
        }
        if e.type == "blob":
            item.update(
                {"size": e.size, "escaped_path": e.path, "mimetype": None, "attributes": []}
            )
            if e.mode == "120000":
                item["attributes"] = ["link"]
        items.append(item)
    return FakeResponse.json(_paginated(state, request, items, size))


def _get_archive(
    host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest, repo: FakeRepo
) -> FakeResponse:
    rev = request.params["rev"]
    sha = repo.resolve_ref(rev)
    if sha is None:
        return FakeResponse.text("Not Found", 404, content_type="text/html")
    if state.archive_redirect and "sig" not in request.query:
        target = f"{state.archive_redirect}{request.path}?sig={_signature(repo.full_name)}"
        return FakeResponse.redirect(target, 302)
    workspace, slug = repo.full_name.split("/", 1)
    prefix = f"{workspace}-{slug}-{sha[:12]}"
    headers = [
        ("Content-Type", "application/x-gzip"),
        ("Content-Disposition", f'attachment; filename="{prefix}.tar.gz"'),
    ]
    return FakeResponse(200, repo.archive_to_file(sha, prefix=prefix), headers, chunked=True)


def _token(host: FakeScmHost, state: BitbucketCloudState, request: FakeRequest) -> FakeResponse:
    value = request.headers.get("Authorization", "")
    scheme, _, credential = value.partition(" ")
    try:
        client_id, _, secret = base64.b64decode(credential).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        client_id, secret = "", ""
    if scheme.lower() != "basic" or state.clients.get(client_id) != secret or not client_id:
        return FakeResponse.json(
            {"error": "invalid_client", "error_description": "Invalid OAuth client credentials"},
            400,
        )
    if b"grant_type=client_credentials" not in request.body:
        return FakeResponse.json(
            {"error": "unsupported_grant_type", "error_description": "Unsupported grant type"},
            400,
        )
    return FakeResponse.json(
        {
            "access_token": state.issue(),
            "scopes": "repository",
            "expires_in": state.token_ttl,
            "refresh_token": secrets.token_urlsafe(12),
            "token_type": "bearer",
            "state": "client_credentials",
        }
    )
