"""Organisation-wide discovery: list an owner's repositories, read one file or glob in each.

:meth:`UrlReaders.discover` is the entry point. The run lists the repositories through the
host's API (the git-host template's :meth:`~scmreader.readers._git.GitHostReader.
list_repositories`), then reads the path in every repository through the batch machinery
(:func:`~scmreader.readers._batch.iter_batch`), so per-host concurrency and rate budgets
apply as for any other read. Results stream as repositories finish; one repository's
failure is a result carrying its error, only a failed listing ends the run.

Given the previous run's state, every repository costs one conditional request: an
unchanged file (or glob, whose etag is the commit) raises NotModifiedError on the host's
304 or the reader's version check, and nothing is downloaded. Contents of unchanged
entries load lazily when asked for. The state is a small JSON-able mapping::

    {"version": 1, "url": ..., "repositories": {"acme/api": {"etag": ..., "branch": ...,
     "files": {"<file url>": "<etag>"}}}}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from scmreader.errors import InputError, NotFoundError, NotModifiedError
from scmreader.readers import DEFAULT_WORKERS
from scmreader.readers._batch import iter_batch
from scmreader.readers._git import GitHostReader
from scmreader.readers._listing import Kinds, Repository
from scmreader.redact import redact_url
from scmreader.urls import is_glob

if TYPE_CHECKING:
    from scmreader.readers import UrlReaders
    from scmreader.readers.types import SearchResponseFile

Status = Literal["added", "changed", "unchanged", "removed", "error"]
#: ``progress(done, total)``: called in the calling thread after each repository.
DiscoveryProgress = Callable[[int, int], None]


@dataclass
class DiscoveryResult:
    """One discovered file (or one failed repository): its repository, the branch read
    ('' when the host resolved the default branch itself), its URL, etag, what changed
    since the previous run, and ``error`` for a repository that could not be read."""

    repository: str
    branch: str
    url: str
    etag: str = ""
    status: Status = "added"
    error: Exception | None = None
    _content: Callable[[], bytes] | None = field(default=None, repr=False)

    def content(self) -> bytes:
        """The file's bytes (downloaded on first use for unchanged entries and globs)."""
        if self.error is not None:
            raise self.error
        if self._content is None:
            raise InputError(f"{redact_url(self.url)} was removed; it has no content.")
        data = self._content()
        self._content = lambda: data
        return data


@dataclass
class DiscoverySummary:
    """Counts of a run: repositories listed, files per status, repositories without the
    path (``missing``) and repositories that failed (``errors``)."""

    repositories: int = 0
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    missing: int = 0
    errors: int = 0


class DiscoveryRun:
    """Iterate to run the discovery; afterwards :attr:`summary` holds the counts and
    :attr:`state` the state to pass to the next run (:meth:`save_state` writes it)."""

    def __init__(
        self,
        readers: UrlReaders,
        url: str,
        *,
        kinds: Kinds,
        state: Mapping[str, Any] | None,
        token: str | None,
        max_workers: int,
        progress: DiscoveryProgress | None,
    ) -> None:
        reader = readers.reader_for(url)
        if not isinstance(reader, GitHostReader):
            raise InputError(
                f"{redact_url(url)} is not on a git host; discovery lists the repositories of "
                "GitHub, GitLab, Bitbucket, Azure DevOps, Gitea, Gerrit and Harness "
                "integrations."
            )
        self.url = url
        self._readers = readers
        self._reader = reader
        self._target = reader._discovery_target(url)
        self._kinds = kinds
        self._token = token
        self._workers = max_workers
        self._progress = progress
        self._previous: dict[str, Any] = dict((state or {}).get("repositories", {}))
        self.summary = DiscoverySummary()
        self.state: dict[str, Any] = {"version": 1, "url": url, "repositories": {}}

    def save_state(self, path: str | Path) -> None:
        """Write :attr:`state` as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.state, indent=1, sort_keys=True) + "\n")

    def __iter__(self) -> Iterator[DiscoveryResult]:
        target = self._target
        self.summary = DiscoverySummary()  # iterating again runs the discovery again
        self.state = {"version": 1, "url": self.url, "repositories": {}}
        repos = list(
            self._reader.list_repositories(
                target.owner,
                target.repo,
                kinds=self._kinds,
                token=self._token,
                origin=target.origin,
                project=target.project,
            )
        )
        self.summary.repositories = len(repos)
        for done, (_, outcome) in enumerate(
            iter_batch(self._one, repos, key=lambda r: r.full_name, max_workers=self._workers),
            start=1,
        ):
            one = outcome.unwrap()  # _one never raises
            if one.entry is not None:
                self.state["repositories"][one.repository] = one.entry
            self.summary.missing += one.missing
            for result in one.results:
                self._count(result)
                yield result
            if self._progress is not None:
                self._progress(done, len(repos))
        listed = {r.full_name for r in repos}
        for name, old in sorted(self._previous.items()):
            if name not in listed:
                for url in sorted(old.get("files", {})):
                    result = DiscoveryResult(
                        name, str(old.get("branch", "")), url, status="removed"
                    )
                    self._count(result)
                    yield result

    def _count(self, result: DiscoveryResult) -> None:
        if result.status == "error":
            self.summary.errors += 1
        else:
            setattr(self.summary, result.status, getattr(self.summary, result.status) + 1)

    # --- one repository (on a worker thread) ---------------------------------------------

    def _one(self, repo: Repository) -> _Outcome:
        """The results of one repository and its new state entry (None: nothing found)."""
        target = self._target
        branch = repo.default_branch if target.default_branch else target.ref
        url = self._reader._discovery_url(target, repo, branch)
        old = self._previous.get(repo.full_name) or {}
        old_files: dict[str, str] = dict(old.get("files", {}))
        try:
            if target.default_branch and branch:
                self._reader._known_branch(url, branch, self._token)
            if is_glob(target.path):
                results, entry = self._glob(repo, branch, url, old, old_files)
            else:
                results, entry = self._file(repo, branch, url, old_files)
        except NotFoundError:
            results, entry = [], None
        except Exception as exc:  # one repository's failure is its result, never the run's
            failed = DiscoveryResult(repo.full_name, branch, url, status="error", error=exc)
            return _Outcome(repo.full_name, [failed], dict(old) or None)
        seen = set(entry["files"]) if entry else set()
        results += [
            DiscoveryResult(repo.full_name, branch, gone, status="removed")
            for gone in sorted(old_files)
            if gone not in seen
        ]
        return _Outcome(repo.full_name, results, entry, missing=int(entry is None))

    def _file(
        self, repo: Repository, branch: str, url: str, old_files: dict[str, str]
    ) -> tuple[list[DiscoveryResult], dict[str, Any]]:
        previous = old_files.get(url)
        try:
            response = self._readers.read_url(url, etag=previous, token=self._token)
        except NotModifiedError:
            result = DiscoveryResult(
                repo.full_name, branch, url, previous or "", "unchanged", _content=self._lazy(url)
            )
        else:
            data = response.buffer()  # download now, on this worker
            etag = response.etag or ""
            status: Status = "added" if previous is None else "changed"
            result = DiscoveryResult(
                repo.full_name, branch, url, etag, status, _content=lambda: data
            )
        return [result], {"etag": result.etag, "branch": branch, "files": {url: result.etag}}

    def _glob(
        self,
        repo: Repository,
        branch: str,
        url: str,
        old: Mapping[str, Any],
        old_files: dict[str, str],
    ) -> tuple[list[DiscoveryResult], dict[str, Any] | None]:
        previous = old.get("etag") or None
        try:
            found = self._readers.search(url, etag=previous, token=self._token)
        except NotModifiedError:
            results = [
                DiscoveryResult(
                    repo.full_name, branch, f, str(previous), "unchanged", _content=self._lazy(f)
                )
                for f in sorted(old_files)
            ]
            return results, dict(old)
        if not found.files:
            return [], None
        results = [
            DiscoveryResult(
                repo.full_name,
                branch,
                f.url,
                found.etag,
                "changed" if f.url in old_files else "added",
                _content=_lazy_content(f),
            )
            for f in found.files
        ]
        files = {f.url: found.etag for f in found.files}
        return results, {"etag": found.etag, "branch": branch, "files": files}

    def _lazy(self, url: str) -> Callable[[], bytes]:
        return lambda: self._readers.read_url(url, token=self._token).buffer()


@dataclass(frozen=True)
class _Outcome:
    """What reading one repository gave: its results and its new state entry."""

    repository: str
    results: list[DiscoveryResult]
    entry: dict[str, Any] | None
    missing: int = 0


def _lazy_content(found: SearchResponseFile) -> Callable[[], bytes]:
    """The search match's contents, read only when asked for."""
    return lambda: found.content()


def load_state(path: str | Path) -> dict[str, Any]:
    """A state file written by :meth:`DiscoveryRun.save_state` ({} when it does not exist)."""
    file = Path(path)
    if not file.exists():
        return {}
    try:
        state = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"The discovery state {file} could not be read ({exc}); delete it to start afresh."
        ) from None
    if not isinstance(state, dict) or state.get("version") != 1:
        raise InputError(f"{file} is not a discovery state file; delete it to start afresh.")
    return state


def discover(
    readers: UrlReaders,
    url: str,
    *,
    include_archived: bool = False,
    include_forks: bool = False,
    include_empty: bool = False,
    include_disabled: bool = False,
    state: Mapping[str, Any] | str | Path | None = None,
    token: str | None = None,
    max_workers: int = DEFAULT_WORKERS,
    progress: DiscoveryProgress | None = None,
) -> DiscoveryRun:
    """A discovery run for ``url`` (see :meth:`UrlReaders.discover`)."""
    if isinstance(state, (str, Path)):
        state = load_state(state)
    kinds = Kinds(
        archived=include_archived,
        forks=include_forks,
        empty=include_empty,
        disabled=include_disabled,
    )
    return DiscoveryRun(
        readers,
        url,
        kinds=kinds,
        state=state,
        token=token,
        max_workers=max_workers,
        progress=progress,
    )
