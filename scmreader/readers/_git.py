"""What the git-host readers share: one flow from a browse URL to files, trees and searches.

A provider reader (GitHub, GitLab, Gitea, ...) says where a URL points
(:meth:`GitHostReader._locate`), how to name a ref's commit (:meth:`_commit`), how to
download the archive at a commit (:meth:`_archive`), how to list the files below a folder
(:meth:`_list`), how to open one file (:meth:`_open`) and how to list the refs starting
with a name (:meth:`_list_refs`); this module turns that into ``read_url``, ``read_tree``
and glob ``search`` the same way for all of them:

- URL -> (repository, ref, path) -> commit, and NotModifiedError decided from the commit
  before anything is downloaded; the archive is asked for at that commit, so tree and etag
  always agree;
- a ref written in the path may contain ``/`` (``blob/feature/x/a.yaml``): the first
  segment is tried, and when that is not found the repository's branches and tags starting
  with it are listed (cached per repository for ``refs_ttl`` seconds) and the longest one
  that prefixes the segments wins — the same rule GitHub, GitLab, Gitea and Gitiles apply;
- read_url has an etag whatever the host sends: the host's ETag when it answers
  conditional requests, otherwise the version a metadata call gives (blob id, the commit
  of the path) — looked up *before* the content, so an unchanged file is never downloaded;
- a glob search lists only the glob's static prefix, page by page through one pagination
  helper (:meth:`GitHostReader._pages`), matches, and fetches contents lazily at the commit.

Listing repositories (for :mod:`scmreader.readers._discover`) is one more primitive:
a provider parses its discovery URL forms (:meth:`_discovery_target`), lists one owner's
repositories (:meth:`_list_owner`) and, where the host lists owners, those
(:meth:`_list_owners`); :meth:`GitHostReader.list_repositories` applies wildcards and skips
archived, forked, empty and disabled repositories unless asked. The HTTP plumbing
(:meth:`_get`, credentials bound to their origin, API redirects kept on the API's origin)
is shared.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Literal, TypeVar

from scmreader.errors import AuthenticationError, InvalidUrlError, NotFoundError, UpstreamError
from scmreader.http import (
    OriginCredentials,
    body_stream,
    credentials_for,
    parse_json,
    raise_for_status,
    stay_on_origin,
    unexpected_answer,
)
from scmreader.readers.base import BaseUrlReader
from scmreader.readers.types import (
    ReadTreeResponse,
    ReadUrlResponse,
    SearchResponse,
    SearchResponseFile,
    TreeFilter,
)
from scmreader.redact import redact_url, register_secret
from scmreader.urls import (
    GitUrl,
    glob_matcher,
    glob_static_prefix,
    is_glob,
    parse_git_url,
    parse_url,
)

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.readers._listing import DiscoveryTarget, Kinds, Repository
    from scmreader.readers.tree import TreeResponseFactory

T = TypeVar("T")


@dataclass(frozen=True)
class GitLocation:
    """Where a URL points: the repository (``key`` identifies it for caches), the ref as
    written ('' for the default branch), the path after it, the provider's own parsed URL
    (``native``), the credentials for this call, and whether the ref is ``exact`` (taken
    from a query parameter, so a ``/`` in it belongs to the name)."""

    key: str
    ref: str
    path: str
    url: str
    native: Any = None
    auth: list[OriginCredentials] = field(default_factory=list, repr=False)
    exact: bool = False


@dataclass(frozen=True)
class GitArchive:
    """An archive download: the response, its format, the folder of it to keep, and
    whether its entries sit below one top-level folder."""

    response: requests.Response
    kind: Literal["tar", "zip"] = "tar"
    subpath: str | None = None
    strip_first_directory: bool = True


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items and the URL of the next page (None at the end)."""

    items: list[Any]
    next: str | None


def rebase_link(link: str, api_base: str) -> str | None:
    """``link`` moved onto ``api_base``'s origin when its path lies under the API's path.

    Hosts build next-page links from their own idea of their address (GitLab's external
    URL), which may differ from the address a client uses; only the path and query are
    trusted. A link whose path is not the API's own is None: never follow it.
    """
    target, api = parse_url(link), parse_url(api_base)
    root = api.path.rstrip("/") + "/"
    if not (target.path + "/").startswith(root):
        return None
    query = f"?{target.query}" if target.query else ""
    return f"{api.origin}{target.path}{query}"


def browse_parts(
    url: str,
    *,
    kinds: tuple[str, ...],
    need_path: bool,
    form: str,
    parse: Callable[[str], GitUrl] = parse_git_url,
    ref_in_path: bool = True,
) -> GitUrl:
    """``url`` read as ``<owner>/<repo>/<kind>/<ref>/<path>`` (``parse``), checked: owner and
    repository, a ``kind`` of ``kinds`` (with a ref when ``ref_in_path``) or, unless
    ``need_path``, none at all, and a path when ``need_path``. InvalidUrlError shows ``form``."""
    try:
        git = parse(url)
    except InvalidUrlError as exc:
        raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}, {exc}") from None
    typed = git.filepathtype in kinds and (bool(git.ref) or not ref_in_path)
    untyped = not need_path and not git.filepathtype
    if not (git.owner and git.name and (typed or untyped)) or (
        need_path and not git.filepath.strip("/")
    ):
        raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}; expected {form}.")
    return git


def longest_ref(names: Iterable[str], segments: list[str]) -> tuple[str, str]:
    """Split ``segments`` into the longest ref of ``names`` that prefixes them and the rest
    (the first segment when none does)."""
    best = 1
    for name in names:
        count = name.count("/") + 1
        if best < count <= len(segments) and "/".join(segments[:count]) == name:
            best = count
    return "/".join(segments[:best]), "/".join(segments[best:])


def folder_may_match(pattern: str) -> Callable[[str], bool]:
    """Whether a folder (full path) can hold a match of ``pattern``.

    Segments up to the first ``**`` must match one by one, a pattern without ``**`` is
    never deeper than its segments, and folders starting with ``.`` inside a ``**`` are
    skipped unless a later segment starts with ``.`` (minimatch's ``**`` does not enter
    them). Patterns whose syntax can span segments (braces, extglobs, classes, escapes,
    negation) are not pruned.
    """
    if pattern.startswith("!") or any(c in pattern for c in "{}()[]\\"):
        return lambda folder: True
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    star = next((i for i, s in enumerate(segments) if "**" in s), None)
    fixed = segments if star is None else segments[:star]
    heads = [glob_matcher("/".join(fixed[: n + 1])) for n in range(len(fixed))]
    dots_later = star is not None and any(s.startswith(".") for s in segments[star + 1 :])

    def descend(folder: str) -> bool:
        parts = folder.split("/")
        if star is None and len(parts) >= len(segments):
            return False
        depth = min(len(parts), len(fixed))
        if depth and not heads[depth - 1]("/".join(parts[:depth])):
            return False
        inside = parts[len(fixed) :]
        return dots_later or not any(p.startswith(".") for p in inside)

    return descend


class GitHostReader(BaseUrlReader):
    """read_url, read_tree and search for a git host; subclasses fill in the hooks."""

    #: The service in messages (``"GitLab's API"``).
    service: ClassVar[str] = "the host's API"
    #: Whether the host answers conditional file requests (ETag + 304). When it does not,
    #: a caller's etag is checked against :meth:`_file_version` before the content.
    conditional_reads: ClassVar[bool] = True
    #: Characters of the commit id used as tree/search etag (Bitbucket's 12), None = all.
    etag_length: ClassVar[int | None] = None
    #: What to do about a 403 when the host means "these credentials may not" by it (Gitea,
    #: Harness: an AuthenticationError, as Backstage maps it); None: PermissionDeniedError.
    forbidden_hint: ClassVar[str | None] = None
    _http: HttpClient
    _tree: TreeResponseFactory

    def _setup(
        self,
        *,
        http: HttpClient,
        tree: TreeResponseFactory,
        api_origin: str,
        refs_ttl: float = 60.0,
        max_pages: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Shared state: the HTTP client, tree engine, API origin, and the ref caches."""
        self._http = http
        self._tree = tree
        self._api_origin = api_origin
        self._refs_ttl = refs_ttl
        self._max_pages = max_pages
        self._clock = clock
        self._cache_lock = threading.Lock()
        self._ref_cache: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}
        self._branch_cache: dict[str, tuple[float, str]] = {}

    # --- hooks ------------------------------------------------------------------------

    def _locate(self, url: str, token: str | None, *, need_path: bool) -> GitLocation:
        """Parse ``url``; InvalidUrlError when it is not one of this host's URLs (or names
        no path while ``need_path``)."""
        raise NotImplementedError

    def _default_branch(self, loc: GitLocation) -> str:
        """The repository's default branch; NotFoundError for an empty repository."""
        raise NotImplementedError

    def _list_refs(self, loc: GitLocation, first: str) -> Iterable[str]:
        """Names of the branches and tags that start with ``first`` (for names with ``/``)."""
        return ()

    def _commit(self, loc: GitLocation, ref: str, path: str, etag: str | None) -> str:
        """The commit the etag of ``ref`` (and ``path``) compares with; NotFoundError for an
        unknown ref or path (a search then asks for the root: a missing folder holds no
        match). May raise NotModifiedError itself when it can ask conditionally."""
        raise NotImplementedError

    def _archive(self, loc: GitLocation, commit: str, path: str) -> GitArchive:
        """The archive of ``path`` ('' = root) at ``commit``."""
        raise NotImplementedError

    def _list(self, loc: GitLocation, commit: str, prefix: str, pattern: str) -> Iterable[str]:
        """Repository paths of the files below folder ``prefix`` at ``commit`` (all pages);
        ``pattern`` lets a provider skip folders that cannot match."""
        raise NotImplementedError

    def _open(
        self,
        loc: GitLocation,
        ref: str,
        path: str,
        etag: str | None,
        last_modified_after: datetime | None,
    ) -> ReadUrlResponse:
        """The file ``path`` at ``ref`` (a commit for search results); conditional when
        ``etag``/``last_modified_after`` are given and the host supports it."""
        raise NotImplementedError

    def _file_version(self, loc: GitLocation, ref: str, path: str) -> str:
        """An etag for the file without downloading it (blob id or commit of the path)."""
        raise NotImplementedError

    def _browse_url(self, loc: GitLocation, ref: str, path: str) -> str:
        """The browse URL of a search match, in the form the caller wrote."""
        raise NotImplementedError

    def _check(self, response: requests.Response, what: str) -> None:
        """Typed errors for error statuses (providers map host-specific ones first); a 403
        is an AuthenticationError with :attr:`forbidden_hint` when the host sets one."""
        if response.status_code == 403 and self.forbidden_hint:
            response.close()
            raise AuthenticationError(
                f"{redact_url(what)} could not be read: 403 Forbidden. {self.forbidden_hint}",
                status=403,
                url=redact_url(str(response.url)),
            )
        raise_for_status(response, what=what)

    # --- listing hooks (discovery; scmreader.readers._listing loads with the first) -----

    #: True when :meth:`_list_owner` lists nested owners too (GitLab's subgroups): an owner
    #: pattern is then answered by listing its literal prefix once.
    recursive_owners: ClassVar[bool] = False

    def _discovery_target(self, url: str) -> DiscoveryTarget:
        """Parse a discovery URL (wildcards allowed in owner and repository segments)."""
        raise InvalidUrlError(f"{self.service} has no repository listing in scmreader yet.")

    def _list_owner(self, owner: str, token: str | None, origin: str) -> Iterable[Repository]:
        """Every repository of the literal ``owner`` (all pages); ``origin`` is the
        discovery URL's, for hosts whose API lives on the browse origin (Azure)."""
        raise InvalidUrlError(f"{self.service} has no repository listing in scmreader yet.")

    def _list_owners(self, token: str | None, origin: str) -> Iterable[str]:
        """Every owner the credentials can see (for owner wildcards)."""
        raise InvalidUrlError(
            f"{self.service} cannot list owners: write the owner without wildcards."
        )

    def _discovery_url(self, target: DiscoveryTarget, repo: Repository, ref: str) -> str:
        """The browse URL of ``target.path`` at ``ref`` ('' = the default branch) in
        ``repo``, on ``target.origin``."""
        raise NotImplementedError

    def _listing_location(self, url: str, auth: list[OriginCredentials]) -> GitLocation:
        """A location for listing calls (messages name ``url``)."""
        return GitLocation(key="", ref="", path="", url=url, auth=auth)

    def list_repositories(
        self,
        owner: str,
        repo: str = "*",
        *,
        kinds: Kinds | None = None,
        token: str | None = None,
        origin: str = "",
        project: str = "*",
    ) -> Iterator[Repository]:
        """The repositories whose owner and name match the fnmatch patterns ``owner`` and
        ``repo``; archived, forked, empty and disabled ones only when ``kinds`` says so.
        ``origin``: the browse origin the owner was written on (``scheme://host``);
        ``project``: a pattern for the project inside the owner (Bitbucket Cloud)."""
        from scmreader.readers._listing import Kinds, is_pattern, literal_prefix, matches

        kinds = kinds or Kinds()
        if not is_pattern(owner):
            owners: Iterable[str] = [owner]
        elif self.recursive_owners:
            owners = [literal_prefix(owner)]
        else:
            owners = (o for o in self._list_owners(token, origin) if matches(o, owner))
        for one in owners:
            for found in self._list_owner(one, token, origin):
                nested = self.recursive_owners and matches(found.owner, f"{owner}/*")
                owned = nested or matches(found.owner, owner)
                in_project = project == "*" or matches(found.project, project)
                if owned and in_project and matches(found.name, repo) and kinds.keeps(found):
                    yield found

    def _owner_pages(
        self,
        listings: list[str],
        loc: GitLocation,
        read: Callable[[requests.Response, Any, str], Page],
    ) -> Iterator[Any]:
        """The items of the first of ``listings`` the host knows (an organisation's
        listing, then a user's: both answer 404 for the other kind of owner)."""
        for i, listing in enumerate(listings):
            started = False
            try:
                for item in self._pages(listing, loc, read):
                    started = True
                    yield item
                return
            except NotFoundError:
                if started or i == len(listings) - 1:
                    raise

    def _known_branch(self, url: str, branch: str, token: str | None) -> None:
        """Remember that ``branch`` (from a listing) is a whole branch name of ``url``'s
        repository, so a file missing there is not looked for under longer ref names."""
        loc = self._locate(url, token, need_path=False)
        with self._cache_lock:
            self._ref_cache[(loc.key, branch)] = (self._clock() + self._refs_ttl, (branch,))

    def _link_page(self, api_base: str) -> Callable[[requests.Response, Any, str], Page]:
        """A page reader for listings paginated by ``Link: rel="next"`` (GitHub, Gitea)."""

        def read(response: requests.Response, body: Any, current: str) -> Page:
            if not isinstance(body, list):
                raise unexpected_answer(response, "is not a list")
            link = response.links.get("next", {}).get("url")
            return Page(body, self._rebased(response, str(link), api_base) if link else None)

        return read

    # --- shared -----------------------------------------------------------------------

    def read_url(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified_after: datetime | None = None,
        token: str | None = None,
    ) -> ReadUrlResponse:
        """Read one file. The etag is the host's ETag or the file's version (blob id or
        commit); an unchanged file raises NotModifiedError before its content is fetched."""
        loc = self._locate(url, token, need_path=True)

        bare = etag.strip().removeprefix("W/").strip('"') if etag else None  # as a validator

        def attempt(ref: str, path: str) -> ReadUrlResponse:
            given = etag
            if etag and not self.conditional_reads:
                self._raise_if_not_modified(url, bare, self._file_version(loc, ref, path))
                given = None
            response = self._open(loc, ref, path, given, last_modified_after)
            if response.etag:
                return response
            try:
                response.etag = self._file_version(loc, ref, path)
            except BaseException:  # e.g. another split of a name with '/': free the answer
                response.close()
                raise
            if given and bare == response.etag:
                # a host that sends no ETag answered the conditional request with the whole
                # file: unchanged all the same, and its content is left unread
                response.close()
                self._raise_if_not_modified(url, bare, response.etag)
            return response

        return self._with_ref(loc, attempt)

    def read_tree(
        self,
        url: str,
        *,
        etag: str | None = None,
        filter: TreeFilter | None = None,
        token: str | None = None,
    ) -> ReadTreeResponse:
        """Read the tree at ``url`` (the default branch when it names none). The etag is the
        commit; passing the current one raises NotModifiedError before any download."""
        loc = self._locate(url, token, need_path=False)
        commit, path = self._with_ref(
            loc, lambda ref, path: (self._commit(loc, ref, path.strip("/"), etag), path)
        )
        tree_etag = self._etag(commit)
        self._raise_if_not_modified(url, etag, tree_etag)
        archive = self._archive(loc, commit, path.strip("/"))
        self._check(archive.response, url)
        stream = body_stream(archive.response, self._http)
        if archive.kind == "zip":
            return self._tree.from_zip_archive(
                stream, etag=tree_etag, subpath=archive.subpath, filter=filter
            )
        return self._tree.from_tar_archive(
            stream,
            etag=tree_etag,
            subpath=archive.subpath,
            filter=filter,
            strip_first_directory=archive.strip_first_directory,
        )

    def search(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Glob search when the URL's file path has glob syntax, else one file."""
        if is_glob(self._locate(url, token, need_path=False).path):
            return self.search_glob(url, etag=etag, token=token)
        return self.search_exact(url, etag=etag, token=token)

    def search_glob(
        self, url: str, *, etag: str | None = None, token: str | None = None
    ) -> SearchResponse:
        """Files whose repository path matches the glob; etag = the commit. Only the glob's
        static prefix is listed; contents load lazily, pinned to that commit."""
        loc = self._locate(url, token, need_path=True)

        def lookup(ref: str, pattern: str) -> tuple[str, str, str]:
            pattern = pattern.strip("/")
            prefix = glob_static_prefix(pattern)
            try:
                return ref, pattern, self._commit(loc, ref, prefix, etag)
            except NotFoundError:
                if not prefix:
                    raise
                self._commit(loc, ref, "", None)  # the ref exists, only the folder not
                return ref, pattern, ""

        ref, pattern, commit = self._with_ref(loc, lookup)
        if not commit:
            return SearchResponse(files=[], etag="")
        search_etag = self._etag(commit)
        self._raise_if_not_modified(url, etag, search_etag)
        prefix = glob_static_prefix(pattern)
        matches = glob_matcher(pattern)
        try:
            paths = [p for p in self._list(loc, commit, prefix, pattern) if matches(p)]
        except NotFoundError:
            if not prefix:
                raise
            paths = []  # the static prefix is no folder: nothing can match
        files = [
            SearchResponseFile(
                url=self._browse_url(loc, ref, path), _content=self._reader(loc, commit, path)
            )
            for path in sorted(paths)
        ]
        return SearchResponse(files=files, etag=search_etag)

    def _reader(self, loc: GitLocation, commit: str, path: str) -> Callable[[], bytes]:
        return lambda: self._open(loc, commit, path, None, None).buffer()

    def _etag(self, commit: str) -> str:
        return commit[: self.etag_length] if self.etag_length else commit

    # --- refs ---------------------------------------------------------------------------

    def _with_ref(self, loc: GitLocation, attempt: Callable[[str, str], T]) -> T:
        """Run ``attempt(ref, path)`` for the URL's ref and path.

        No ref: the default branch. An exact ref: as written. Otherwise the first segment is
        tried; when that is not found and more segments follow, the longest branch or tag
        prefixing the segments is tried instead (from the per-repository cache when fresh).
        """
        if not loc.ref:
            return attempt(self._cached_default_branch(loc), loc.path)
        if loc.exact:
            return attempt(loc.ref, loc.path)
        segments = [loc.ref, *(loc.path.split("/") if loc.path else [])]
        first = segments[0]
        cached = self._cached_refs(loc, first)
        if cached is not None:
            return attempt(*longest_ref(cached, segments))
        try:
            return attempt(first, "/".join(segments[1:]))
        except NotFoundError as missing:
            if len(segments) < 2:
                raise
            try:
                names = tuple(self._list_refs(loc, first))
            except NotFoundError:
                raise missing from None  # the repository itself is missing or invisible
            with self._cache_lock:
                self._ref_cache[(loc.key, first)] = (self._clock() + self._refs_ttl, names)
            ref, path = longest_ref(names, segments)
            if ref == first:
                raise
            return attempt(ref, path)

    def _cached_refs(self, loc: GitLocation, first: str) -> tuple[str, ...] | None:
        with self._cache_lock:
            hit = self._ref_cache.get((loc.key, first))
        return hit[1] if hit is not None and self._clock() < hit[0] else None

    def _cached_default_branch(self, loc: GitLocation) -> str:
        with self._cache_lock:
            hit = self._branch_cache.get(loc.key)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        branch = self._default_branch(loc)
        with self._cache_lock:
            self._branch_cache[loc.key] = (self._clock() + self._refs_ttl, branch)
        return branch

    # --- HTTP ---------------------------------------------------------------------------

    def _get(
        self,
        url: str,
        loc: GitLocation,
        *,
        headers: Mapping[str, str] | None = None,
        api: bool = True,
        method: str = "GET",
    ) -> requests.Response:
        """A request through the shared client with the call's credentials. API requests
        may only be redirected within the API's origin; downloads (``api=False``: files,
        archives) may go to any http(s) host, credentials never following them."""
        origin = self._redirect_origin(loc)
        return self._http.request(
            method,
            url,
            headers=headers,
            credentials=loc.auth,
            check_redirect=stay_on_origin(origin, self.service) if api else None,
        )

    def _redirect_origin(self, loc: GitLocation) -> str:
        """The origin API redirects of ``loc`` must stay on (the API's, unless the host
        serves each organization from its own)."""
        return self._api_origin

    def _call_auth(
        self,
        token: str | None,
        configured: Callable[[], Mapping[str, str]],
        *,
        scheme: str = "Bearer",
        also: tuple[str, ...] = (),
    ) -> list[OriginCredentials]:
        """Credentials for one call, bound to the API origin (and ``also``): the call's
        ``token`` as ``<scheme> <token>``, else the integration's ``configured()`` headers."""
        if token:
            register_secret(token)
            headers: Mapping[str, str] = {"Authorization": f"{scheme} {token}"}
        else:
            headers = configured()
        origins = dict.fromkeys((self._api_origin, *also))
        return [c for origin in origins for c in credentials_for(origin, headers)]

    def _get_json(self, url: str, loc: GitLocation, what: str | None = None) -> Any:
        """The JSON answer of an API GET (typed errors for error statuses)."""
        response = self._get(url, loc)
        self._check(response, what or url)
        return parse_json(response)

    def _stream(self, response: requests.Response) -> BinaryIO:
        return body_stream(response, self._http)

    def _pages(
        self,
        first: str,
        loc: GitLocation,
        read: Callable[[requests.Response, Any, str], Page],
        parse: Callable[[requests.Response], Any] = parse_json,
    ) -> Iterator[Any]:
        """The items of a paginated listing: ``read(response, body, url)`` gives one page's
        items and the next URL (``parse`` reads the body). Stops with UpstreamError after
        ``max_pages`` pages or when the host links a page already read (its pagination
        loops)."""
        seen: set[str] = set()
        next_url: str | None = first
        while next_url is not None:
            if len(seen) >= self._max_pages or next_url in seen:
                raise UpstreamError(
                    f"Listing {redact_url(loc.url)} did not end after {len(seen)} pages; the "
                    "host's pagination loops or the listing is too large. Start the glob with "
                    "a longer fixed folder prefix.",
                    url=redact_url(loc.url),
                )
            seen.add(next_url)
            response = self._get(next_url, loc)
            self._check(response, loc.url)
            page = read(response, parse(response), next_url)
            yield from page.items
            next_url = page.next

    def _rebased(self, response: requests.Response, link: str, api_base: str) -> str:
        """``link`` re-based onto the API's configured origin (see :func:`rebase_link`)."""
        rebased = rebase_link(link, api_base)
        if rebased is None:
            raise unexpected_answer(response, "links its next page outside the API")
        return rebased
