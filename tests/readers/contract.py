"""The conformance suite every git-host reader passes (in the spirit of fsspec's tests/abstract).

A provider's test module subclasses :class:`ReaderContract` and provides the fixture
``contract`` returning a :class:`ContractEnv`: readers configured against a FakeScmHost that
serves a repository holding :data:`CONTRACT_FILES` on branch ``main``, and functions that
build the provider's browse URLs. The suite then checks read_url, read_tree (root,
sub-folder, filter, dir, once-only), search (glob, exact, miss), not-modified for all three
without downloading, not-found, and that credentials only reach the origins that own them.

Git hosts also pass :class:`GitHostContract`: refs with ``/`` (branch ``feature/x`` of
:data:`CONTRACT_BRANCHES`), an etag on read_url whatever the host sends, listings over
several pages (the fake's small-page switch), an empty repository, and 429 answers with a
short ``Retry-After`` that are waited out instead of failing (gitlab.com's archive limit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scmreader.errors import ConflictError, NotFoundError, NotModifiedError
from scmreader.readers import UrlReaders
from scmreader.readers.types import FileInfo
from scmreader.testing import FakeScmHost

CONTRACT_FILES: dict[str, str] = {
    "catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\n",
    "mkdocs.yml": "site_name: Test\n",
    "docs/index.md": "# Test\n",
    "docs/sub/page.md": "# Page\n",
    ".github/workflows/ci.yaml": "on: push\n",
}
REPO = "acme/widgets"
#: Branches the git-host fixtures add next to ``main`` (names with ``/``).
CONTRACT_BRANCHES: dict[str, dict[str, str]] = {
    "feature/x": {"docs/index.md": "# Feature\n"},
}
#: An empty repository (no commit) the git-host fixtures add.
EMPTY_REPO = "acme/empty"


@dataclass
class ContractEnv:
    """What a provider gives the suite."""

    readers: UrlReaders
    #: Hosts whose requests the suite inspects (the API host first).
    hosts: list[FakeScmHost]
    #: Browse URL of a file (at ``main`` of :data:`REPO` unless told otherwise:
    #: ``file_url(path, ref=..., repo=...)`` for git hosts).
    file_url: Callable[..., str]
    #: Browse URL of a folder ("" for the repository root), like ``file_url``.
    tree_url: Callable[..., str]
    #: Regex (re.search on the request path) that matches archive downloads.
    archive_path: str
    #: ``host:port`` values allowed to receive credential headers.
    credential_hosts: set[str] = field(default_factory=set)
    #: Whether read_url supports etags (every reader here does; Backstage's Gerrit does not).
    read_url_etag: bool = True
    #: Git hosts: make the fake's listings ``n`` entries a page (its small-page switch).
    page_size: Callable[[int], None] | None = None

    def requests(self) -> list[tuple[str, str, frozenset[str]]]:
        """(Host header, path, auth header names) of every request all hosts received."""
        return [
            (r.headers.get("Host") or h.host, r.path, frozenset(r.auth_headers))
            for h in self.hosts
            for r in h.requests
        ]

    def clear(self) -> None:
        for h in self.hosts:
            h.clear_requests()

    def archive_requests(self) -> int:
        import re

        return sum(1 for _, path, _ in self.requests() if re.search(self.archive_path, path))


class ReaderContract:
    """Subclass with a ``contract`` fixture returning a :class:`ContractEnv`."""

    # --- read_url ---------------------------------------------------------------------

    def test_read_url_returns_the_content(self, contract: ContractEnv) -> None:
        response = contract.readers.read_url(contract.file_url("docs/index.md"))
        assert response.buffer() == b"# Test\n"

    def test_read_url_stream(self, contract: ContractEnv) -> None:
        stream = contract.readers.read_url(contract.file_url("mkdocs.yml")).stream()
        assert stream.read() == b"site_name: Test\n"

    def test_read_url_missing_file_is_not_found(self, contract: ContractEnv) -> None:
        with pytest.raises(NotFoundError):
            contract.readers.read_url(contract.file_url("docs/missing.md"))

    def test_read_url_not_modified(self, contract: ContractEnv) -> None:
        if not contract.read_url_etag:
            pytest.fail("every scmreader reader supports etags on read_url")
        first = contract.readers.read_url(contract.file_url("catalog-info.yaml"))
        assert first.etag
        with pytest.raises(NotModifiedError):
            contract.readers.read_url(contract.file_url("catalog-info.yaml"), etag=first.etag)

    # --- read_tree --------------------------------------------------------------------

    def test_read_tree_root(self, contract: ContractEnv) -> None:
        tree = contract.readers.read_tree(contract.tree_url(""))
        files = {f.path: f.content().decode() for f in tree.files()}
        assert files == CONTRACT_FILES
        assert tree.etag

    def test_read_tree_sub_folder(self, contract: ContractEnv) -> None:
        tree = contract.readers.read_tree(contract.tree_url("docs"))
        files = {f.path: f.content() for f in tree.files()}
        assert files == {"index.md": b"# Test\n", "sub/page.md": b"# Page\n"}

    def test_read_tree_filter_sees_relative_paths_and_sizes(self, contract: ContractEnv) -> None:
        seen: dict[str, int] = {}

        def only_markdown(path: str, info: FileInfo) -> bool:
            seen[path] = info.size
            return path.endswith(".md")

        tree = contract.readers.read_tree(contract.tree_url("docs"), filter=only_markdown)
        assert sorted(f.path for f in tree.files()) == ["index.md", "sub/page.md"]
        assert seen == {"index.md": 7, "sub/page.md": 7}

    def test_read_tree_dir(self, contract: ContractEnv, tmp_path: Path) -> None:
        tree = contract.readers.read_tree(contract.tree_url(""))
        target = tree.dir(tmp_path / "out")
        written = {
            p.relative_to(target).as_posix(): p.read_text()
            for p in target.rglob("*")
            if p.is_file()
        }
        assert written == CONTRACT_FILES

    def test_read_tree_is_consumed_once(self, contract: ContractEnv) -> None:
        tree = contract.readers.read_tree(contract.tree_url(""))
        list(tree.files())
        with pytest.raises(ConflictError):
            list(tree.files())

    def test_read_tree_not_modified_downloads_nothing(self, contract: ContractEnv) -> None:
        etag = contract.readers.read_tree(contract.tree_url("")).etag
        contract.clear()
        with pytest.raises(NotModifiedError):
            contract.readers.read_tree(contract.tree_url(""), etag=etag)
        assert contract.archive_requests() == 0

    def test_read_tree_outdated_etag_reads_again(self, contract: ContractEnv) -> None:
        tree = contract.readers.read_tree(contract.tree_url(""), etag="0" * 40)
        assert len(list(tree.files())) == len(CONTRACT_FILES)

    # --- search -----------------------------------------------------------------------

    def test_search_glob(self, contract: ContractEnv) -> None:
        result = contract.readers.search(contract.file_url("**/*.md"))
        by_url = {f.url: f.content() for f in result.files}
        assert by_url == {
            contract.file_url("docs/index.md"): b"# Test\n",
            contract.file_url("docs/sub/page.md"): b"# Page\n",
        }
        assert result.etag

    def test_search_glob_not_modified(self, contract: ContractEnv) -> None:
        etag = contract.readers.search(contract.file_url("**/*.md")).etag
        contract.clear()
        with pytest.raises(NotModifiedError):
            contract.readers.search(contract.file_url("**/*.md"), etag=etag)
        assert contract.archive_requests() == 0

    def test_search_exact_and_miss(self, contract: ContractEnv) -> None:
        exact = contract.readers.search(contract.file_url("mkdocs.yml"))
        assert [f.url for f in exact.files] == [contract.file_url("mkdocs.yml")]
        assert exact.files[0].content() == b"site_name: Test\n"
        miss = contract.readers.search(contract.file_url("nothing-here.yml"))
        assert miss.files == []
        assert miss.etag == ""

    # --- credentials ------------------------------------------------------------------

    def test_credentials_only_reach_their_origin(self, contract: ContractEnv) -> None:
        contract.readers.read_url(contract.file_url("docs/index.md"))
        list(contract.readers.read_tree(contract.tree_url("")).files())
        contract.readers.search(contract.file_url("**/*.yaml"))
        authed = {host for host, _, auth in contract.requests() if auth}
        assert authed, "the contract config must carry credentials"
        assert authed <= contract.credential_hosts


class GitHostContract(ReaderContract):
    """What every git-host reader passes on top of :class:`ReaderContract`; the fixture
    adds :data:`CONTRACT_BRANCHES` to :data:`REPO` and the empty :data:`EMPTY_REPO`."""

    def test_branch_with_slash_in_every_call(self, contract: ContractEnv) -> None:
        ref = "feature/x"
        read = contract.readers.read_url(contract.file_url("docs/index.md", ref=ref))
        assert read.buffer() == b"# Feature\n"
        tree = contract.readers.read_tree(contract.tree_url("docs", ref=ref))
        assert {f.path: f.content() for f in tree.files()}["index.md"] == b"# Feature\n"
        found = contract.readers.search(contract.file_url("docs/*.md", ref=ref))
        assert [(f.url, f.content()) for f in found.files] == [
            (contract.file_url("docs/index.md", ref=ref), b"# Feature\n")
        ]
        assert contract.readers.read(contract.file_url("mkdocs.yml", ref=ref)) == (
            b"site_name: Test\n"
        )

    def test_read_url_etag_changes_with_the_file(self, contract: ContractEnv) -> None:
        main = contract.readers.read_url(contract.file_url("docs/index.md"))
        feature = contract.readers.read_url(contract.file_url("docs/index.md", ref="feature/x"))
        assert main.etag and feature.etag and main.etag != feature.etag
        with pytest.raises(NotModifiedError):
            contract.readers.read_url(contract.file_url("docs/index.md"), etag=main.etag)
        again = contract.readers.read_url(contract.file_url("docs/index.md"), etag=feature.etag)
        assert again.buffer() == b"# Test\n"

    def test_search_over_several_pages(self, contract: ContractEnv) -> None:
        if contract.page_size is not None:  # hosts that list everything at once have none
            contract.page_size(2)
        found = contract.readers.search(contract.file_url("**/*"))
        paths = {f.url: f.content().decode() for f in found.files}
        assert paths == {
            contract.file_url(p): c for p, c in CONTRACT_FILES.items() if "/." not in f"/{p}"
        }

    def test_empty_repository_is_not_found(self, contract: ContractEnv) -> None:
        with pytest.raises(NotFoundError):
            contract.readers.read_tree(contract.tree_url("", repo=EMPTY_REPO))
        with pytest.raises(NotFoundError):
            contract.readers.read_url(contract.file_url("README.md", repo=EMPTY_REPO))

    def test_rate_limited_answers_are_waited_out(self, contract: ContractEnv) -> None:
        host = contract.hosts[0]
        headers = {"Retry-After": "1"}
        host.faults.status(contract.archive_path, 429, headers=headers, times=2)
        tree = contract.readers.read_tree(contract.tree_url(""))
        assert len(list(tree.files())) == len(CONTRACT_FILES)
        assert host.faults.remaining() == 0
