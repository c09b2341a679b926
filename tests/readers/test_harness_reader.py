"""HarnessUrlReader against the FakeScmHost Harness Code emulation: URLs sent, headers,
errors, not-modified without downloads, glob search walks and request counts."""

from __future__ import annotations

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
from scmreader.readers import UrlReaders
from scmreader.readers._git import folder_may_match as _folder_filter
from scmreader.testing import FakeRequest, FakeResponse, FakeScmHost, FakeScmHostFactory
from scmreader.testing.routes import harness as hr

KEY = "pat.acc1.key.0123456789abcdef"
TOKEN = "bearer-token-for-tests-0123"
FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "docs/index.md": "# Docs\n",
    "docs/api/ref.md": "# Ref\n",
    "docs/api/deep/x.md": "# X\n",
    "src/main.py": "print(1)\n",
    ".github/notes.md": "# hidden\n",
}
REPO = "acc1/org1/proj1/repo1"


def readers(host: FakeScmHost, *, also: tuple[FakeScmHost, ...] = (), **cred: str) -> UrlReaders:
    entry = hr.integration_config(host, **cred)
    return UrlReaders.default(
        {"integrations": {"harness": [entry]}},
        http=hr.http_client(host, also=also, sleep=lambda _: None),
    )


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.add_repo(REPO, FILES)
    state = hr.harness(fake_scm_host)
    state.add_api_key(KEY)
    state.add_token(TOKEN)
    state.make_private(REPO)
    return fake_scm_host


def url(host: FakeScmHost, path: str = "", *, ref: str = "main", repo: str = REPO) -> str:
    return hr.browse_url(host, repo, ref, path)


def api_requests(host: FakeScmHost) -> list[str]:
    """``path?query`` of every request, without the common API prefix."""
    return [
        f"{r.path.removeprefix(hr.API_PREFIX)}?{r.raw_query}".rstrip("?") for r in host.requests
    ]


# --- URLs and credentials ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo", "scope"),
    [
        ("acc1/org1/proj1/repo1", "acc1/org1/proj1/repo1"),
        ("acc1/org1/repo1", "acc1/org1/repo1"),
        ("acc1/repo1", "acc1/repo1"),
    ],
)
def test_read_url_sends_the_raw_api_url(fake_scm_host: FakeScmHost, repo: str, scope: str) -> None:
    fake_scm_host.add_repo(repo, {"a b/c.yaml": "x: 1\n"}, branches={"feature/x": {}})
    reader = readers(fake_scm_host, apiKey=KEY)
    response = reader.read_url(url(fake_scm_host, "a%20b/c.yaml", ref="feature/x", repo=repo))
    assert response.buffer() == b"x: 1\n"
    assert api_requests(fake_scm_host) == [
        f"/{scope}/+/raw/a%20b/c.yaml?routingId=acc1&git_ref=refs/heads/feature/x"
    ]


def test_http_urls_are_read_over_https(host: FakeScmHost) -> None:
    # Only requests sent to https://<host> pass the client's adapter, which marks them.
    plain = url(host, "catalog-info.yaml").replace("https://", "http://", 1)
    response = readers(host, apiKey=KEY).read_url(plain)
    assert response.buffer() == b"kind: Component\n"
    (request,) = host.requests
    assert request.headers.get("X-Forwarded-Proto") == "https"


@pytest.mark.parametrize(
    ("cred", "sent"),
    [
        ({"apiKey": KEY}, {"x-api-key"}),
        ({"token": TOKEN}, {"authorization"}),
        ({"apiKey": KEY, "token": TOKEN}, {"x-api-key"}),
    ],
)
def test_api_key_wins_over_token(host: FakeScmHost, cred: dict[str, str], sent: set[str]) -> None:
    reader = UrlReaders.default(
        {"integrations": {"harness": [hr.integration_config(host, **cred)]}},
        http=hr.http_client(host, sleep=lambda _: None),
    )
    reader.read_url(url(host, "catalog-info.yaml")).buffer()
    list(reader.read_tree(url(host, "docs")).files())
    assert {frozenset(r.auth_headers) for r in host.requests} == {frozenset(sent)}
    last = host.requests[-1].headers
    if "authorization" in sent:
        assert last["Authorization"] == f"Bearer {TOKEN}"
    else:
        assert last["x-api-key"] == KEY and "Authorization" not in last


def test_call_token_replaces_the_configured_key(host: FakeScmHost) -> None:
    readers(host, apiKey="pat.wrong").read_url(url(host, "src/main.py"), token=TOKEN)
    (request,) = host.requests
    assert request.auth_headers == {"authorization"}


def test_repr_says_whether_authed(host: FakeScmHost) -> None:
    assert repr(readers(host, apiKey=KEY).reader_for(url(host, "x"))) == (
        f"harness{{host={host.host},authed=true}}"
    )
    assert "authed=false" in repr(readers(host).reader_for(url(host, "x")))


def test_predicate_is_the_exact_host(host: FakeScmHost) -> None:
    reader = readers(host, apiKey=KEY)
    other = url(host, "x").replace(host.host, f"127.0.0.1:{host.port + 1}")
    assert reader.reader_for(url(host, "x")) is not None
    with pytest.raises(NotAllowedError):
        reader.read_url(other)


# --- errors ------------------------------------------------------------------------------


def test_forbidden_is_an_authentication_error(host: FakeScmHost) -> None:
    hr.harness(host).add_api_key("pat.other", repos=["acc1/elsewhere"])
    reader = readers(host, apiKey="pat.other")
    with pytest.raises(AuthenticationError, match="403") as info:
        reader.read_url(url(host, "catalog-info.yaml"))
    assert "pat.other" not in str(info.value)
    with pytest.raises(AuthenticationError):
        reader.read_tree(url(host))


def test_unknown_key_is_an_authentication_error(host: FakeScmHost) -> None:
    with pytest.raises(AuthenticationError, match="401"):
        readers(host, apiKey="pat.unknown").read_url(url(host, "catalog-info.yaml"))


@pytest.mark.parametrize("call", ["read_url", "read_tree", "search"])
def test_missing_branch_is_not_found(host: FakeScmHost, call: str) -> None:
    reader = readers(host, apiKey=KEY)
    target = url(host, "docs/**/*.md" if call == "search" else "docs/index.md", ref="nope")
    with pytest.raises(NotFoundError):
        getattr(reader, call)(target)


def test_missing_file_and_folder_are_not_found(host: FakeScmHost) -> None:
    reader = readers(host, apiKey=KEY)
    with pytest.raises(NotFoundError):
        reader.read_url(url(host, "docs/nothing.md"))
    with pytest.raises(NotFoundError, match="folder 'nothing'"):
        reader.read_tree(url(host, "nothing"))
    assert not host.requests_to(r"/\+/archive/")


@pytest.mark.parametrize(
    ("target", "call", "message"),
    [
        ("/ng/account/acc1/module/code/repos/repo1", "read_tree", "names no branch"),
        ("/ng/account/acc1/module/code/repos/repo1/files/main/~/", "read_url", "no file path"),
        ("/ng/account/acc1/module/code/orgs/o", "read_url", "not a Harness Code repository"),
    ],
)
def test_unusable_urls(host: FakeScmHost, target: str, call: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        getattr(readers(host, apiKey=KEY), call)(f"https://{host.host}{target}")
    assert host.requests == []


def test_read_tree_of_a_file_is_refused(host: FakeScmHost) -> None:
    with pytest.raises(InvalidUrlError, match="names a file"):
        readers(host, apiKey=KEY).read_tree(url(host, "src/main.py"))


# --- read_url ----------------------------------------------------------------------------


def test_read_url_etag_is_the_blob_id_and_not_modified_is_raised(host: FakeScmHost) -> None:
    reader = readers(host, apiKey=KEY)
    first = reader.read_url(url(host, "docs/index.md"))
    assert first.buffer() == b"# Docs\n"
    assert first.etag == host.repo(REPO).entry("main", "docs/index.md").sha  # type: ignore[union-attr]
    with pytest.raises(NotModifiedError):
        reader.read_url(url(host, "docs/index.md"), etag=first.etag)
    raw = host.requests_to(r"/\+/raw/")
    assert len(raw) == len(host.requests) == 2
    assert raw[1].headers["If-None-Match"] == first.etag


# --- read_tree ---------------------------------------------------------------------------


def test_read_tree_of_a_folder_uses_its_latest_commit(host: FakeScmHost) -> None:
    repo = host.repo(REPO)
    docs_sha = repo.sha("main")
    repo.commit({"src/other.py": "x = 2\n"}, message="touch src only")
    tree = readers(host, apiKey=KEY).read_tree(url(host, "docs"))
    files = {f.path: f.content() for f in tree.files()}
    assert files == {"index.md": b"# Docs\n", "api/ref.md": b"# Ref\n", "api/deep/x.md": b"# X\n"}
    assert tree.etag == docs_sha  # a commit outside docs/ does not change the etag
    assert api_requests(host) == [
        f"/{REPO}/+/content/docs?routingId=acc1&include_commit=true&git_ref=refs/heads/main",
        f"/{REPO}/+/archive/{docs_sha}.zip?routingId=acc1&path=docs",
    ]


def test_read_tree_root_archive_has_no_top_folder(host: FakeScmHost) -> None:
    tree = readers(host, apiKey=KEY).read_tree(url(host))
    assert {f.path for f in tree.files()} == set(FILES)
    assert len(host.requests) == 2
    (archive,) = host.requests_to(r"/\+/archive/")
    assert archive.raw_query == "routingId=acc1"


def test_read_tree_not_modified_downloads_nothing(host: FakeScmHost) -> None:
    reader = readers(host, apiKey=KEY)
    etag = reader.read_tree(url(host, "docs")).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        reader.read_tree(url(host, "docs"), etag=etag)
    assert len(host.requests) == 1
    assert not host.requests_to(r"/\+/archive/")


# --- search ------------------------------------------------------------------------------


def test_glob_search_lists_only_folders_the_glob_can_match(host: FakeScmHost) -> None:
    reader = readers(host, apiKey=KEY)
    result = reader.search(url(host, "docs/*/*.md"))
    assert [f.url for f in result.files] == [url(host, "docs/api/ref.md")]
    assert result.etag == host.repo(REPO).sha("main")
    sha = result.etag
    # The prefix lookup (which also lists docs/), then docs/api only: not docs/api/deep.
    assert api_requests(host) == [
        f"/{REPO}/+/content/docs?routingId=acc1&include_commit=true&git_ref=refs/heads/main",
        f"/{REPO}/+/content/docs/api?routingId=acc1&include_commit=false&git_ref={sha}",
    ]
    assert result.files[0].content() == b"# Ref\n"
    assert api_requests(host)[-1] == f"/{REPO}/+/raw/docs/api/ref.md?routingId=acc1&git_ref={sha}"


def test_globstar_search_skips_dot_folders(host: FakeScmHost) -> None:
    result = readers(host, apiKey=KEY).search(url(host, "**/*.md"))
    assert sorted(f.url for f in result.files) == sorted(
        url(host, p) for p in ("docs/index.md", "docs/api/ref.md", "docs/api/deep/x.md")
    )
    listed = [r.path.split("/+/content", 1)[1] for r in host.requests_to(r"/\+/content")]
    assert listed == ["", "/docs", "/src", "/docs/api", "/docs/api/deep"]
    assert not host.requests_to(r"/\+/(raw|archive)/")  # contents load lazily


def test_glob_search_into_dot_folder_when_asked(host: FakeScmHost) -> None:
    result = readers(host, apiKey=KEY).search(url(host, "**/.github/*.md"))
    assert [f.url for f in result.files] == [url(host, ".github/notes.md")]


def test_glob_search_not_modified_after_one_request(host: FakeScmHost) -> None:
    reader = readers(host, apiKey=KEY)
    etag = reader.search(url(host, "**/*.md")).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        reader.search(url(host, "**/*.md"), etag=etag)
    assert len(host.requests) == 1


def test_glob_search_missing_prefix_is_empty(host: FakeScmHost) -> None:
    result = readers(host, apiKey=KEY).search(url(host, "nothing/**/*.md"))
    assert (result.files, result.etag) == ([], "")
    assert len(host.requests) == 2  # the prefix, then the root to tell folder from branch


def test_exact_search_and_miss(host: FakeScmHost) -> None:
    reader = readers(host, apiKey=KEY)
    exact = reader.search(url(host, "src/main.py"))
    assert [(f.url, f.content()) for f in exact.files] == [
        (url(host, "src/main.py"), b"print(1)\n")
    ]
    assert exact.etag
    miss = reader.search(url(host, "src/none.py"))
    assert (miss.files, miss.etag) == ([], "")
    assert len(host.requests) == 2


def test_listing_entry_outside_its_folder_is_refused(host: FakeScmHost) -> None:
    sha = host.repo(REPO).sha("main")

    def hostile(request: FakeRequest) -> FakeResponse:
        entry = {"type": "file", "sha": "0" * 40, "name": "x", "path": "../../etc/passwd"}
        body: dict[str, Any] = {"type": "dir", "sha": "1" * 40, "name": "docs", "path": "docs"}
        body.update(latest_commit={"sha": sha}, content={"entries": [entry]})
        return FakeResponse.json(body)

    host.route("GET", r".*/\+/content/docs", hostile)
    with pytest.raises(UpstreamError, match="outside the folder"):
        readers(host, apiKey=KEY).search(url(host, "docs/*.md"))


@pytest.mark.parametrize(
    ("pattern", "folder", "expected"),
    [
        ("docs/*/*.md", "docs/api", True),
        ("docs/*/*.md", "docs/api/deep", False),
        ("docs/*/*.md", "src", False),
        ("*.md", "docs", False),
        ("**/*.md", "a/b/c", True),
        ("**/*.md", "a/.hidden", False),
        ("**/.github/*.md", "a/.github", True),
        (".github/**", ".github/workflows", True),
        ("docs/**/x.md", "src/deep", False),
        ("docs/**/x.md", "docs/a/b", True),
        ("{docs,src}/*.md", "anything/at/all", True),
        ("*/a.md", ".hidden", False),
    ],
)
def test_folder_filter(pattern: str, folder: str, expected: bool) -> None:
    assert _folder_filter(pattern)(folder) is expected


# --- redirects ---------------------------------------------------------------------------


def test_api_key_never_follows_a_redirect_to_another_origin(
    host: FakeScmHost, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    other = fake_scm_host_factory("127.0.0.2")
    other.serve_file("/blobs/index.md", "# Elsewhere\n", etag='"e1"')
    target = f"https://{other.host}/blobs/index.md"
    host.route("GET", r".*/\+/raw/docs/index\.md", lambda request: FakeResponse.redirect(target))
    reader = readers(host, also=(other,), apiKey=KEY)
    assert reader.read_url(url(host, "docs/index.md")).buffer() == b"# Elsewhere\n"
    assert [r.auth_headers for r in host.requests] == [frozenset({"x-api-key"})]
    (hop,) = other.requests
    assert hop.auth_headers == frozenset()
    assert "x-api-key" not in hop.headers and "Authorization" not in hop.headers


def test_api_redirect_to_another_origin_is_refused(
    host: FakeScmHost, fake_scm_host_factory: FakeScmHostFactory
) -> None:
    other = fake_scm_host_factory("127.0.0.2")
    host.route(
        "GET",
        r".*/\+/content",
        lambda request: FakeResponse.redirect(f"https://{other.host}/steal"),
    )
    with pytest.raises(NotAllowedError, match="another host"):
        readers(host, also=(other,), apiKey=KEY).read_tree(url(host))
    assert other.requests == []
