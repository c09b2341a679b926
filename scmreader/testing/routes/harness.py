"""Harness Code: the gateway's code API over FakeScmHost repositories.

Repositories are addressed as Harness does, by ``<account>[/<org>][/<project>]/<repo>``:
add them to the host under that full name (``host.add_repo("acme/widgets")`` is repository
``widgets`` of account ``acme``; ``"acc/org/proj/repo"`` has an org and a project). Every
endpoint hangs below ``/gateway/code/api/v1/repos/<repo ref>/+/`` and wants
``routingId=<account>`` in its query (``400`` without it). Endpoints and their real shapes
(Gitness's ``app/api``):

- ``GET .../+/content[/<path>]?git_ref=&include_commit=``: ``{type, sha, name, path,
  latest_commit?, content}`` where ``type`` is ``dir``, ``file``, ``symlink`` or
  ``submodule``; a folder's ``content`` is ``{entries: [{type, sha, name, path}]}`` (one
  level), a file's ``{encoding: "base64", data, size, data_size}``; ``latest_commit``
  (with ``include_commit=true``) is the latest commit that touched the path
  (``{sha, parent_shas, title, message, author, committer}``); with
  :attr:`HarnessState.flatten` a folder lists its whole subtree (``a/b/c`` paths);
- ``GET .../+/raw/<path>?git_ref=``: the bytes, ``ETag`` = the blob id (bare, as Gitness
  sends it; ``304`` on an equal ``If-None-Match``);
- ``GET .../+/archive/<treeish>.<zip|tar|tar.gz|tgz>[?path=...&prefix=]``: ``git
  archive`` of the commit, branch (``refs/heads/x`` or ``x``) or sha; no top folder unless
  ``prefix`` is given; ``path`` (repeatable) keeps only those paths.

``git_ref`` takes a branch (``refs/heads/main`` or ``main``), a tag or a commit id; empty
means the default branch. Errors are ``{"message": ...}``: ``404 Resource not found`` for
an unknown repository, ref or path, ``401 Unauthorized`` for unknown credentials (once any
is registered) and for anonymous callers of a private repository (:meth:`HarnessState.
make_private`), ``403 Forbidden`` for credentials limited to other repositories.
Credentials are read from ``x-api-key`` or ``Authorization: Bearer``.

The reader always talks ``https://<host>``: :func:`http_client` gives an HttpClient that
carries ``https://<fake host>`` to the fake over plain HTTP.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scmreader.testing.exceptions import UnknownPathError, UnknownRefError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.http import HttpClient
    from scmreader.testing.repo import ArchiveFormat, CommitInfo, FakeRepo, TreeEntry
    from scmreader.testing.server import FakeScmHost

NAME = "harness"
API_PREFIX = "/gateway/code/api/v1/repos"
_REPO = API_PREFIX + r"/(?P<repo>(?:[^/+]+/){1,3}[^/+]+)/\+"
_FORMATS: dict[str, tuple[ArchiveFormat, str]] = {
    "tar.gz": ("tar.gz", "application/gzip"),
    "tgz": ("tar.gz", "application/gzip"),
    "tar": ("tar", "application/tar"),
    "zip": ("zip", "application/zip"),
}
_TYPES = {"blob": "file", "tree": "dir", "commit": "submodule"}


@dataclass
class HarnessState:
    """The emulation's credentials and private repositories, ``host.state["harness"]``.

    A credential maps to the repositories it may read (lower-cased full names), or None
    for all of them.
    """

    api_keys: dict[str, frozenset[str] | None] = field(default_factory=dict)
    tokens: dict[str, frozenset[str] | None] = field(default_factory=dict)
    private: set[str] = field(default_factory=set)
    #: List a folder's whole subtree in ``entries`` (paths like ``a/b/c``), as newer
    #: Harness versions may; False lists one level.
    flatten: bool = False
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def add_api_key(self, key: str, *, repos: Iterable[str] | None = None) -> None:
        """Accept ``key`` in ``x-api-key`` (for ``repos`` only, when given)."""
        with self._lock:
            self.api_keys[key] = _scope(repos)

    def add_token(self, token: str, *, repos: Iterable[str] | None = None) -> None:
        """Accept ``token`` as ``Authorization: Bearer`` (for ``repos`` only, when given)."""
        with self._lock:
            self.tokens[token] = _scope(repos)

    def make_private(self, full_name: str) -> None:
        """Refuse repository ``full_name`` to callers without a registered credential."""
        with self._lock:
            self.private.add(full_name.casefold())


def _scope(repos: Iterable[str] | None) -> frozenset[str] | None:
    return None if repos is None else frozenset(r.casefold() for r in repos)


def install(host: FakeScmHost) -> None:
    """Register the Harness Code routes on ``host`` (see the module docstring)."""
    state = HarnessState()
    host.state[NAME] = state

    def add(pattern: str, handler: Callable[[FakeRequest, FakeRepo], FakeResponse]) -> None:
        host.route("GET", pattern, _guarded(host, state, handler))

    # https://apidocs.harness.io/ (Code: getContent; Gitness app/api/controller/repo)
    add(f"{_REPO}/content(?:/(?P<path>.*))?", lambda r, repo: _get_content(r, repo, state))
    # https://apidocs.harness.io/ (Code: getRaw)
    add(f"{_REPO}/raw/(?P<path>.+)", _get_raw)
    # https://apidocs.harness.io/ (Code: archive)
    add(f"{_REPO}/archive/(?P<treeish>.+)", _get_archive)


def harness(host: FakeScmHost) -> HarnessState:
    """The host's Harness state, enabling the emulation if needed."""
    host.enable(NAME)
    state: HarnessState = host.state[NAME]
    return state


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """The ``integrations.harness[]`` entry for ``host`` (add ``apiKey=``/``token=``)."""
    harness(host)
    return {"host": host.host, **extra}


def browse_url(host: FakeScmHost, full_name: str, ref: str = "main", path: str = "") -> str:
    """The web URL of ``path`` (a file, folder or glob) in repository ``full_name``
    (``acct/repo``, ``acct/org/repo`` or ``acct/org/proj/repo``) at ``ref``."""
    account, *scope, repo = full_name.split("/")
    kinds = ("orgs", "projects")[: len(scope)]
    middle = "".join(f"/{kind}/{name}" for kind, name in zip(kinds, scope, strict=True))
    return (
        f"https://{host.host}/ng/account/{account}/module/code{middle}/repos/{repo}"
        f"/files/{ref}/~/{path}"
    )


def http_client(
    host: FakeScmHost, *, also: Iterable[FakeScmHost] = (), **kwargs: Any
) -> HttpClient:
    """An HttpClient that sends ``https://<host>`` (and each ``also`` host) to the fake
    over plain HTTP; ``kwargs`` go to HttpClient (``sleep=`` for fast retries)."""
    from scmreader.http import HttpClient
    from scmreader.testing.transport import https_to_fake

    return https_to_fake(HttpClient(**kwargs), {t.host: t for t in (host, *also)})


# --- access ------------------------------------------------------------------------------


def _message(status: int, message: str) -> FakeResponse:
    return FakeResponse.json({"message": message}, status)


@dataclass(frozen=True)
class _Caller:
    anonymous: bool
    known: bool
    #: Lower-cased repositories the credential may read; None for all.
    scope: frozenset[str] | None


def _caller(state: HarnessState, request: FakeRequest) -> _Caller:
    key = request.headers.get("x-api-key", "")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    with state._lock:
        registry = state.api_keys if key else state.tokens
        credential = key or token
        if not credential:
            return _Caller(anonymous=True, known=True, scope=None)
        if credential in registry:
            return _Caller(anonymous=False, known=True, scope=registry[credential])
        # Before any credential is registered, every credential is welcome.
        return _Caller(anonymous=False, known=not (state.api_keys or state.tokens), scope=None)


def _guarded(
    host: FakeScmHost,
    state: HarnessState,
    handler: Callable[[FakeRequest, FakeRepo], FakeResponse],
) -> Callable[[FakeRequest], FakeResponse]:
    def wrapped(request: FakeRequest) -> FakeResponse:
        full_name = request.params["repo"]
        if request.query.get("routingId") != full_name.split("/", 1)[0]:
            return _message(400, "routingId query parameter is required and must be the account")
        caller = _caller(state, request)
        if not caller.known:
            return _message(401, "Unauthorized")
        repo = host.get_repo(full_name)
        if repo is None:
            return _message(404, "Resource not found")
        name = repo.full_name.casefold()
        with state._lock:
            private = name in state.private
        if private and caller.anonymous:
            return _message(401, "Unauthorized")
        if caller.scope is not None and name not in caller.scope:
            return _message(403, "Forbidden")
        try:
            return handler(request, repo)
        except (UnknownRefError, UnknownPathError) as exc:
            return _message(404, str(exc))

    return wrapped


# --- endpoints -----------------------------------------------------------------------------


def _get_content(request: FakeRequest, repo: FakeRepo, state: HarnessState) -> FakeResponse:
    ref = request.query.get("git_ref", "")
    path = request.params.get("path", "").strip("/")
    sha = repo.sha(ref)
    entry = repo.entry(sha, path)
    if entry is None:
        return _message(404, f"path {path!r} not found")
    body: dict[str, Any] = _info(entry, path)
    if request.query.get("include_commit") == "true":
        body["latest_commit"] = _commit(repo.commit_info(repo.last_commit(sha, path)))
    if entry.type == "tree":
        entries = repo.tree(sha, path, recursive=state.flatten)
        body["content"] = {"entries": [_info(e, e.path) for e in entries]}
    elif entry.type == "commit":
        body["content"] = {"url": "", "commit_sha": entry.sha}
    else:
        data = repo.blob_by_sha(entry.sha)
        if entry.mode == "120000":
            body["content"] = {"target": data.decode("utf-8", "replace"), "size": len(data)}
        else:
            body["content"] = {
                "encoding": "base64",
                "data": base64.b64encode(data).decode("ascii"),
                "size": len(data),
                "data_size": len(data),
            }
    return FakeResponse.json(body)


def _info(entry: TreeEntry, path: str) -> dict[str, Any]:
    kind = "symlink" if entry.mode == "120000" else _TYPES[entry.type]
    return {"type": kind, "sha": entry.sha, "name": path.rsplit("/", 1)[-1], "path": path}


def _commit(info: CommitInfo) -> dict[str, Any]:
    title, _, _ = info.message.partition("\n")
    return {
        "sha": info.sha,
        "parent_shas": list(info.parents),
        "title": title,
        "message": info.message,
        "author": _signature(info.author_name, info.author_email, info.authored_at),
        "committer": _signature(info.committer_name, info.committer_email, info.committed_at),
    }


def _signature(name: str, email: str, when: datetime) -> dict[str, Any]:
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"identity": {"name": name, "email": email}, "when": stamp}


def _get_raw(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    path = request.params["path"].strip("/")
    entry = repo.entry(repo.sha(request.query.get("git_ref", "")), path)
    if entry is None:
        return _message(404, f"path {path!r} not found")
    if entry.type != "blob":
        return _message(
            400, f"Object at '/{path}' is of type '{entry.type}'. Only blobs support raw viewing."
        )
    if request.headers.get("If-None-Match") == entry.sha:
        return FakeResponse.not_modified()
    headers = {"ETag": entry.sha, "Content-Type": "text/plain; charset=utf-8"}
    return FakeResponse(200, repo.blob_by_sha(entry.sha), headers)


def _get_archive(request: FakeRequest, repo: FakeRepo) -> FakeResponse:
    treeish = request.params["treeish"]
    longest_first = sorted(_FORMATS, key=len, reverse=True)
    fmt = next((f for f in longest_first if treeish.endswith(f".{f}")), "")
    if not fmt:
        return _message(400, f"git archive flag format for '{treeish}' is invalid")
    kind, content_type = _FORMATS[fmt]
    ref = treeish[: -len(fmt) - 1]
    paths = [p.strip("/") for p in request.query_all.get("path", []) if p.strip("/")]
    archive = repo.archive_to_file(
        repo.sha(ref), fmt=kind, prefix=request.query.get("prefix", ""), paths=paths
    )
    filename = treeish.rsplit("/", 1)[-1]
    headers: Mapping[str, str] = {
        "Content-Type": content_type,
        "Content-Disposition": f"attachment; filename={filename}",
    }
    return FakeResponse(200, archive, headers)
