"""Repository listings for discovery: what a listed repository is, what a discovery URL
asks for, and the shared filter (kinds skipped unless asked, fnmatch-style wildcards).

The listing primitive itself is a hook of the git-host template
(:meth:`scmreader.readers._git.GitHostReader.list_repositories`); each provider fills in
``_list_owner`` (one owner's repositories, page by page through the template's one
pagination helper), and where the host has a listing of owners, ``_list_owners``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

#: The segment that stands for each repository's default branch in a discovery URL
#: (Backstage's GitHub discovery form ``.../blob/-/catalog-info.yaml``).
DEFAULT_BRANCH = "-"


@dataclass(frozen=True)
class Repository:
    """One listed repository: ``owner`` (organisation, user, group path, project key or
    Azure project), ``name``, its default branch ('' when the listing does not say: the
    reader then asks the host), and the kinds discovery skips unless asked."""

    owner: str
    name: str
    default_branch: str = ""
    archived: bool = False
    fork: bool = False
    disabled: bool = False
    empty: bool = False
    #: The project inside the owner where the host has one (Bitbucket Cloud), else ''.
    project: str = ""

    @property
    def full_name(self) -> str:
        """``owner/name`` (``name`` alone for a top-level Gerrit project)."""
        return f"{self.owner}/{self.name}" if self.owner else self.name


@dataclass(frozen=True)
class DiscoveryTarget:
    """What a discovery URL asks for: owner and repository patterns (fnmatch-style), the
    ref (:data:`DEFAULT_BRANCH` or '' = each repository's default branch) and the path (a
    file or a glob) to read in each repository."""

    owner: str
    repo: str
    ref: str
    path: str
    #: ``scheme://host[:port]`` of the URL (result URLs are built on it).
    origin: str = ""
    #: A pattern for :attr:`Repository.project` (Bitbucket Cloud's projects).
    project: str = "*"

    @property
    def default_branch(self) -> bool:
        """True when each repository's default branch is read."""
        return self.ref in ("", DEFAULT_BRANCH)


@dataclass(frozen=True)
class Kinds:
    """Which skipped kinds a listing includes anyway."""

    archived: bool = False
    forks: bool = False
    empty: bool = False
    disabled: bool = False

    def keeps(self, repo: Repository) -> bool:
        """Whether ``repo`` is listed under these choices."""
        return (
            (self.archived or not repo.archived)
            and (self.forks or not repo.fork)
            and (self.empty or not repo.empty)
            and (self.disabled or not repo.disabled)
        )


def repository_from_api(item: object, owner: str) -> Repository | None:
    """A repository of a GitHub-shaped listing (GitHub, Gitea: ``name``, ``full_name``,
    ``default_branch``, ``archived``, ``fork``, ``disabled``, and ``empty`` or a ``size`` of
    0 for an empty one); None for an item without a name."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        return None
    full = str(item.get("full_name") or f"{owner}/{item['name']}")
    empty = item["empty"] if "empty" in item else item.get("size") == 0
    return Repository(
        owner=full.rpartition("/")[0] or owner,
        name=str(item["name"]),
        default_branch=str(item.get("default_branch") or ""),
        archived=bool(item.get("archived")),
        fork=bool(item.get("fork")),
        disabled=bool(item.get("disabled")),
        empty=bool(empty),
    )


def is_pattern(segment: str) -> bool:
    """Whether ``segment`` holds fnmatch wildcards (``*``, ``?``, ``[...]``)."""
    return any(c in segment for c in "*?[")


def matches(name: str, pattern: str) -> bool:
    """``name`` against an fnmatch ``pattern``, case-insensitively (hosts fold case in
    owner and repository names)."""
    return fnmatch.fnmatchcase(name.casefold(), pattern.casefold())


def literal_prefix(owner: str) -> str:
    """The segments of ``owner`` before its first wildcard segment ('' when the first has
    one): where a recursive listing (GitLab's subgroups) starts."""
    fixed: list[str] = []
    for segment in owner.split("/"):
        if is_pattern(segment):
            break
        fixed.append(segment)
    return "/".join(fixed)


def split_browse(url: str, kinds: tuple[str, ...], *, form: str) -> DiscoveryTarget:
    """``<owner...>/<repo>/[-/]<kind>/<ref>/<path>`` read from ``url``'s path, wildcards
    kept as written (the general URL parser guesses around ``*`` and ``-``);
    InvalidUrlError showing ``form`` when it has no owner, repository, kind or ref."""
    from scmreader.integrations._common import decode_component
    from scmreader.urls import parse_url

    parsed = parse_url(url)
    segments = [decode_component(s, url) for s in parsed.path.split("/") if s]
    at = next((i for i, s in enumerate(segments) if i >= 1 and s in kinds), -1)
    repo_at = at - 2 if at >= 3 and segments[at - 1] == "-" else at - 1
    if at < 0 or len(segments) < at + 2:
        raise _bad(url, form)
    return DiscoveryTarget(
        owner="/".join(segments[:repo_at]),
        repo=segments[repo_at],
        ref=segments[at + 1],
        path="/".join(segments[at + 2 :]),
        origin=parsed.origin,
    )


def _bad(url: str, form: str) -> Exception:
    from scmreader.errors import InvalidUrlError
    from scmreader.redact import redact_url

    return InvalidUrlError(f"Incorrect discovery URL: {redact_url(url)}; expected {form}.")
