"""GerritUrlReader end to end through FakeScmHost's Gerrit and Gitiles emulation."""

from __future__ import annotations

import base64
import inspect
import os
from pathlib import Path
from typing import Any

import pytest

from scmreader.errors import (
    AuthenticationError,
    ConfigError,
    InputError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    UpstreamError,
)
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.readers.gerrit import READER_FACTORY, GerritUrlReader
from scmreader.readers.types import FileInfo
from scmreader.testing import FakeRepo, FakeScmHost, executable, symlink
from scmreader.testing.messages import FakeResponse
from scmreader.testing.repo import FileContent
from scmreader.testing.routes import gerrit as gerrit_routes
from scmreader.testing.server import FakeScmHostFactory

FILES: dict[str, FileContent] = {
    "README.md": "# web/project\n",
    "mkdocs.yml": "site_name: Test\n",
    "docs/index.md": "# Test\n",
    "docs/api/reference.md": "# API\n",
    "docs/my notes.md": "spaces\n",
    "bin/build.sh": executable("#!/bin/sh\nmake\n"),
    "latest": symlink("docs/index.md"),
    ".hidden.yaml": "hidden: true\n",
}
ALL_VISIBLE = sorted(p for p in FILES if not p.startswith("."))


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("gerrit")
    repo = fake_scm_host.add_repo("web/project", FILES, tags={"v1": "main"})
    repo.tag("v2-annotated", message="Release 2")
    gerrit_routes.add_user(fake_scm_host, "robot", "right-password")
    return fake_scm_host


@pytest.fixture
def repo(host: FakeScmHost) -> FakeRepo:
    return host.repo("web/project")


def make_readers(host: FakeScmHost, **options: Any) -> UrlReaders:
    config = gerrit_routes.app_config(host, **options)
    return UrlReaders.default(config, http=HttpClient(sleep=lambda _: None))


def browse(host: FakeScmHost, rest: str, *, project: str = "web/project") -> str:
    return f"{host.base_url}/plugins/gitiles/{project}/+/{rest}"


def content_requests(host: FakeScmHost) -> int:
    return len(host.requests_to(r"/files/.*/content$"))


# --- factory and predicate -----------------------------------------------------------------


def test_factory_makes_one_reader_per_integration_matching_the_gitiles_host() -> None:
    assert (READER_FACTORY.name, READER_FACTORY.order) == ("gerrit", 50)
    config = {
        "integrations": {
            "gerrit": [
                {"host": "gerrit-review.com", "gitilesBaseUrl": "https://gerrit.com"},
                {"host": "review.example.org", "gitilesBaseUrl": "https://review.example.org/g"},
            ]
        }
    }
    readers = UrlReaders.default(config)
    gerrit_readers = [r for r in readers.readers if isinstance(r, GerritUrlReader)]
    assert [repr(r) for r in gerrit_readers] == [
        "gerrit{host=gerrit-review.com,authed=false}",
        "gerrit{host=review.example.org,authed=false}",
    ]
    assert readers.reader_for("https://gerrit.com/path") is gerrit_readers[0]
    assert readers.reader_for("https://review.example.org/g/p/+/HEAD/x") is gerrit_readers[1]
    with pytest.raises(NotAllowedError):
        readers.reader_for("https://gerrit-review.com/path")


def test_no_gerrit_config_means_no_gerrit_reader() -> None:
    assert not any(isinstance(r, GerritUrlReader) for r in UrlReaders.default({}).readers)


def test_constructor_takes_no_work_directory() -> None:
    parameters = inspect.signature(GerritUrlReader.__init__).parameters
    assert not {"work_dir", "workdir", "working_directory"} & set(parameters)


def test_repr_says_authed_without_showing_the_password(host: FakeScmHost) -> None:
    readers = make_readers(host, username="robot", password="right-password")
    text = repr(readers)
    assert f"gerrit{{host={host.host},authed=true}}" in text
    assert "right-password" not in text


# --- read_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rest", "path"),
    [
        ("refs/heads/main/README.md", "README.md"),
        ("refs/heads/main/docs/api/reference.md", "docs/api/reference.md"),
        ("refs/heads/main/docs/my%20notes.md", "docs/my notes.md"),
        ("refs/heads/main/bin/build.sh", "bin/build.sh"),
        ("refs/heads/main/latest", "latest"),
        ("SHA/docs/index.md", "docs/index.md"),
        ("refs/tags/v1/mkdocs.yml", "mkdocs.yml"),
        ("refs/tags/v2-annotated/docs/index.md", "docs/index.md"),
        ("HEAD/README.md", "README.md"),
    ],
)
def test_read_url(host: FakeScmHost, repo: FakeRepo, rest: str, path: str) -> None:
    url = browse(host, rest.replace("SHA", repo.sha()))
    response = make_readers(host).read_url(url)
    assert response.buffer() == repo.blob("main", path)
    entry = repo.entry("main", path)
    assert entry is not None and response.etag == entry.sha


def test_read_url_by_sha_and_tag_reads_that_commit_not_the_branch(
    host: FakeScmHost, repo: FakeRepo
) -> None:
    old = repo.sha()
    repo.commit({"README.md": "# changed\n"})
    readers = make_readers(host)
    assert readers.read(browse(host, f"{old}/README.md")) == b"# web/project\n"
    assert readers.read(browse(host, "refs/tags/v1/README.md")) == b"# web/project\n"
    assert readers.read(browse(host, "refs/heads/main/README.md")) == b"# changed\n"
    assert host.requests_to(f"/commits/{old}/files/README.md/content$")


def test_read_url_streams_a_large_binary_file(host: FakeScmHost, repo: FakeRepo) -> None:
    data = os.urandom(700_001)
    repo.commit({"assets/blob.bin": data})
    response = make_readers(host).read_url(browse(host, "refs/heads/main/assets/blob.bin"))
    stream = response.stream()
    chunks = []
    while chunk := stream.read(65_536):
        chunks.append(chunk)
    assert b"".join(chunks) == data


def test_read_url_etag_is_the_blob_id_and_not_modified_skips_the_download(
    host: FakeScmHost, repo: FakeRepo
) -> None:
    readers = make_readers(host)
    url = browse(host, "refs/heads/main/docs/index.md")
    etag = readers.read_url(url).etag
    assert etag is not None
    before = content_requests(host)
    with pytest.raises(NotModifiedError) as info:
        readers.read_url(url, etag=etag)
    assert info.value.etag == etag
    assert str(info.value).startswith(f"{url} has not changed (etag {etag})")
    assert content_requests(host) == before
    # Another file changing leaves this file's etag alone; this file changing does not.
    repo.commit({"README.md": "# other change\n"})
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=etag)
    repo.commit({"docs/index.md": "# New\n"})
    fresh = readers.read_url(url, etag=etag)
    assert fresh.buffer() == b"# New\n"
    assert fresh.etag not in (None, etag)


@pytest.mark.parametrize(
    ("rest", "message"),
    [
        ("refs/heads/main/missing.md", "not found"),
        ("refs/heads/main/docs/missing/deeper.md", "not found"),
        ("refs/heads/main/docs", "folder"),
        ("refs/heads/no-such-branch/README.md", "not found"),
        ("refs/tags/no-such-tag/README.md", "tag 'no-such-tag'"),
        ("0000000000000000000000000000000000000000/README.md", "not found"),
    ],
)
def test_read_url_not_found(host: FakeScmHost, rest: str, message: str) -> None:
    with pytest.raises(NotFoundError, match=message):
        make_readers(host).read_url(browse(host, rest))


def test_read_url_unknown_project(host: FakeScmHost) -> None:
    with pytest.raises(NotFoundError):
        make_readers(host).read_url(browse(host, "refs/heads/main/a.md", project="nope/repo"))


def test_read_url_of_the_repository_root_is_an_input_error(host: FakeScmHost) -> None:
    with pytest.raises(InvalidUrlError, match="root"):
        make_readers(host).read_url(browse(host, "refs/heads/main"))
    assert host.requests == []


def test_read_url_rejects_corrupt_base64(host: FakeScmHost) -> None:
    host.faults.respond(r"/content$", FakeResponse(200, b"<html>login</html>"))
    response = make_readers(host).read_url(browse(host, "refs/heads/main/README.md"))
    with pytest.raises(UpstreamError, match="cannot be decoded"):
        response.buffer()


def test_json_answers_without_the_xssi_guard_are_upstream_errors(host: FakeScmHost) -> None:
    body = b'{"ref": "refs/heads/main", "revision": "x"}'
    host.faults.respond(r"/branches/main$", FakeResponse(200, body))
    with pytest.raises(UpstreamError, match="prefix missing"):
        make_readers(host).read_tree(browse(host, "refs/heads/main"))


# --- credentials ---------------------------------------------------------------------------


def test_right_credentials_use_the_authenticated_paths(host: FakeScmHost) -> None:
    readers = make_readers(host, username="robot", password="right-password")
    assert readers.read(browse(host, "refs/heads/main/README.md")) == b"# web/project\n"
    assert [f.path for f in readers.read_tree(browse(host, "refs/heads/main/docs")).files()]
    assert readers.search(browse(host, "refs/heads/main/*.yml")).files[0].content()
    assert host.requests
    for request in host.requests:
        assert request.path.startswith("/a/"), request.path
        assert request.auth_headers == {"authorization"}


@pytest.mark.parametrize("operation", ["read_url", "read_tree", "search"])
def test_wrong_password_is_an_authentication_error(host: FakeScmHost, operation: str) -> None:
    readers = make_readers(host, username="robot", password="wrong-password")
    path = {"read_url": "README.md", "read_tree": "docs", "search": "**/*.md"}[operation]
    with pytest.raises(AuthenticationError) as info:
        getattr(readers, operation)(browse(host, f"refs/heads/main/{path}"))
    assert info.value.status == 401
    assert "wrong-password" not in str(info.value)


def test_hidden_projects_need_credentials(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("gerrit", anonymous=False)
    fake_scm_host.add_repo("private/repo", {"a.md": "secret\n"})
    gerrit_routes.add_user(fake_scm_host, "robot", "pw-1234")
    url = browse(fake_scm_host, "refs/heads/main/a.md", project="private/repo")
    with pytest.raises(NotFoundError):
        make_readers(fake_scm_host).read(url)
    assert make_readers(fake_scm_host, username="robot", password="pw-1234").read(url) == (
        b"secret\n"
    )


# --- read_tree -----------------------------------------------------------------------------


def tree_of(readers: UrlReaders, url: str, **kwargs: Any) -> tuple[str, dict[str, bytes]]:
    response = readers.read_tree(url, **kwargs)
    return response.etag, {f.path: f.content() for f in response.files()}


def test_read_tree_root(host: FakeScmHost, repo: FakeRepo) -> None:
    etag, files = tree_of(make_readers(host), browse(host, "refs/heads/main"))
    assert etag == repo.sha()
    assert files == {**repo.files("main")}
    assert files["latest"] == b"docs/index.md"  # a link arrives as a file holding its target
    archive = host.requests_to(r"\+archive/")
    assert [r.path for r in archive] == [
        f"/plugins/gitiles/web/project/+archive/{repo.sha()}.tar.gz"
    ]


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("refs/heads/main/docs", {"index.md", "api/reference.md", "my notes.md"}),
        ("refs/heads/main/docs/", {"index.md", "api/reference.md", "my notes.md"}),
        ("refs/heads/main/docs/api", {"reference.md"}),
        ("refs/tags/v1/docs/api", {"reference.md"}),
        ("refs/tags/v2-annotated/docs/api", {"reference.md"}),
        ("HEAD/docs/api", {"reference.md"}),
        ("SHA/docs/api", {"reference.md"}),
    ],
)
def test_read_tree_sub_folders_and_refs(
    host: FakeScmHost, repo: FakeRepo, rest: str, expected: set[str]
) -> None:
    etag, files = tree_of(make_readers(host), browse(host, rest.replace("SHA", repo.sha())))
    assert etag == repo.sha()
    assert set(files) == expected


def test_read_tree_of_a_tag_reads_the_tagged_commit(host: FakeScmHost, repo: FakeRepo) -> None:
    tagged = repo.sha("v1")
    repo.commit({"docs/index.md": "# moved on\n"})
    etag, files = tree_of(make_readers(host), browse(host, "refs/tags/v1/docs"))
    assert etag == tagged
    assert files["index.md"] == b"# Test\n"


def test_read_tree_filter_and_dir(host: FakeScmHost, tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def only_markdown(path: str, info: FileInfo) -> bool:
        seen.append((path, info.size))
        return path.endswith(".md")

    url = browse(host, "refs/heads/main/docs")
    target = make_readers(host).read_tree(url, filter=only_markdown).dir(tmp_path / "out")
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert written == ["api/reference.md", "index.md", "my notes.md"]
    assert ("index.md", len(b"# Test\n")) in seen


def test_read_tree_not_modified_makes_no_archive_request(host: FakeScmHost, repo: FakeRepo) -> None:
    readers = make_readers(host)
    with pytest.raises(NotModifiedError) as info:
        readers.read_tree(browse(host, "refs/heads/main/docs"), etag=repo.sha())
    assert info.value.etag == repo.sha()
    assert host.requests_to(r"/branches/main$")
    assert host.requests_to(r"\+archive") == []
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_tree(browse(host, f"{repo.sha()}/docs"), etag=repo.sha())
    assert host.requests == []  # a sha URL needs no request at all


def test_read_tree_with_an_outdated_etag_reads_again(host: FakeScmHost, repo: FakeRepo) -> None:
    old = repo.sha()
    repo.commit({"docs/new.md": "new\n"})
    etag, files = tree_of(make_readers(host), browse(host, "refs/heads/main/docs"), etag=old)
    assert etag == repo.sha() != old
    assert files["new.md"] == b"new\n"


@pytest.mark.parametrize(
    "rest",
    [
        "refs/heads/no-such-branch",
        "refs/tags/no-such-tag/docs",
        "refs/heads/main/no-such-folder",
        "0000000000000000000000000000000000000000",
    ],
)
def test_read_tree_not_found(host: FakeScmHost, rest: str) -> None:
    with pytest.raises(NotFoundError):
        make_readers(host).read_tree(browse(host, rest))


def test_read_tree_of_a_file_is_an_input_error_suggesting_read_url(host: FakeScmHost) -> None:
    with pytest.raises(InputError, match=r"file, not a folder.*read_url"):
        make_readers(host).read_tree(browse(host, "refs/heads/main/README.md"))


def test_read_tree_server_failure_is_an_upstream_error(host: FakeScmHost) -> None:
    host.faults.status(r"\+archive", 503, times=None)
    with pytest.raises(UpstreamError) as info:
        make_readers(host).read_tree(browse(host, "refs/heads/main"))
    assert info.value.status == 503


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "expected"),
    [
        ("**/*", ALL_VISIBLE),
        ("*docs*", ["mkdocs.yml"]),
        ("*/index.*", ["docs/index.md"]),
        ("{M,m}kdocs.yml", ["mkdocs.yml"]),
        ("**/*.md", ["README.md", "docs/api/reference.md", "docs/index.md", "docs/my notes.md"]),
        ("docs/**/*.md", ["docs/api/reference.md", "docs/index.md", "docs/my notes.md"]),
        ("docs/*.md", ["docs/index.md", "docs/my notes.md"]),
        ("docs/api/*", ["docs/api/reference.md"]),
        (".*.yaml", [".hidden.yaml"]),
        ("*.@(yml|sh)", ["mkdocs.yml"]),
        ("nothing/**/*.md", []),
    ],
)
def test_search_with_globs(
    host: FakeScmHost, repo: FakeRepo, glob: str, expected: list[str]
) -> None:
    result = make_readers(host).search(browse(host, f"refs/heads/main/{glob}"))
    assert result.etag == repo.sha()
    base = browse(host, "refs/heads/main")
    by_path = {f.url.removeprefix(base + "/").replace("%20", " "): f for f in result.files}
    assert sorted(by_path) == expected
    for path, file in by_path.items():
        assert file.content() == repo.blob("main", path)


def test_search_lists_only_below_the_static_prefix_and_fetches_only_what_is_read(
    host: FakeScmHost, repo: FakeRepo
) -> None:
    result = make_readers(host).search(browse(host, "refs/heads/main/docs/**/*.md"))
    listings = host.requests_to(r"/\+/")
    assert [(r.path, r.query.get("recursive")) for r in listings] == [
        (f"/plugins/gitiles/web/project/+/{repo.sha()}/docs", "1")
    ]
    assert content_requests(host) == 0
    assert result.files[0].content()
    assert content_requests(host) == 1


def test_search_of_a_tag_uses_the_tag_in_file_urls(host: FakeScmHost) -> None:
    result = make_readers(host).search(browse(host, "refs/tags/v2-annotated/*.yml"))
    assert [f.url for f in result.files] == [browse(host, "refs/tags/v2-annotated/mkdocs.yml")]


def test_search_not_modified_and_missing_branch(host: FakeScmHost, repo: FakeRepo) -> None:
    readers = make_readers(host)
    with pytest.raises(NotModifiedError):
        readers.search(browse(host, "refs/heads/main/**/*.md"), etag=repo.sha())
    assert host.requests_to(r"/\+/") == []
    with pytest.raises(NotFoundError):
        readers.search(browse(host, "refs/heads/nope/**/*.md"))


def test_search_without_a_glob_reads_the_file(host: FakeScmHost, repo: FakeRepo) -> None:
    readers = make_readers(host)
    url = browse(host, "refs/heads/main/mkdocs.yml")
    found = readers.search(url)
    assert [f.url for f in found.files] == [url]
    assert found.files[0].content() == b"site_name: Test\n"
    entry = repo.entry("main", "mkdocs.yml")
    assert entry is not None and found.etag == entry.sha
    missing = readers.search(browse(host, "refs/heads/main/missing.yml"))
    assert (missing.files, missing.etag) == ([], "")


def test_search_with_a_runaway_brace_pattern_is_an_input_error(host: FakeScmHost) -> None:
    with pytest.raises(InvalidUrlError, match="glob"):
        make_readers(host).search(browse(host, "refs/heads/main/{1..100000}{a,b}.md"))


# --- Gitiles on another host ---------------------------------------------------------------


@pytest.fixture
def gitiles(host: FakeScmHost, fake_scm_host_factory: FakeScmHostFactory) -> FakeScmHost:
    other = fake_scm_host_factory("127.0.0.2")
    other.enable("gerrit", gerrit=False, gitiles_path="", repos_from=host)
    return other


def test_gitiles_on_another_host_anonymously(
    host: FakeScmHost, gitiles: FakeScmHost, repo: FakeRepo
) -> None:
    readers = make_readers(host, gitiles=gitiles)
    url = f"{gitiles.base_url}/web/project/+/refs/heads/main/docs"
    etag, files = tree_of(readers, url)
    assert etag == repo.sha()
    assert set(files) == {"index.md", "api/reference.md", "my notes.md"}
    assert readers.read(f"{url}/index.md") == b"# Test\n"
    assert host.requests_to(r"/branches/main$") and gitiles.requests_to(r"\+archive")
    with pytest.raises(NotAllowedError):  # the reader answers for the Gitiles host only
        readers.read(browse(host, "refs/heads/main/README.md"))


def test_gitiles_on_another_host_with_a_password(
    host: FakeScmHost, gitiles: FakeScmHost, repo: FakeRepo
) -> None:
    readers = make_readers(host, gitiles=gitiles, username="robot", password="right-password")
    url = f"{gitiles.base_url}/web/project/+/refs/heads/main/docs"
    with pytest.raises(ConfigError, match="not part of the gitilesBaseUrl"):
        readers.read_tree(url)
    assert host.requests == [] and gitiles.requests == []
    # Files still come from Gerrit; the etag falls back to the commit, Gitiles is not asked.
    response = readers.read_url(f"{url}/index.md")
    assert (response.buffer(), response.etag) == (b"# Test\n", repo.sha())
    with pytest.raises(NotModifiedError):
        readers.read_url(f"{url}/index.md", etag=repo.sha())
    assert gitiles.requests == []
    assert all(r.path.startswith("/a/") for r in host.requests)


# --- the emulation answers like the recorded payloads ----------------------------------------

PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "payloads" / "gerrit"


@pytest.mark.parametrize(
    ("path", "fixture"),
    [
        ("/projects/web%2Fproject/branches/main", "branch-info.txt"),
        ("/projects/web%2Fproject/tags/v1", "tag-info-lightweight.txt"),
        ("/projects/web%2Fproject/tags/v2-annotated", "tag-info-annotated.txt"),
        ("/projects/web%2Fproject/HEAD", "head.txt"),
        ("/plugins/gitiles/web/project/+/refs/heads/main/?format=JSON", "gitiles-tree.txt"),
        ("/plugins/gitiles/web/project/+/main/?format=JSON&recursive=1",
         "gitiles-tree-recursive.txt"),
        ("/plugins/gitiles/web/project/+/refs/heads/main?format=JSON", "gitiles-commit.txt"),
    ],
)  # fmt: skip
def test_emulated_json_has_the_recorded_shape(host: FakeScmHost, path: str, fixture: str) -> None:
    from scmreader.integrations.gerrit import parse_gerrit_json_response

    response = HttpClient().get(host.url(path))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    fake = parse_gerrit_json_response(response)
    real = parse_gerrit_json_response((PAYLOADS / fixture).read_bytes())
    assert type(fake) is type(real)
    if isinstance(real, dict):
        optional = {"web_links", "can_delete", "message", "tagger"}
        assert set(real) - optional <= set(fake) <= set(real)
        if "entries" in real:
            assert {frozenset(e) for e in fake["entries"]} == {frozenset(real["entries"][0])}


def test_emulated_file_content_is_base64_text(host: FakeScmHost) -> None:
    response = HttpClient().get(
        host.url("/projects/web%2Fproject/branches/main/files/README.md/content")
    )
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-FYI-Content-Encoding"] == "base64"
    assert response.content == base64.b64encode(b"# web/project\n")
    assert (PAYLOADS / "file-content-readme.txt").read_bytes() == base64.b64encode(
        b"# web/project\n\nA sample project.\n"
    )
