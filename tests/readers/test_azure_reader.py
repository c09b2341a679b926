"""AzureUrlReader against the FakeScmHost emulation of Azure DevOps.

``routes.azure.http_client`` sends ``https://dev.azure.com``, ``https://acme.visualstudio.com``,
``https://tfs.example.com`` and Azure AD's login host to the fake (keeping the ``Host``
header), so every form of URL is read end to end and every request is counted.
"""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any
from urllib.parse import quote

import pytest
import requests

from scmreader.errors import (
    AuthenticationError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotImplementedByReaderError,
    NotModifiedError,
)
from scmreader.readers import UrlReaders
from scmreader.testing import FakeResponse, FakeScmHost
from scmreader.testing.routes import azure as az

FILES = {
    "catalog-info.yaml": "kind: Component\n",
    "docs/index.md": "# Docs\n",
    "docs/sub/page.md": "# Page\n",
    "docs/a b.md": "spaced\n",
    "src/app.py": "print('hi')\n",
}
NAMES = ("dev.azure.com", "acme.visualstudio.com", "tfs.example.com", az.LOGIN_HOST)
DEV = "https://dev.azure.com/acme/platform/_git/widgets"
PAT = "azdoPatForAcme000000000000000001"
OTHER_PAT = "azdoPatForOther00000000000000002"
DEFAULT_PAT = "azdoPatDefault0000000000000000003"
API = "/acme/platform/_apis/git/repositories/widgets"


def make_readers(host: FakeScmHost, *entries: dict[str, Any]) -> UrlReaders:
    config = {"integrations": {"azure": list(entries) or [{"host": "dev.azure.com"}]}}
    return UrlReaders.default(config, http=az.http_client(host, NAMES, sleep=lambda _: None))


def log(host: FakeScmHost) -> list[str]:
    return [r.path + (f"?{r.raw_query}" if r.raw_query else "") for r in host.requests]


def pat_of(request: Any) -> str:
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, pat = base64.b64decode(value).decode().partition(":")
    assert user == ""
    return pat


@pytest.fixture
def host(fake_scm_host: FakeScmHost) -> FakeScmHost:
    fake_scm_host.add_repo(
        "acme/platform/widgets", FILES, branches={"feature/x": {"docs/index.md": "# New\n"}}
    )
    fake_scm_host.repo("acme/platform/widgets").tag("v1")
    # These tests pin request shapes with file answers that carry an ETag, as Azure is seen
    # to send; test_a_file_answer_without_etag_* covers the documented (no ETag) default.
    az.azure(fake_scm_host).items_etag = True
    return fake_scm_host


@pytest.fixture
def readers(host: FakeScmHost) -> UrlReaders:
    return make_readers(host)


def test_a_file_answer_without_etag_gets_the_object_id_and_not_modified(
    host: FakeScmHost,
) -> None:
    az.azure(host).items_etag = False  # the Items - Get page documents no ETag
    readers = make_readers(host)
    url = f"{DEV}?path=/docs/index.md&version=GBmain"
    first = readers.read_url(url)
    assert first.buffer() == b"# Docs\n"
    entry = host.repo("acme/platform/widgets").entry("main", "docs/index.md")
    assert entry is not None and first.etag == entry.sha  # objectId from the metadata
    host.clear_requests()
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=first.etag)
    content, metadata = host.requests
    assert content.headers.get("If-None-Match") == first.etag
    assert metadata.query.get("$format") == "json"


# --- URL forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "repo", "expected", "content"),
    [
        (
            f"{DEV}?path=/catalog-info.yaml&version=GBmain",
            None,
            f"{API}/items?api-version=6.0&path=%2Fcatalog-info.yaml"
            "&versionDescriptor.version=main&versionDescriptor.versionType=branch",
            b"kind: Component\n",
        ),
        (
            f"{DEV}?path=%2Fdocs%2Fa%20b.md",
            None,
            f"{API}/items?api-version=6.0&path=%2Fdocs%2Fa+b.md",
            b"spaced\n",
        ),
        (
            f"{DEV}?path=/docs/index.md&version=GBfeature/x&_a=contents",
            None,
            f"{API}/items?api-version=6.0&path=%2Fdocs%2Findex.md"
            "&versionDescriptor.version=feature%2Fx&versionDescriptor.versionType=branch",
            b"# New\n",
        ),
        (
            f"{DEV}?path=/docs/index.md&version=GTv1",
            None,
            f"{API}/items?api-version=6.0&path=%2Fdocs%2Findex.md"
            "&versionDescriptor.version=v1&versionDescriptor.versionType=tag",
            b"# Docs\n",
        ),
        (
            "https://acme.visualstudio.com/platform/_git/widgets?path=/docs/index.md",
            None,
            "/platform/_apis/git/repositories/widgets/items?api-version=6.0&path=%2Fdocs%2Findex.md",
            b"# Docs\n",
        ),
        (
            "https://tfs.example.com/tfs/DefaultCollection/platform/_git/widgets"
            "?path=/docs/index.md&version=GBmain",
            "tfs/DefaultCollection/platform/widgets",
            "/tfs/DefaultCollection/platform/_apis/git/repositories/widgets/items"
            "?api-version=6.0&path=%2Fdocs%2Findex.md"
            "&versionDescriptor.version=main&versionDescriptor.versionType=branch",
            b"# Docs\n",
        ),
        (
            "https://dev.azure.com/acme/_git/gadgets?path=/docs/index.md",
            "acme/gadgets",
            "/acme/gadgets/_apis/git/repositories/gadgets/items?api-version=6.0"
            "&path=%2Fdocs%2Findex.md",
            b"# Docs\n",
        ),
    ],
)
def test_read_url_forms(
    host: FakeScmHost, url: str, repo: str | None, expected: str, content: bytes
) -> None:
    if repo:
        host.add_repo(repo, FILES)
    readers = make_readers(
        host,
        {"host": "dev.azure.com"},
        {"host": "acme.visualstudio.com"},
        {"host": "tfs.example.com"},
    )
    assert readers.read_url(url).buffer() == content
    assert log(host) == [expected]


def test_reader_per_integration_with_exact_host(host: FakeScmHost) -> None:
    readers = make_readers(host, {"host": "tfs.example.com"})
    assert repr(readers.reader_for("https://tfs.example.com/a/b/_git/c")) == (
        "azure{host=tfs.example.com,authed=false}"
    )
    assert repr(readers.reader_for(f"{DEV}?path=/x")).startswith("azure{host=dev.azure.com")
    with pytest.raises(NotAllowedError):
        readers.reader_for("https://sub.tfs.example.com/a/b/_git/c")


@pytest.mark.parametrize(
    "url",
    [
        "https://dev.azure.com/acme/platform/widgets",  # no _git
        f"{DEV}?path=/x&version=GC0123456789abcdef0123456789abcdef01234567",  # commit
        DEV,  # read_url needs a path
        f"{DEV}?path=/",
    ],
)
def test_read_url_rejects_urls_without_a_file(
    host: FakeScmHost, readers: UrlReaders, url: str
) -> None:
    with pytest.raises(InvalidUrlError):
        readers.read_url(url)
    assert host.requests == []


# --- read_url --------------------------------------------------------------------------


def test_read_url_missing_file_is_not_found(host: FakeScmHost, readers: UrlReaders) -> None:
    with pytest.raises(NotFoundError):
        readers.read_url(f"{DEV}?path=/nope.md&version=GBmain")
    with pytest.raises(NotFoundError):
        readers.read_url(f"{DEV}?path=/docs/index.md&version=GBnope")
    with pytest.raises(NotFoundError):
        readers.read_url("https://dev.azure.com/acme/platform/_git/ghost?path=/a.md")
    assert len(host.requests) == 3


def test_read_url_etag_sends_if_none_match(host: FakeScmHost, readers: UrlReaders) -> None:
    url = f"{DEV}?path=/docs/index.md&version=GBmain"
    first = readers.read_url(url)
    blob = host.repo("acme/platform/widgets").entry("main", "docs/index.md")
    assert blob is not None
    assert first.etag == f'"{blob.sha}"'
    with pytest.raises(NotModifiedError):
        readers.read_url(url, etag=first.etag)
    assert host.requests[1].headers["If-None-Match"] == first.etag
    assert len(host.requests) == 2
    assert readers.read_url(url, etag='"0000"').buffer() == b"# Docs\n"


def test_private_repository_sign_in_page_is_an_authentication_error(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    az.azure(host).make_private("acme/platform/widgets")
    with pytest.raises(AuthenticationError) as caught:
        readers.read_url(f"{DEV}?path=/docs/index.md")
    assert caught.value.status == 203
    assert "sign-in page" in str(caught.value)
    with pytest.raises(AuthenticationError):
        readers.read_tree(DEV)
    with pytest.raises(AuthenticationError):
        readers.search(f"{DEV}?path=/docs/*.md")
    assert len(host.requests) == 3


def test_wrong_pat_gets_sign_in_page_and_message_hides_it(host: FakeScmHost) -> None:
    state = az.azure(host)
    state.make_private("acme/platform/widgets")
    state.add_pat("acme", PAT)
    readers = make_readers(
        host, {"host": "dev.azure.com", "credentials": [az.pat_credential("wrong-pat-value")]}
    )
    with pytest.raises(AuthenticationError) as caught:
        readers.read_url(f"{DEV}?path=/docs/index.md")
    assert "wrong-pat-value" not in str(caught.value)


def test_wrong_pat_on_public_repository_is_401(host: FakeScmHost) -> None:
    az.azure(host).add_pat("acme", PAT)
    readers = make_readers(
        host, {"host": "dev.azure.com", "credentials": [az.pat_credential("wrong-pat-value")]}
    )
    with pytest.raises(AuthenticationError) as caught:
        readers.read_url(f"{DEV}?path=/docs/index.md")
    assert caught.value.status == 401


# --- credentials per organization ------------------------------------------------------


def test_pat_is_chosen_per_organization(host: FakeScmHost) -> None:
    host.add_repo("other/platform/widgets", FILES)
    host.add_repo("third/platform/widgets", FILES)
    state = az.azure(host)
    for org, pat in (("acme", PAT), ("other", OTHER_PAT), ("third", DEFAULT_PAT)):
        state.add_pat(org, pat)
        state.make_private(f"{org}/platform/widgets")
    readers = make_readers(
        host,
        {
            "host": "dev.azure.com",
            "credentials": [
                az.pat_credential(PAT, "acme"),
                az.pat_credential(OTHER_PAT, "other"),
                az.pat_credential(DEFAULT_PAT),
            ],
        },
    )
    for org in ("acme", "other", "third"):
        url = f"https://dev.azure.com/{org}/platform/_git/widgets?path=/docs/index.md"
        assert readers.read_url(url).buffer() == b"# Docs\n"
    assert [pat_of(r) for r in host.requests] == [PAT, OTHER_PAT, DEFAULT_PAT]


def test_visualstudio_organization_is_the_subdomain(host: FakeScmHost) -> None:
    state = az.azure(host)
    state.add_pat("acme", PAT)
    state.make_private("acme/platform/widgets")
    readers = make_readers(
        host,
        {
            "host": "acme.visualstudio.com",
            "credentials": [az.pat_credential(OTHER_PAT, "other"), az.pat_credential(PAT, "acme")],
        },
    )
    url = "https://acme.visualstudio.com/platform/_git/widgets?path=/docs/index.md"
    assert readers.read(url) == b"# Docs\n"
    assert [pat_of(r) for r in host.requests] == [PAT]


def test_unsupported_credential_kind_is_named(host: FakeScmHost, readers: UrlReaders) -> None:
    readers = make_readers(
        host, {"host": "dev.azure.com", "credentials": [{"clientId": "system-assigned"}]}
    )
    with pytest.raises(NotImplementedByReaderError, match=r"ManagedIdentity.*personalAccessToken"):
        readers.read_url(f"{DEV}?path=/docs/index.md")
    assert host.requests == []


def test_client_secret_credential_uses_one_cached_aad_token(host: FakeScmHost) -> None:
    state = az.azure(host)
    state.add_client("tenant-1", "app-1", "s3cret-value")
    state.make_private("acme/platform/widgets")
    credential = {"clientId": "app-1", "clientSecret": "s3cret-value", "tenantId": "tenant-1"}
    readers = make_readers(host, {"host": "dev.azure.com", "credentials": [credential]})
    assert readers.read(f"{DEV}?path=/docs/index.md") == b"# Docs\n"
    assert readers.read(f"{DEV}?path=/catalog-info.yaml") == b"kind: Component\n"
    token_requests = [r for r in host.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert len(token_requests) == 1
    assert token_requests[0].headers["Host"] == az.LOGIN_HOST
    assert "authorization" not in token_requests[0].auth_headers
    api = [r for r in host.requests if "/_apis/" in r.path]
    assert len(api) == 2
    assert all(r.headers["Authorization"].startswith("Bearer eyJ") for r in api)


def test_client_secret_refused_is_an_authentication_error(host: FakeScmHost) -> None:
    az.azure(host).add_client("tenant-1", "app-1", "right")
    credential = {"clientId": "app-1", "clientSecret": "wrong-secret", "tenantId": "tenant-1"}
    readers = make_readers(host, {"host": "dev.azure.com", "credentials": [credential]})
    with pytest.raises(AuthenticationError) as caught:
        readers.read(f"{DEV}?path=/docs/index.md")
    assert "wrong-secret" not in str(caught.value)
    assert len(host.requests) == 1


def test_credentials_stay_on_the_azure_origin(
    host: FakeScmHost, fake_scm_host_factory: Any
) -> None:
    other = fake_scm_host_factory("127.0.0.2", providers=("plain",))
    other.serve_file("/blob/x.zip", _zip({"docs/index.md": b"# Elsewhere\n"}))
    az.azure(host).add_pat("acme", PAT)
    entry = az.integration_config(host, credentials=[az.pat_credential(PAT)])
    readers = make_readers(host, entry)
    web = f"{host.base_url}/acme/platform/_git/widgets"

    def redirect_zip(request: Any) -> FakeResponse | None:
        if "application/zip" in request.headers.get("Accept", ""):
            return FakeResponse.redirect(f"{other.base_url}/blob/x.zip")
        return FakeResponse.redirect(f"{other.base_url}/api/elsewhere")

    host.route("GET", f"{API}/items", redirect_zip)
    tree = readers.read_tree(web)
    assert {f.path: f.content() for f in tree.files()} == {"docs/index.md": b"# Elsewhere\n"}
    with pytest.raises(NotAllowedError):
        readers.read_url(f"{web}?path=/docs/index.md")
    assert [r.path for r in other.requests] == ["/blob/x.zip"]
    assert other.requests[0].auth_headers == frozenset()
    assert len(host.requests) == 3
    assert all(r.auth_headers == {"authorization"} for r in host.requests)


# --- read_tree -------------------------------------------------------------------------


def test_read_tree_etag_is_the_commit_and_zip_is_asked_by_commit(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    sha = host.repo("acme/platform/widgets").sha("main")
    tree = readers.read_tree(f"{DEV}?version=GBmain")
    assert tree.etag == sha
    assert {f.path for f in tree.files()} == set(FILES)
    assert log(host) == [
        f"{API}/commits?api-version=6.0&searchCriteria.itemVersion.version=main"
        "&searchCriteria.itemVersion.versionType=branch&searchCriteria.%24top=1",
        f"{API}/items?recursionLevel=full&download=true&api-version=6.0"
        f"&versionDescriptor.version={sha}&versionDescriptor.versionType=commit",
    ]
    assert host.requests[1].headers["Accept"] == "application/zip"


def test_read_tree_not_modified_downloads_nothing(host: FakeScmHost, readers: UrlReaders) -> None:
    sha = host.repo("acme/platform/widgets").sha("main")
    with pytest.raises(NotModifiedError) as caught:
        readers.read_tree(f"{DEV}?path=/docs", etag=sha)
    assert caught.value.etag == sha
    assert [r.path for r in host.requests] == [f"{API}/commits"]


def test_read_tree_default_branch_and_tag(host: FakeScmHost, readers: UrlReaders) -> None:
    repo = host.repo("acme/platform/widgets")
    assert readers.read_tree(DEV).etag == repo.sha("main")
    feature = readers.read_tree(f"{DEV}?path=/docs&version=GBfeature/x")
    assert feature.etag == repo.sha("feature/x")
    assert {f.path: f.content() for f in feature.files()}["index.md"] == b"# New\n"
    assert readers.read_tree(f"{DEV}?version=GTv1").etag == repo.sha("v1")
    assert len(host.requests) == 6  # a commits lookup and a zip per tree
    with pytest.raises(NotFoundError):
        readers.read_tree(f"{DEV}?version=GBnope")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/docs", {"index.md", "sub/page.md", "a b.md"}),
        ("/docs/sub", {"page.md"}),
        ("/docs/sub/", {"page.md"}),
    ],
)
def test_read_tree_scoped_zip_strips_the_scope_folder(
    host: FakeScmHost, readers: UrlReaders, path: str, expected: set[str]
) -> None:
    tree = readers.read_tree(f"{DEV}?path={path}&version=GBmain")
    assert {f.path for f in tree.files()} == expected
    assert f"scopePath={quote(path, safe='')}" in log(host)[-1]


def test_fake_scoped_zip_names_entries_after_the_last_scope_folder(host: FakeScmHost) -> None:
    url = f"{host.base_url}{API}/items?scopePath=/docs/sub&recursionLevel=full&download=true"
    zipped = requests.get(url, headers={"Accept": "application/zip"}, timeout=10)
    assert zipfile.ZipFile(io.BytesIO(zipped.content)).namelist() == ["sub/", "sub/page.md"]
    whole = requests.get(url.replace("/docs/sub", "/"), params={"$format": "zip"}, timeout=10)
    assert "docs/index.md" in zipfile.ZipFile(io.BytesIO(whole.content)).namelist()


def test_read_tree_filter(host: FakeScmHost, readers: UrlReaders) -> None:
    tree = readers.read_tree(f"{DEV}?path=/docs", filter=lambda p, info: info.size == 7)
    assert sorted(f.path for f in tree.files()) == ["a b.md", "index.md", "sub/page.md"]


# --- search ----------------------------------------------------------------------------


def test_search_glob_lists_the_static_prefix_and_reads_lazily(
    host: FakeScmHost, readers: UrlReaders
) -> None:
    sha = host.repo("acme/platform/widgets").sha("main")
    result = readers.search(f"{DEV}?path=/docs/**/*.md&version=GBmain")
    assert result.etag == sha
    assert [f.url for f in result.files] == [
        f"{DEV}?path=/docs/a%20b.md&version=GBmain",
        f"{DEV}?path=/docs/index.md&version=GBmain",
        f"{DEV}?path=/docs/sub/page.md&version=GBmain",
    ]
    listing = log(host)[1]
    assert listing.startswith(f"{API}/items?scopePath=%2Fdocs&recursionLevel=Full")
    assert len(host.requests) == 2
    assert [f.content() for f in result.files] == [b"spaced\n", b"# Docs\n", b"# Page\n"]
    assert len(host.requests) == 5
    assert f"versionDescriptor.version={sha}" in log(host)[-1]


def test_search_glob_not_modified_and_miss(host: FakeScmHost, readers: UrlReaders) -> None:
    sha = host.repo("acme/platform/widgets").sha("main")
    with pytest.raises(NotModifiedError):
        readers.search(f"{DEV}?path=/**/*.yaml", etag=sha)
    assert len(host.requests) == 1
    host.clear_requests()
    miss = readers.search(f"{DEV}?path=/nowhere/*.md")
    assert miss.files == []
    assert len(host.requests) == 2
    assert readers.search(f"{DEV}?path=/**/*.rst").files == []


def test_search_exact_and_exact_miss(host: FakeScmHost, readers: UrlReaders) -> None:
    url = f"{DEV}?path=/catalog-info.yaml&version=GBmain"
    exact = readers.search(url)
    assert [(f.url, f.content()) for f in exact.files] == [(url, b"kind: Component\n")]
    assert exact.etag.startswith('"')
    miss = readers.search(f"{DEV}?path=/missing.yaml")
    assert (miss.files, miss.etag) == ([], "")
    assert len(host.requests) == 2


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
