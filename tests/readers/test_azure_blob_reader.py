"""AzureBlobStorageUrlReader against Azurite on loopback (urlreader spec §2.13).

Azurite (npm ``azurite``) is started once per test session on a free port, behind a small
recording proxy (``object_servers.Azurite``) so tests can count and inspect the requests
the reader sent.
The reader's endpoint is the proxy, so its URLs are path-style:
``http://127.0.0.1:<proxy>/devstoreaccount1/<container>/<blob>``. Without the
``azurite-blob`` binary (PATH, ``$AZURITE_BLOB``, or ``/tmp/azurite-cache``) or without
azure-storage-blob the tests skip locally and fail when ``CI`` is set.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from object_servers import AZURITE_ACCOUNT as ACCOUNT
from object_servers import AZURITE_KEY as DEV_KEY
from object_servers import Azurite, free_port

from scmreader.errors import (
    AuthenticationError,
    ChangedWhileReadingError,
    ConfigError,
    InputError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    ScmReaderError,
    TransportError,
)
from scmreader.http import HttpSettings
from scmreader.readers import UrlReaders
from scmreader.readers.azure_blob import READER_FACTORY, AzureBlobStorageUrlReader
from scmreader.readers.types import FileInfo

#: A wrong but well-formed account key that must never show up anywhere.
CANARY_KEY = "Q2FuYXJ5QWNjb3VudEtleURvTm90TGVhazAxMjM0NTY3ODlhYmNkZWY="
CANARY_SIG = "CanarySasSignatureDoNotLeak0123456789abcdefXYZ%3D"
CONTAINER = "scm-container"


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI is set: not skipping silently")
    pytest.skip(message, allow_module_level=True)


try:
    import azure.storage.blob as azblob
except ImportError:  # pragma: no cover - depends on the environment
    _missing("azure-storage-blob is not installed (pip install 'scmreader[azure]')")


@pytest.fixture
def store(azurite: Azurite) -> Azurite:
    azurite.reset(CONTAINER)
    azurite.put(
        CONTAINER,
        {
            "catalog-info.yaml": "kind: Component\n",
            "docs/": b"",
            "docs/index.md": "# Index\n",
            "docs/big.bin": b"x" * 300_000,
            "docs/sub/page.md": "# Page\n",
            "docs/my file+1.md": "odd\n",
            "docs/folder": b"",
            "docs2/other.md": "# Other\n",
            ".github/ci.yaml": "on: push\n",
        },
        **{"docs/folder": {"hdi_isfolder": "true"}},
    )
    azurite.clear_requests()
    return azurite


def entry(server: Azurite, **extra: Any) -> dict[str, Any]:
    return {"accountName": ACCOUNT, "endpoint": server.endpoint, "accountKey": DEV_KEY, **extra}


def make_readers(*entries: dict[str, Any]) -> UrlReaders:
    return UrlReaders.default({"integrations": {"azureBlobStorage": list(entries)}})


def blob_reader(readers: UrlReaders) -> AzureBlobStorageUrlReader:
    """The (first) Azure Blob Storage reader among ``readers``."""
    return next(r for r in readers.readers if isinstance(r, AzureBlobStorageUrlReader))


@pytest.fixture
def readers(store: Azurite) -> UrlReaders:
    return make_readers(entry(store))


def url(server: Azurite, name: str, container: str = CONTAINER) -> str:
    return f"{server.endpoint}/{ACCOUNT}/{container}/{name}"


# --- selection ---------------------------------------------------------------------------

GOV = {"endpointSuffix": "core.usgovcloudapi.net"}
PRIVATE = {"endpoint": "https://acct.privatelink.example"}


@pytest.mark.parametrize(
    ("config", "target", "claimed"),
    [
        ({}, "https://acct.blob.core.windows.net/c/a.yaml", True),
        ({}, "https://ACCT.blob.core.windows.net/c/a.yaml", True),
        ({}, "https://blob.core.windows.net/c/a.yaml", False),
        ({}, "https://xacct.blob.core.windows.net/c/a.yaml", False),
        ({}, "https://other.blob.core.windows.net/c/a.yaml", False),
        ({}, "https://acct.blob.core.windows.net.evil.example/c/a.yaml", False),
        ({}, "https://acct.blob.core.windows.net:8443/c/a.yaml", False),
        (GOV, "https://acct.blob.core.usgovcloudapi.net/c/a", True),
        (GOV, "https://acct.blob.core.windows.net/c/a", False),
        ({"endpoint": "http://127.0.0.1:10000"}, "http://127.0.0.1:10000/acct/c/a.yaml", True),
        ({"endpoint": "http://127.0.0.1:10000"}, "http://127.0.0.1:10001/acct/c/a.yaml", False),
        (PRIVATE, "https://acct.privatelink.example/c/a", True),
        (PRIVATE, "https://acct.blob.core.windows.net/c/a", False),
    ],
)  # fmt: skip
def test_predicate_is_the_account_host(config: dict[str, Any], target: str, claimed: bool) -> None:
    readers = UrlReaders.create(
        {"integrations": {"azureBlobStorage": [{"accountName": "acct", **config}]}},
        factories=[READER_FACTORY],
    )
    if claimed:
        assert isinstance(readers.reader_for(target), AzureBlobStorageUrlReader)
    else:
        with pytest.raises(NotAllowedError):
            readers.reader_for(target)


def test_one_reader_per_account_and_repr() -> None:
    readers = UrlReaders.create(
        {
            "integrations": {
                "azureBlobStorage": [
                    {"accountName": "one", "sasToken": "sv=2024&sig=abc"},
                    {"accountName": "two", "endpoint": "http://localhost:10000"},
                ]
            }
        },
        factories=[READER_FACTORY],
    )
    assert [repr(r) for r in readers.readers] == [
        "azureBlobStorage{host=one.blob.core.windows.net,authed=true}",
        "azureBlobStorage{host=localhost:10000,authed=false}",
    ]
    # the default entry (blob.core.windows.net, no account) makes no reader
    assert UrlReaders.create({}, factories=[READER_FACTORY]).readers == []


@pytest.mark.parametrize(
    ("config", "account_url"),
    [
        ({}, "https://acct.blob.core.windows.net"),
        ({"endpointSuffix": "core.chinacloudapi.cn"}, "https://acct.blob.core.chinacloudapi.cn"),
        ({"endpoint": "http://127.0.0.1:10000/"}, "http://127.0.0.1:10000/acct"),
        ({"endpoint": "http://[::1]:10000"}, "http://[::1]:10000/acct"),
        ({"endpoint": "http://localhost:10000"}, "http://localhost:10000/acct"),
        ({"endpoint": "https://acct.privatelink.example"}, "https://acct.privatelink.example"),
    ],
)
def test_account_url(config: dict[str, Any], account_url: str) -> None:
    readers = UrlReaders.create(
        {"integrations": {"azureBlobStorage": [{"accountName": "acct", **config}]}},
        factories=[READER_FACTORY],
    )
    reader = readers.readers[0]
    assert isinstance(reader, AzureBlobStorageUrlReader)
    assert reader.account_url == account_url


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:10000/otheraccount/c/a.yaml",  # path-style needs the account first
        "http://127.0.0.1:10000/acct",  # no container
        "http://127.0.0.1:10000/acct/",
    ],
)
def test_path_style_url_errors(target: str) -> None:
    readers = UrlReaders.create(
        {
            "integrations": {
                "azureBlobStorage": [{"accountName": "acct", "endpoint": "http://127.0.0.1:10000"}]
            }
        },
        factories=[READER_FACTORY],
    )
    with pytest.raises(InvalidUrlError):
        readers.read_url(target)


# --- read_url ----------------------------------------------------------------------------


def test_read_url_content_etag_and_date(readers: UrlReaders, store: Azurite) -> None:
    props = store.service().get_blob_client(CONTAINER, "docs/index.md").get_blob_properties()
    response = readers.read_url(url(store, "docs/index.md"))
    assert response.buffer() == b"# Index\n"
    assert response.etag == props.etag
    assert response.last_modified_at == props.last_modified
    assert store.blob_gets() == [f"/{ACCOUNT}/{CONTAINER}/docs/index.md"]


def test_read_url_encoded_name(readers: UrlReaders, store: Azurite) -> None:
    assert readers.read(url(store, "docs/my%20file%2B1.md")) == b"odd\n"


def test_read_url_streams_in_ranges(store: Azurite) -> None:
    store.put(CONTAINER, {"large.bin": bytes(range(256)) * 40_000})  # 10 MB: 3 ranges
    stream = make_readers(entry(store)).read_url(url(store, "large.bin")).stream()
    assert stream.read(1000) == bytes(range(256)) * 3 + bytes(range(232))
    assert len(store.blob_gets()) == 1  # the later ranges are asked for when needed
    rest = stream.read()
    stream.close()
    assert len(rest) == 10_240_000 - 1000
    assert len(store.blob_gets()) == 3


def test_read_url_not_modified_by_etag(readers: UrlReaders, store: Azurite) -> None:
    first = readers.read_url(url(store, "catalog-info.yaml"))
    assert first.etag
    store.clear_requests()
    with pytest.raises(NotModifiedError) as info:
        readers.read_url(url(store, "catalog-info.yaml"), etag=first.etag)
    assert info.value.etag == first.etag
    assert store.requests[0].headers["If-None-Match"] == first.etag
    again = readers.read_url(url(store, "catalog-info.yaml"), etag='"0x0000"')
    assert again.buffer() == b"kind: Component\n"


def test_read_url_not_modified_by_date(readers: UrlReaders, store: Azurite) -> None:
    first = readers.read_url(url(store, "catalog-info.yaml"))
    changed = first.last_modified_at
    assert changed is not None
    later = changed + timedelta(seconds=5)
    with pytest.raises(NotModifiedError):
        readers.read_url(url(store, "catalog-info.yaml"), last_modified_after=later)
    naive_utc = later.astimezone(UTC).replace(tzinfo=None)  # taken as UTC
    with pytest.raises(NotModifiedError):
        readers.read_url(url(store, "catalog-info.yaml"), last_modified_after=naive_utc)
    older = changed - timedelta(days=1)
    assert readers.read_url(url(store, "catalog-info.yaml"), last_modified_after=older).buffer()


@pytest.mark.parametrize(
    ("container", "name", "error"),
    [
        (CONTAINER, "docs/missing.md", NotFoundError),
        ("no-such-container", "a.md", NotFoundError),
        (CONTAINER, "docs/", InvalidUrlError),
        (CONTAINER, "", InvalidUrlError),
    ],
)
def test_read_url_errors(
    readers: UrlReaders, store: Azurite, container: str, name: str, error: type
) -> None:
    with pytest.raises(error):
        readers.read_url(url(store, name, container=container))


def test_connection_refused_is_a_transport_error() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    found = blob_reader(
        make_readers({"accountName": ACCOUNT, "endpoint": endpoint, "accountKey": DEV_KEY})
    )
    reader = AzureBlobStorageUrlReader(
        found.integration, tree=found._tree, settings=HttpSettings(max_attempts=1)
    )
    with pytest.raises(TransportError, match="connection failed"):
        reader.read_url(f"{reader.account_url}/c/a.yaml")


# --- read_tree ---------------------------------------------------------------------------


def test_read_tree_prefix_boundary_and_markers(readers: UrlReaders, store: Azurite) -> None:
    tree = readers.read_tree(url(store, "docs"))
    assert store.blob_gets() == []  # nothing is downloaded before the files are read
    files = {f.path: f.content() for f in tree.files()}
    assert files == {
        "index.md": b"# Index\n",
        "big.bin": b"x" * 300_000,
        "sub/page.md": b"# Page\n",
        "my file+1.md": b"odd\n",
    }  # no docs2/other.md, no "docs/" marker, no hdi_isfolder blob
    assert [r.query["prefix"] for r in store.listings()] == [["docs/"]]
    assert len(tree.etag) == 64


def test_read_tree_container_root_and_dir(
    readers: UrlReaders, store: Azurite, tmp_path: Path
) -> None:
    target = readers.read_tree(f"{store.endpoint}/{ACCOUNT}/{CONTAINER}").dir(tmp_path / "out")
    written = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert written == [
        ".github/ci.yaml",
        "catalog-info.yaml",
        "docs/big.bin",
        "docs/index.md",
        "docs/my file+1.md",
        "docs/sub/page.md",
        "docs2/other.md",
    ]


def test_read_tree_skips_traversal_names(
    readers: UrlReaders, store: Azurite, tmp_path: Path
) -> None:
    store.put(
        CONTAINER,
        {
            "docs/%2e%2e/enc.md": "no",
            "docs/%252e%252e/twice.md": "no",
            "docs/%2E/dot.md": "no",
            "docs/a\\..\\..\\win.md": "no",  # the SDK sends \ as /: docs/a/../../win.md
            "docs/sub\\..%5c..%5cmixed.md": "no",
            "docs//double.md": "no",
        },
    )
    listed = {b.name for b in store.service().get_container_client(CONTAINER).list_blobs()}
    assert "docs/a/../../win.md" in listed  # a real ".." name is in the listing
    tree = readers.read_tree(url(store, "docs"))
    target = tree.dir(tmp_path / "out")
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md"))
    assert written == ["out/index.md", "out/my file+1.md", "out/sub/page.md"]
    assert target == tmp_path / "out"


def test_read_tree_rejects_traversal_in_the_url(readers: UrlReaders, store: Azurite) -> None:
    with pytest.raises(InvalidUrlError, match="traversal"):
        readers.read_tree(url(store, "docs/%252e%252e/x"))


def test_read_tree_filter_sees_sizes_before_download(readers: UrlReaders, store: Azurite) -> None:
    seen: dict[str, int] = {}

    def markdown(path: str, info: FileInfo) -> bool:
        seen[path] = info.size
        return path.endswith(".md")

    tree = readers.read_tree(url(store, "docs"), filter=markdown)
    assert seen == {"index.md": 8, "big.bin": 300_000, "sub/page.md": 7, "my file+1.md": 4}
    assert sorted(f.path for f in tree.files()) == ["index.md", "my file+1.md", "sub/page.md"]
    assert f"/{ACCOUNT}/{CONTAINER}/docs/big.bin" not in store.blob_gets()
    assert len(store.blob_gets()) == 3


def test_read_tree_files_carry_last_modified(readers: UrlReaders, store: Azurite) -> None:
    props = store.service().get_blob_client(CONTAINER, "docs/sub/page.md").get_blob_properties()
    files = {f.path: f for f in readers.read_tree(url(store, "docs/sub")).files()}
    assert files["page.md"].last_modified_at == props.last_modified
    assert isinstance(props.last_modified, datetime)


def test_read_tree_pins_the_listed_etag(readers: UrlReaders, store: Azurite) -> None:
    tree = readers.read_tree(url(store, "docs/sub"))
    time.sleep(1.1)  # Azurite's etags are time-based
    store.put(CONTAINER, {"docs/sub/page.md": "# Changed\n"})
    with pytest.raises(ChangedWhileReadingError, match="changed") as info:
        list(tree.files())
    assert info.value.status == 412
    gets = store.blob_get_requests()
    assert gets[0].headers["If-Match"]


def test_read_tree_etag_and_not_modified(readers: UrlReaders, store: Azurite) -> None:
    first = readers.read_tree(url(store, "docs")).etag
    assert readers.read_tree(url(store, "docs")).etag == first
    store.clear_requests()
    with pytest.raises(NotModifiedError) as info:
        readers.read_tree(url(store, "docs"), etag=first)
    assert info.value.etag == first
    assert store.blob_gets() == []
    assert len(store.listings()) == 1
    store.put(CONTAINER, {"docs2/unrelated.md": "x"})
    assert readers.read_tree(url(store, "docs")).etag == first
    time.sleep(1.1)
    store.put(CONTAINER, {"docs/sub/page.md": "# Changed\n"})
    changed = readers.read_tree(url(store, "docs"), etag=first)
    assert changed.etag != first
    assert {f.path: f.content() for f in changed.files()}["sub/page.md"] == b"# Changed\n"


def test_read_tree_paginates(store: Azurite) -> None:
    store.put(CONTAINER, {f"many/{i:02d}.txt": str(i) for i in range(7)})
    reader = blob_reader(make_readers(entry(store)))
    paged = AzureBlobStorageUrlReader(reader.integration, tree=reader._tree, page_size=3)
    store.clear_requests()
    tree = paged.read_tree(url(store, "many"))
    assert [f.path for f in tree.files()] == [f"{i:02d}.txt" for i in range(7)]
    assert [r.query.get("maxresults") for r in store.listings()] == [["3"]] * 3


def test_read_tree_missing_prefix_is_not_found(readers: UrlReaders, store: Azurite) -> None:
    # An object's URL: InputError suggesting read_url (issue 12: a file URL given to a tree).
    with pytest.raises(InputError, match=r"file, not a folder.*read_url"):
        readers.read_tree(url(store, "docs/index.md"))
    with pytest.raises(NotFoundError):
        readers.read_tree(url(store, "nothing-here"))
    with pytest.raises(NotFoundError):
        readers.read_tree(url(store, "", container="no-such-container"))


def test_empty_container_root_is_an_empty_tree(readers: UrlReaders, store: Azurite) -> None:
    store.reset("empty-box")
    store.service().create_container("empty-box")
    assert list(readers.read_tree(url(store, "", container="empty-box")).files()) == []


# --- search ------------------------------------------------------------------------------


def test_search_glob_lists_the_static_prefix_only(readers: UrlReaders, store: Azurite) -> None:
    result = readers.search(url(store, "docs/**/*.md"))
    assert store.blob_gets() == []  # contents are downloaded on demand
    by_url = {f.url: f.content() for f in result.files}
    assert by_url == {
        url(store, "docs/index.md"): b"# Index\n",
        url(store, "docs/sub/page.md"): b"# Page\n",
        url(store, "docs/my%20file%2B1.md"): b"odd\n",
    }
    assert [r.query["prefix"] for r in store.listings()] == [["docs/"]]
    assert len(result.etag) == 64


def test_search_glob_not_modified(readers: UrlReaders, store: Azurite) -> None:
    etag = readers.search(url(store, "**/*.yaml")).etag
    with pytest.raises(NotModifiedError):
        readers.search(url(store, "**/*.yaml"), etag=etag)
    store.put(CONTAINER, {"docs/new.yaml": "x: 1\n"})
    again = readers.search(url(store, "**/*.yaml"), etag=etag)
    assert sorted(f.url for f in again.files) == [
        url(store, "catalog-info.yaml"),
        url(store, "docs/new.yaml"),
    ]  # .github/ci.yaml: ** does not enter dot folders


def test_search_exact_and_miss(readers: UrlReaders, store: Azurite) -> None:
    exact = readers.search(url(store, "docs/index.md"))
    assert [(f.url, f.content()) for f in exact.files] == [
        (url(store, "docs/index.md"), b"# Index\n")
    ]
    assert exact.etag.startswith('"0x')
    miss = readers.search(url(store, "docs/none.md"))
    assert (miss.files, miss.etag) == ([], "")
    assert readers.search(url(store, "nothing/*.md")).files == []


# --- credentials -------------------------------------------------------------------------


def _account_sas(permission: str = "rl") -> str:
    return str(
        azblob.generate_account_sas(
            ACCOUNT,
            DEV_KEY,
            resource_types=azblob.ResourceTypes(service=True, container=True, object=True),
            permission=azblob.AccountSasPermissions(read="r" in permission, list="l" in permission),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
    )


def test_sas_token_reads(store: Azurite) -> None:
    sas = _account_sas()
    readers = make_readers({"accountName": ACCOUNT, "endpoint": store.endpoint, "sasToken": sas})
    assert readers.read(url(store, "docs/index.md")) == b"# Index\n"
    assert len(list(readers.read_tree(url(store, "docs/sub")).files())) == 1
    assert all("sig" in r.query and "Authorization" not in r.headers for r in store.requests)


def test_sas_token_with_question_mark(store: Azurite) -> None:
    readers = make_readers(
        {"accountName": ACCOUNT, "endpoint": store.endpoint, "sasToken": f"?{_account_sas()}"}
    )
    assert readers.read(url(store, "catalog-info.yaml")) == b"kind: Component\n"


def test_sas_without_list_permission_is_denied(store: Azurite) -> None:
    readers = make_readers(
        {"accountName": ACCOUNT, "endpoint": store.endpoint, "sasToken": _account_sas("r")}
    )
    assert readers.read(url(store, "catalog-info.yaml"))
    with pytest.raises(ScmReaderError) as info:
        readers.read_tree(url(store, "docs"))
    assert getattr(info.value, "status", None) == 403


def test_connection_string_reads(store: Azurite) -> None:
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={store.endpoint}/{ACCOUNT};"
    )
    readers = make_readers(
        {"accountName": ACCOUNT, "endpoint": store.endpoint, "connectionString": conn}
    )
    assert readers.read(url(store, "docs/index.md")) == b"# Index\n"
    assert "Authorization" in store.requests[-1].headers


@pytest.mark.parametrize(
    ("config", "what"),
    [
        ({"accountKey": CANARY_KEY}, "accountKey"),
        ({"sasToken": f"sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2099-01-01&sig={CANARY_SIG}"}, "sas"),
    ],
)
def test_wrong_credentials_never_leak(
    store: Azurite,
    caplog: pytest.LogCaptureFixture,
    config: dict[str, Any],
    what: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    readers = make_readers({"accountName": ACCOUNT, "endpoint": store.endpoint, **config})
    with pytest.raises(AuthenticationError) as info:
        readers.read_url(url(store, "docs/index.md"))
    with pytest.raises(AuthenticationError) as tree_info:
        readers.read_tree(url(store, "docs"))
    secret = CANARY_KEY if what == "accountKey" else CANARY_SIG
    for error in (info.value, tree_info.value):
        assert info.value.status == 403
        assert secret not in str(error) and secret not in repr(error)
        assert "accountKey, sasToken" in str(error)
    assert secret not in caplog.text
    assert CANARY_SIG.split("%")[0] not in caplog.text
    assert all(secret not in repr(r) for r in readers.readers)
    assert secret not in repr(readers)


def test_aad_credential_uses_a_client_secret_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("azure.identity")
    made: list[dict[str, str]] = []

    class FakeCredential:
        def __init__(self, **kwargs: str) -> None:
            made.append(kwargs)

    import azure.identity

    monkeypatch.setattr(azure.identity, "ClientSecretCredential", FakeCredential)
    readers = make_readers(
        {
            "accountName": "acct",
            "aadCredential": {"clientId": "cid", "tenantId": "tid", "clientSecret": "aad-Canary-1"},
        }
    )
    reader = blob_reader(readers)
    assert repr(reader) == "azureBlobStorage{host=acct.blob.core.windows.net,authed=true}"
    assert isinstance(reader._credential(), FakeCredential)
    assert made == [{"tenant_id": "tid", "client_id": "cid", "client_secret": "aad-Canary-1"}]


@pytest.mark.parametrize(
    ("module", "config", "message"),
    [
        ("azure.storage.blob", {"accountKey": DEV_KEY}, "pip install 'scmreader[azure]'"),
        (
            "azure.identity",
            {"aadCredential": {"clientId": "c", "tenantId": "t", "clientSecret": "s"}},
            "aadCredential, which needs azure-identity",
        ),
        ("azure.identity", {}, "default Azure credential chain"),
    ],
)
def test_missing_package_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, module: str, config: dict[str, Any], message: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    readers = make_readers({"accountName": "acct", **config})
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")) as info:
        readers.read_url("https://acct.blob.core.windows.net/c/a.yaml")
    assert "pip install 'scmreader[azure]'" in str(info.value)
