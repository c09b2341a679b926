"""BitbucketServerUrlReader against the FakeScmHost emulation of Bitbucket Data Center.

Every request lands on the fake, so the tests count them: the brief for this reader is
"as few requests as the answer needs, and no artificial throttle".
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scmreader.errors import (
    AuthenticationError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    UpstreamError,
)
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeResponse, FakeScmHost, FakeScmHostFactory
from scmreader.testing.routes import bitbucket_server as bbs

REPO = "acme/widgets"
FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "docs/index.md": "# Docs\n",
    "docs/a b/space.md": "spaced\n",
    "docs/deep/er/x.md": "deep\n",
    "src/app.py": "print('hi')\n",
}
API = "/rest/api/1.0/projects/ACME/repos/widgets"
TOKEN = "BBDC-readerTestToken0123456789"


def make_readers(host: FakeScmHost, **entry: Any) -> UrlReaders:
    config = {"integrations": {"bitbucketServer": [bbs.integration_config(host, **entry)]}}
    return UrlReaders.default(config, http=HttpClient(sleep=lambda _: None))


def web(host: FakeScmHost, rest: str) -> str:
    return f"{host.base_url}/projects/ACME/repos/widgets/{rest}"


def paths(host: FakeScmHost) -> list[str]:
    return [r.path + (f"?{r.raw_query}" if r.raw_query else "") for r in host.requests]


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.add_repo(REPO, FILES, branches={"feature/x": {"docs/index.md": "# Feature\n"}})
    bbs.bitbucket_server(fake_scm_host)
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return make_readers(host)


# --- read_url --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rest", "api", "content"),
    [
        (
            "browse/catalog-info.yaml?at=refs/heads/main",
            f"{API}/raw/catalog-info.yaml?at=refs%2Fheads%2Fmain",
            "kind",
        ),
        ("browse/docs/index.md?at=main", f"{API}/raw/docs/index.md?at=main", "# Docs"),
        (
            "browse/docs/index.md?at=refs%2Fheads%2Ffeature%2Fx",
            f"{API}/raw/docs/index.md?at=refs%2Fheads%2Ffeature%2Fx",
            "# Feature",
        ),
        ("raw/docs/a%20b/space.md?at=main", f"{API}/raw/docs/a%20b/space.md?at=main", "spaced"),
        ("browse/src/app.py", f"{API}/raw/src/app.py?at=", "print"),
    ],
)
def test_read_url_translates_browse_urls_to_the_raw_api(
    host: FakeScmHost, readers: UrlReaders, rest: str, api: str, content: str
) -> None:
    assert readers.read_url(web(host, rest)).buffer().decode().startswith(content)
    # the last commit touching the file (its etag and date), then the content
    commits, raw = paths(host)
    assert raw == api
    assert commits.startswith(f"{API}/commits?path=") and commits.endswith("&limit=1")


def test_read_url_accepts_the_src_form(host: FakeScmHost, readers: UrlReaders) -> None:
    url = f"{host.base_url}/acme/widgets/src/main/docs/index.md"
    assert readers.read(url) == b"# Docs\n"
    assert paths(host)[1] == "/rest/api/1.0/projects/acme/repos/widgets/raw/docs/index.md?at=main"


@pytest.mark.parametrize(
    "rest",
    [
        "browse?at=main",  # no file
        "commits/abc",  # not a file URL
        "",  # the repository itself
    ],
)
def test_read_url_rejects_other_url_shapes(
    host: FakeScmHost, readers: UrlReaders, rest: str
) -> None:
    with pytest.raises(InvalidUrlError):
        readers.read_url(web(host, rest).rstrip("/"))
    assert host.requests == []


@pytest.mark.parametrize("raw_last_modified", [False, True])
def test_read_url_not_modified_by_etag_and_by_date(
    fake_scm_host: FakeScmHost, raw_last_modified: bool
) -> None:
    # /raw documents no Last-Modified: the date comes from the last commit either way
    host = fake_scm_host
    host.enable("bitbucket_server", raw_last_modified=raw_last_modified)
    host.add_repo(REPO, FILES)
    readers = make_readers(host)
    url = web(host, "browse/docs/index.md?at=refs/heads/main")
    first = readers.read_url(url)
    assert first.etag == host.repo("acme/widgets").last_commit("main", "docs/index.md")
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=first.etag)
    assert [p.split("?")[0] for p in paths(host)] == [f"{API}/commits"]  # no content
    changed_at = host.repo(REPO).commit_info(str(first.etag)).committed_at
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(url, last_modified_after=changed_at + timedelta(seconds=1))
    assert [p.split("?")[0] for p in paths(host)] == [f"{API}/commits"]  # no content
    later = readers.read_url(url, last_modified_after=datetime(2000, 1, 1, tzinfo=UTC))
    assert later.buffer() == b"# Docs\n"
    assert later.last_modified_at == changed_at
    assert later.etag == first.etag


def test_read_url_missing_file_repo_or_branch_is_not_found(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    for rest in ("browse/nope.md?at=main", "browse/docs/index.md?at=gone"):
        with pytest.raises(NotFoundError):
            readers.read_url(web(host, rest))
    with pytest.raises(NotFoundError):
        readers.read_url(f"{host.base_url}/projects/ACME/repos/nothing/browse/a.md?at=main")


# --- credentials -----------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"token": TOKEN}, f"Bearer {TOKEN}"),
        ({"username": "robot", "password": "pw 1"}, basic("robot", "pw 1")),
        # as Backstage's getBitbucketServerRequestOptions: a token wins over Basic
        ({"token": TOKEN, "username": "robot", "password": "pw 1"}, f"Bearer {TOKEN}"),
        ({"username": "robot"}, None),  # a username alone is not a credential
        ({}, None),
    ],
)
def test_auth_kinds(host: FakeScmHost, entry: dict[str, str], expected: str | None) -> None:
    state = bbs.bitbucket_server(host)
    state.add_token(TOKEN)
    state.add_user("robot", "pw 1")
    readers = make_readers(host, **entry)
    readers.read_url(web(host, "browse/docs/index.md?at=main"))
    list(readers.read_tree(web(host, "browse/docs?at=main")).files())
    assert {r.headers.get("Authorization") for r in host.requests} == {expected}
    assert repr(readers.reader_for(web(host, "x"))) == (
        f"bitbucketServer{{host={host.host},authed={str(expected is not None).lower()}}}"
    )


def test_token_option_overrides_the_configured_credentials(host: FakeScmHost) -> None:
    state = bbs.bitbucket_server(host)
    state.add_token("user-token-1234567890")
    state.add_user("robot", "pw")
    readers = make_readers(host, username="robot", password="pw")
    readers.read_url(web(host, "browse/docs/index.md?at=main"), token="user-token-1234567890")
    assert host.requests[0].headers["Authorization"] == "Bearer user-token-1234567890"


def test_wrong_credentials_are_an_authentication_error_without_the_secret(
    host: FakeScmHost,
) -> None:
    bbs.bitbucket_server(host).add_user("robot", "right")
    with pytest.raises(AuthenticationError) as caught:
        make_readers(host, username="robot", password="wrong-secret").read_url(
            web(host, "browse/docs/index.md?at=main")
        )
    assert "wrong-secret" not in str(caught.value)


def test_private_repository_is_refused_to_anonymous_callers(host: FakeScmHost) -> None:
    state = bbs.bitbucket_server(host)
    state.make_private(REPO)
    state.add_token(TOKEN)
    with pytest.raises(AuthenticationError):
        make_readers(host).read_url(web(host, "browse/docs/index.md?at=main"))
    assert make_readers(host, token=TOKEN).read(web(host, "browse/docs/index.md?at=main"))


def test_credentials_only_go_to_the_api_origin(
    host: FakeScmHost, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    storage = fake_scm_host_factory("127.0.0.2")
    archive = host.repo(REPO).archive("main", prefix="ACME-widgets")
    storage.route("GET", "/blobs/archive.tgz", lambda r: FakeResponse(200, archive))
    host.route(
        "GET",
        rf"{API}/archive",
        lambda r: FakeResponse.redirect(f"{storage.base_url}/blobs/archive.tgz"),
    )
    readers = make_readers(host, token=TOKEN)
    bbs.bitbucket_server(host).add_token(TOKEN)
    assert len(list(readers.read_tree(web(host, "browse?at=main")).files())) == len(FILES)
    assert [r.auth_headers for r in storage.requests] == [frozenset()]
    assert all(r.auth_headers == {"authorization"} for r in host.requests)


def test_api_redirect_to_another_host_is_refused(
    host: FakeScmHost, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    other = fake_scm_host_factory("127.0.0.2")
    bbs.bitbucket_server(host).add_token(TOKEN)
    host.route("GET", rf"{API}/raw/.*", lambda r: FakeResponse.redirect(f"{other.base_url}/steal"))
    with pytest.raises(NotAllowedError):
        make_readers(host, token=TOKEN).read_url(web(host, "browse/docs/index.md?at=main"))
    assert other.requests == []


def test_only_the_configured_host_is_read(
    host: FakeScmHost, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    other = fake_scm_host_factory("127.0.0.2")
    readers = make_readers(host)
    with pytest.raises(NotAllowedError):
        readers.read_url(f"{other.base_url}/projects/ACME/repos/widgets/browse/a.md?at=main")
    assert other.requests == [] and host.requests == []


# --- read_tree -------------------------------------------------------------------------


def test_read_tree_looks_the_branch_up_then_downloads_that_commit(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    sha = host.repo(REPO).sha("main")
    tree = readers.read_tree(web(host, "browse/docs?at=refs/heads/main"))
    assert tree.etag == sha[:12]
    assert {f.path: f.content() for f in tree.files()} == {
        "index.md": b"# Docs\n",
        "a b/space.md": b"spaced\n",
        "deep/er/x.md": b"deep\n",
    }
    assert paths(host) == [
        f"{API}/branches?filterText=main&limit=100",
        f"{API}/archive?format=tgz&at={sha}&prefix=ACME-widgets&path=docs",
    ]


def test_read_tree_of_a_branch_with_a_slash(host: FakeScmHost, readers: UrlReaders) -> None:
    tree = readers.read_tree(web(host, "browse/docs?at=feature/x"))
    files = {f.path: f.content() for f in tree.files()}
    assert files["index.md"] == b"# Feature\n"
    assert tree.etag == host.repo(REPO).sha("feature/x")[:12]


def test_branch_lookup_follows_pagination_beyond_the_first_page(
    fake_scm_host: FakeScmHost,
) -> None:
    # 150 branches contain "docs" and sort before "docs" itself: the exact match is on the
    # second page of 100 (Backstage looks at the first page only and fails here).
    branches: dict[str, Any] = {f"a-docs-{i:03}": "main" for i in range(150)}
    branches["docs"] = {"docs/index.md": "# Branch docs\n"}
    fake_scm_host.add_repo(REPO, FILES, branches=branches)
    readers = make_readers(fake_scm_host)
    tree = readers.read_tree(web(fake_scm_host, "browse/docs?at=docs"))
    assert {f.path: f.content() for f in tree.files()}["index.md"] == b"# Branch docs\n"
    lookups = [p for p in paths(fake_scm_host) if "/branches" in p]
    assert lookups == [
        f"{API}/branches?filterText=docs&limit=100",
        f"{API}/branches?filterText=docs&limit=100&start=100",
    ]
    assert len(fake_scm_host.requests) == 3


def test_branch_lookup_stops_when_paging_loops(host: FakeScmHost, readers: UrlReaders) -> None:
    page = {"size": 0, "limit": 100, "isLastPage": False, "start": 0, "nextPageStart": 0}
    host.route("GET", rf"{API}/branches", lambda r: FakeResponse.json({**page, "values": []}))
    with pytest.raises(UpstreamError, match="nextPageStart"):
        readers.read_tree(web(host, "browse?at=main"))
    assert len(host.requests) == 1


@pytest.mark.parametrize("legacy", [False, True])
def test_read_tree_without_at_uses_the_default_branch(
    fake_scm_host: FakeScmHost, legacy: bool
) -> None:
    fake_scm_host.enable("bitbucket_server", legacy=legacy)
    fake_scm_host.add_repo(REPO, FILES, default_branch="trunk")
    readers = make_readers(fake_scm_host)
    tree = readers.read_tree(web(fake_scm_host, "browse/docs"))
    assert len(list(tree.files())) == 3
    sha = fake_scm_host.repo(REPO).sha("trunk")
    assert tree.etag == sha[:12]
    second = f"{API}/branches/default" if legacy else f"{API}/branches?filterText=trunk&limit=100"
    assert paths(fake_scm_host) == [
        f"{API}/default-branch",
        second,
        f"{API}/archive?format=tgz&at={sha}&prefix=ACME-widgets&path=docs",
    ]


def test_read_tree_of_a_tag_or_a_commit(host: FakeScmHost, readers: UrlReaders) -> None:
    repo = host.repo(REPO)
    sha = repo.sha("main")
    repo.tag("v1.0", "main")
    tree = readers.read_tree(web(host, "browse/src?at=refs/tags/v1.0"))
    assert [f.path for f in tree.files()] == ["app.py"]
    assert paths(host)[0] == f"{API}/tags?filterText=v1.0&limit=100"
    host.clear_requests()
    tree = readers.read_tree(web(host, f"browse/src?at={sha}"))
    assert tree.etag == sha[:12] and [f.path for f in tree.files()] == ["app.py"]
    assert len(host.requests) == 1  # a commit id needs no lookup


def test_read_tree_missing_branch_is_not_found(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError, match="no branch or tag 'nope'"):
        readers.read_tree(web(host, "browse?at=nope"))
    assert not host.requests_to(r"/archive")
    assert len(host.requests) == 2  # branches, then tags
    host.clear_requests()
    with pytest.raises(NotFoundError):
        readers.read_tree(web(host, "browse?at=refs/heads/nope"))
    assert len(host.requests) == 1


def test_read_tree_not_modified_requests_no_archive(host: FakeScmHost, readers: UrlReaders) -> None:
    url = web(host, "browse?at=main")
    etag = readers.read_tree(url).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_tree(url, etag=etag)
    assert paths(host) == [f"{API}/branches?filterText=main&limit=100"]


def test_read_tree_filter_and_missing_folder(host: FakeScmHost, readers: UrlReaders) -> None:
    tree = readers.read_tree(web(host, "browse/docs?at=main"), filter=lambda p, i: i.size < 7)
    assert [f.path for f in tree.files()] == ["deep/er/x.md"]
    with pytest.raises(NotFoundError):
        readers.read_tree(web(host, "browse/nothing?at=main"))


# --- search ----------------------------------------------------------------------------


def test_search_glob_lists_only_the_static_prefix_and_reads_lazily(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    sha = host.repo(REPO).sha("main")
    result = readers.search(web(host, "browse/docs/**/*.md?at=refs/heads/main"))
    assert result.etag == sha[:12]
    assert sorted(f.url for f in result.files) == [
        web(host, "browse/docs/a%20b/space.md?at=refs/heads/main"),
        web(host, "browse/docs/deep/er/x.md?at=refs/heads/main"),
        web(host, "browse/docs/index.md?at=refs/heads/main"),
    ]
    assert paths(host) == [
        f"{API}/branches?filterText=main&limit=100",
        f"{API}/files/docs?at={sha}&limit=1000",
    ]
    by_url = {f.url: f for f in result.files}
    assert by_url[web(host, "browse/docs/a%20b/space.md?at=refs/heads/main")].content() == (
        b"spaced\n"
    )
    assert paths(host)[2:] == [f"{API}/raw/docs/a%20b/space.md?at={sha}"]


def test_search_glob_follows_file_pages(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("bitbucket_server", default_limit=2, max_limit=2)
    fake_scm_host.add_repo(REPO, FILES)
    result = make_readers(fake_scm_host).search(web(fake_scm_host, "browse/**/*.py?at=main"))
    assert [f.content() for f in result.files] == [b"print('hi')\n"]
    listings = fake_scm_host.requests_to(r"/files")
    assert [r.query.get("start") for r in listings] == [None, "2", "4"]


def test_search_glob_not_modified_and_miss(host: FakeScmHost, readers: UrlReaders) -> None:
    url = web(host, "browse/docs/*.md?at=main")
    etag = readers.search(url).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.search(url, etag=etag)
    assert len(host.requests) == 1
    assert readers.search(web(host, "browse/nowhere/*.md?at=main")).files == []
    assert readers.search(web(host, "browse/**/*.txt?at=main")).files == []


def test_search_exact_and_missing_file(host: FakeScmHost, readers: UrlReaders) -> None:
    url = web(host, "browse/catalog-info.yaml?at=main")
    exact = readers.search(url)
    assert [(f.url, f.content()) for f in exact.files] == [(url, b"kind: Component\n")]
    assert exact.etag
    miss = readers.search(web(host, "browse/none.yaml?at=main"))
    assert (miss.files, miss.etag) == ([], "")
    assert len(host.requests) == 3  # raw + its last commit (the etag); the miss: raw only


# --- cost ------------------------------------------------------------------------------


def test_request_counts(host: FakeScmHost, readers: UrlReaders) -> None:
    def cost(action: Callable[[], object]) -> int:
        host.clear_requests()
        try:
            action()
        except NotModifiedError:
            pass
        return len(host.requests)

    file_url = web(host, "browse/docs/index.md?at=main")
    tree_url = web(host, "browse/docs?at=main")
    assert cost(lambda: readers.read_url(file_url).buffer()) == 2  # raw + last commit
    assert cost(lambda: readers.read_url(file_url, etag=readers.read_url(file_url).etag)) == 3
    assert cost(lambda: list(readers.read_tree(tree_url).files())) == 2
    etag = readers.read_tree(tree_url).etag
    assert cost(lambda: readers.read_tree(tree_url, etag=etag)) == 1
    assert cost(lambda: list(readers.read_tree(web(host, "browse/docs")).files())) == 3
    glob = web(host, "browse/**/*.md?at=main")
    assert cost(lambda: [f.content() for f in readers.search(glob).files]) == 2 + 3
    assert cost(lambda: readers.search(glob, etag=etag)) == 1
