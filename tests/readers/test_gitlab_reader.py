"""GitlabUrlReader end to end through FakeScmHost's GitLab emulation (urlreader spec §2.2).

Request counts asserted here (one project, branch in the URL):
read_url = 1 request (+1 metadata HEAD first when an etag is given, and that one alone when
the file is unchanged); read_tree = 2 (commits lookup, archive) and 1 when unchanged (+1
project lookup when the URL names no branch); search = 2 (commits lookup, one tree page
per 100 entries) + 1 per file content read, and 1 when unchanged.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scmreader.errors import InvalidUrlError, NotFoundError, NotModifiedError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.readers.types import FileInfo
from scmreader.testing import FakeScmHost, FakeScmHostFactory
from scmreader.testing.messages import FakeRequest, FakeResponse
from scmreader.testing.routes import gitlab as gitlab_routes
from scmreader.testing.routes.gitlab import gitlab, integration_config

FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "mkdocs.yml": "site_name: Test\n",
    "docs/index.md": "# Test\n",
    "docs/guide/catalog-info.yaml": "kind: Location\n",
    "services/api/catalog-info.yaml": "kind: API\n",
    "dir/my file+1.yaml": "odd: name\n",
}
PROJECT = "group/sub/team/repo"
TOKEN = "glpat-configuredToken000001"


def make_readers(host: FakeScmHost, **entry: Any) -> UrlReaders:
    config = {"integrations": {"gitlab": [integration_config(host, **entry)]}}
    return UrlReaders.default(config, http=HttpClient(sleep=lambda s: None))


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("gitlab")
    fake_scm_host.add_repo(PROJECT, FILES, branches={"dev": {"docs/index.md": "# Dev\n"}})
    fake_scm_host.add_repo("acme/widgets", {"README.md": "hi\n"})
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return make_readers(host, token=TOKEN)


def web(host: FakeScmHost, rest: str, project: str = PROJECT) -> str:
    return f"{host.base_url}/{project}/{rest}"


def requested(host: FakeScmHost) -> list[str]:
    return [r.path + (f"?{r.raw_query}" if r.raw_query else "") for r in host.requests]


# --- read_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rest", "project", "api_path", "content"),
    [
        (
            "-/blob/main/docs/index.md",
            PROJECT,
            "/api/v4/projects/group%2Fsub%2Fteam%2Frepo/repository/files/docs%2Findex.md/raw",
            b"# Test\n",
        ),
        (
            "blob/main/catalog-info.yaml",  # the unscoped legacy form
            PROJECT,
            "/api/v4/projects/group%2Fsub%2Fteam%2Frepo/repository/files/catalog-info.yaml/raw",
            b"kind: Component\n",
        ),
        (
            "-/blob/dev/docs/index.md",
            PROJECT,
            "/api/v4/projects/group%2Fsub%2Fteam%2Frepo/repository/files/docs%2Findex.md/raw",
            b"# Dev\n",
        ),
        (
            "-/blob/main/dir/my%20file%2B1.yaml",
            PROJECT,
            "/api/v4/projects/group%2Fsub%2Fteam%2Frepo/repository/files/"
            "dir%2Fmy%20file%2B1.yaml/raw",
            b"odd: name\n",
        ),
        (
            "-/raw/main/README.md",  # GitLab's raw view of the same file
            "acme/widgets",
            "/api/v4/projects/acme%2Fwidgets/repository/files/README.md/raw",
            b"hi\n",
        ),
    ],
)
def test_read_url_translates_to_the_files_api(
    host: FakeScmHost,
    readers: UrlReaders,
    rest: str,
    project: str,
    api_path: str,
    content: bytes,
) -> None:
    response = readers.read_url(web(host, rest, project))
    assert response.buffer() == content
    [request] = host.requests
    assert request.path == api_path
    assert request.query == {"ref": rest.split("/")[-3] if "dev" in rest else "main"}


def test_read_url_sends_the_token_as_bearer(host: FakeScmHost, readers: UrlReaders) -> None:
    readers.read_url(web(host, "-/blob/main/mkdocs.yml")).buffer()
    [request] = host.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.query == {"ref": "main"}


def test_read_url_runtime_token_overrides_the_configured_one(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    gitlab(host).add_token("user-oauth-token-7")
    readers.read_url(web(host, "-/blob/main/mkdocs.yml"), token="user-oauth-token-7").buffer()
    assert host.requests[-1].headers["Authorization"] == "Bearer user-oauth-token-7"
    make_readers(host).read_url(web(host, "-/blob/main/mkdocs.yml"), token="user-oauth-token-7")
    assert host.requests[-1].headers["Authorization"] == "Bearer user-oauth-token-7"


def test_anonymous_reads_send_no_credentials(host: FakeScmHost) -> None:
    make_readers(host).read_url(web(host, "-/blob/main/mkdocs.yml")).buffer()
    assert host.requests[-1].auth_headers == frozenset()


def test_read_url_returns_etag_and_last_modified(host: FakeScmHost, readers: UrlReaders) -> None:
    response = readers.read_url(web(host, "-/blob/main/docs/index.md"))
    repo = host.repo(PROJECT)
    entry = repo.entry("main", "docs/index.md")
    assert entry is not None
    assert response.etag == entry.sha  # X-Gitlab-Blob-Id: GitLab's raw files carry no ETag
    assert response.last_modified_at is None  # nor a date


def test_read_url_not_modified_by_etag_and_by_date(host: FakeScmHost, readers: UrlReaders) -> None:
    url = web(host, "-/blob/main/catalog-info.yaml")
    first = readers.read_url(url)
    assert first.etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=first.etag)
    [head] = host.requests  # the metadata HEAD only, no content
    assert head.method == "HEAD" and not head.path.endswith("/raw")
    repo = host.repo(PROJECT)
    changed = repo.commit_info(repo.last_commit("main", "catalog-info.yaml")).committed_at
    with pytest.raises(NotModifiedError):
        readers.read_url(url, last_modified_after=changed + timedelta(seconds=1))
    again = readers.read_url(url, last_modified_after=changed - timedelta(days=1))
    assert again.buffer() == b"kind: Component\n"
    assert again.last_modified_at == changed


@pytest.mark.parametrize(
    "rest",
    ["-/blob/main/nothing.yaml", "-/blob/no-such-branch/mkdocs.yml", "-/blob/main/docs"],
)
def test_read_url_missing_is_not_found(host: FakeScmHost, readers: UrlReaders, rest: str) -> None:
    with pytest.raises(NotFoundError):
        readers.read_url(web(host, rest))


def test_read_url_missing_project_is_not_found(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError):
        readers.read_url(web(host, "-/blob/main/a.yaml", "nobody/nothing"))


@pytest.mark.parametrize("rest", ["-/tree/main/docs", "-/commits/main", ""])
def test_read_url_rejects_urls_without_blob(
    host: FakeScmHost, readers: UrlReaders, rest: str
) -> None:
    with pytest.raises(InvalidUrlError, match="/blob/"):
        readers.read_url(web(host, rest))


def test_read_url_of_a_job_artifact(host: FakeScmHost, readers: UrlReaders) -> None:
    gitlab(host).add_artifact(PROJECT, "main", "build", "out/report.json", '{"ok": true}')
    url = web(host, "-/jobs/artifacts/main/raw/out/report.json?job=build")
    assert readers.read_url(url, etag="ignored").buffer() == b'{"ok": true}'
    [request] = host.requests
    assert request.path == (
        "/api/v4/projects/group%2Fsub%2Fteam%2Frepo/jobs/artifacts/main/raw/out/report.json"
    )
    assert request.query == {"job": "build"}
    assert "If-None-Match" not in request.headers
    with pytest.raises(InvalidUrlError, match="artifact"):
        readers.read_url(web(host, "-/jobs/artifacts/main/raw/out/report.json"))


# --- installs under a sub-path ---------------------------------------------------------


@pytest.fixture
def sub_path_host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("gitlab", relative_path="/gitlab")
    fake_scm_host.add_repo(PROJECT, FILES)
    return fake_scm_host


def test_install_under_a_relative_path(sub_path_host: FakeScmHost) -> None:
    host = sub_path_host
    readers = make_readers(host, token=TOKEN)
    base = f"{host.base_url}/gitlab/{PROJECT}"
    assert readers.read_url(f"{base}/-/blob/main/mkdocs.yml").buffer() == b"site_name: Test\n"
    assert host.requests[-1].path.startswith("/gitlab/api/v4/projects/group%2Fsub%2Fteam%2Frepo/")
    tree = readers.read_tree(f"{base}/-/tree/main/docs")
    assert {f.path for f in tree.files()} == {"index.md", "guide/catalog-info.yaml"}
    result = readers.search(f"{base}/-/blob/main/**/catalog-info.yaml")
    assert sorted(f.url for f in result.files) == [
        f"{base}/-/blob/main/catalog-info.yaml",
        f"{base}/-/blob/main/docs/guide/catalog-info.yaml",
        f"{base}/-/blob/main/services/api/catalog-info.yaml",
    ]
    with pytest.raises(InvalidUrlError, match="/gitlab/"):
        readers.read_url(f"{host.base_url}/{PROJECT}/-/blob/main/mkdocs.yml")
    with pytest.raises(InvalidUrlError, match="/gitlab/"):
        readers.read_tree(f"{host.base_url}/{PROJECT}/-/tree/main")


# --- read_tree -----------------------------------------------------------------------


def test_read_tree_of_the_root(host: FakeScmHost, readers: UrlReaders) -> None:
    tree = readers.read_tree(web(host, "-/tree/main"))
    assert {f.path: f.content().decode() for f in tree.files()} == FILES
    repo = host.repo(PROJECT)
    assert tree.etag == repo.sha("main")
    commits, archive = host.requests
    assert commits.path.endswith("/repository/commits")
    assert commits.query == {"ref_name": "main", "per_page": "1"}
    assert archive.path == "/api/v4/projects/group%2Fsub%2Fteam%2Frepo/repository/archive"
    assert archive.query == {"sha": repo.sha("main")}  # by sha: no race with a push


def test_read_tree_of_a_sub_folder_uses_the_path_commit(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    repo = host.repo(PROJECT)
    repo.commit({"mkdocs.yml": "site_name: Changed\n"}, branch="main")
    tree = readers.read_tree(web(host, "-/tree/main/docs"))
    assert {f.path: f.content() for f in tree.files()} == {
        "index.md": b"# Test\n",
        "guide/catalog-info.yaml": b"kind: Location\n",
    }
    docs_commit = repo.last_commit("main", "docs")
    assert docs_commit != repo.sha("main")
    assert tree.etag == docs_commit
    archive = host.requests[-1]
    assert archive.query == {"sha": docs_commit, "path": "docs"}


def test_read_tree_filter_and_dir(host: FakeScmHost, readers: UrlReaders, tmp_path: Path) -> None:
    seen: dict[str, int] = {}

    def yaml_only(path: str, info: FileInfo) -> bool:
        seen[path] = info.size
        return path.endswith(".yaml")

    tree = readers.read_tree(web(host, "-/tree/main/services"), filter=yaml_only)
    out = tree.dir(tmp_path / "out")
    assert (out / "api" / "catalog-info.yaml").read_text() == "kind: API\n"
    assert seen == {"api/catalog-info.yaml": 10}


def test_read_tree_detects_the_default_branch(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("gitlab")
    fake_scm_host.add_repo("g/trunky", {"a.txt": "a\n"}, default_branch="trunk")
    readers = make_readers(fake_scm_host)
    tree = readers.read_tree(f"{fake_scm_host.base_url}/g/trunky")
    assert [f.path for f in tree.files()] == ["a.txt"]
    project, commits, _ = fake_scm_host.requests
    assert project.path == "/api/v4/projects/g%2Ftrunky"
    assert commits.query["ref_name"] == "trunk"


def test_read_tree_missing_branch_or_project_is_not_found(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    with pytest.raises(NotFoundError):
        readers.read_tree(web(host, "-/tree/no-such-branch"))
    with pytest.raises(NotFoundError):
        readers.read_tree(web(host, "", "nobody/nothing"))


def test_read_tree_unchanged_downloads_nothing(host: FakeScmHost, readers: UrlReaders) -> None:
    etag = readers.read_tree(web(host, "-/tree/main/docs")).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_tree(web(host, "-/tree/main/docs"), etag=etag)
    assert len(host.requests) == 1
    assert host.requests_to("/repository/archive") == []
    # a commit outside docs/ leaves the sub-tree's etag alone
    host.repo(PROJECT).commit({"mkdocs.yml": "site_name: Other\n"}, branch="main")
    with pytest.raises(NotModifiedError):
        readers.read_tree(web(host, "-/tree/main/docs"), etag=etag)


def test_read_tree_outdated_etag_reads(host: FakeScmHost, readers: UrlReaders) -> None:
    tree = readers.read_tree(web(host, "-/tree/main"), etag="0" * 40)
    assert len(list(tree.files())) == len(FILES)


def test_read_tree_of_a_ref_without_commits_is_not_found(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    # GitLab lists no commits for an unknown ref_name (200 and []), for the path and the root
    host.route(
        "GET",
        r"/api/v4/projects/[^/]+/repository/commits",
        lambda request: FakeResponse.json([]),
    )
    with pytest.raises(NotFoundError, match="no 'docs' on 'main'"):
        readers.read_tree(web(host, "-/tree/main/docs"))
    assert host.requests_to("/repository/archive") == []


# --- search --------------------------------------------------------------------------


def test_search_glob_lists_only_the_static_prefix(host: FakeScmHost, readers: UrlReaders) -> None:
    result = readers.search(web(host, "-/blob/main/docs/**/*.yaml"))
    assert [f.url for f in result.files] == [web(host, "-/blob/main/docs/guide/catalog-info.yaml")]
    assert result.etag == host.repo(PROJECT).last_commit("main", "docs")
    [tree] = host.requests_to("/repository/tree")
    assert tree.query["path"] == "docs"
    assert tree.query["recursive"] == "true"
    assert host.requests_to("/repository/files") == []  # contents load lazily
    assert result.files[0].content() == b"kind: Location\n"
    assert host.requests_to("/repository/files")[0].query == {"ref": result.etag}


def test_search_glob_follows_minimatch(host: FakeScmHost, readers: UrlReaders) -> None:
    def found(glob: str) -> list[str]:
        prefix = web(host, "-/blob/main/")
        return sorted(f.url.removeprefix(prefix) for f in readers.search(prefix + glob).files)

    assert found("*.yml") == ["mkdocs.yml"]
    assert found("*/index.*") == ["docs/index.md"]
    assert found("{M,m}kdocs.yml") == ["mkdocs.yml"]
    assert found("dir/*.yaml") == ["dir/my%20file%2B1.yaml"]
    assert found("nowhere/**/*.yaml") == []


def test_search_unscoped_url_keeps_its_form(host: FakeScmHost, readers: UrlReaders) -> None:
    result = readers.search(web(host, "blob/main/services/**/*.yaml"))
    assert [f.url for f in result.files] == [web(host, "blob/main/services/api/catalog-info.yaml")]


def test_search_exact_and_miss(host: FakeScmHost, readers: UrlReaders) -> None:
    exact = readers.search(web(host, "-/blob/main/mkdocs.yml"))
    assert [f.content() for f in exact.files] == [b"site_name: Test\n"]
    assert exact.etag
    miss = readers.search(web(host, "-/blob/main/missing.yml"))
    assert (miss.files, miss.etag) == ([], "")
    raw = readers.search(web(host, "-/raw/main/mkdocs.yml"))
    assert [f.url for f in raw.files] == [web(host, "-/raw/main/mkdocs.yml")]


def test_search_unchanged_costs_one_request(host: FakeScmHost, readers: UrlReaders) -> None:
    etag = readers.search(web(host, "-/blob/main/**/*.md")).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.search(web(host, "-/blob/main/**/*.md"), etag=etag)
    assert len(host.requests) == 1


def test_search_missing_branch_is_not_found(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError):
        readers.search(web(host, "-/blob/nope/docs/*.md"))


def test_search_pages_through_large_trees(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.enable("gitlab")
    host.add_repo("big/repo", {f"items/f{i:03}.yaml": f"n: {i}\n" for i in range(230)})
    readers = make_readers(host)
    result = readers.search(f"{host.base_url}/big/repo/-/blob/main/items/*.yaml")
    assert len(result.files) == 230
    pages = host.requests_to("/repository/tree")
    assert len(pages) == 3
    assert "page_token" in pages[1].query


@pytest.mark.parametrize(
    "external",
    [
        "https://gitlab.example.com",  # TLS proxy in front, another name
        "http://gitlab.internal:8080",  # internal name and port
    ],
)
def test_page_links_on_the_external_url_are_rebased(
    fake_scm_host: FakeScmHost, external: str
) -> None:
    host = fake_scm_host
    host.enable("gitlab")
    host.add_repo("big/repo", {f"items/f{i:03}.yaml": f"n: {i}\n" for i in range(7)})
    state = gitlab(host)
    state.external_url = external
    state.max_per_page = 3
    result = make_readers(host).search(f"{host.base_url}/big/repo/-/blob/main/items/*.yaml")
    assert len(result.files) == 7
    assert len(host.requests_to("/repository/tree")) == 3  # every page came to this host


def test_page_link_outside_the_api_is_refused(fake_scm_host: FakeScmHost) -> None:
    from scmreader.errors import UpstreamError

    host = fake_scm_host
    host.enable("gitlab")
    host.add_repo("big/repo", {f"items/f{i:03}.yaml": f"n: {i}\n" for i in range(3)})
    link = f'<{host.base_url}/elsewhere/tree?page=2>; rel="next"'
    host.route(
        "GET",
        r"/api/v4/projects/[^/]+/repository/tree",
        lambda request: FakeResponse.json([], headers=[("Link", link)]),
    )
    with pytest.raises(UpstreamError, match="outside the API"):
        make_readers(host).search(f"{host.base_url}/big/repo/-/blob/main/items/*.yaml")


def test_search_follows_offset_pagination_too(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.enable("gitlab")
    host.add_repo("big/repo", {f"items/f{i:03}.yaml": f"n: {i}\n" for i in range(150)})
    state = gitlab(host)

    def offset_only(request: FakeRequest) -> FakeResponse:
        query = "&".join(p for p in request.raw_query.split("&") if p != "pagination=keyset")
        plain = dataclasses.replace(request, raw_query=query)
        return gitlab_routes._api(host, state, gitlab_routes._list_tree)(plain)

    host.route("GET", r"/api/v4/projects/(?P<id>[^/]+)/repository/tree", offset_only)
    result = make_readers(host).search(f"{host.base_url}/big/repo/-/blob/main/**/*.yaml")
    assert len(result.files) == 150
    pages = host.requests_to("/repository/tree")
    assert [p.query.get("page") for p in pages] == [None, "2"]


def test_request_counts(host: FakeScmHost, readers: UrlReaders) -> None:
    def cost(call: Any) -> int:
        host.clear_requests()
        try:
            call()
        except NotModifiedError:
            pass
        return len(host.requests)

    tree_url = web(host, "-/tree/main")
    etag = readers.read_tree(tree_url).etag
    assert cost(lambda: readers.read_url(web(host, "-/blob/main/mkdocs.yml")).buffer()) == 1
    assert cost(lambda: list(readers.read_tree(tree_url).files())) == 2
    assert cost(lambda: readers.read_tree(tree_url, etag=etag)) == 1
    assert cost(lambda: list(readers.read_tree(web(host, "")).files())) == 3
    glob = web(host, "-/blob/main/**/catalog-info.yaml")
    assert cost(lambda: [f.content() for f in readers.search(glob).files]) == 2 + 3
    assert cost(lambda: readers.search(glob, etag=etag)) == 1


# --- credentials and routing ---------------------------------------------------------


def test_credentials_never_follow_an_archive_to_another_origin(
    host: FakeScmHost, readers: UrlReaders, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    storage = fake_scm_host_factory("127.0.0.2")
    archive = host.repo(PROJECT).archive("main", prefix="repo-main")
    storage.route("GET", "/objects/archive.tar.gz", lambda r: FakeResponse(200, archive))
    host.route(
        "GET",
        r"/api/v4/projects/[^/]+/repository/archive",
        lambda r: FakeResponse.redirect(f"{storage.base_url}/objects/archive.tar.gz"),
    )
    assert len(list(readers.read_tree(web(host, "-/tree/main")).files())) == len(FILES)
    assert [r.auth_headers for r in storage.requests] == [frozenset()]
    assert all(r.auth_headers == {"authorization"} for r in host.requests)


def test_api_redirect_to_another_host_is_refused(
    host: FakeScmHost, readers: UrlReaders, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    from scmreader.errors import NotAllowedError

    other = fake_scm_host_factory("127.0.0.2")
    host.route(
        "GET",
        r"/api/v4/projects/[^/]+/repository/files/[^/]+/raw",
        lambda r: FakeResponse.redirect(f"{other.base_url}/steal"),
    )
    with pytest.raises(NotAllowedError):
        readers.read_url(web(host, "-/blob/main/mkdocs.yml"))
    assert other.requests == []


def test_unknown_token_is_an_authentication_error(host: FakeScmHost) -> None:
    from scmreader.errors import AuthenticationError

    gitlab(host).add_token(TOKEN)
    with pytest.raises(AuthenticationError) as caught:
        make_readers(host, token="glpat-wrong").read_url(web(host, "-/blob/main/mkdocs.yml"))
    assert "glpat-wrong" not in str(caught.value)


def test_reader_repr_and_routing(host: FakeScmHost, readers: UrlReaders) -> None:
    reader = readers.reader_for(web(host, "-/blob/main/mkdocs.yml"))
    assert repr(reader) == f"gitlab{{host={host.host},authed=true}}"
    assert repr(make_readers(host).reader_for(web(host, "x"))) == (
        f"gitlab{{host={host.host},authed=false}}"
    )
    assert "gitlab{host=gitlab.com,authed=false}" in repr(readers)
