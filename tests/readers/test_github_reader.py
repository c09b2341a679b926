"""GithubUrlReader end to end through FakeScmHost's GitHub emulation (urlreader spec §2.1).

Request counts asserted here (warm caches, one repository):
read_url = 1 request; read_tree = 3 (commit lookup, tarball 302, codeload) and 1 when the
tree is unchanged; search = 2 (commit lookup, recursive tree) + 1 per file content read,
and 1 when unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from scmreader.errors import (
    ConfigError,
    InputError,
    InvalidUrlError,
    NotFoundError,
    NotModifiedError,
    RateLimitedError,
)
from scmreader.http import HttpClient
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.github import GithubIntegration, SingleInstanceGithubCredentialsProvider
from scmreader.readers import UrlReaders
from scmreader.readers.github import GithubUrlReader
from scmreader.readers.tree import TreeResponseFactory
from scmreader.testing import FakeRepo, FakeScmHost
from scmreader.testing.routes.github import github, integration_config

FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "mkdocs.yml": "site_name: Test\n",
    "docs/index.md": "# Test\n",
    "docs/guide/catalog-info.yaml": "kind: Location\n",
    ".github/workflows/ci.yaml": "on: push\n",
    "services/api/catalog-info.yaml": "kind: API\n",
    "services/.hidden/catalog-info.yaml": "kind: Hidden\n",
}
FEATURE = {"docs/index.md": "# Feature\n", "docs/extra.md": "extra\n"}
TOKEN = "ghp_configured_token_0001"


def add_docs(host: FakeScmHost) -> FakeRepo:
    return host.add_repo("octo/docs", FILES, branches={"feature/x": FEATURE}, tags={"v1": "main"})


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("github")
    add_docs(fake_scm_host)
    return fake_scm_host


def readers_for(host: FakeScmHost, **entry: Any) -> UrlReaders:
    config = {"integrations": {"github": [integration_config(host, **entry)]}}
    return UrlReaders.default(config, http=HttpClient(sleep=lambda s: None))


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return readers_for(host, token=TOKEN)


def paths(host: FakeScmHost) -> list[str]:
    return [
        f"{r.method} {r.path}" + (f"?{r.raw_query}" if r.raw_query else "") for r in host.requests
    ]


def url(host: FakeScmHost, rest: str) -> str:
    return f"{host.base_url}/octo/docs/{rest}"


# --- read_url ------------------------------------------------------------------------


def test_read_url_uses_the_contents_api_with_a_token(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    response = readers.read_url(url(host, "blob/main/catalog-info.yaml"))
    assert response.buffer() == b"kind: Component\n"
    assert response.etag == f'"{host.repo("octo/docs").entry("main", "catalog-info.yaml").sha}"'  # type: ignore[union-attr]
    assert response.last_modified_at == datetime(2024, 1, 1, tzinfo=UTC)
    [request] = host.requests
    assert request.path == "/api/v3/repos/octo/docs/contents/catalog-info.yaml"
    assert request.query == {"ref": "main"}
    assert request.headers["Accept"] == "application/vnd.github.v3.raw"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_file_over_1_mb_comes_whole_though_the_json_contents_answer_omits_it(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    big = bytes(range(256)) * 6000  # 1.5 MB: the JSON answer inlines only up to 1 MB
    host.add_repo("octo/big", {"data.bin": big})
    api = f"{host.base_url}/api/v3/repos/octo/big/contents/data.bin"
    answer = requests.get(api, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    assert (answer["encoding"], answer["content"], answer["size"]) == ("none", "", len(big))
    response = readers.read_url(f"{host.base_url}/octo/big/blob/main/data.bin")
    assert response.buffer() == big
    assert response.etag == f'"{answer["sha"]}"'


def test_read_url_uses_the_raw_host_without_a_token(host: FakeScmHost) -> None:
    response = readers_for(host).read_url(url(host, "blob/main/docs/index.md"))
    assert response.buffer() == b"# Test\n"
    assert response.etag
    raw, version = host.requests  # the raw host documents no ETag: the version is looked up
    assert raw.path == "/raw/octo/docs/main/docs/index.md"
    assert raw.auth_headers == frozenset()
    assert version.path == "/api/v3/repos/octo/docs/contents/docs/index.md"


def test_read_url_runtime_token_overrides_the_configured_one(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    readers.read_url(url(host, "blob/main/mkdocs.yml"), token="user-oauth-token-9").buffer()
    assert host.requests[0].headers["Authorization"] == "Bearer user-oauth-token-9"
    # A runtime token also switches an anonymous integration to the API.
    readers_for(host).read_url(url(host, "raw/main/mkdocs.yml"), token="user-oauth-token-9")
    assert host.requests[-1].path.startswith("/api/v3/repos/octo/docs/contents/")


@pytest.mark.parametrize("token", [TOKEN, None])
def test_read_url_not_modified_by_etag_and_by_date(host: FakeScmHost, token: str | None) -> None:
    readers = readers_for(host, **({"token": token} if token else {}))
    target = url(host, "blob/main/catalog-info.yaml")
    etag = readers.read_url(target).etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(target, etag=etag)
    assert host.requests[0].headers["If-None-Match"] == etag
    if token:  # the raw host, like raw.githubusercontent.com, only knows ETags
        with pytest.raises(NotModifiedError):
            readers.read_url(target, last_modified_after=datetime(2030, 1, 1, tzinfo=UTC))
        assert readers.read_url(target, last_modified_after=datetime(2020, 1, 1, tzinfo=UTC))
    assert readers.read_url(target, etag='"outdated"').buffer() == b"kind: Component\n"


def test_a_raw_host_without_etags_still_gives_not_modified(host: FakeScmHost) -> None:
    # the fake's default raw host is a plain file server (no ETag, no 304): none is documented
    readers = readers_for(host)
    target = url(host, "blob/main/catalog-info.yaml")
    first = readers.read_url(target)
    assert first.buffer() == b"kind: Component\n"
    blob = host.repo("octo/docs").entry("main", "catalog-info.yaml").sha  # type: ignore[union-attr]
    assert first.etag == blob  # the file's version, from the contents API
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(target, etag=first.etag)
    raw, contents = host.requests
    assert raw.headers["If-None-Match"] == blob and raw.path.startswith("/raw/")
    assert contents.path.endswith("/contents/catalog-info.yaml")
    changed = readers.read_url(target, etag="0" * 40)
    assert changed.buffer() == b"kind: Component\n" and changed.etag == blob


def test_a_raw_host_that_sends_etags_answers_304(host: FakeScmHost) -> None:
    github(host).raw_etag = True  # as raw.githubusercontent.com is seen to behave
    readers = readers_for(host)
    target = url(host, "blob/main/catalog-info.yaml")
    first = readers.read_url(target)
    assert first.buffer() == b"kind: Component\n" and str(first.etag).startswith('"')
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(target, etag=first.etag)
    assert [(r.path.split("/")[1], r.headers.get("If-None-Match")) for r in host.requests] == [
        ("raw", first.etag)
    ]


@pytest.mark.parametrize("token", [TOKEN, None])
def test_read_url_missing_file_is_not_found(host: FakeScmHost, token: str | None) -> None:
    readers = readers_for(host, **({"token": token} if token else {}))
    with pytest.raises(NotFoundError) as info:
        readers.read_url(url(host, "blob/main/missing.yaml"))
    assert "missing.yaml" in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    "rest",
    ["edit/main/catalog-info.yaml", "blob/main", "blob/main/%2e%2e%2fother/secret"],
)
def test_read_url_rejects_other_url_shapes(
    readers: UrlReaders, host: FakeScmHost, rest: str
) -> None:
    with pytest.raises(InvalidUrlError, match="Incorrect URL"):
        readers.read_url(url(host, rest))
    assert host.requests == []


def test_read_url_on_a_branch_with_a_slash(host: FakeScmHost, readers: UrlReaders) -> None:
    target = url(host, "blob/feature/x/docs/index.md")
    assert readers.read_url(target).buffer() == b"# Feature\n"
    assert paths(host) == [
        "GET /api/v3/repos/octo/docs/contents/x/docs/index.md?ref=feature",
        "GET /api/v3/repos/octo/docs/git/matching-refs/heads/feature",
        "GET /api/v3/repos/octo/docs/git/matching-refs/tags/feature",
        "GET /api/v3/repos/octo/docs/contents/docs/index.md?ref=feature/x",
    ]
    host.clear_requests()
    assert readers.read_url(url(host, "blob/feature/x/docs/extra.md")).buffer() == b"extra\n"
    assert len(host.requests) == 1  # the refs are cached for the repository


def test_raw_reads_of_a_slash_branch_need_no_lookup(host: FakeScmHost) -> None:
    github(host).raw_etag = True  # the raw host's ETag is the file's etag
    response = readers_for(host).read_url(url(host, "blob/feature/x/docs/index.md"))
    assert response.buffer() == b"# Feature\n"
    assert len(host.requests) == 1


def test_a_slash_branch_without_raw_etags_gets_the_version_of_the_right_file(
    host: FakeScmHost,
) -> None:
    # the raw host takes 'feature/x/docs/index.md' whole; the contents API needs the ref
    # split right, so the version lookup is what resolves the branch name
    response = readers_for(host).read_url(url(host, "blob/feature/x/docs/index.md"))
    assert response.buffer() == b"# Feature\n"
    entry = host.repo("octo/docs").entry("feature/x", "docs/index.md")
    assert entry is not None and response.etag == entry.sha


# --- read_tree -----------------------------------------------------------------------


def test_read_tree_of_the_root(host: FakeScmHost, readers: UrlReaders) -> None:
    tree = readers.read_tree(url(host, "tree/main"))
    assert tree.etag == host.repo("octo/docs").sha("main")
    assert {f.path: f.content().decode() for f in tree.files()} == FILES
    assert paths(host) == [
        "GET /api/v3/repos/octo/docs/commits/main",
        f"GET /api/v3/repos/octo/docs/tarball/{tree.etag}",
        f"GET /_codeload/octo/docs/legacy.tar.gz/{tree.etag}",
    ]


def test_read_tree_of_a_subfolder_on_a_slash_branch(host: FakeScmHost, readers: UrlReaders) -> None:
    tree = readers.read_tree(url(host, "tree/feature/x/docs"))
    assert tree.etag == host.repo("octo/docs").sha("feature/x")
    assert {f.path: f.content() for f in tree.files()} == {
        "index.md": b"# Feature\n",
        "extra.md": b"extra\n",
        "guide/catalog-info.yaml": b"kind: Location\n",
    }
    assert "GET /api/v3/repos/octo/docs/commits/feature%2Fx" in paths(host)


def test_read_tree_filter_and_dir(host: FakeScmHost, readers: UrlReaders, tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []

    def only_yaml(path: str, info: Any) -> bool:
        seen.append((path, info.size))
        return path.endswith(".yaml")

    tree = readers.read_tree(url(host, "tree/main/services"), filter=only_yaml)
    out = tree.dir(tmp_path / "out")
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [".hidden/catalog-info.yaml", "api/catalog-info.yaml"]
    assert ("api/catalog-info.yaml", len("kind: API\n")) in seen


def test_read_tree_unchanged_costs_one_small_request(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    sha = host.repo("octo/docs").sha("main")
    with pytest.raises(NotModifiedError) as info:
        readers.read_tree(url(host, "tree/main/docs"), etag=sha)
    assert info.value.etag == sha
    [request] = host.requests
    assert request.path == "/api/v3/repos/octo/docs/commits/main"
    assert request.headers["If-None-Match"] == f'"{sha}"'
    assert request.headers["Accept"] == "application/vnd.github.sha"
    assert not host.requests_to("tarball|codeload")


def test_read_tree_with_an_outdated_etag_reads(host: FakeScmHost, readers: UrlReaders) -> None:
    old = host.repo("octo/docs").sha("main")
    host.repo("octo/docs").commit({"docs/new.md": "new\n"})
    tree = readers.read_tree(url(host, "tree/main/docs"), etag=old)
    assert tree.etag != old
    assert "new.md" in {f.path for f in tree.files()}


def test_read_tree_detects_the_default_branch(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.enable("github")
    fake_scm_host.add_repo("octo/trunky", {"a.txt": "on trunk\n"}, default_branch="trunk")
    readers = readers_for(fake_scm_host)
    tree = readers.read_tree(f"{fake_scm_host.base_url}/octo/trunky")
    assert [(f.path, f.content()) for f in tree.files()] == [("a.txt", b"on trunk\n")]
    assert paths(fake_scm_host)[:2] == [
        "GET /api/v3/repos/octo/trunky",
        "GET /api/v3/repos/octo/trunky/commits/trunk",
    ]


def test_read_tree_missing_branch_is_not_found(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        readers.read_tree(url(host, "tree/nope"))
    with pytest.raises(NotFoundError):
        readers_for(host).read_tree(f"{host.base_url}/octo/missing-repo/tree/main")
    assert not host.requests_to("tarball|codeload")


def test_read_tree_needs_an_api_base_url(host: FakeScmHost) -> None:
    entry = integration_config(host)
    del entry["apiBaseUrl"]
    readers = UrlReaders.default({"integrations": {"github": [entry]}})
    with pytest.raises(ConfigError, match="apiBaseUrl") as info:
        readers.read_tree(url(host, "tree/main"))
    assert info.value.key_path == "integrations.github[0]"


def test_reader_needs_an_api_or_raw_base_url() -> None:
    with pytest.raises(ConfigError, match="explicit apiBaseUrl or rawBaseUrl"):
        UrlReaders.default({"integrations": {"github": [{"host": "ghe.example.net"}]}})


def test_reader_repr_and_routing(host: FakeScmHost, readers: UrlReaders) -> None:
    reader = readers.reader_for(url(host, "blob/main/x"))
    assert repr(reader) == f"github{{host={host.host},authed=true}}"
    assert (
        repr(readers.reader_for("https://github.com/a/b")) == "github{host=github.com,authed=false}"
    )


# --- search --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (
            "**/catalog-info.yaml",
            ["catalog-info.yaml", "docs/guide/catalog-info.yaml", "services/api/catalog-info.yaml"],
        ),
        ("*docs*", ["mkdocs.yml"]),
        ("*/index.*", ["docs/index.md"]),
        ("{M,m}kdocs.yml", ["mkdocs.yml"]),
        ("docs/{index.md,guide/*.yaml}", ["docs/guide/catalog-info.yaml", "docs/index.md"]),
        (
            "**/*.yaml",
            ["catalog-info.yaml", "docs/guide/catalog-info.yaml", "services/api/catalog-info.yaml"],
        ),
        (".github/**/*.yaml", [".github/workflows/ci.yaml"]),
        ("services/.*/*", ["services/.hidden/catalog-info.yaml"]),
        (
            "**/*",
            [
                "catalog-info.yaml",
                "docs/guide/catalog-info.yaml",
                "docs/index.md",
                "mkdocs.yml",
                "services/api/catalog-info.yaml",
            ],
        ),
        ("**/*.md", ["docs/index.md"]),
        ("**/CATALOG-INFO.yaml", []),
    ],
)
def test_search_follows_minimatch(
    host: FakeScmHost, readers: UrlReaders, pattern: str, expected: list[str]
) -> None:
    result = readers.search(url(host, f"tree/main/{pattern}"))
    assert result.etag == host.repo("octo/docs").sha("main")
    prefix = url(host, "tree/main/")
    assert sorted(f.url.removeprefix(prefix) for f in result.files) == expected
    for f in result.files:
        assert f.content() == FILES[f.url.removeprefix(prefix)].encode()


def test_search_reads_contents_lazily(host: FakeScmHost, readers: UrlReaders) -> None:
    result = readers.search(url(host, "tree/main/**/catalog-info.yaml"))
    sha = result.etag
    assert paths(host) == [
        "GET /api/v3/repos/octo/docs/commits/main",
        f"GET /api/v3/repos/octo/docs/git/trees/{sha}?recursive=true",
    ]
    assert result.files[0].content() == b"kind: Component\n"
    [content] = host.requests_to("/contents/")
    assert content.query == {"ref": sha}  # pinned to the listed commit


def test_search_on_a_slash_branch(host: FakeScmHost, readers: UrlReaders) -> None:
    result = readers.search(url(host, "blob/feature/x/docs/*.md"))
    assert sorted(f.url for f in result.files) == [
        url(host, "blob/feature/x/docs/extra.md"),
        url(host, "blob/feature/x/docs/index.md"),
    ]
    assert result.etag == host.repo("octo/docs").sha("feature/x")


def test_search_without_glob_reads_one_file(host: FakeScmHost, readers: UrlReaders) -> None:
    target = url(host, "blob/main/mkdocs.yml")
    result = readers.search(target)
    assert [(f.url, f.content()) for f in result.files] == [(target, b"site_name: Test\n")]
    assert result.etag
    missing = readers.search(url(host, "blob/main/nothing.yml"))
    assert (missing.files, missing.etag) == ([], "")


def test_search_unchanged_costs_one_request(host: FakeScmHost, readers: UrlReaders) -> None:
    sha = host.repo("octo/docs").sha("main")
    with pytest.raises(NotModifiedError):
        readers.search(url(host, "tree/main/**/*.yaml"), etag=sha)
    assert len(host.requests) == 1
    assert readers.search(url(host, "tree/main/**/*.yaml"), etag="0" * 40).etag == sha


def test_search_missing_branch_is_not_found(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError):
        readers.search(url(host, "tree/nope/**/*.yaml"))


@pytest.fixture
def big(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.enable("github", tree_limit=3)
    add_docs(fake_scm_host)
    return fake_scm_host


def test_truncated_listing_narrows_to_the_static_prefix(big: FakeScmHost) -> None:
    repo = big.repo("octo/docs")
    result = readers_for(big, token=TOKEN).search(url(big, "tree/main/services/api/*.yaml"))
    assert [f.content() for f in result.files] == [b"kind: API\n"]
    trees = [r.path.rsplit("/", 1)[-1] for r in big.requests_to("/git/trees/")]
    services = repo.entry("main", "services")
    api = repo.entry("main", "services/api")
    assert services is not None and api is not None
    # root (recursive, truncated), root, services, then services/api recursively
    assert trees == [repo.sha("main"), repo.entry("main", "").sha, services.sha, api.sha]  # type: ignore[union-attr]
    assert not big.requests_to("tarball|codeload")


def test_truncated_listing_without_prefix_walks_and_prunes(big: FakeScmHost) -> None:
    repo = big.repo("octo/docs")
    result = readers_for(big, token=TOKEN).search(url(big, "tree/main/*/api/*.yaml"))
    assert [f.url.rsplit("/main/", 1)[1] for f in result.files] == [
        "services/api/catalog-info.yaml"
    ]
    listed = {r.path.rsplit("/", 1)[-1] for r in big.requests_to("/git/trees/")}
    guide = repo.entry("main", "docs/guide")
    assert guide is not None and guide.sha not in listed  # docs/guide cannot hold */api/*
    everything = readers_for(big, token=TOKEN).search(url(big, "tree/main/**/catalog-info.yaml"))
    assert len(everything.files) == 3
    assert not big.requests_to("tarball|codeload")


def test_request_counts(host: FakeScmHost, readers: UrlReaders) -> None:
    """The figures in the module docstring, measured in one place."""

    def count(action: Callable[[], object]) -> int:
        host.clear_requests()
        try:
            action()
        except NotModifiedError:
            pass
        return len(host.requests)

    sha = host.repo("octo/docs").sha("main")
    read_url = count(lambda: readers.read_url(url(host, "blob/main/mkdocs.yml")).buffer())
    read_tree = count(lambda: list(readers.read_tree(url(host, "tree/main/docs")).files()))
    unchanged_tree = count(lambda: readers.read_tree(url(host, "tree/main/docs"), etag=sha))
    found: list[Any] = []
    search = count(lambda: found.extend(readers.search(url(host, "tree/main/**/*.yaml")).files))
    contents = count(lambda: [f.content() for f in found])
    unchanged_search = count(lambda: readers.search(url(host, "tree/main/**/*.yaml"), etag=sha))
    assert (read_url, read_tree, unchanged_tree) == (1, 3, 1)
    assert (search, contents, unchanged_search) == (2, len(found), 1)
    assert len(found) == 3


def test_truncated_walk_has_a_request_budget(big: FakeScmHost) -> None:
    integrations = ScmIntegrations.from_config(
        {"integrations": {"github": [integration_config(big, token=TOKEN)]}}
    )
    integration = integrations.github.by_host(big.host)
    assert isinstance(integration, GithubIntegration)
    http = HttpClient()
    reader = GithubUrlReader(
        integration,
        http=http,
        tree=TreeResponseFactory(),
        credentials_provider=SingleInstanceGithubCredentialsProvider(integration.config),
        max_tree_requests=2,
    )
    with pytest.raises(InputError, match="longer fixed folder prefix"):
        reader.search(url(big, "tree/main/**/catalog-info.yaml"))
    assert len(big.requests_to("/git/trees/")) == 3  # the recursive listing plus the budget


def test_search_of_a_raw_url_without_glob(host: FakeScmHost, readers: UrlReaders) -> None:
    result = readers.search(url(host, "raw/main/docs/index.md"))
    assert [f.content() for f in result.files] == [b"# Test\n"]


# --- rate limits, retries, redirects -------------------------------------------------


def test_exhausted_rate_limit_raises_with_the_reset_time(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    reset = int(time.time()) + 3600
    github(host).set_rate_limit(0, reset=reset)
    target = url(host, "blob/main/catalog-info.yaml")
    with pytest.raises(RateLimitedError) as info:
        readers.read_url(target)
    message = str(info.value)
    # The shared HttpClient recognised the limit (its wording names the API answer) ...
    assert "/contents/catalog-info.yaml?ref=main answered 403: rate limit exceeded" in message
    # ... and the reader added the URL being read and GitHub's own advice.
    assert message.startswith(f"{target} could not be read: ")
    assert message.endswith(
        "GitHub gives a GitHub App installation "
        "(integrations.github[].apps) a higher limit than a personal token."
    )
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert info.value.status == 403
    assert info.value.url is not None and "/api/v3/repos/octo/docs/contents/" in info.value.url
    assert len(host.requests) == 1  # the reset is too far away to wait for


def test_rate_limit_on_an_api_lookup_keeps_the_hint(host: FakeScmHost, readers: UrlReaders) -> None:
    github(host).set_rate_limit(0, reset=int(time.time()) + 3600)
    with pytest.raises(RateLimitedError, match=r"commits/main answered 403.*GitHub App"):
        readers.read_tree(url(host, "tree/main/docs"))


def test_transient_failures_are_retried_by_the_shared_client(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    host.faults.statuses(r"/contents/", [502, 503])
    host.faults.status(r"/commits/", 429, headers={"Retry-After": "1"})
    assert readers.read_url(url(host, "blob/main/mkdocs.yml")).buffer() == b"site_name: Test\n"
    assert len(host.requests_to("/contents/")) == 3
    assert readers.read_tree(url(host, "tree/main/docs")).etag
    assert len(host.requests_to("/commits/")) == 2


def test_token_goes_only_to_the_api_host_never_to_codeload(
    fake_scm_host_factory: Callable[..., FakeScmHost],
) -> None:
    codeload = fake_scm_host_factory(bind="127.0.0.2")
    api_host = fake_scm_host_factory()
    api_host.enable("github", codeload=codeload)
    add_docs(api_host)
    tree = readers_for(api_host, token=TOKEN).read_tree(url(api_host, "tree/main/docs"))
    assert sorted(f.path for f in tree.files()) == ["guide/catalog-info.yaml", "index.md"]
    [download] = codeload.requests
    assert download.path.startswith("/octo/docs/legacy.tar.gz/")
    assert download.auth_headers == frozenset()
    assert all(TOKEN not in v for _, v in download.headers.pairs())
    assert all(r.auth_headers == {"authorization"} for r in api_host.requests)


# --- GitHub Apps ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def app_entry(host: FakeScmHost, private_key: str, **extra: Any) -> dict[str, Any]:
    app = {"appId": 7, "clientId": "Iv1.7", "clientSecret": "secret-7", "privateKey": private_key}
    return integration_config(host, apps=[{**app, **extra}])


@pytest.fixture
def app_host(host: FakeScmHost, rsa_key: tuple[str, str]) -> FakeScmHost:
    state = github(host)
    state.add_app(7, rsa_key[1])
    state.add_installation(7, "octo")
    state.make_private("octo/docs")
    host.add_repo("other/public", {"README.md": "# public\n"})
    return host


def test_app_token_is_used_and_reused(app_host: FakeScmHost, rsa_key: tuple[str, str]) -> None:
    readers = UrlReaders.default({"integrations": {"github": [app_entry(app_host, rsa_key[0])]}})
    for _ in range(2):
        assert readers.read(url(app_host, "blob/main/mkdocs.yml")) == b"site_name: Test\n"
    assert len(app_host.requests_to("/access_tokens", "POST")) == 1
    assert len(app_host.requests_to("/app/installations$")) == 1
    [token] = github(app_host).issued_tokens()
    contents = app_host.requests_to("/contents/")
    assert [r.headers["Authorization"] for r in contents] == [f"Bearer {token}"] * 2
    tree = readers.read_tree(url(app_host, "tree/main/docs"))
    assert len(list(tree.files())) == 2
    assert all(not r.auth_headers for r in app_host.requests_to("/_codeload/"))


def test_app_token_is_refreshed_after_expiry(
    app_host: FakeScmHost, rsa_key: tuple[str, str]
) -> None:
    now = [time.time()]
    integrations = ScmIntegrations.from_config(
        {"integrations": {"github": [app_entry(app_host, rsa_key[0])]}}
    )
    integration = integrations.github.by_host(app_host.host)
    assert isinstance(integration, GithubIntegration)
    http = HttpClient()
    provider = SingleInstanceGithubCredentialsProvider(
        integration.config, http=http, clock=lambda: now[0]
    )
    reader = GithubUrlReader(
        integration, http=http, tree=TreeResponseFactory(), credentials_provider=provider
    )
    target = url(app_host, "blob/main/catalog-info.yaml")
    reader.read(target)
    now[0] += timedelta(minutes=51).total_seconds()
    reader.read(target)
    first, second = github(app_host).issued_tokens()
    contents = app_host.requests_to("/contents/")
    assert [r.headers["Authorization"] for r in contents] == [f"Bearer {first}", f"Bearer {second}"]


def test_owner_not_allowed_reads_anonymously(
    app_host: FakeScmHost, rsa_key: tuple[str, str]
) -> None:
    entry = app_entry(app_host, rsa_key[0], allowedInstallationOwners=["someone-else"])
    readers = UrlReaders.default({"integrations": {"github": [entry]}})
    with pytest.raises(NotFoundError):
        readers.read(url(app_host, "blob/main/mkdocs.yml"))  # private: invisible anonymously
    public = f"{app_host.base_url}/other/public/blob/main/README.md"
    assert readers.read(public) == b"# public\n"
    assert not app_host.requests_to("/access_tokens")
    assert all(not r.auth_headers for r in app_host.requests)


def test_selected_repositories_limit_the_app(
    app_host: FakeScmHost, rsa_key: tuple[str, str]
) -> None:
    state = github(app_host)
    state.add_app(8, rsa_key[1])
    state.add_installation(8, "other", repositories=["public"])
    entry = integration_config(
        app_host,
        apps=[{"appId": 8, "clientId": "Iv1.8", "clientSecret": "s-8", "privateKey": rsa_key[0]}],
    )
    readers = UrlReaders.default({"integrations": {"github": [entry]}})
    assert readers.read(f"{app_host.base_url}/other/public/blob/main/README.md") == b"# public\n"
    app_host.add_repo("other/closed", {"x": "y"})
    from scmreader.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError, match="'closed'"):
        readers.read(f"{app_host.base_url}/other/closed/blob/main/x")
