"""AWS CodeCommit: its JSON 1.1 API over FakeScmHost repositories.

Every call is ``POST /`` with ``X-Amz-Target: CodeCommit_20150413.<Operation>`` and a JSON
body; answers are JSON (``application/x-amz-json-1.1``). Point boto3 at the host with
``endpoint_url=host.base_url`` (or ``AWS_ENDPOINT_URL_CODECOMMIT``). A CodeCommit
repository name is a FakeScmHost repository's full name or, failing that, the last
segment of one (``acme/widgets`` answers as ``widgets``). Operations and answer shapes:

- ``GetRepository``: ``{repositoryMetadata: {repositoryName, defaultBranch, ...}}``;
- ``GetBranch``: ``{branch: {branchName, commitId}}`` (``branchName`` may be given as
  ``refs/heads/<name>`` too, as CodeCommit accepts);
- ``GetCommit``: ``{commit: {commitId, treeId, parents, message, author, committer}}``;
- ``GetFile``: ``{commitId, blobId, filePath, fileMode, fileSize, fileContent}`` (content
  base64, as JSON carries blobs); ``commitSpecifier`` takes a commit, branch or tag and
  defaults to the default branch;
- ``GetFolder``: ``{commitId, folderPath, treeId, subFolders, files, symbolicLinks,
  subModules}``, one level, paths relative to the repository root without a leading ``/``.

Errors are HTTP 400 with ``{"__type": "<Code>Exception", "message": ...}`` (and the
``x-amzn-ErrorType`` header), like the real service. Signatures are not checked; with
:meth:`CodeCommitState.allow_key` called at least once, requests signed with any other
access key id are refused (``UnrecognizedClientException``), and requests without SigV4
``Authorization`` always are (``MissingAuthenticationTokenException``).
"""

from __future__ import annotations

import base64
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.repo import FakeRepo, TreeEntry
    from scmreader.testing.server import FakeScmHost

NAME = "aws_codecommit"
TARGET_PREFIX = "CodeCommit_20150413."
_CONTENT_TYPE = "application/x-amz-json-1.1"
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/")
_MODES = {"100644": "NORMAL", "100755": "EXECUTABLE", "120000": "SYMLINK"}
_ACCOUNT = "123456789012"


@dataclass
class CodeCommitState:
    """The emulation's settings, ``host.state["aws_codecommit"]``; thread-safe."""

    region: str = "eu-west-1"
    access_keys: set[str] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def allow_key(self, access_key_id: str) -> None:
        """Accept requests signed with ``access_key_id`` (then refuse all others)."""
        with self._lock:
            self.access_keys.add(access_key_id)


class _Fail(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def install(host: FakeScmHost, *, region: str = "eu-west-1") -> None:
    """Register the CodeCommit API (``POST /``) on ``host``."""
    state = CodeCommitState(region=region)
    host.state[NAME] = state

    def handle(request: FakeRequest) -> FakeResponse | None:
        target = request.headers.get("X-Amz-Target", "")
        if not target.startswith(TARGET_PREFIX):
            return None
        try:
            _check_auth(request, state)
            operation = _OPERATIONS.get(target[len(TARGET_PREFIX) :])
            if operation is None:
                raise _Fail("UnknownOperationException", f"Unknown operation {target}")
            try:
                body = request.json()
            except ValueError:
                raise _Fail("SerializationException", "The request body is not JSON") from None
            if not isinstance(body, dict):
                raise _Fail("SerializationException", "The request body is not an object")
            answer = operation(host, body)
        except _Fail as fail:
            return _error(fail)
        return FakeResponse.json(answer, 200, _headers()).set_header("Content-Type", _CONTENT_TYPE)

    host.route("POST", r"/", handle)


def codecommit(host: FakeScmHost) -> CodeCommitState:
    """The host's CodeCommit state, enabling the emulation with defaults if needed."""
    host.enable(NAME)
    state: CodeCommitState = host.state[NAME]
    return state


def operation_of(request: Any) -> str:
    """The CodeCommit operation a (recorded) request called, '' for other requests."""
    target = str(request.headers.get("X-Amz-Target", ""))
    return target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""


# --- plumbing ----------------------------------------------------------------------------


def _headers() -> list[tuple[str, str]]:
    return [("x-amzn-RequestId", str(uuid.uuid4()))]


# https://docs.aws.amazon.com/codecommit/latest/APIReference/CommonErrors.html
# (HTTP 400 with __type and the x-amzn-ErrorType header)
def _error(fail: _Fail) -> FakeResponse:
    response = FakeResponse.json({"__type": fail.code, "message": fail.message}, fail.status)
    response.set_header("Content-Type", _CONTENT_TYPE)
    response.set_header("x-amzn-ErrorType", fail.code)
    response.set_header("x-amzn-RequestId", str(uuid.uuid4()))
    return response


def _check_auth(request: FakeRequest, state: CodeCommitState) -> None:
    auth = request.headers.get("Authorization", "")
    match = _CREDENTIAL_RE.search(auth)
    if not auth.startswith("AWS4-HMAC-SHA256 ") or match is None:
        raise _Fail(
            "MissingAuthenticationTokenException", "Missing Authentication Token", status=400
        )
    with state._lock:
        keys = set(state.access_keys)
    if keys and match.group(1) not in keys:
        raise _Fail(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        name = key[0].upper() + key[1:]
        raise _Fail(f"{name}RequiredException", f"{key} is required")
    return value


def _repo(host: FakeScmHost, body: dict[str, Any]) -> FakeRepo:
    name = _text(body, "repositoryName")
    repo = host.get_repo(name)
    if repo is None:
        matches = [r for r in host.repos.values() if r.name == name]
        repo = matches[0] if len(matches) == 1 else None
    if repo is None:
        raise _Fail("RepositoryDoesNotExistException", f"{name} does not exist")
    return repo


def _commit(repo: FakeRepo, body: dict[str, Any]) -> str:
    spec = _text(body, "commitSpecifier", required=False)
    sha = repo.resolve_ref(spec or None)
    if sha is None:
        raise _Fail("CommitDoesNotExistException", f"Could not find commit for {spec}")
    return sha


def _path(body: dict[str, Any], key: str) -> str:
    return _text(body, key, required=key == "filePath").strip("/")


def _entry(repo: FakeRepo, sha: str, path: str) -> TreeEntry | None:
    try:
        return repo.entry(sha, path)
    except LookupError:
        return None


def _person(name: str, email: str, when: Any) -> dict[str, str]:
    return {"name": name, "email": email, "date": f"{int(when.timestamp())} +0000"}


# --- operations --------------------------------------------------------------------------


# https://docs.aws.amazon.com/codecommit/latest/APIReference/API_GetRepository.html
def _get_repository(host: FakeScmHost, body: dict[str, Any]) -> Any:
    repo = _repo(host, body)
    state = codecommit(host)
    name = _text(body, "repositoryName")
    arn = f"arn:aws:codecommit:{state.region}:{_ACCOUNT}:{name}"
    clone = f"https://git-codecommit.{state.region}.amazonaws.com/v1/repos/{name}"
    return {
        "repositoryMetadata": {
            "accountId": _ACCOUNT,
            "repositoryId": str(uuid.uuid5(uuid.NAMESPACE_URL, arn)),
            "repositoryName": name,
            "defaultBranch": repo.default_branch,
            "cloneUrlHttp": clone,
            "cloneUrlSsh": clone.replace("https://", "ssh://"),
            "Arn": arn,
        }
    }


# https://docs.aws.amazon.com/codecommit/latest/APIReference/API_GetBranch.html
def _get_branch(host: FakeScmHost, body: dict[str, Any]) -> Any:
    repo = _repo(host, body)
    name = _text(body, "branchName")
    sha = repo.branches().get(name.removeprefix("refs/heads/"))
    if sha is None:
        raise _Fail("BranchDoesNotExistException", f"Branch {name} does not exist")
    return {"branch": {"branchName": name.removeprefix("refs/heads/"), "commitId": sha}}


# https://docs.aws.amazon.com/codecommit/latest/APIReference/API_GetCommit.html
def _get_commit(host: FakeScmHost, body: dict[str, Any]) -> Any:
    repo = _repo(host, body)
    wanted = _text(body, "commitId")
    sha = repo.resolve_ref(wanted)
    if sha is None or not sha.startswith(wanted.lower()):
        raise _Fail("CommitIdDoesNotExistException", f"Could not find commit {wanted}")
    info = repo.commit_info(sha)
    return {
        "commit": {
            "commitId": sha,
            "treeId": info.tree,
            "parents": list(info.parents),
            "message": info.message,
            "author": _person(info.author_name, info.author_email, info.authored_at),
            "committer": _person(info.committer_name, info.committer_email, info.committed_at),
            "additionalData": "",
        }
    }


# https://docs.aws.amazon.com/codecommit/latest/APIReference/API_GetFile.html
def _get_file(host: FakeScmHost, body: dict[str, Any]) -> Any:
    repo = _repo(host, body)
    sha = _commit(repo, body)
    path = _path(body, "filePath")
    entry = _entry(repo, sha, path) if path else None
    if entry is None or entry.type != "blob":
        raise _Fail("FileDoesNotExistException", f"The file {path} does not exist")
    data = repo.blob_by_sha(entry.sha)
    return {
        "commitId": sha,
        "blobId": entry.sha,
        "filePath": path,
        "fileMode": _MODES.get(entry.mode, "NORMAL"),
        "fileSize": len(data),
        "fileContent": base64.b64encode(data).decode("ascii"),
    }


# https://docs.aws.amazon.com/codecommit/latest/APIReference/API_GetFolder.html
def _get_folder(host: FakeScmHost, body: dict[str, Any]) -> Any:
    repo = _repo(host, body)
    sha = _commit(repo, body)
    path = _path(body, "folderPath")
    folder = _entry(repo, sha, path)
    if folder is None or folder.type != "tree":
        raise _Fail("FolderDoesNotExistException", f"The folder {path or '/'} does not exist")
    answer: dict[str, Any] = {
        "commitId": sha,
        "folderPath": path,
        "treeId": folder.sha,
        "subFolders": [],
        "files": [],
        "symbolicLinks": [],
        "subModules": [],
    }
    for child in repo.tree(sha, path, recursive=False):
        relative = child.path.rsplit("/", 1)[-1]
        if child.type == "tree":
            item = {"treeId": child.sha, "absolutePath": child.path, "relativePath": relative}
            answer["subFolders"].append(item)
        elif child.type == "commit":
            item = {"commitId": child.sha, "absolutePath": child.path, "relativePath": relative}
            answer["subModules"].append(item)
        else:
            mode = _MODES.get(child.mode, "NORMAL")
            item = {
                "blobId": child.sha,
                "absolutePath": child.path,
                "relativePath": relative,
                "fileMode": mode,
            }
            answer["symbolicLinks" if mode == "SYMLINK" else "files"].append(item)
    return answer


_OPERATIONS: dict[str, Callable[[FakeScmHost, dict[str, Any]], Any]] = {
    "GetRepository": _get_repository,
    "GetBranch": _get_branch,
    "GetCommit": _get_commit,
    "GetFile": _get_file,
    "GetFolder": _get_folder,
}
