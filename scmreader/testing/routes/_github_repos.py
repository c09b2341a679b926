"""GitHub emulation: repository endpoints (repository, commits, contents, archives and
codeload, git trees and blobs, refs, branches) and the raw host. See :mod:`.github`.
"""

from __future__ import annotations

import base64
import hashlib
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scmreader.testing.exceptions import FakeHostError, UnknownPathError
from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import ArchiveFormat, FakeRepo, TreeEntry
    from scmreader.testing.server import FakeScmHost

from scmreader.testing.routes._github_common import (
    _RAW_TYPES,
    _SHA_TYPES,
    GithubState,
    _b64_lines,
    _can_read,
    _error,
    _identify,
    _iso,
    _json,
    _matches,
    _not_found,
    _paged,
    _repo_api,
    _repo_json,
    _repo_or_none,
    _resolve,
    codeload_base_url,
)

# --- repository endpoints --------------------------------------------------------------


# https://docs.github.com/en/rest/repos/repos#list-organization-repositories
# https://docs.github.com/en/rest/repos/repos#list-repositories-for-a-user
def _owner_repos(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    """``/orgs/{owner}/repos`` and ``/users/{owner}/repos``: an owner's repositories the
    caller can see, sorted by full name, Link-paginated (``per_page`` 30 by default, up to
    100). An organisation that is a user (see ``GithubState.users``) answers 404."""
    owner = request.params["owner"]
    is_user = owner.lower() in state.users
    owned = sorted(
        (r for r in host.repos.values() if r.owner.lower() == owner.lower()),
        key=lambda r: r.full_name.lower(),
    )
    if (request.params["kind"] == "orgs") == is_user or not (owned or is_user):
        return _not_found("/repos/repos#list-organization-repositories")
    identity = _identify(state, request)
    items = [_repo_json(state, request, r) for r in owned if _can_read(state, identity, r)]
    url = f"{request.base_url}{state.api_prefix}/{request.params['kind']}/{owner}/repos"
    chunk, headers = _paged(request, items, url)
    return _json(chunk, headers=headers)


# https://docs.github.com/en/rest/repos/repos#get-a-repository
def _get_repo(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    repo = _repo_or_none(host, state, request)
    if repo is None:
        return _not_found("/repos/repos#get-a-repository")
    return _json(_repo_json(state, request, repo))


# https://docs.github.com/en/rest/commits/commits#get-a-commit
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


# https://docs.github.com/en/rest/repos/contents#get-repository-content
#: The largest file the contents API inlines (base64) in its JSON answer: "1 MB".
_CONTENTS_INLINE_MAX = 1024 * 1024


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
        # "This API has an upper limit of 1,000 files for a directory" (same doc page)
        children = repo.tree(sha, path, recursive=False)[:1000]
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
    blob = repo.blob_by_sha(entry.sha)
    if len(blob) > _CONTENTS_INLINE_MAX:
        # Same doc page: between 1 and 100 MB "the content field will be an empty string
        # and the encoding field will be 'none'"; the raw media type gets the bytes.
        body.update(encoding="none", content="")
    else:
        body.update(encoding="base64", content=_b64_lines(blob))
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


# https://docs.github.com/en/rest/repos/contents#download-a-repository-archive-tar (302 to codeload)
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


# The target of the archive 302 above: https://docs.github.com/en/rest/repos/contents
# #download-a-repository-archive-tar documents only the redirect; the tarball's top folder
# (``{owner}-{repo}-{short sha}/``) is what git archive builds on GitHub.
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


# https://docs.github.com/en/rest/git/trees#get-a-tree
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


# https://docs.github.com/en/rest/git/blobs#get-a-blob
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


# https://docs.github.com/en/rest/git/refs#list-matching-references
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


# https://docs.github.com/en/rest/branches/branches#list-branches
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


# --- raw host --------------------------------------------------------------------------


# The ``download_url`` of https://docs.github.com/en/rest/repos/contents#get-repository-content
# (raw.githubusercontent.com): the bytes, and a plain 404 for a missing file or ref. Its
# ETag/304 and Cache-Control are what the CDN is seen to send; no GitHub page documents them.
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
    headers = [("Cache-Control", "max-age=300"), ("X-Content-Type-Options", "nosniff")]
    if state.raw_etag:
        etag = f'"{hashlib.sha256(data).hexdigest()}"'
        headers.insert(0, ("ETag", etag))
        if _matches(request.headers.get("If-None-Match"), etag):
            return FakeResponse(304, b"", headers)
    return FakeResponse(200, data, [("Content-Type", "text/plain; charset=utf-8"), *headers])
