"""GiteaUrlReader end to end through FakeScmHost's Gitea emulation (urlreader spec §2.8).

Request counts asserted here: read_url = 1 (contents API; +1 per ``[]`` answer retried;
+1 raw download for a file above the inline limit; with an etag the parent folder listing
comes first, and is all an unchanged file costs); read_tree = 2 (commit lookup,
archive) and 1 when unchanged (+1 branch lookup on Gitea < 1.17); search = 2 (commit
lookup, one tree page per 1000 entries) + 1 per file content read, and 1 when unchanged.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from scmreader.config import Config
from scmreader.errors import (
    AuthenticationError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    UpstreamError,
)
from scmreader.http import HttpClient
from scmreader.integrations.gitea import GiteaIntegration, read_gitea_integration_config
from scmreader.readers import UrlReaders
from scmreader.readers.gitea import GiteaUrlReader
from scmreader.readers.tree import TreeResponseFactory
from scmreader.testing import FakeScmHost, FakeScmHostFactory
from scmreader.testing.messages import FakeResponse
from scmreader.testing.routes.gitea import gitea, integration_config

FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "mkdocs.yml": "site_name: Test\n",
    "docs/index.md": "# Test\n",
    "docs/guide/catalog-info.yaml": "kind: Location\n",
    "services/api/catalog-info.yaml": "kind: API\n",
    "dir/my file+1.yaml": "odd: name\n",
}
REPO = "acme/portal"
TOKEN = "gitea-token-0123456789abcdef0123"
API = f"/api/v1/repos/{REPO}"


def make_readers(host: FakeScmHost, **entry: Any) -> UrlReaders:
    config = {"integrations": {"gitea": [integration_config(host, **entry)]}}
    return UrlReaders.default(config, http=HttpClient(sleep=lambda s: None))


def make_reader(host: FakeScmHost, sleep: Callable[[float], None], **entry: Any) -> GiteaUrlReader:
    config = read_gitea_integration_config(Config.from_dict(integration_config(host, **entry)))
    http = HttpClient(sleep=lambda s: None)
    return GiteaUrlReader(
        GiteaIntegration(config), http=http, tree=TreeResponseFactory(), sleep=sleep
    )


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    repo = fake_scm_host.add_repo(
        REPO, FILES, branches={"dev": {"docs/index.md": "# Dev\n"}}, tags={"v1": "main"}
    )
    repo.commit({"docs/index.md": "# Newer\n"}, message="newer")
    gitea(fake_scm_host).add_token(TOKEN)
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return make_readers(host, password=TOKEN)


def web(host: FakeScmHost, rest: str) -> str:
    return f"{host.base_url}/{REPO}/src/{rest}"


def requested(host: FakeScmHost) -> list[str]:
    return [r.path + (f"?{r.raw_query}" if r.raw_query else "") for r in host.requests]


def cost(host: FakeScmHost, action: Callable[[], object]) -> int:
    host.clear_requests()
    try:
        action()
    except NotModifiedError:
        pass
    return len(host.requests)


# --- read_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rest", "api_path", "content"),
    [
        ("branch/main/docs/index.md", f"{API}/contents/docs/index.md?ref=main", b"# Newer\n"),
        ("branch/dev/docs/index.md", f"{API}/contents/docs/index.md?ref=dev", b"# Dev\n"),
        ("tag/v1/docs/index.md", f"{API}/contents/docs/index.md?ref=v1", b"# Test\n"),
        ("branch/main/mkdocs.yml", f"{API}/contents/mkdocs.yml?ref=main", b"site_name: Test\n"),
        (
            "branch/main/dir/my%20file%2B1.yaml",
            f"{API}/contents/dir/my%20file%2B1.yaml?ref=main",
            b"odd: name\n",
        ),
    ],
)
def test_read_url_table(
    host: FakeScmHost, readers: UrlReaders, rest: str, api_path: str, content: bytes
) -> None:
    host.clear_requests()
    response = readers.read_url(web(host, rest))
    assert response.buffer() == content
    assert requested(host) == [api_path]
    path = rest.split("/", 2)[2]
    repo = host.repo(REPO)
    sha = repo.sha(rest.split("/")[1])
    entry = repo.entry(sha, path.replace("%20", " ").replace("%2B", "+"))
    assert entry is not None and response.etag == entry.sha
    last = repo.commit_info(repo.last_commit(sha, entry.path)).committed_at
    assert response.last_modified_at == last


def test_read_url_by_commit_id_and_under_a_sub_path(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("gitea", sub_path="/git")
    sha = fake_scm_host.add_repo(REPO, FILES).sha()
    readers = make_readers(fake_scm_host)
    url = f"{fake_scm_host.base_url}/git/{REPO}/src/commit/{sha}/mkdocs.yml"
    assert readers.read(url) == b"site_name: Test\n"
    assert requested(fake_scm_host) == [f"/git{API}/contents/mkdocs.yml?ref={sha}"]


@pytest.mark.parametrize(
    "rest",
    ["blob/main/mkdocs.yml", "src/branch", "src/branch/main", "src/tree/main/mkdocs.yml"],
)
def test_read_url_rejects_other_url_shapes(
    host: FakeScmHost, readers: UrlReaders, rest: str
) -> None:
    with pytest.raises(InvalidUrlError):
        readers.read_url(f"{host.base_url}/{REPO}/{rest}")
    assert host.requests == []


def test_read_url_missing_file_branch_and_folder_are_not_found(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    for rest in ("branch/main/nope.md", "branch/nope/mkdocs.yml", "branch/main/docs"):
        with pytest.raises(NotFoundError):
            readers.read_url(web(host, rest))
    # a 404 lists the refs starting with the first segment once (names with "/"), cached
    assert [r.path.rsplit("/", 1)[-1] for r in host.requests] == [
        *("nope.md", "branches", "tags"),
        *("mkdocs.yml", "branches", "tags"),
        "docs",
    ]


def test_read_url_etag_is_the_blob_id_and_not_modified(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    url = web(host, "branch/main/mkdocs.yml")
    first = readers.read_url(url)
    assert first.etag == host.repo(REPO).entry("main", "mkdocs.yml").sha  # type: ignore[union-attr]
    assert cost(host, lambda: readers.read_url(url, etag=first.etag)) == 1
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=f'"{first.etag}"')
    assert readers.read_url(url, etag="0" * 40).buffer() == b"site_name: Test\n"


def test_read_url_last_modified_after(host: FakeScmHost, readers: UrlReaders) -> None:
    url = web(host, "branch/main/mkdocs.yml")
    modified = readers.read_url(url).last_modified_at
    assert modified is not None
    with pytest.raises(NotModifiedError):
        readers.read_url(url, last_modified_after=modified)
    with pytest.raises(NotModifiedError):  # a naive date is read as UTC
        readers.read_url(url, last_modified_after=modified.replace(tzinfo=None))
    earlier = datetime(2023, 1, 1, tzinfo=UTC)
    assert readers.read_url(url, last_modified_after=earlier).buffer() == b"site_name: Test\n"


def test_empty_answer_for_a_fresh_file_is_asked_again(host: FakeScmHost) -> None:
    slept: list[float] = []
    reader = make_reader(host, slept.append, password=TOKEN)
    host.faults.status(r"/contents/mkdocs\.yml", 200, body=[], times=2)
    assert reader.read(web(host, "branch/main/mkdocs.yml")) == b"site_name: Test\n"
    assert slept == [0.5, 0.5]
    assert len(host.requests_to("/contents/")) == 3


def test_empty_answer_gives_up_after_three_retries(host: FakeScmHost) -> None:
    slept: list[float] = []
    reader = make_reader(host, slept.append)
    host.faults.status(r"/contents/", 200, body=[], times=None)
    with pytest.raises(UpstreamError) as caught:
        reader.read_url(web(host, "branch/main/mkdocs.yml"))
    assert caught.value.attempts == 4
    assert slept == [0.5, 0.5, 0.5]
    assert len(host.requests) == 4


def test_unknown_encoding_is_an_upstream_error(host: FakeScmHost, readers: UrlReaders) -> None:
    body = {"type": "file", "sha": "a" * 40, "encoding": "utf-16", "content": "x"}
    host.faults.respond(r"/contents/", FakeResponse.json(body))
    with pytest.raises(UpstreamError, match="unknown encoding 'utf-16'"):
        readers.read_url(web(host, "branch/main/mkdocs.yml"))


def test_file_above_the_inline_limit_is_streamed_from_raw(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("gitea", max_blob_size=10)
    big = "x" * 5000 + "\n"
    fake_scm_host.add_repo(REPO, {"big.txt": big, "small.txt": "s\n"})
    readers = make_readers(fake_scm_host)
    response = readers.read_url(web(fake_scm_host, "branch/main/big.txt"))
    assert response.stream().read() == big.encode()
    assert response.etag == fake_scm_host.repo(REPO).entry("main", "big.txt").sha  # type: ignore[union-attr]
    assert requested(fake_scm_host) == [
        f"{API}/contents/big.txt?ref=main",
        f"{API}/raw/big.txt?ref=main",
    ]
    assert (
        cost(fake_scm_host, lambda: readers.read(web(fake_scm_host, "branch/main/small.txt"))) == 1
    )


def test_symlink_reads_as_its_target(fake_scm_host: FakeScmHost) -> None:
    from scmreader.testing import symlink

    fake_scm_host.add_repo(REPO, {"a.md": "a\n", "link.md": symlink("a.md")})
    readers = make_readers(fake_scm_host)
    assert readers.read(web(fake_scm_host, "branch/main/link.md")) == b"a.md"


# --- auth ----------------------------------------------------------------------------


def _authorization(host: FakeScmHost) -> list[str | None]:
    return [r.headers.get("Authorization") for r in host.requests]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({}, None),
        ({"password": TOKEN}, f"token {TOKEN}"),
        (
            {"username": "ada", "password": "s3cret"},
            "basic " + base64.b64encode(b"ada:s3cret").decode(),
        ),
    ],
)
def test_auth_kinds(host: FakeScmHost, entry: dict[str, str], expected: str | None) -> None:
    gitea(host).add_user("ada", "s3cret")
    gitea(host).make_private(REPO)
    readers = make_readers(host, **entry)
    url = web(host, "branch/main/mkdocs.yml")
    if expected is None:
        with pytest.raises(NotFoundError):  # Gitea hides private repositories
            readers.read_url(url)
    else:
        assert readers.read(url) == b"site_name: Test\n"
        list(readers.read_tree(web(host, "branch/main/docs")).files())
        assert [f.content() for f in readers.search(web(host, "branch/main/*.yml")).files]
    assert set(_authorization(host)) == {expected}


def test_caller_token_replaces_the_configured_credentials(host: FakeScmHost) -> None:
    gitea(host).make_private(REPO)
    readers = make_readers(host, username="ada", password="wrong")
    assert readers.read_url(web(host, "branch/main/mkdocs.yml"), token=TOKEN).buffer()
    assert _authorization(host) == [f"token {TOKEN}"]


def test_token_without_scope_403_is_an_authentication_error(host: FakeScmHost) -> None:
    gitea(host).add_token("weak-token-000000000000000000", scopes=("read:user",))
    readers = make_readers(host, password="weak-token-000000000000000000")
    for action in (
        lambda: readers.read_url(web(host, "branch/main/mkdocs.yml")),
        lambda: readers.read_tree(web(host, "branch/main")),
        lambda: readers.search(web(host, "branch/main/**/*.md")),
    ):
        with pytest.raises(AuthenticationError) as caught:
            action()
        assert caught.value.status == 403
        assert "weak-token" not in str(caught.value)


def test_wrong_password_401_is_an_authentication_error(host: FakeScmHost) -> None:
    gitea(host).add_user("ada", "s3cret")
    readers = make_readers(host, username="ada", password="not-it-at-all")
    with pytest.raises(AuthenticationError) as caught:
        readers.read_url(web(host, "branch/main/mkdocs.yml"))
    assert caught.value.status == 401
    assert "not-it-at-all" not in str(caught.value)


def test_credentials_never_follow_an_archive_to_another_origin(
    host: FakeScmHost, readers: UrlReaders, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    storage = fake_scm_host_factory("127.0.0.2")
    archive = host.repo(REPO).archive("main", prefix="portal")
    storage.route("GET", "/objects/archive.tar.gz", lambda r: FakeResponse(200, archive))
    host.route(
        "GET",
        rf"{API}/archive/[^/]+",
        lambda r: FakeResponse.redirect(f"{storage.base_url}/objects/archive.tar.gz"),
    )
    assert len(list(readers.read_tree(web(host, "branch/main")).files())) == len(FILES)
    assert [r.auth_headers for r in storage.requests] == [frozenset()]
    assert all(r.auth_headers == {"authorization"} for r in host.requests)


def test_api_redirect_to_another_host_is_refused(
    host: FakeScmHost, readers: UrlReaders, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    other = fake_scm_host_factory("127.0.0.2")
    host.route("GET", rf"{API}/contents/.*", lambda r: FakeResponse.redirect(f"{other.base_url}/x"))
    with pytest.raises(NotAllowedError):
        readers.read_url(web(host, "branch/main/mkdocs.yml"))
    assert other.requests == []


def test_reader_repr_and_exact_host_routing(host: FakeScmHost, readers: UrlReaders) -> None:
    reader = readers.reader_for(web(host, "branch/main/mkdocs.yml"))
    assert repr(reader) == f"gitea{{host={host.host},authed=true}}"
    assert repr(make_readers(host).reader_for(web(host, "branch/main/x"))) == (
        f"gitea{{host={host.host},authed=false}}"
    )
    with pytest.raises(NotAllowedError):
        readers.read_url(f"http://127.0.0.1:{host.port + 1}/{REPO}/src/branch/main/x")


# --- read_tree -----------------------------------------------------------------------


def test_read_tree_requests_and_not_modified(host: FakeScmHost, readers: UrlReaders) -> None:
    head = host.repo(REPO).sha("main")
    host.clear_requests()
    tree = readers.read_tree(web(host, "branch/main/docs"))
    assert tree.etag == head
    files = {f.path: f.content() for f in tree.files()}
    assert files == {"index.md": b"# Newer\n", "guide/catalog-info.yaml": b"kind: Location\n"}
    assert requested(host) == [
        f"{API}/git/commits/main?stat=false&verification=false&files=false",
        f"{API}/archive/{head}.tar.gz",
    ]
    assert cost(host, lambda: readers.read_tree(web(host, "branch/main"), etag=head)) == 1
    assert host.requests_to("/archive/") == []


@pytest.mark.parametrize(("rest", "index"), [("tag/v1", b"# Test\n"), ("branch/dev", b"# Dev\n")])
def test_read_tree_of_tags_and_branches(
    host: FakeScmHost, readers: UrlReaders, rest: str, index: bytes
) -> None:
    tree = readers.read_tree(web(host, rest))
    assert {f.path: f.content() for f in tree.files()}["docs/index.md"] == index
    assert tree.etag == host.repo(REPO).sha(rest.split("/")[1])


def test_read_tree_on_gitea_before_1_17_looks_up_the_branch(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("gitea", commits_by_ref=False)
    head = fake_scm_host.add_repo(REPO, FILES).sha()
    readers = make_readers(fake_scm_host)
    tree = readers.read_tree(web(fake_scm_host, "branch/main"))
    assert tree.etag == head
    assert len(list(tree.files())) == len(FILES)
    assert [p.split("?")[0] for p in requested(fake_scm_host)] == [
        f"{API}/git/commits/main",
        f"{API}/branches/main",
        f"{API}/archive/{head}.tar.gz",
    ]


def test_read_tree_missing_branch_or_repo_is_not_found(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    with pytest.raises(NotFoundError, match="No branch, tag or commit 'nope'"):
        readers.read_tree(web(host, "branch/nope"))
    with pytest.raises(NotFoundError):
        readers.read_tree(f"{host.base_url}/acme/missing/src/branch/main")
    assert host.requests_to("/archive/") == []


def test_read_tree_archive_failure_is_typed(host: FakeScmHost, readers: UrlReaders) -> None:
    host.faults.status(r"/archive/", 404)
    with pytest.raises(NotFoundError):
        readers.read_tree(web(host, "branch/main"))


# --- search --------------------------------------------------------------------------


def test_search_glob_lists_the_tree_and_reads_lazily(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    head = host.repo(REPO).sha("main")
    host.clear_requests()
    result = readers.search(web(host, "branch/main/**/catalog-info.yaml"))
    assert result.etag == head
    assert [f.url for f in result.files] == [
        web(host, "branch/main/catalog-info.yaml"),
        web(host, "branch/main/docs/guide/catalog-info.yaml"),
        web(host, "branch/main/services/api/catalog-info.yaml"),
    ]
    assert len(host.requests) == 2
    assert requested(host)[1] == f"{API}/git/trees/{head}?recursive=true&per_page=1000&page=1"
    assert result.files[2].content() == b"kind: API\n"
    assert requested(host)[2] == f"{API}/contents/services/api/catalog-info.yaml?ref={head}"
    assert cost(host, lambda: readers.search(web(host, "branch/main/*.yml"), etag=head)) == 1


def test_search_glob_follows_tree_pages(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("gitea", trees_per_page=3)
    fake_scm_host.add_repo(REPO, FILES)
    readers = make_readers(fake_scm_host)
    result = readers.search(web(fake_scm_host, "branch/main/**/*.yaml"))
    assert len(result.files) == 4
    assert len(fake_scm_host.requests_to("/git/trees/")) == 4  # 10 entries, 3 a page


def test_search_exact_and_miss(host: FakeScmHost, readers: UrlReaders) -> None:
    url = web(host, "branch/main/mkdocs.yml")
    host.clear_requests()
    exact = readers.search(url)
    assert [(f.url, f.content()) for f in exact.files] == [(url, b"site_name: Test\n")]
    assert exact.etag == readers.read_url(url).etag
    assert len(host.requests) == 2
    miss = readers.search(web(host, "branch/main/none.yml"))
    assert (miss.files, miss.etag) == ([], "")


def test_search_on_a_missing_branch_is_not_found(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError):
        readers.search(web(host, "branch/nope/**/*.md"))
    assert host.requests_to("/git/trees/") == []
