"""GitLab (gitlab.com or self-managed): the REST API v4 over FakeScmHost repositories.

The API lives under ``{relative_path}/api/v4`` (``relative_path`` like ``/gitlab`` for an
install under a sub-path); configure a reader with :func:`integration_config`. Projects
are the host's repositories, addressed by URL-encoded full path (``group%2Fsub%2Frepo``)
or by numeric id. Endpoints and their real answer shapes:

- ``GET /projects/:id``: the project (``id``, ``path_with_namespace``, ``default_branch``,
  ``namespace``...); ``404 Project Not Found``;
- ``GET /projects/:id/repository/files/:path/raw?ref=``: the bytes with the ``X-Gitlab-*``
  headers (blob id, commit ids, size...) and no ``ETag`` or ``Last-Modified``; conditional
  headers are ignored (never 304), as on gitlab.com; ``404 File Not Found``
  (https://docs.gitlab.com/ee/api/repository_files.html#get-raw-file-from-repository).
  ``GET /projects/:id/repository/files/:path?ref=`` gives the JSON form (base64 content)
  and ``HEAD`` of it only the ``X-Gitlab-*`` headers
  (https://docs.gitlab.com/ee/api/repository_files.html#get-file-metadata-only);
- ``GET /projects/:id/repository/branches|tags?search=^name``: the refs whose name starts
  with ``name`` (``^``) or contains it, paginated
  (https://docs.gitlab.com/ee/api/branches.html#list-repository-branches);
- ``GET /projects/:id/repository/commits?ref_name=&path=&per_page=&page=``: newest first,
  first-parent history, only commits that changed ``path``; an unknown ref lists nothing;
- ``GET /projects/:id/repository/tree?path=&ref=&recursive=&per_page=&page=``: entries
  ``{id, name, type, path, mode}``, offset pagination headers (``x-next-page``, ``x-total``
  ...) or, with ``pagination=keyset``, a ``Link: rel="next"`` carrying ``page_token``;
  ``404 Tree Not Found`` for an unknown ref or folder. Page links are built from the
  install's external URL (:attr:`GitlabState.external_url`, the request's own origin by
  default), as GitLab does (https://docs.gitlab.com/ee/api/rest/#pagination-link-header);
  ``per_page`` is capped at :attr:`GitlabState.max_per_page` (100 on GitLab);
- ``GET /projects/:id/repository/archive[.tar.gz|.tgz|.tar|.zip]?sha=&path=``: the
  archive, top folder ``{repo}-{ref}-{sha}`` (plus ``-{path}`` with ``path=``, which keeps
  only that path), ``Content-Disposition: attachment``;
- ``GET /projects/:id/jobs/artifacts/:ref/raw/:path?job=``: files added with
  :meth:`GitlabState.add_artifact`.

Tokens are read from ``PRIVATE-TOKEN`` or ``Authorization: Bearer``. Once a token is
registered (:meth:`GitlabState.add_token`), unknown tokens get ``401 Unauthorized``;
private projects (:meth:`GitlabState.make_private`) answer 404 without a registered token,
as GitLab hides them. JSON answers carry a weak ``ETag`` and honour ``If-None-Match``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from scmreader.testing.exceptions import FakeHostError, UnknownPathError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import ArchiveFormat, FakeRepo, TreeEntry
    from scmreader.testing.server import FakeScmHost

NAME = "gitlab"
_ID = r"(?P<id>[^/]+)"
_FORMATS: dict[str, tuple[ArchiveFormat, str]] = {
    "tar.gz": ("tar.gz", "application/x-gzip"),
    "tgz": ("tar.gz", "application/x-gzip"),
    "tar": ("tar", "application/x-tar"),
    "zip": ("zip", "application/zip"),
}


@dataclass
class GitlabState:
    """The emulation's settings and state, ``host.state["gitlab"]``; thread-safe."""

    relative_path: str = ""
    api_prefix: str = "/api/v4"
    default_per_page: int = 20
    #: Largest ``per_page`` honoured (GitLab's is 100); lower it to test many pages.
    max_per_page: int = 100
    #: Origin GitLab builds page links from (its ``external_url``); None = the request's.
    external_url: str | None = None
    tokens: set[str] = field(default_factory=set)
    private: set[str] = field(default_factory=set)
    artifacts: dict[tuple[str, str, str], dict[str, bytes]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def api(self) -> str:
        """The API's path prefix (``/gitlab/api/v4``)."""
        return self.relative_path + self.api_prefix

    def add_token(self, token: str) -> None:
        """Accept ``token`` (personal, project or OAuth) for every project."""
        with self._lock:
            self.tokens.add(token)

    def make_private(self, full_name: str) -> None:
        """Hide project ``full_name`` from callers without a registered token."""
        with self._lock:
            self.private.add(full_name.casefold())

    def add_artifact(
        self, full_name: str, ref: str, job: str, path: str, content: bytes | str
    ) -> None:
        """Make ``path`` an artifact of the latest ``job`` on ``ref`` of ``full_name``."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        with self._lock:
            self.artifacts.setdefault((full_name.casefold(), ref, job), {})[path] = data


def install(
    host: FakeScmHost,
    *,
    relative_path: str = "",
    api_prefix: str = "/api/v4",
    default_per_page: int = 20,
) -> None:
    """Register the GitLab routes on ``host`` (see the module docstring)."""
    for name, prefix in (("relative_path", relative_path), ("api_prefix", api_prefix)):
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise FakeHostError(f"{name} must start with '/' and not end with '/', got {prefix!r}")
    state = GitlabState(relative_path, api_prefix, default_per_page)
    host.state[NAME] = state
    project = f"{state.api}/projects/{_ID}"

    def add(pattern: str, handler: Callable[[FakeScmHost, GitlabState, FakeRequest], Any]) -> None:
        host.route("GET", pattern, _api(host, state, handler))

    # https://docs.gitlab.com/ee/api/projects.html#get-a-single-project
    add(project, _get_project)
    # https://docs.gitlab.com/ee/api/repository_files.html#get-raw-file-from-repository
    add(f"{project}/repository/files/(?P<path>[^/]+)/raw", _get_raw_file)
    # https://docs.gitlab.com/ee/api/repository_files.html (GET, and HEAD for metadata)
    add(f"{project}/repository/files/(?P<path>[^/]+)", _get_file)
    # https://docs.gitlab.com/ee/api/commits.html#list-repository-commits
    add(f"{project}/repository/commits", _list_commits)
    # https://docs.gitlab.com/ee/api/branches.html, tags.html
    add(f"{project}/repository/(?P<kind>branches|tags)", _list_refs)
    # https://docs.gitlab.com/ee/api/repositories.html#list-repository-tree
    add(f"{project}/repository/tree", _list_tree)
    # https://docs.gitlab.com/ee/api/repositories.html#get-file-archive
    add(rf"{project}/repository/archive(?:\.(?P<fmt>[a-z0-9.]+))?", _get_archive)
    # https://docs.gitlab.com/ee/api/job_artifacts.html
    add(f"{project}/jobs/artifacts/(?P<ref>[^/]+)/raw/(?P<path>.+)", _get_artifact)


def gitlab(host: FakeScmHost) -> GitlabState:
    """The host's GitLab state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: GitlabState = host.state[NAME]
    return state


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """The ``integrations.gitlab[]`` entry that points a reader at ``host``."""
    state = gitlab(host)
    entry: dict[str, Any] = {
        "host": host.host,
        "apiBaseUrl": host.base_url + state.api,
        "baseUrl": host.base_url + state.relative_path,
    }
    entry.update(extra)
    return entry


# --- common answers ----------------------------------------------------------------------


def _message(status: int, message: str) -> FakeResponse:
    return FakeResponse.json({"message": message}, status)


def _token(request: FakeRequest) -> str | None:
    private = request.headers.get("PRIVATE-TOKEN")
    if private:
        return private
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _api(
    host: FakeScmHost,
    state: GitlabState,
    handler: Callable[[FakeScmHost, GitlabState, FakeRequest], FakeResponse],
) -> Callable[[FakeRequest], FakeResponse]:
    def wrapped(request: FakeRequest) -> FakeResponse:
        token = _token(request)
        with state._lock:
            unknown = token is not None and bool(state.tokens) and token not in state.tokens
        if unknown:
            return _message(401, "401 Unauthorized")
        response = handler(host, state, request)
        kind = response.header("Content-Type") or ""
        if response.status == 200 and kind.startswith("application/json"):
            assert isinstance(response.body, bytes)
            etag = f'W/"{hashlib.md5(response.body, usedforsecurity=False).hexdigest()}"'
            response.set_header("ETag", etag)
            if _etag_matches(request.headers.get("If-None-Match"), etag):
                response = FakeResponse.not_modified(etag)
        response.set_header("X-Request-Id", hashlib.sha1(request.url.encode()).hexdigest()[:26])
        response.set_header("Cache-Control", "max-age=0, private, must-revalidate")
        return response

    return wrapped


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _stable_id(text: str) -> int:
    digest = hashlib.sha1(text.casefold().encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:3], "big")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+00:00")


def _project_or_none(
    host: FakeScmHost, state: GitlabState, request: FakeRequest
) -> FakeRepo | None:
    wanted = request.params["id"]
    if wanted.isdigit():
        repo = next(
            (r for r in host.repos.values() if _stable_id(r.full_name) == int(wanted)), None
        )
    else:
        repo = host.get_repo(wanted)
    if repo is None:
        return None
    with state._lock:
        hidden = repo.full_name.casefold() in state.private
        allowed = _token(request) in state.tokens
    return None if hidden and not allowed else repo


def _no_project() -> FakeResponse:
    return _message(404, "404 Project Not Found")


# --- projects ----------------------------------------------------------------------------


def _project_json(state: GitlabState, request: FakeRequest, repo: FakeRepo) -> dict[str, Any]:
    web = f"{request.base_url}{state.relative_path}"
    namespace = repo.owner
    with state._lock:
        private = repo.full_name.casefold() in state.private
    try:
        activity = _iso(repo.commit_info().committed_at)
        empty = False
    except LookupError:
        activity, empty = "2024-01-01T00:00:00.000+00:00", True
    return {
        "id": _stable_id(repo.full_name),
        "description": None,
        "name": repo.name,
        "name_with_namespace": " / ".join(repo.full_name.split("/")),
        "path": repo.name,
        "path_with_namespace": repo.full_name,
        "created_at": "2024-01-01T00:00:00.000+00:00",
        "default_branch": None if empty else repo.default_branch,
        "tag_list": [],
        "topics": [],
        "ssh_url_to_repo": f"git@{request.headers.get('Host', '')}:{repo.full_name}.git",
        "http_url_to_repo": f"{web}/{repo.full_name}.git",
        "web_url": f"{web}/{repo.full_name}",
        "readme_url": None,
        "forks_count": 0,
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": activity,
        "namespace": {
            "id": _stable_id(namespace),
            "name": namespace.rsplit("/", 1)[-1],
            "path": namespace.rsplit("/", 1)[-1],
            "kind": "group",
            "full_path": namespace,
            "parent_id": _stable_id(namespace.rsplit("/", 1)[0]) if "/" in namespace else None,
            "avatar_url": None,
            "web_url": f"{web}/groups/{namespace}",
        },
        "visibility": "private" if private else "public",
        "empty_repo": empty,
        "archived": False,
    }


def _get_project(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    return FakeResponse.json(_project_json(state, request, repo))


# --- files -------------------------------------------------------------------------------


def _file_entry(repo: FakeRepo, request: FakeRequest) -> tuple[str, str, TreeEntry] | None:
    ref = request.query.get("ref") or repo.default_branch
    sha = repo.resolve_ref(ref)
    path = request.params["path"]
    if sha is None or not path or path.startswith("/"):
        return None
    try:
        entry = repo.entry(sha, path)
    except (LookupError, FakeHostError):
        return None
    if entry is None or entry.type != "blob":
        return None
    return ref, sha, entry


def _file_headers(repo: FakeRepo, ref: str, sha: str, entry: TreeEntry, data: bytes) -> list[Any]:
    last = repo.last_commit(sha, entry.path)
    return [
        ("X-Gitlab-Blob-Id", entry.sha),
        ("X-Gitlab-Commit-Id", sha),
        ("X-Gitlab-Content-Sha256", hashlib.sha256(data).hexdigest()),
        ("X-Gitlab-Encoding", "base64"),
        ("X-Gitlab-Execute-Filemode", "true" if entry.mode == "100755" else "false"),
        ("X-Gitlab-File-Name", entry.name),
        ("X-Gitlab-File-Path", entry.path),
        ("X-Gitlab-Last-Commit-Id", last),
        ("X-Gitlab-Ref", ref),
        ("X-Gitlab-Size", str(len(data))),
    ]


def _get_raw_file(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    found = _file_entry(repo, request)
    if found is None:
        return _message(404, "404 File Not Found")
    ref, sha, entry = found
    data = repo.blob_by_sha(entry.sha)
    filename = quote(entry.name)
    disposition = f"inline; filename=\"{entry.name}\"; filename*=UTF-8''{filename}"
    return FakeResponse(
        200,
        data,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Disposition", disposition),
            *_file_headers(repo, ref, sha, entry, data),
        ],
    )


def _get_file(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    found = _file_entry(repo, request)
    if found is None:
        return _message(404, "404 File Not Found")
    ref, sha, entry = found
    data = repo.blob_by_sha(entry.sha)
    return FakeResponse.json(
        {
            "file_name": entry.name,
            "file_path": entry.path,
            "size": len(data),
            "encoding": "base64",
            "content_sha256": hashlib.sha256(data).hexdigest(),
            "ref": ref,
            "blob_id": entry.sha,
            "commit_id": sha,
            "last_commit_id": repo.last_commit(sha, entry.path),
            "execute_filemode": entry.mode == "100755",
            "content": base64.b64encode(data).decode("ascii"),
        },
        headers=_file_headers(repo, ref, sha, entry, data),
    )


# --- commits -----------------------------------------------------------------------------


def _history(repo: FakeRepo, sha: str, path: str) -> Iterator[str]:
    """First-parent history from ``sha``, newest first, of commits that changed ``path``."""
    current: str | None = sha
    while current is not None:
        parents = repo.commit_info(current).parents
        parent = parents[0] if parents else None
        if not path or _entry_sha(repo, current, path) != (
            _entry_sha(repo, parent, path) if parent else None
        ):
            yield current
        current = parent


def _entry_sha(repo: FakeRepo, sha: str, path: str) -> str | None:
    try:
        entry = repo.entry(sha, path)
    except (LookupError, FakeHostError):
        return None
    return entry.sha if entry is not None else None


def _commit_json(request: FakeRequest, state: GitlabState, repo: FakeRepo, sha: str) -> Any:
    info = repo.commit_info(sha)
    title = info.message.strip().split("\n", 1)[0]
    return {
        "id": sha,
        "short_id": sha[:8],
        "created_at": _iso(info.committed_at),
        "parent_ids": list(info.parents),
        "title": title,
        "message": info.message,
        "author_name": info.author_name,
        "author_email": info.author_email,
        "authored_date": _iso(info.authored_at),
        "committer_name": info.committer_name,
        "committer_email": info.committer_email,
        "committed_date": _iso(info.committed_at),
        "trailers": {},
        "extended_trailers": {},
        "web_url": f"{request.base_url}{state.relative_path}/{repo.full_name}/-/commit/{sha}",
    }


def _page_args(request: FakeRequest, state: GitlabState) -> tuple[int, int]:
    try:
        wanted = int(request.query.get("per_page", state.default_per_page))
        per_page = min(max(wanted, 1), state.max_per_page)
        page = max(int(request.query.get("page", "1")), 1)
    except ValueError:
        per_page, page = state.default_per_page, 1
    return per_page, page


def _link_base(state: GitlabState, request: FakeRequest) -> str:
    """Where GitLab's page links point: its external URL, not the address asked."""
    return f"{state.external_url or request.base_url}{request.path}"


def _offset_headers(
    state: GitlabState,
    request: FakeRequest,
    page: int,
    per_page: int,
    total: int | None,
    more: bool,
) -> list[tuple[str, str]]:
    headers = [
        ("x-page", str(page)),
        ("x-per-page", str(per_page)),
        ("x-next-page", str(page + 1) if more else ""),
        ("x-prev-page", str(page - 1) if page > 1 else ""),
    ]
    base = _link_base(state, request)
    query = dict(request.query)

    def link(n: int, rel: str) -> str:
        target = urlencode({**query, "page": str(n), "per_page": str(per_page)})
        return f'<{base}?{target}>; rel="{rel}"'

    links = [link(page + 1, "next")] if more else []
    links.append(link(1, "first"))
    if total is not None:
        pages = max((total + per_page - 1) // per_page, 1)
        headers += [("x-total", str(total)), ("x-total-pages", str(pages))]
        links.append(link(pages, "last"))
    headers.append(("Link", ", ".join(links)))
    return headers


def _list_commits(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    per_page, page = _page_args(request, state)
    sha = repo.resolve_ref(request.query.get("ref_name") or repo.default_branch)
    wanted: list[str] = []
    more = False
    if sha is not None:
        history = _history(repo, sha, request.query.get("path", "").strip("/"))
        for index, commit in enumerate(history):
            if index >= page * per_page:
                more = True
                break
            if index >= (page - 1) * per_page:
                wanted.append(commit)
    items = [_commit_json(request, state, repo, c) for c in wanted]
    return FakeResponse.json(
        items, headers=_offset_headers(state, request, page, per_page, None, more)
    )


def _list_refs(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    refs = repo.branches() if request.params["kind"] == "branches" else repo.tags()
    search = request.query.get("search", "")
    if search.startswith("^"):
        names = [n for n in sorted(refs) if n.startswith(search[1:])]
    else:
        names = [n for n in sorted(refs) if search in n]
    per_page, page = _page_args(request, state)
    chunk = names[(page - 1) * per_page : page * per_page]
    more = page * per_page < len(names)
    items = [
        {"name": n, "commit": _commit_json(request, state, repo, refs[n]), "protected": False}
        for n in chunk
    ]
    headers = _offset_headers(state, request, page, per_page, len(names), more)
    return FakeResponse.json(items, headers=headers)


# --- trees -------------------------------------------------------------------------------


def _tree_item(entry: TreeEntry) -> dict[str, Any]:
    return {
        "id": entry.sha,
        "name": entry.name,
        "type": entry.type,
        "path": entry.path,
        "mode": entry.mode,
    }


def _list_tree(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    sha = repo.resolve_ref(request.query.get("ref") or repo.default_branch)
    recursive = request.query.get("recursive", "false").lower() in ("true", "1")
    try:
        if sha is None:
            raise UnknownPathError("no such ref")
        entries = repo.tree(sha, request.query.get("path", "").strip("/"), recursive=recursive)
    except (LookupError, FakeHostError):
        return _message(404, "404 Tree Not Found")
    per_page, page = _page_args(request, state)
    if request.query.get("pagination") == "keyset":
        return _keyset_page(state, request, entries, per_page)
    chunk = entries[(page - 1) * per_page : page * per_page]
    more = page * per_page < len(entries)
    headers = _offset_headers(state, request, page, per_page, len(entries), more)
    return FakeResponse.json([_tree_item(e) for e in chunk], headers=headers)


def _keyset_page(
    state: GitlabState, request: FakeRequest, entries: list[TreeEntry], per_page: int
) -> FakeResponse:
    start = 0
    token = request.query.get("page_token")
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))["file_name"]
        except (ValueError, KeyError, TypeError):
            return FakeResponse.json({"error": "page_token is invalid"}, 400)
        start = next((i + 1 for i, e in enumerate(entries) if e.path == after), len(entries))
    chunk = entries[start : start + per_page]
    headers: list[tuple[str, str]] = []
    if start + per_page < len(entries) and chunk:
        cursor = json.dumps({"file_name": chunk[-1].path}).encode()
        query = {**request.query, "page_token": base64.urlsafe_b64encode(cursor).decode()}
        query["per_page"] = str(per_page)
        headers.append(("Link", f'<{_link_base(state, request)}?{urlencode(query)}>; rel="next"'))
    return FakeResponse.json([_tree_item(e) for e in chunk], headers=headers)


# --- archives and artifacts --------------------------------------------------------------


def _get_archive(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    fmt = _FORMATS.get(request.params.get("fmt", "tar.gz"))
    ref = request.query.get("sha") or repo.default_branch
    sha = repo.resolve_ref(ref)
    if fmt is None or sha is None:
        return _message(404, "404 Not found")
    path = request.query.get("path", "").strip("/")
    prefix = f"{repo.name}-{ref.replace('/', '-')}-{sha}"
    if path:
        prefix += "-" + path.replace("/", "-")
    kind, content_type = fmt
    try:
        archive = repo.archive_to_file(sha, fmt=kind, prefix=prefix, paths=[path] if path else None)
    except (LookupError, FakeHostError):
        return _message(404, "404 File Not Found")
    extension = "tar.gz" if kind in ("tar.gz", "tgz") else kind
    headers = [
        ("Content-Type", content_type),
        ("Content-Disposition", f'attachment; filename="{prefix}.{extension}"'),
        ("Content-Transfer-Encoding", "binary"),
    ]
    return FakeResponse(200, archive, headers)


def _get_artifact(host: FakeScmHost, state: GitlabState, request: FakeRequest) -> FakeResponse:
    repo = _project_or_none(host, state, request)
    if repo is None:
        return _no_project()
    key = (repo.full_name.casefold(), request.params["ref"], request.query.get("job", ""))
    with state._lock:
        data = state.artifacts.get(key, {}).get(request.params["path"])
    if data is None:
        return _message(404, "404 Not found")
    return FakeResponse(200, data, [("Content-Type", "application/octet-stream")])
