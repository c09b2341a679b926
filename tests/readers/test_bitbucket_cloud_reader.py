"""BitbucketCloudUrlReader against the FakeScmHost emulation of bitbucket.org.

The fake answers for ``bitbucket.org`` and ``api.bitbucket.org`` through the client that
``routes.bitbucket_cloud.http_client`` builds, so every request below is counted on it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scmreader.errors import (
    AuthenticationError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
)
from scmreader.integrations import ScmIntegrations
from scmreader.readers import UrlReaders
from scmreader.readers.bitbucket_cloud import BitbucketCloudUrlReader
from scmreader.readers.tree import TreeResponseFactory
from scmreader.testing import FakeResponse, FakeScmHost
from scmreader.testing.routes import bitbucket_cloud as bb

REPO = "acme/widgets"
FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "docs/index.md": "# Docs\n",
    "docs/a b/space.md": "spaced\n",
    "docs/deep/er/x.md": "deep\n",
    "src/app.py": "print('hi')\n",
}
WEB = f"https://bitbucket.org/{REPO}"
API_PATH = f"/2.0/repositories/{REPO}"


def readers_for(host: FakeScmHost, **entry: Any) -> UrlReaders:
    config = {"integrations": {"bitbucketCloud": [bb.integration_config(host, **entry)]}}
    return UrlReaders.default(config, http=bb.http_client(host, sleep=lambda _: None))


def paths(host: FakeScmHost) -> list[str]:
    return [r.path + (f"?{r.raw_query}" if r.raw_query else "") for r in host.requests]


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.add_repo(REPO, FILES)
    # These tests pin request shapes with src answers that carry ETag/Last-Modified, as
    # Bitbucket is seen to send; the documented default (neither) has its own test below.
    bb.bitbucket(fake_scm_host).src_validators = True
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return readers_for(host)


# --- read_url --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "api_path", "content"),
    [
        (f"{WEB}/src/main/catalog-info.yaml", f"{API_PATH}/src/main/catalog-info.yaml", "kind"),
        (f"{WEB}/raw/main/docs/index.md", f"{API_PATH}/src/main/docs/index.md", "# Docs"),
        (f"{WEB}/src/main/docs/a%20b/space.md", f"{API_PATH}/src/main/docs/a%20b/space.md", "sp"),
        (f"{WEB}/src/main/docs/index.md?at=main", f"{API_PATH}/src/main/docs/index.md", "# D"),
    ],
)
def test_read_url_translates_browse_urls_to_the_src_api(
    host: FakeScmHost, readers: UrlReaders, url: str, api_path: str, content: str
) -> None:
    assert readers.read_url(url).buffer().decode().startswith(content)
    assert paths(host) == [api_path]
    assert host.requests[0].headers["Host"] == "api.bitbucket.org"


@pytest.mark.parametrize(
    "url",
    [
        f"{WEB}",  # no branch, no path
        f"{WEB}/commits/main",  # not a file URL
        "https://bitbucket.org/acme",  # no repository
    ],
)
def test_read_url_rejects_other_url_shapes(readers: UrlReaders, url: str) -> None:
    with pytest.raises(InvalidUrlError):
        readers.read_url(url)


def test_read_url_not_modified_by_etag_and_by_date(readers: UrlReaders) -> None:
    url = f"{WEB}/src/main/docs/index.md"
    first = readers.read_url(url)
    assert first.etag and first.last_modified_at
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=first.etag)
    with pytest.raises(NotModifiedError):
        readers.read_url(url, last_modified_after=first.last_modified_at + timedelta(seconds=1))
    later = readers.read_url(url, last_modified_after=datetime(2000, 1, 1, tzinfo=UTC))
    assert later.buffer() == b"# Docs\n"


def test_src_answers_without_validators_get_the_last_commit_as_etag(host: FakeScmHost) -> None:
    bb.bitbucket(host).src_validators = False  # the API reference documents neither header
    readers = readers_for(host)
    url = f"{WEB}/src/main/docs/index.md"
    first = readers.read_url(url)
    assert first.buffer() == b"# Docs\n"
    assert first.etag == host.repo(REPO).last_commit("main", "docs/index.md")
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=first.etag)
    assert any("/filehistory/" in r.path for r in host.requests)


def test_read_url_missing_file_and_private_repo_are_not_found(host: FakeScmHost) -> None:
    readers = readers_for(host)
    with pytest.raises(NotFoundError):
        readers.read_url(f"{WEB}/src/main/nope.md")
    bb.bitbucket(host).make_private(REPO)
    with pytest.raises(NotFoundError):
        readers.read_url(f"{WEB}/src/main/docs/index.md")


# --- credentials -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"username": "robot", "token": "api-token"}, "Basic cm9ib3Q6YXBpLXRva2Vu"),
        ({"username": "robot", "appPassword": "app-pw"}, "Basic cm9ib3Q6YXBwLXB3"),
        ({"token": "access-token"}, "Bearer access-token"),
    ],
)
def test_configured_credentials_reach_api_and_web_host(
    host: FakeScmHost, entry: dict[str, str], expected: str
) -> None:
    state = bb.bitbucket(host)
    state.add_user("robot", entry.get("token") or entry.get("appPassword") or "")
    state.add_token("access-token")
    state.make_private(REPO)
    readers = readers_for(host, **entry)
    assert readers.read_url(f"{WEB}/src/main/docs/index.md").buffer() == b"# Docs\n"
    list(readers.read_tree(f"{WEB}/src/main/docs").files())
    sent = {(r.headers["Host"], r.headers.get("Authorization")) for r in host.requests}
    assert sent == {("api.bitbucket.org", expected), ("bitbucket.org", expected)}


def test_token_option_overrides_the_configured_credentials(host: FakeScmHost) -> None:
    state = bb.bitbucket(host)
    state.add_token("user-token")
    state.make_private(REPO)
    readers = readers_for(host)
    with pytest.raises(NotFoundError):
        readers.read_url(f"{WEB}/src/main/docs/index.md")
    response = readers.read_url(f"{WEB}/src/main/docs/index.md", token="user-token")
    assert response.buffer() == b"# Docs\n"
    assert host.requests[-1].headers["Authorization"] == "Bearer user-token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def oauth_reader(host: FakeScmHost, clock: Clock) -> BitbucketCloudUrlReader:
    state = bb.bitbucket(host)
    state.add_oauth_client("consumer-key", "consumer-secret")
    state.make_private(REPO)
    entry = bb.integration_config(host, clientId="consumer-key", clientSecret="consumer-secret")
    integrations = ScmIntegrations.from_config({"integrations": {"bitbucketCloud": [entry]}})
    integration = integrations.group("bitbucketCloud").list()[0]
    return BitbucketCloudUrlReader(
        integration,
        http=bb.http_client(host, sleep=lambda _: None),
        tree=TreeResponseFactory(),
        clock=clock,
    )


def token_requests(host: FakeScmHost) -> int:
    return len(host.requests_to(r"^/site/oauth2/access_token$", "POST"))


def test_oauth_token_is_reused_then_refreshed_ten_minutes_before_expiry(
    host: FakeScmHost,
) -> None:
    clock = Clock()
    reader = oauth_reader(host, clock)
    for _ in range(3):
        assert reader.read(f"{WEB}/src/main/docs/index.md") == b"# Docs\n"
    assert token_requests(host) == 1
    post = host.requests_to("oauth2")[0]
    assert post.body == b"grant_type=client_credentials"
    assert post.headers["Authorization"].startswith("Basic ")
    assert post.headers["Host"] == "bitbucket.org"
    bearer = host.requests[-1].headers["Authorization"]
    assert bearer.startswith("Bearer ")
    clock.now += 7200 - 600 - 1  # the fake's tokens live 7200 s
    reader.read(f"{WEB}/src/main/docs/index.md")
    assert token_requests(host) == 1
    clock.now += 2
    bb.bitbucket(host).expire_tokens()
    reader.read(f"{WEB}/src/main/docs/index.md")
    assert token_requests(host) == 2
    assert host.requests[-1].headers["Authorization"] != bearer


def test_concurrent_callers_share_one_token_request(host: FakeScmHost) -> None:
    reader = oauth_reader(host, Clock())
    errors: list[BaseException] = []

    def read() -> None:
        try:
            reader.read(f"{WEB}/src/main/catalog-info.yaml")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert token_requests(host) == 1


def test_rejected_oauth_client_is_an_authentication_error(host: FakeScmHost) -> None:
    state = bb.bitbucket(host)
    entry = bb.integration_config(host, clientId="consumer-key", clientSecret="wrong-secret")
    state.add_oauth_client("consumer-key", "right-secret")
    readers = readers_for(host, **entry)
    with pytest.raises(AuthenticationError) as info:
        readers.read_url(f"{WEB}/src/main/docs/index.md")
    assert "wrong-secret" not in str(info.value)
    assert "clientSecret" in str(info.value)


def test_credentials_never_follow_a_redirect_to_another_host(host: FakeScmHost) -> None:
    state = bb.bitbucket(host)
    state.add_user("robot", "api-token")
    state.make_private(REPO)
    state.archive_redirect = "https://bbuseruploads.example"
    config = {
        "integrations": {
            "bitbucketCloud": [bb.integration_config(host, username="robot", token="api-token")]
        }
    }
    http = bb.http_client(host, also={"bbuseruploads.example": host}, sleep=lambda _: None)
    readers = UrlReaders.default(config, http=http)
    files = {f.path: f.content() for f in readers.read_tree(f"{WEB}/src/main/docs").files()}
    assert files["index.md"] == b"# Docs\n"
    by_host = {(r.headers["Host"], bool(r.auth_headers)) for r in host.requests}
    assert by_host == {
        ("api.bitbucket.org", True),
        ("bitbucket.org", True),
        ("bbuseruploads.example", False),
    }


def test_api_redirects_to_another_host_are_refused(host: FakeScmHost) -> None:
    host.route(
        "GET",
        f"{API_PATH}/src/main/catalog-info.yaml",
        lambda request: FakeResponse.redirect("https://elsewhere.example/x", 301),
    )
    with pytest.raises(NotAllowedError):
        readers_for(host, token="t").read_url(f"{WEB}/src/main/catalog-info.yaml")


# --- read_tree -------------------------------------------------------------------------


def test_read_tree_etag_is_the_12_char_hash_and_archive_is_at_that_commit(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    sha = host.repo(REPO).sha("main")
    tree = readers.read_tree(f"{WEB}/src/main/docs")
    assert tree.etag == sha[:12]
    assert sorted(f.path for f in tree.files()) == ["a b/space.md", "deep/er/x.md", "index.md"]
    assert paths(host) == [
        f"{API_PATH}/commits/main?pagelen=1",
        f"/{REPO}/get/{sha}.tar.gz",
    ]


def test_read_tree_default_branch(fake_scm_host: FakeScmHost) -> None:
    repo = fake_scm_host.add_repo(REPO, FILES, default_branch="trunk")
    readers = readers_for(fake_scm_host)
    tree = readers.read_tree(WEB)
    assert tree.etag == repo.sha("trunk")[:12]
    assert len(list(tree.files())) == len(FILES)
    assert paths(fake_scm_host)[:2] == [API_PATH, f"{API_PATH}/commits/trunk?pagelen=1"]
    assert len(fake_scm_host.requests) == 3


def test_read_tree_missing_branch_or_repo_is_not_found(readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError, match="no-such-branch"):
        readers.read_tree(f"{WEB}/src/no-such-branch/docs")
    with pytest.raises(NotFoundError):
        readers.read_tree("https://bitbucket.org/acme/missing")


def test_read_tree_not_modified_costs_one_request_and_no_archive(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    etag = readers.read_tree(f"{WEB}/src/main").etag
    host.clear_requests()
    with pytest.raises(NotModifiedError) as info:
        readers.read_tree(f"{WEB}/src/main", etag=etag)
    assert info.value.etag == etag
    assert paths(host) == [f"{API_PATH}/commits/main?pagelen=1"]
    host.repo(REPO).commit({"docs/new.md": "new\n"})
    tree = readers.read_tree(f"{WEB}/src/main", etag=etag)
    assert tree.etag != etag
    assert "docs/new.md" in {f.path for f in tree.files()}


# --- search ----------------------------------------------------------------------------


def test_search_glob_lists_only_the_static_prefix_and_reads_lazily(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    sha = host.repo(REPO).sha("main")
    result = readers.search(f"{WEB}/src/main/docs/**/*.md")
    assert result.etag == sha[:12]
    assert [f.url for f in result.files] == [
        f"{WEB}/src/main/docs/a%20b/space.md",
        f"{WEB}/src/main/docs/deep/er/x.md",
        f"{WEB}/src/main/docs/index.md",
    ]
    assert paths(host) == [
        f"{API_PATH}/commits/main?pagelen=1",
        f"{API_PATH}/src/{sha}/docs/?max_depth=50&pagelen=100",
    ]
    assert result.files[1].content() == b"deep\n"
    assert paths(host)[-1] == f"{API_PATH}/src/{sha}/docs/deep/er/x.md"
    assert len(host.requests) == 3


def test_search_glob_depth_follows_the_pattern(host: FakeScmHost, readers: UrlReaders) -> None:
    result = readers.search(f"{WEB}/src/main/*/*.md")
    assert [f.url for f in result.files] == [f"{WEB}/src/main/docs/index.md"]
    assert "max_depth=2" in paths(host)[-1]


def test_search_glob_follows_pages(fake_scm_host: FakeScmHost) -> None:
    many = {f"items/{i:03}.yaml": f"n: {i}\n" for i in range(230)}
    fake_scm_host.add_repo(REPO, many)
    readers = readers_for(fake_scm_host)
    result = readers.search(f"{WEB}/src/main/items/*.yaml")
    assert len(result.files) == 230
    assert len(fake_scm_host.requests_to("/src/")) == 3


def test_search_exact_and_misses(host: FakeScmHost, readers: UrlReaders) -> None:
    exact = readers.search(f"{WEB}/src/main/src/app.py")
    assert [f.content() for f in exact.files] == [b"print('hi')\n"]
    assert exact.etag.startswith('"')
    assert readers.search(f"{WEB}/src/main/nope.py").files == []
    missing_prefix = readers.search(f"{WEB}/src/main/nowhere/**/*.md")
    assert missing_prefix.files == [] and missing_prefix.etag


def test_search_glob_not_modified(host: FakeScmHost, readers: UrlReaders) -> None:
    etag = readers.search(f"{WEB}/src/main/**/*.yaml").etag
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.search(f"{WEB}/src/main/**/*.yaml", etag=etag)
    assert len(host.requests) == 1


def test_repr_names_host_and_auth(host: FakeScmHost) -> None:
    reader = readers_for(host, token="secret-token").reader_for(f"{WEB}/src/main/a")
    assert repr(reader) == "bitbucketCloud{host=bitbucket.org,authed=true}"
    assert "secret-token" not in repr(reader)
