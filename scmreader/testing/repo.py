"""FakeRepo: a real (bare) git repository behind a FakeScmHost, built with gitpython.

Commits get fixed, increasing dates (2024-01-01T00:00:00Z plus one minute per commit) and
a fixed identity, so the same sequence of operations gives the same commit ids and
byte-identical ``git archive`` output on every run.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scmreader.testing._gitobj import (
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_GITLINK,
    MODE_SYMLINK,
    Flat,
    ObjectWriter,
    read_folder,
)
from scmreader.testing.exceptions import FakeHostError, UnknownPathError, UnknownRefError

if TYPE_CHECKING:
    import git

#: Time of a repository's first commit (2024-01-01T00:00:00Z); each commit adds a minute.
EPOCH = 1704067200
IDENTITY = "FakeScmHost <fake@scmreader.test>"
ARCHIVE_FORMATS = {"tar": "tar", "tar.gz": "tar.gz", "tgz": "tar.gz", "zip": "zip"}
ArchiveFormat = Literal["tar", "tar.gz", "tgz", "zip"]
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "TZ": "UTC",
}
_HEX = re.compile(r"[0-9a-f]{4,40}")


@dataclass(frozen=True)
class FileSpec:
    """File content with an explicit git mode (see :func:`symlink`, :func:`executable`)."""

    content: bytes
    mode: int = MODE_FILE


def symlink(target: str) -> FileSpec:
    """A symbolic link pointing at ``target`` (git mode 120000)."""
    return FileSpec(target.encode("utf-8"), MODE_SYMLINK)


def executable(content: str | bytes) -> FileSpec:
    """An executable file (git mode 100755)."""
    return FileSpec(
        content.encode("utf-8") if isinstance(content, str) else content, MODE_EXECUTABLE
    )


def submodule(commit_sha: str) -> FileSpec:
    """A submodule entry (gitlink, mode 160000) pinned at ``commit_sha``."""
    if not re.fullmatch(r"[0-9a-f]{40}", commit_sha):
        raise FakeHostError(f"a submodule needs a full 40-hex commit id, got {commit_sha!r}")
    return FileSpec(commit_sha.encode("ascii"), MODE_GITLINK)


FileContent = str | bytes | FileSpec


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a git tree, as hosts' tree APIs describe it."""

    #: Full path from the repository root.
    path: str
    type: Literal["blob", "tree", "commit"]
    #: Six octal digits, as GitHub writes them: ``100644``, ``100755``, ``120000``, ``040000``.
    mode: str
    sha: str
    #: Size in bytes for blobs, None for trees and submodules.
    size: int | None

    @property
    def name(self) -> str:
        """The last path segment."""
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CommitInfo:
    """Metadata of one commit (what commit APIs return)."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    author_name: str
    author_email: str
    authored_at: datetime
    committer_name: str
    committer_email: str
    committed_at: datetime


class FakeRepo:
    """A bare git repository in a temporary folder; thread-safe.

    Build it with ``FakeScmHost.add_repo`` (or :meth:`create`). ``ref`` arguments accept a
    branch or tag name, ``refs/heads/...``/``refs/tags/...``, ``HEAD`` or a (possibly
    abbreviated) commit id; a branch wins over a tag of the same name.
    """

    def __init__(self, full_name: str, git_dir: Path, *, default_branch: str = "main") -> None:
        import git

        self.full_name = full_name
        self.default_branch = default_branch
        #: Listing flags the emulations report (set them after ``add_repo``): discovery
        #: skips archived, forked and disabled repositories unless asked.
        self.archived = False
        self.fork = False
        self.disabled = False
        self.git_dir = Path(git_dir)
        self.git_dir.mkdir(parents=True)
        cmd = git.Git(str(self.git_dir))
        cmd.update_environment(**_GIT_ENV)
        try:
            cmd.init("--quiet", "--bare", f"--initial-branch={default_branch}", str(self.git_dir))
        except git.GitCommandError as exc:
            raise FakeHostError(f"cannot create repository {full_name!r}: {_stderr(exc)}") from None
        self._repo = git.Repo(str(self.git_dir))
        self._repo.git.update_environment(**_GIT_ENV)
        self._writer = ObjectWriter(self.git_dir)
        self._lock = threading.RLock()
        self._refs: dict[str, str] = {}  # full ref name -> object id (tag object if annotated)
        self._peeled: dict[str, str] = {}  # full ref name -> commit id
        self._flat: dict[str, Flat] = {}  # commit id -> files
        self._times: dict[str, int] = {}  # commit id -> unix time
        self._clock = 0
        self._archives: dict[tuple[Any, ...], Path] = {}

    @classmethod
    def create(
        cls,
        full_name: str,
        git_dir: Path,
        files: Mapping[str, FileContent] | None = None,
        *,
        path: str | Path | None = None,
        default_branch: str = "main",
        branches: Mapping[str, Mapping[str, FileContent] | str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> FakeRepo:
        """Create and fill a repository (see ``FakeScmHost.add_repo``).

        ``files={}`` without ``path`` makes an empty repository (no commit at all).
        """
        repo = cls(full_name, git_dir, default_branch=default_branch)
        try:
            base: Flat = {}
            if path is not None:
                if not Path(path).is_dir():
                    raise FakeHostError(
                        f"cannot copy {str(path)!r} into a repository: no such folder"
                    )
                base = read_folder(repo._writer, Path(path))
            if files is None and path is None:
                files = {"README.md": f"# {repo.name}\n"}
            if base or files:
                repo._commit(base, files or {}, (), default_branch, "Initial commit", None)
            for name, spec in (branches or {}).items():
                if isinstance(spec, str):
                    repo.create_branch(name, spec)
                else:
                    repo.commit(spec, branch=name, message=f"Update {name}")
            for name, target in (tags or {}).items():
                repo.tag(name, target)
        except BaseException:
            repo.close()
            raise
        return repo

    @property
    def name(self) -> str:
        """The repository's own name (last segment of ``full_name``)."""
        return self.full_name.rsplit("/", 1)[-1]

    @property
    def owner(self) -> str:
        """Everything before the last ``/`` of ``full_name`` (GitLab: the group path)."""
        return self.full_name.rpartition("/")[0]

    def close(self) -> None:
        """Stop gitpython's helper processes (the folder is removed by the host)."""
        self._repo.close()

    def __repr__(self) -> str:
        return f"<FakeRepo {self.full_name} at {self.git_dir}>"

    # --- writing -----------------------------------------------------------------------

    def commit(
        self,
        files: Mapping[str, FileContent] | None = None,
        *,
        branch: str | None = None,
        message: str | None = None,
        delete: Iterable[str] = (),
        date: datetime | None = None,
    ) -> str:
        """Commit ``files`` (added or changed) and ``delete`` (files or folders) on ``branch``.

        A branch that does not exist yet starts from the default branch. Returns the new
        commit id.
        """
        with self._lock:
            branch = branch or self.default_branch
            ref = f"refs/heads/{branch}"
            parent = self._peeled.get(ref) or self._peeled.get(f"refs/heads/{self.default_branch}")
            base = dict(self._flat[parent]) if parent else {}
            return self._commit(base, files or {}, delete, branch, message or "Update files", date)

    def create_branch(self, name: str, ref: str | None = None) -> str:
        """Create branch ``name`` at ``ref`` (default: the default branch); returns its commit."""
        with self._lock:
            if f"refs/heads/{name}" in self._refs:
                raise FakeHostError(f"branch {name!r} already exists in {self.full_name}")
            sha = self.sha(ref or self.default_branch)
            self._set_ref(f"refs/heads/{name}", sha, sha)
            return sha

    def tag(self, name: str, ref: str | None = None, *, message: str | None = None) -> str:
        """Tag ``ref`` (default: the default branch); annotated when ``message`` is given.

        Returns the tagged commit id.
        """
        with self._lock:
            if f"refs/tags/{name}" in self._refs:
                raise FakeHostError(f"tag {name!r} already exists in {self.full_name}")
            sha = self.sha(ref or self.default_branch)
            target = sha
            if message is not None:
                when = self._tick(None)
                text = (
                    f"object {sha}\ntype commit\ntag {name}\n"
                    f"tagger {IDENTITY} {when} +0000\n\n{message.rstrip()}\n"
                )
                target = self._writer.store("tag", text.encode("utf-8")).hex()
            self._set_ref(f"refs/tags/{name}", target, sha)
            return sha

    def _commit(
        self,
        flat: Flat,
        files: Mapping[str, FileContent],
        delete: Iterable[str],
        branch: str,
        message: str,
        date: datetime | None,
    ) -> str:
        for raw in delete:
            path = _norm_path(raw)
            doomed = [p for p in flat if p == path or p.startswith(path + "/")]
            if not doomed:
                raise UnknownPathError(f"cannot delete {raw!r}: not in {self.full_name}@{branch}")
            for p in doomed:
                del flat[p]
        for raw, content in files.items():
            flat[_norm_path(raw)] = self._store_content(content)
        tree = self._writer.store_tree(flat)
        ref = f"refs/heads/{branch}"
        parent = self._peeled.get(ref) or self._peeled.get(f"refs/heads/{self.default_branch}")
        sha = self._write_commit(tree.hex(), [parent] if parent else [], message, self._tick(date))
        self._flat[sha] = flat
        self._set_ref(ref, sha, sha)
        return sha

    def _write_commit(self, tree: str, parents: list[str], message: str, when: int) -> str:
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines += [f"author {IDENTITY} {when} +0000", f"committer {IDENTITY} {when} +0000"]
        text = "\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n"
        sha = self._writer.store("commit", text.encode("utf-8")).hex()
        self._times[sha] = when
        return sha

    def _tick(self, date: datetime | None) -> int:
        self._clock += 1
        if date is None:
            return EPOCH + 60 * (self._clock - 1)
        return int((date if date.tzinfo else date.replace(tzinfo=UTC)).timestamp())

    def _store_content(self, content: FileContent) -> tuple[int, bytes]:
        if isinstance(content, FileSpec):
            if content.mode == MODE_GITLINK:
                return MODE_GITLINK, bytes.fromhex(content.content.decode("ascii"))
            return content.mode, self._writer.store("blob", content.content)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        return MODE_FILE, self._writer.store("blob", data)

    def _set_ref(self, ref: str, target: str, commit: str) -> None:
        import git

        try:
            self._repo.git.update_ref(ref, target)
        except git.GitCommandError as exc:
            raise FakeHostError(f"cannot set {ref} in {self.full_name}: {_stderr(exc)}") from None
        self._refs[ref] = target
        self._peeled[ref] = commit

    # --- refs --------------------------------------------------------------------------

    def resolve_ref(self, ref: str | None) -> str | None:
        """The commit id ``ref`` names, or None when it names nothing."""
        with self._lock:
            if ref in (None, "", "HEAD"):
                ref = f"refs/heads/{self.default_branch}"
            assert ref is not None
            if ref.startswith("refs/"):
                return self._peeled.get(ref)
            for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}"):
                if candidate in self._peeled:
                    return self._peeled[candidate]
            if _HEX.fullmatch(ref):
                hits = [sha for sha in self._flat if sha.startswith(ref)]
                if len(hits) == 1:
                    return hits[0]
            return None

    def sha(self, ref: str | None = None) -> str:
        """The full commit id of ``ref`` (default: the default branch); UnknownRefError if none."""
        sha = self.resolve_ref(ref)
        if sha is None:
            raise UnknownRefError(f"{self.full_name} has no branch, tag or commit {ref!r}")
        return sha

    def split_ref_path(self, ref_and_path: str) -> tuple[str, str, str] | None:
        """Split ``feature/x/docs/a.md`` into ``(ref, commit id, path)``, longest ref first.

        For URLs where a ref with slashes is followed by a path. None when no prefix is a ref.
        """
        parts = ref_and_path.strip("/").split("/")
        for end in range(len(parts), 0, -1):
            ref = "/".join(parts[:end])
            sha = self.resolve_ref(ref)
            if sha is not None:
                return ref, sha, "/".join(parts[end:])
        return None

    def refs(self) -> dict[str, str]:
        """Every branch and tag: full ref name -> commit id (annotated tags peeled)."""
        with self._lock:
            return dict(sorted(self._peeled.items()))

    def branches(self) -> dict[str, str]:
        """Branch name -> commit id."""
        return {k[11:]: v for k, v in self.refs().items() if k.startswith("refs/heads/")}

    def tags(self) -> dict[str, str]:
        """Tag name -> commit id (annotated tags peeled)."""
        return {k[10:]: v for k, v in self.refs().items() if k.startswith("refs/tags/")}

    def tag_object(self, name: str) -> str | None:
        """The tag object id of an annotated tag, None for a lightweight or unknown tag."""
        with self._lock:
            ref = f"refs/tags/{name}"
            target = self._refs.get(ref)
            return target if target is not None and target != self._peeled[ref] else None

    # --- reading -----------------------------------------------------------------------

    def commit_info(self, ref: str | None = None) -> CommitInfo:
        """Metadata of the commit ``ref`` names."""
        sha = self.sha(ref)
        with self._lock:
            c = self._repo.commit(sha)
            message = c.message if isinstance(c.message, str) else c.message.decode()
            return CommitInfo(
                sha=sha,
                tree=c.tree.hexsha,
                parents=tuple(p.hexsha for p in c.parents),
                message=message,
                author_name=str(c.author.name),
                author_email=str(c.author.email),
                authored_at=c.authored_datetime.astimezone(UTC),
                committer_name=str(c.committer.name),
                committer_email=str(c.committer.email),
                committed_at=c.committed_datetime.astimezone(UTC),
            )

    def entry(self, ref: str | None, path: str) -> TreeEntry | None:
        """The entry at ``path`` (``""`` is the root tree), or None when absent."""
        with self._lock:
            obj = self._lookup(self.sha(ref), path)
            if obj is None:
                return None
            if not _norm_path(path, allow_root=True):
                return TreeEntry("", "tree", "040000", obj.hexsha, None)
            return _entry(obj)

    def tree(self, ref: str | None, path: str = "", recursive: bool = True) -> list[TreeEntry]:
        """Entries below folder ``path`` in git order (a folder before its contents).

        Paths are full paths from the repository root.
        """
        with self._lock:
            obj = self._lookup(self.sha(ref), path)
            if obj is None or obj.type != "tree":
                raise UnknownPathError(f"{self.full_name} has no folder {path!r} at {ref!r}")
            entries: list[TreeEntry] = []
            self._walk(obj, recursive, entries)
            return entries

    def blob(self, ref: str | None, path: str) -> bytes:
        """Content of the file at ``path`` (a symlink's content is its target)."""
        with self._lock:
            obj = self._lookup(self.sha(ref), path)
            if obj is None or obj.type != "blob":
                raise UnknownPathError(f"{self.full_name} has no file {path!r} at {ref!r}")
            data: bytes = obj.data_stream.read()
            return data

    def blob_by_sha(self, sha: str) -> bytes:
        """Content of the blob with id ``sha``."""
        with self._lock:
            try:
                stream = self._repo.odb.stream(bytes.fromhex(sha))
            except Exception:
                raise UnknownPathError(f"{self.full_name} has no blob {sha!r}") from None
            if stream.type not in (b"blob", "blob"):
                raise UnknownPathError(
                    f"{sha} in {self.full_name} is a {stream.type!r}, not a blob"
                )
            data: bytes = stream.read()
            return data

    def files(self, ref: str | None = None) -> dict[str, bytes]:
        """Every file at ``ref``: path -> content (symlinks give their target)."""
        with self._lock:
            return {e.path: self.blob_by_sha(e.sha) for e in self.tree(ref) if e.type == "blob"}

    def last_commit(self, ref: str | None, path: str = "") -> str:
        """Id of the latest commit reachable from ``ref`` that changed ``path``."""
        sha = self.sha(ref)
        path = _norm_path(path, allow_root=True)
        if not path:
            return sha
        out = self._repo.git.log("-1", "--format=%H", sha, "--", path)
        if not out.strip():
            raise UnknownPathError(f"no commit of {self.full_name}@{ref} touches {path!r}")
        return str(out.strip())

    def history(self, ref: str | None, path: str) -> list[str]:
        """Ids of the commits reachable from ``ref`` that changed ``path``, newest first."""
        out = self._repo.git.log("--format=%H", self.sha(ref), "--", _norm_path(path))
        return str(out).split()

    def _lookup(self, sha: str, path: str) -> Any:
        node = self._repo.commit(sha).tree
        rel = _norm_path(path, allow_root=True)
        if not rel:
            return node
        try:
            return node / rel
        except KeyError:
            return None

    def _walk(self, tree: Any, recursive: bool, out: list[TreeEntry]) -> None:
        for item in tree:
            out.append(_entry(item))
            if recursive and item.type == "tree":
                self._walk(item, recursive, out)

    # --- archives ----------------------------------------------------------------------

    def archive(
        self,
        ref: str | None = None,
        *,
        fmt: ArchiveFormat = "tar.gz",
        prefix: str = "",
        paths: Iterable[str] | None = None,
        subdir: str | None = None,
    ) -> bytes:
        """``git archive`` of ``ref``: what hosts' archive endpoints send, byte for byte.

        ``prefix`` is the top folder (``/`` appended): GitHub ``{owner}-{repo}-{sha[:7]}``,
        GitLab ``{repo}-{ref}-{sha}``, Bitbucket/Gitea ``{repo}``, Gitiles none. ``paths``
        keeps only those files/folders (GitLab's ``path=``). ``subdir`` archives that
        folder's contents at the root (Gitiles ``+archive/ref/dir``).
        """
        args = self._archive_args(ref, fmt, prefix, paths, subdir)
        data: bytes = self._repo.git.archive(
            *args, stdout_as_string=False, strip_newline_in_stdout=False
        )
        return data

    def archive_to_file(
        self,
        ref: str | None = None,
        *,
        fmt: ArchiveFormat = "tar.gz",
        prefix: str = "",
        paths: Iterable[str] | None = None,
        subdir: str | None = None,
    ) -> Path:
        """Like :meth:`archive` but written to a file (cached per commit and options)."""
        args = self._archive_args(ref, fmt, prefix, paths, subdir)
        key = tuple(args)
        with self._lock:
            cached = self._archives.get(key)
        if cached is not None and cached.exists():
            return cached
        folder = self.git_dir.with_name(self.git_dir.name + "-archives")
        folder.mkdir(exist_ok=True)
        digest = hashlib.sha1("\0".join(args).encode(), usedforsecurity=False).hexdigest()
        target = folder / f"{digest[:16]}.{ARCHIVE_FORMATS[fmt]}"
        partial = target.with_name(f"{target.name}.{threading.get_ident()}.part")
        self._repo.git.archive(f"--output={partial}", *args)
        os.replace(partial, target)
        with self._lock:
            self._archives[key] = target
        return target

    def iter_archive(
        self,
        ref: str | None = None,
        *,
        fmt: ArchiveFormat = "tar.gz",
        prefix: str = "",
        paths: Iterable[str] | None = None,
        subdir: str | None = None,
        chunk_size: int = 256 * 1024,
    ) -> Generator[bytes, None, None]:
        """Like :meth:`archive` but streamed from ``git archive`` as it runs (for chunked
        responses); closing the iterator early stops the process."""
        args = self._archive_args(ref, fmt, prefix, paths, subdir)
        process = self._repo.git.archive(*args, as_process=True)
        return _stream_process(process, chunk_size)

    def _archive_args(
        self,
        ref: str | None,
        fmt: str,
        prefix: str,
        paths: Iterable[str] | None,
        subdir: str | None,
    ) -> list[str]:
        kind = ARCHIVE_FORMATS.get(fmt)
        if kind is None:
            raise FakeHostError(
                f"unknown archive format {fmt!r}; use one of {sorted(ARCHIVE_FORMATS)}"
            )
        sha = self.sha(ref)
        treeish = sha
        with self._lock:
            if subdir is not None and _norm_path(subdir, allow_root=True):
                obj = self._lookup(sha, subdir)
                if obj is None or obj.type != "tree":
                    raise UnknownPathError(f"{self.full_name} has no folder {subdir!r} at {ref!r}")
                # A tree has no date, so git would stamp "now": wrap it in a commit instead.
                treeish = self._write_commit(obj.hexsha, [], "subdir archive", self._times[sha])
            wanted = [_norm_path(p) for p in paths or ()]
            for path in wanted:
                if self._lookup(treeish, path) is None:
                    raise UnknownPathError(f"{self.full_name} has no {path!r} at {ref!r}")
        args = [f"--format={kind}"]
        if prefix.strip("/"):
            args.append(f"--prefix={prefix.strip('/')}/")
        args.append(treeish)
        if wanted:
            args += ["--", *wanted]
        return args


def _stream_process(process: Any, chunk_size: int) -> Generator[bytes, None, None]:
    try:
        while chunk := process.stdout.read(chunk_size):
            yield chunk
        process.wait()
    finally:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()
        process.stdout.close()


def _entry(obj: Any) -> TreeEntry:
    kind: Literal["blob", "tree", "commit"]
    kind = "commit" if obj.type == "submodule" else obj.type
    return TreeEntry(
        path=str(obj.path),
        type=kind,
        mode=f"{obj.mode:06o}",
        sha=str(obj.hexsha),
        size=int(obj.size) if kind == "blob" else None,
    )


def _norm_path(path: str, *, allow_root: bool = False) -> str:
    rel = path.strip("/")
    if not rel and allow_root:
        return ""
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..", ".git") or "\0" in p for p in parts):
        raise FakeHostError(f"invalid repository path {path!r}")
    return rel


def _stderr(exc: git.GitCommandError) -> str:
    return str(exc.stderr).strip().removeprefix("stderr: ").strip("'\" \n") or str(exc)
