"""Gerrit and Gitiles, as GerritUrlReader talks to them, over the host's git repositories.

A repository's full name is the Gerrit project name (``web/project``). Gerrit's REST API
answers under ``/projects/...`` and Gitiles under ``gitiles_path`` (``/plugins/gitiles``,
as the Gitiles plugin of a Gerrit server). ``/a/``-prefixed paths require HTTP basic
authentication with a user added by :func:`add_user` (401 otherwise); paths without it are
anonymous reads.

The answers have the real shapes: JSON starts with the ``)]}'`` guard line, file content
is base64 text (``text/plain`` with ``X-FYI-Content-Encoding: base64``), tags answer
``TagInfo`` (``object`` for annotated tags), ``branches/`` and ``tags/`` list them
(``?m=`` substring filter), ``/HEAD`` the branch ref as a JSON string,
``+archive/{rev}[/{path}].tar.gz`` a tar.gz without a top folder (400 when the path is not
a folder), and ``+/{rev}/{path}?format=JSON[&recursive=1][&long=1]`` Gitiles' tree JSON
(``+/{rev}`` without a trailing slash is the commit).

For Gitiles on a second host, install on that host with ``gerrit=False``,
``gitiles_path=""`` and ``repos_from=<the Gerrit host>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import FakeRepo
    from scmreader.testing.server import FakeScmHost

NAME = "gerrit"
XSSI = ")]}'\n"
REALM = 'Basic realm="Gerrit Code Review"'
_SEGMENT = r"[^/]+"
_MODE_TYPE_MASK = 0o170000
_MODE_REGULAR = 0o100000
_MODE_SYMLINK = 0o120000
_TRUE = ("", "1", "true", "yes", "on")


@dataclass
class GerritSite:
    """The emulation's state on one host (``host.state["gerrit"]``)."""

    gitiles_path: str
    repos: FakeScmHost
    anonymous: bool = True
    users: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def repo(self, project: str) -> FakeRepo | None:
        """The repository of a Gerrit project (exact name), or None."""
        repo = self.repos.get_repo(project)
        return repo if repo is not None and repo.full_name == project else None


def install(
    host: FakeScmHost,
    *,
    gitiles_path: str = "/plugins/gitiles",
    gerrit: bool = True,
    gitiles: bool = True,
    repos_from: FakeScmHost | None = None,
    anonymous: bool = True,
) -> None:
    """Register Gerrit REST (``gerrit``) and Gitiles (``gitiles``) routes on ``host``.

    ``gitiles_path`` is where Gitiles lives (``""`` for the root of a Gitiles host);
    ``repos_from`` serves another host's repositories; ``anonymous=False`` hides every
    project from requests without ``/a/`` (404, as Gerrit does for invisible projects).
    """
    path = gitiles_path.rstrip("/")
    if path and not path.startswith("/"):
        raise FakeHostError(f"gitiles_path must start with '/', got {gitiles_path!r}")
    site = GerritSite(gitiles_path=path, repos=repos_from or host, anonymous=anonymous)
    host.state[NAME] = site
    a = r"(?P<auth>/a)?"
    if gerrit:
        project = rf"{a}/projects/(?P<project>{_SEGMENT})"
        # https://gerrit-review.googlesource.com/Documentation/rest-api-projects.html
        routes = [
            (rf"{project}/(?P<kind>branches|tags)/?", _list_refs),
            (rf"{project}/branches/(?P<branch>{_SEGMENT})", _branch),
            (rf"{project}/branches/(?P<branch>{_SEGMENT})/files/(?P<file>{_SEGMENT})/content",
             _branch_content),
            (rf"{project}/commits/(?P<commit>{_SEGMENT})/files/(?P<file>{_SEGMENT})/content",
             _commit_content),
            (rf"{project}/tags/(?P<tag>{_SEGMENT})", _tag),
            (rf"{project}/HEAD", _head),
        ]  # fmt: skip
        for pattern, handler in routes:
            host.route("GET", pattern, _guarded(site, handler))
    if gitiles:
        base = rf"{a}{re.escape(path)}/(?P<project>.+?)"
        # https://gerrit.googlesource.com/gitiles/+/HEAD/Documentation/design.md
        host.route("GET", rf"{base}/\+archive/(?P<rest>.+)\.tar\.gz", _guarded(site, _archive))
        host.route("GET", rf"{base}/\+/(?P<rest>.*)", _guarded(site, _gitiles_path))


def site(host: FakeScmHost) -> GerritSite:
    """The host's Gerrit state, enabling ``gerrit`` (with defaults) if needed."""
    host.enable(NAME)
    result: GerritSite = host.state[NAME]
    return result


def add_user(host: FakeScmHost, username: str, password: str) -> None:
    """Accept ``username``/``password`` (an HTTP password) on ``/a/`` paths of ``host``."""
    state = site(host)
    with state.lock:
        state.users[username] = password


def app_config(
    host: FakeScmHost,
    *,
    username: str | None = None,
    password: str | None = None,
    gitiles: FakeScmHost | None = None,
) -> dict[str, Any]:
    """An app-config mapping with one ``integrations.gerrit`` entry for this fake host.

    ``gitiles`` names a second host serving Gitiles at its root.
    """
    gitiles_base = (
        gitiles.base_url if gitiles is not None else host.base_url + site(host).gitiles_path
    )
    entry: dict[str, Any] = {
        "host": host.host,
        "baseUrl": host.base_url,
        "gitilesBaseUrl": gitiles_base,
    }
    if username is not None:
        entry["username"] = username
    if password is not None:
        entry["password"] = password
    return {"integrations": {"gerrit": [entry]}}


# --- plumbing ------------------------------------------------------------------------------


def _guarded(site: GerritSite, handler: Any) -> Any:
    def serve(request: FakeRequest) -> FakeResponse | None:
        if request.params.get("auth"):
            if not _authorized(site, request):
                return FakeResponse.text("Unauthorized\n", 401, {"WWW-Authenticate": REALM})
        elif not site.anonymous:
            return _not_found(request.params.get("project", ""))
        repo = site.repo(request.params.get("project", ""))
        if repo is None:
            return _not_found(request.params.get("project", ""))
        response: FakeResponse | None = handler(request, repo)
        return response

    return serve


def _authorized(site: GerritSite, request: FakeRequest) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    with site.lock:
        return bool(sep) and site.users.get(user) == password


def _json(obj: Any) -> FakeResponse:
    body = XSSI + json.dumps(obj, indent=2) + "\n"
    return FakeResponse(
        200,
        body,
        [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Disposition", "attachment"),
        ],
    )


def _not_found(what: str) -> FakeResponse:
    return FakeResponse.text(f"Not found: {what}\n", 404)


def _truthy(request: FakeRequest, name: str) -> bool:
    value = request.query.get(name)
    return value is not None and value.lower() in _TRUE


# --- Gerrit REST ---------------------------------------------------------------------------


def _branch_sha(repo: FakeRepo, branch_id: str) -> str | None:
    return repo.branches().get(branch_id.removeprefix("refs/heads/"))


def _branch(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    branch = request.params["branch"].removeprefix("refs/heads/")
    sha = _branch_sha(repo, branch)
    if sha is None:
        return _not_found(request.params["branch"])
    return _json({"ref": f"refs/heads/{branch}", "revision": sha})


def _content(repo: FakeRepo, sha: str, path: str) -> FakeResponse:
    entry = repo.entry(sha, path) if path.strip("/") else None
    if entry is None or entry.type != "blob":
        return _not_found(path)
    data = repo.blob(sha, path)
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return FakeResponse(
        200,
        base64.b64encode(data),
        [
            ("Content-Type", "text/plain; charset=ISO-8859-1"),
            ("Content-Disposition", "attachment"),
            ("X-FYI-Content-Encoding", "base64"),
            ("X-FYI-Content-Type", mime),
        ],
    )


def _branch_content(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    sha = _branch_sha(repo, request.params["branch"])
    if sha is None:
        return _not_found(request.params["branch"])
    return _content(repo, sha, request.params["file"])


def _commit_content(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    commit = request.params["commit"]
    if not re.fullmatch(r"[0-9a-f]{40}", commit) or repo.resolve_ref(commit) != commit:
        return _not_found(commit)
    return _content(repo, commit, request.params["file"])


def _list_refs(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    """``/projects/{p}/branches/`` and ``/tags/`` with ``m`` (substring, any case), ``n``
    (limit) and ``S`` (skip), sorted by ref
    (https://gerrit-review.googlesource.com/Documentation/rest-api-projects.html#list-branches)."""
    kind = request.params["kind"]
    refs = repo.branches() if kind == "branches" else repo.tags()
    prefix = "refs/heads/" if kind == "branches" else "refs/tags/"
    wanted = request.query.get("m", "").casefold()
    names = [n for n in sorted(refs) if wanted in n.casefold()]
    skip = int(request.query.get("S", "0") or 0)
    limit = int(request.query.get("n", "0") or 0)
    chosen = names[skip : skip + limit] if limit else names[skip:]
    return _json([{"ref": prefix + n, "revision": refs[n]} for n in chosen])


def _tag(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    name = request.params["tag"].removeprefix("refs/tags/")
    commit = repo.tags().get(name)
    if commit is None:
        return _not_found(request.params["tag"])
    tag_object = repo.tag_object(name)
    if tag_object is None:
        return _json({"ref": f"refs/tags/{name}", "revision": commit})
    return _json({"ref": f"refs/tags/{name}", "revision": tag_object, "object": commit})


def _head(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    return _json(f"refs/heads/{repo.default_branch}")


# --- Gitiles -------------------------------------------------------------------------------


def _archive(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    split = repo.split_ref_path(request.params["rest"])
    if split is None:
        return _not_found(request.params["rest"])
    revision, sha, path = split
    if path:
        entry = repo.entry(sha, path)
        if entry is None or entry.type != "tree":
            # Gitiles answers INCORRECT_OBJECT_TYPE (400) for a missing path or a file.
            return FakeResponse.text("Bad Request\n", 400)
    archive = repo.archive_to_file(sha, fmt="tar.gz", subdir=path or None)
    name = f"{repo.name}-{revision.replace('/', '-')}" + (
        f"-{path.replace('/', '-')}" if path else ""
    )
    return FakeResponse(
        200,
        archive,
        [
            ("Content-Type", "application/x-gzip"),
            ("Content-Disposition", f'attachment; filename="{name}.tar.gz"'),
        ],
    )


def _gitiles_path(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    raw = request.params["rest"]
    split = repo.split_ref_path(raw)
    if split is None:
        return _not_found(raw)
    _, sha, path = split
    fmt = request.query.get("format", "HTML").upper()
    if fmt == "JSON":
        if not path and not raw.endswith("/"):
            return _json(_commit_json(repo, sha))
        return _path_json(request, repo, sha, path)
    entry = repo.entry(sha, path)
    if entry is None:
        return _not_found(path)
    if fmt == "TEXT" and entry.type == "blob":
        return FakeResponse.text(base64.b64encode(repo.blob(sha, path)).decode("ascii"))
    title = f"{repo.full_name} - {path or '/'}"
    return FakeResponse.text(f"<html><title>{title}</title></html>", content_type="text/html")


def _path_json(request: FakeRequest, repo: FakeRepo, sha: str, path: str) -> FakeResponse:
    entry = repo.entry(sha, path)
    if entry is None:
        return _not_found(path)
    long = _truthy(request, "long")
    if _truthy(request, "recursive"):
        if entry.type != "tree":
            return _not_found(path)
        prefix = f"{path}/" if path else ""
        # Gitiles walks recursively (no folder entries) and reports the root tree's id.
        entries = [
            _entry_json(repo, e, e.path.removeprefix(prefix), long)
            for e in repo.tree(sha, path, recursive=True)
            if e.type != "tree"
        ]
        return _json({"id": repo.commit_info(sha).tree, "entries": entries})
    if entry.type == "tree":
        entries = [_entry_json(repo, e, e.name, long) for e in repo.tree(sha, path, False)]
        return _json({"id": entry.sha, "entries": entries})
    if int(entry.mode, 8) == 0o100644:
        return _json({"id": entry.sha, "repo": repo.full_name, "revision": sha, "path": path})
    return _not_found(path)  # Gitiles: UNSUPPORTED_OBJECT_TYPE for other file modes


def _entry_json(repo: FakeRepo, entry: Any, name: str, long: bool) -> dict[str, Any]:
    mode = int(entry.mode, 8)
    out: dict[str, Any] = {"mode": mode, "type": entry.type, "id": entry.sha, "name": name}
    if long:
        if mode & _MODE_TYPE_MASK == _MODE_REGULAR:
            out["size"] = entry.size
        elif mode & _MODE_TYPE_MASK == _MODE_SYMLINK:
            out["target"] = repo.blob_by_sha(entry.sha).decode("utf-8", "replace")
    return out


def _commit_json(repo: FakeRepo, sha: str) -> dict[str, Any]:
    info = repo.commit_info(sha)

    def person(name: str, email: str, when: datetime) -> dict[str, str]:
        stamp = when.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y +0000")
        return {"name": name, "email": email, "time": stamp}

    return {
        "commit": info.sha,
        "tree": info.tree,
        "parents": list(info.parents),
        "author": person(info.author_name, info.author_email, info.authored_at),
        "committer": person(info.committer_name, info.committer_email, info.committed_at),
        "message": info.message,
    }
