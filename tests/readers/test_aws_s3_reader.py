"""AwsS3UrlReader against moto's real S3 (and STS) server on loopback (urlreader spec §2.10).

Requests per call, as asserted here: read_url = 1 GetObject; read_tree = 1 ListObjectsV2
page (+1 per 1000 keys) and 1 GetObject per selected file, only when its content is read,
and the listing alone when the etag is unchanged; glob search = the listing of the glob's
static prefix, plus 1 GetObject per ``content()`` call.

``MotoS3`` runs moto's WSGI app (the one ``moto.server.ThreadedMotoServer`` serves) behind a
small recorder, so tests can count and inspect what the server received.
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from object_servers import SEAWEED_READER, SeaweedFs, ThreadedServer

from scmreader.errors import (
    AuthenticationError,
    ChangedWhileReadingError,
    ConfigError,
    HttpStatusError,
    InputError,
    InvalidUrlError,
    NotAllowedError,
    NotFoundError,
    NotModifiedError,
    PermissionDeniedError,
    RateLimitedError,
    ScmReaderError,
    UpstreamError,
)
from scmreader.http import HttpSettings
from scmreader.integrations.aws_s3 import AwsS3Integration, read_aws_s3_integration_config
from scmreader.readers import UrlReaders
from scmreader.readers.aws_s3 import READER_FACTORY, ROLE_SESSION_NAME, AwsS3UrlReader
from scmreader.readers.tree import TreeResponseFactory
from scmreader.readers.types import FileInfo

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

#: Also SeaweedFS's read-only identity, so every config here works on both servers.
ACCESS_KEY, CANARY = SEAWEED_READER
BUCKET = "scm-bucket"


# --- the server -----------------------------------------------------------------------


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    @property
    def auth_headers(self) -> list[str]:
        return [h for h in ("Authorization", "X-Amz-Security-Token") if h in self.headers]

    @property
    def is_get_object(self) -> bool:
        """A GetObject: a GET naming a key (a bucket listing is ``GET /bucket?list-type=2``)."""
        return self.method == "GET" and self.path.strip("/").count("/") >= 1


@dataclass
class MotoS3(ThreadedServer):
    """moto's S3/STS server on 127.0.0.1 with a request log (duck-types FakeScmHost's)."""

    requests: list[Recorded] = field(default_factory=list)
    host: str = ""

    def __post_init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)

        def recorder(environ: dict[str, Any], start_response: Any) -> Any:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            headers = {
                k[5:].replace("_", "-").title(): str(v)
                for k, v in environ.items()
                if k.startswith("HTTP_")
            }
            self.requests.append(
                Recorded(
                    environ["REQUEST_METHOD"],
                    environ["PATH_INFO"],
                    parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
                    headers,
                    body,
                )
            )
            return app(environ, start_response)

        self._serve(
            make_server("127.0.0.1", 0, recorder, threaded=True, request_handler=MotoRequestHandler)
        )

    def reset(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        self.clear_requests()

    def client(self) -> Any:
        """A plain boto3 client for setting up buckets."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIASETUP",
            aws_secret_access_key="setup-secret",
        )

    def put(self, bucket: str, files: dict[str, bytes | str]) -> None:
        client = self.client()
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        for key, data in files.items():
            client.put_object(
                Bucket=bucket, Key=key, Body=data.encode() if isinstance(data, str) else data
            )

    def get_object_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_get_object]

    def get_objects(self) -> list[str]:
        return [r.path for r in self.get_object_requests()]

    def listings(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and "list-type" in r.query]


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No host AWS config, no instance metadata lookups, no endpoint overrides."""
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.stop()


#: The two S3 servers the tests run on (the same request-log and setup methods).
S3Server = MotoS3 | SeaweedFs


def _stock(server: S3Server) -> S3Server:
    server.reset()
    server.put(
        BUCKET,
        {
            "catalog-info.yaml": "kind: Component\n",
            "docs/": b"",
            "docs/index.md": "# Index\n",
            "docs/big.bin": b"x" * 300_000,
            "docs/sub/": b"",
            "docs/sub/page.md": "# Page\n",
            "docs/my file+1.md": "odd\n",
            "docs2/other.md": "# Other\n",
            ".github/ci.yaml": "on: push\n",
        },
    )
    server.clear_requests()
    return server


@pytest.fixture(params=["moto", "seaweedfs"])
def s3(request: pytest.FixtureRequest) -> S3Server:
    """The stocked bucket on moto, and on SeaweedFS (a real S3 implementation)."""
    return _stock(
        request.getfixturevalue("moto_server" if request.param == "moto" else "seaweedfs")
    )


@pytest.fixture
def moto_s3(moto_server: MotoS3) -> MotoS3:
    """The stocked bucket on moto only: for STS and the default credential chain, which
    SeaweedFS (a fixed set of identities, no STS) cannot serve."""
    _stock(moto_server)
    return moto_server


def entry(server: S3Server, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": server.endpoint,
        "s3ForcePathStyle": True,
        "accessKeyId": ACCESS_KEY,
        "secretAccessKey": CANARY,
        **extra,
    }


def make_readers(*entries: dict[str, Any]) -> UrlReaders:
    return UrlReaders.default({"integrations": {"awsS3": list(entries)}})


@pytest.fixture
def readers(s3: S3Server) -> UrlReaders:
    return make_readers(entry(s3))


def url(server: S3Server, key: str, bucket: str = BUCKET) -> str:
    return f"{server.endpoint}/{bucket}/{key}"


def direct_reader(
    server_entry: dict[str, Any],
    *,
    page_size: int = 1000,
    max_list_pages: int = 10_000,
    **settings: Any,
) -> AwsS3UrlReader:
    from scmreader.config import Config

    config = read_aws_s3_integration_config(Config.from_dict(server_entry))
    return AwsS3UrlReader(
        AwsS3Integration(config),
        tree=TreeResponseFactory(),
        settings=HttpSettings(**settings),
        page_size=page_size,
        max_list_pages=max_list_pages,
    )


# --- selection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "claimed"),
    [
        ("https://s3.amazonaws.com/b/k", True),
        ("https://b.s3.eu-west-1.amazonaws.com/k", True),
        ("https://b.s3.cn-north-1.amazonaws.com.cn/k", True),
        ("https://amazonaws.com/b/k", True),
        ("https://evilamazonaws.com/b/k", False),
        ("https://s3.amazonaws.com.evil.example/b/k", False),
        ("http://minio.internal:9000/b/k", True),
        ("http://b.minio.internal:9000/k", True),
        ("http://xminio.internal:9000/b/k", False),
        ("http://minio.internal:9001/b/k", False),
        ("http://minio.internal/b/k", False),
    ],
)
def test_predicate_is_a_host_suffix_at_a_dot_boundary(target: str, claimed: bool) -> None:
    readers = UrlReaders.create(
        {"integrations": {"awsS3": [{"endpoint": "http://minio.internal:9000"}]}},
        factories=[READER_FACTORY],
    )
    if claimed:
        assert isinstance(readers.reader_for(target), AwsS3UrlReader)
    else:
        with pytest.raises(NotAllowedError):
            readers.reader_for(target)


def test_one_reader_per_integration_and_repr() -> None:
    readers = UrlReaders.create(
        {
            "integrations": {
                "awsS3": [
                    {"endpoint": "http://minio.internal:9000", "roleArn": "arn:aws:iam::1:role/r"},
                    {"accessKeyId": ACCESS_KEY, "secretAccessKey": CANARY},
                ]
            }
        },
        factories=[READER_FACTORY],
    )
    assert [repr(r) for r in readers.readers] == [
        "awsS3{host=minio.internal:9000,authed=true}",
        "awsS3{host=amazonaws.com,authed=true}",
    ]
    assert repr(UrlReaders.create({}, factories=[READER_FACTORY]).readers[0]) == (
        "awsS3{host=amazonaws.com,authed=false}"
    )


# --- read_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "key"),
    [
        ("https://{b}.s3.eu-west-1.amazonaws.com/{k}", "docs/index.md"),
        ("https://{b}.s3-eu-west-1.amazonaws.com/{k}", "docs/index.md"),
        ("https://{b}.s3.amazonaws.com/{k}", "docs/index.md"),
        ("https://s3.us-west-2.amazonaws.com/{b}/{k}", "docs/index.md"),
        ("https://s3.amazonaws.com/{b}/{k}", "docs/index.md"),
        ("https://{b}.s3.amazonaws.com/{k}", "docs/my%20file%2B1.md"),
    ],
)
def test_aws_url_forms(s3: S3Server, monkeypatch: pytest.MonkeyPatch, form: str, key: str) -> None:
    # AWS URLs, served by moto: botocore's own endpoint override sends the calls there.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint)
    readers = make_readers({"accessKeyId": ACCESS_KEY, "secretAccessKey": CANARY})
    content = readers.read_url(form.format(b=BUCKET, k=key)).buffer()
    assert content == (b"# Index\n" if key == "docs/index.md" else b"odd\n")


def test_read_url_content_etag_and_date(readers: UrlReaders, s3: S3Server) -> None:
    head = s3.client().head_object(Bucket=BUCKET, Key="docs/index.md")
    response = readers.read_url(url(s3, "docs/index.md"))
    assert response.buffer() == b"# Index\n"
    assert response.etag == head["ETag"]
    assert response.last_modified_at == head["LastModified"]
    assert s3.get_objects() == [f"/{BUCKET}/docs/index.md"]


def test_read_url_streams(readers: UrlReaders, s3: S3Server) -> None:
    stream = readers.read_url(url(s3, "docs/big.bin")).stream()
    assert stream.read(1000) == b"x" * 1000
    rest = stream.read()
    stream.close()
    assert len(rest) == 299_000


def test_read_url_path_style_without_forcing(s3: S3Server) -> None:
    readers = make_readers(entry(s3, s3ForcePathStyle=False))
    assert readers.read(url(s3, "docs/sub/page.md")) == b"# Page\n"


def test_read_url_not_modified_by_etag(readers: UrlReaders, s3: S3Server) -> None:
    first = readers.read_url(url(s3, "catalog-info.yaml"))
    assert first.etag
    with pytest.raises(NotModifiedError) as info:
        readers.read_url(url(s3, "catalog-info.yaml"), etag=first.etag)
    assert info.value.etag == first.etag
    again = readers.read_url(url(s3, "catalog-info.yaml"), etag='"0000"')
    assert again.buffer() == b"kind: Component\n"


def test_read_url_not_modified_by_date(readers: UrlReaders, s3: S3Server) -> None:
    first = readers.read_url(url(s3, "catalog-info.yaml"))
    changed = first.last_modified_at
    assert changed is not None
    with pytest.raises(NotModifiedError):
        readers.read_url(url(s3, "catalog-info.yaml"), last_modified_after=changed)
    naive_utc = changed.astimezone(UTC).replace(tzinfo=None)  # taken as UTC
    with pytest.raises(NotModifiedError):
        readers.read_url(url(s3, "catalog-info.yaml"), last_modified_after=naive_utc)
    older = changed - timedelta(days=1)
    assert readers.read_url(url(s3, "catalog-info.yaml"), last_modified_after=older).buffer()


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("docs/missing.md", NotFoundError),
        ("docs/", InvalidUrlError),
    ],
)
def test_read_url_errors(readers: UrlReaders, s3: S3Server, target: str, error: type) -> None:
    with pytest.raises(error):
        readers.read_url(url(s3, target))


def test_missing_bucket_is_not_found(readers: UrlReaders, s3: S3Server) -> None:
    with pytest.raises(NotFoundError, match="NoSuchBucket"):
        readers.read_url(url(s3, "a.md", bucket="no-such-bucket"))
    with pytest.raises(NotFoundError, match="NoSuchBucket"):
        readers.read_tree(url(s3, "docs", bucket="no-such-bucket"))


# --- read_tree --------------------------------------------------------------------------


def test_read_tree_prefix_ends_at_a_folder_boundary(readers: UrlReaders, s3: S3Server) -> None:
    tree = readers.read_tree(url(s3, "docs"))
    files = {f.path: f.content() for f in tree.files()}
    assert files == {
        "index.md": b"# Index\n",
        "big.bin": b"x" * 300_000,
        "sub/page.md": b"# Page\n",
        "my file+1.md": b"odd\n",
    }  # no docs2/other.md, no folder markers
    assert [r.query["prefix"] for r in s3.listings()] == [["docs/"]]
    assert len(tree.etag) == 64


def test_read_tree_bucket_root_and_dir(readers: UrlReaders, s3: S3Server, tmp_path: Path) -> None:
    target = readers.read_tree(f"{s3.endpoint}/{BUCKET}/").dir(tmp_path / "out")
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


def test_read_tree_files_carry_last_modified(readers: UrlReaders, s3: S3Server) -> None:
    head = s3.client().head_object(Bucket=BUCKET, Key="docs/sub/page.md")
    files = {f.path: f for f in readers.read_tree(url(s3, "docs/sub")).files()}
    assert files["page.md"].last_modified_at == head["LastModified"]


UNSAFE_KEYS = [
    "docs/../escape.md",
    "docs/./dot.md",
    "docs/a/../../up.md",
    "docs/%2e%2e/enc.md",
    "docs/a\\..\\..\\win.md",
    "docs//double.md",
    "docs/ctl\x01.md",
]


def test_read_tree_skips_unsafe_keys(readers: UrlReaders, s3: S3Server, tmp_path: Path) -> None:
    from botocore.exceptions import ClientError

    refused = []
    for key in UNSAFE_KEYS:
        try:
            s3.put(BUCKET, {key: "no"})
        except ClientError:  # SeaweedFS (a file-system namespace) refuses some outright
            refused.append(key)
    assert refused == [] if isinstance(s3, MotoS3) else len(refused) < len(UNSAFE_KEYS)
    listed = {o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET)["Contents"]}
    # SeaweedFS stores "docs//double.md" as "docs/double.md": then it is a plain file
    normalised = ["out/double.md"] if "docs/double.md" in listed else []
    tree = readers.read_tree(url(s3, "docs"))
    target = tree.dir(tmp_path / "out")
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md"))
    assert written == sorted(["out/index.md", "out/my file+1.md", "out/sub/page.md", *normalised])
    assert target == tmp_path / "out"


def test_read_tree_filter_is_honoured_before_download(readers: UrlReaders, s3: S3Server) -> None:
    seen: dict[str, int] = {}

    def small_markdown(path: str, info: FileInfo) -> bool:
        seen[path] = info.size
        return path.endswith(".md")

    tree = readers.read_tree(url(s3, "docs"), filter=small_markdown)
    assert seen == {"index.md": 8, "big.bin": 300_000, "sub/page.md": 7, "my file+1.md": 4}
    assert sorted(f.path for f in tree.files()) == ["index.md", "my file+1.md", "sub/page.md"]
    assert f"/{BUCKET}/docs/big.bin" not in s3.get_objects()
    assert len(s3.get_objects()) == 3


def test_read_tree_downloads_lazily_and_pins_etags(readers: UrlReaders, s3: S3Server) -> None:
    tree = readers.read_tree(url(s3, "docs/sub"))
    assert s3.get_objects() == []
    [item] = list(tree.files())
    assert item.content() == b"# Page\n"
    pinned = s3.get_object_requests()
    assert pinned[0].headers["If-Match"].strip('"')


def test_read_tree_object_replaced_mid_read(readers: UrlReaders, s3: S3Server) -> None:
    tree = readers.read_tree(url(s3, "docs/sub"))
    s3.put(BUCKET, {"docs/sub/page.md": "# Changed\n"})
    with pytest.raises(ChangedWhileReadingError, match="changed") as info:
        list(tree.files())
    assert info.value.status == 412


def test_read_tree_etag_and_not_modified(readers: UrlReaders, s3: S3Server) -> None:
    first = readers.read_tree(url(s3, "docs")).etag
    assert readers.read_tree(url(s3, "docs")).etag == first
    s3.clear_requests()
    with pytest.raises(NotModifiedError) as info:
        readers.read_tree(url(s3, "docs"), etag=first)
    assert info.value.etag == first
    assert s3.get_objects() == []
    assert len(s3.listings()) == 1
    s3.put(BUCKET, {"docs2/unrelated.md": "x"})
    assert readers.read_tree(url(s3, "docs")).etag == first
    s3.put(BUCKET, {"docs/sub/page.md": "# Changed\n"})
    changed = readers.read_tree(url(s3, "docs"), etag=first)
    assert changed.etag != first
    assert {f.path: f.content() for f in changed.files()}["sub/page.md"] == b"# Changed\n"


def test_read_tree_paginates(s3: S3Server) -> None:
    s3.put("many", {f"d/{i:02d}.txt": str(i) for i in range(7)})
    reader = direct_reader(entry(s3), page_size=3)
    s3.clear_requests()
    tree = reader.read_tree(url(s3, "d", bucket="many"), filter=lambda p, i: p < "03")
    assert [f.path for f in tree.files()] == ["00.txt", "01.txt", "02.txt"]
    assert [r.query.get("continuation-token") is None for r in s3.listings()] == [
        True,
        False,
        False,
    ]
    with pytest.raises(UpstreamError, match="did not end after 2 pages"):
        direct_reader(entry(s3), page_size=3, max_list_pages=2).read_tree(
            url(s3, "d", bucket="many")
        )


def test_read_tree_missing_prefix_is_not_found(readers: UrlReaders, s3: S3Server) -> None:
    # An object's URL: InputError suggesting read_url (issue 12: a file URL given to a tree).
    with pytest.raises(InputError, match=r"file, not a folder.*read_url"):
        readers.read_tree(url(s3, "docs/index.md"))
    with pytest.raises(NotFoundError):
        readers.read_tree(url(s3, "nothing-here"))


def test_empty_bucket_root_is_an_empty_tree(readers: UrlReaders, s3: S3Server) -> None:
    s3.client().create_bucket(Bucket="empty")
    tree = readers.read_tree(url(s3, "", bucket="empty"))
    assert list(tree.files()) == []


# --- search -----------------------------------------------------------------------------


def test_search_glob_lists_the_static_prefix_only(readers: UrlReaders, s3: S3Server) -> None:
    result = readers.search(url(s3, "docs/**/*.md"))
    assert s3.get_objects() == []  # contents are fetched on demand
    by_url = {f.url: f.content() for f in result.files}
    assert by_url == {
        url(s3, "docs/index.md"): b"# Index\n",
        url(s3, "docs/sub/page.md"): b"# Page\n",
        url(s3, "docs/my%20file%2B1.md"): b"odd\n",
    }
    assert [r.query["prefix"] for r in s3.listings()] == [["docs/"]]
    assert len(result.etag) == 64


def test_search_glob_virtual_hosted_urls(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.endpoint)
    readers = make_readers({"accessKeyId": ACCESS_KEY, "secretAccessKey": CANARY})
    base = f"https://{BUCKET}.s3.eu-west-1.amazonaws.com"
    result = readers.search(f"{base}/*.yaml")
    assert [f.url for f in result.files] == [f"{base}/catalog-info.yaml"]
    path_style = readers.search(f"https://s3.amazonaws.com/{BUCKET}/docs/sub/*")
    assert [f.url for f in path_style.files] == [
        f"https://s3.amazonaws.com/{BUCKET}/docs/sub/page.md"
    ]


def test_search_glob_not_modified(readers: UrlReaders, s3: S3Server) -> None:
    etag = readers.search(url(s3, "**/*.yaml")).etag
    with pytest.raises(NotModifiedError):
        readers.search(url(s3, "**/*.yaml"), etag=etag)
    s3.put(BUCKET, {"docs/new.yaml": "x: 1\n"})
    again = readers.search(url(s3, "**/*.yaml"), etag=etag)
    assert sorted(f.url for f in again.files) == [
        url(s3, "catalog-info.yaml"),
        url(s3, "docs/new.yaml"),
    ]
    assert s3.get_objects() == []


def test_search_exact_and_miss(readers: UrlReaders, s3: S3Server) -> None:
    exact = readers.search(url(s3, "docs/index.md"))
    assert [f.url for f in exact.files] == [url(s3, "docs/index.md")]
    assert exact.files[0].content() == b"# Index\n"
    assert exact.etag.startswith('"')
    miss = readers.search(url(s3, "docs/nope.md"))
    assert (miss.files, miss.etag) == ([], "")
    assert readers.search(url(s3, "nowhere/*.md")).files == []


# --- credentials ------------------------------------------------------------------------


def test_static_keys_sign_requests_and_never_travel(readers: UrlReaders, s3: S3Server) -> None:
    readers.read(url(s3, "docs/index.md"))
    [request] = s3.requests
    assert f"Credential={ACCESS_KEY}/" in request.headers["Authorization"]
    assert all(CANARY not in json.dumps(r.headers) for r in s3.requests)


def test_default_chain(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = moto_s3
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value")
    readers = make_readers({"endpoint": s3.endpoint})
    assert readers.read(url(s3, "docs/index.md")) == b"# Index\n"
    assert "Credential=AKIAFROMENVIRONMENT/" in s3.requests[-1].headers["Authorization"]


def test_no_credentials_anywhere(s3: S3Server) -> None:
    readers = make_readers({"endpoint": s3.endpoint})
    with pytest.raises(AuthenticationError, match="accessKeyId"):
        readers.read(url(s3, "docs/index.md"))
    assert s3.requests == []


def test_half_configured_keys(s3: S3Server) -> None:
    readers = make_readers({"endpoint": s3.endpoint, "accessKeyId": ACCESS_KEY})
    with pytest.raises(ConfigError, match="both"):
        readers.read(url(s3, "docs/index.md"))


def test_assume_role_through_sts(
    moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    s3 = moto_s3
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3.endpoint)
    role = "arn:aws:iam::123456789012:role/catalog-reader"
    readers = make_readers(entry(s3, roleArn=role, externalId="ext-42"))
    assert readers.read(url(s3, "docs/index.md")) == b"# Index\n"
    assert readers.read(url(s3, "catalog-info.yaml")) == b"kind: Component\n"
    sts = [r for r in s3.requests if r.method == "POST"]
    assert len(sts) == 1  # assumed once, reused until it nears expiry
    form = parse_qs(sts[0].body.decode())
    assert form["Action"] == ["AssumeRole"]
    assert form["RoleArn"] == [role]
    assert form["RoleSessionName"] == [ROLE_SESSION_NAME]
    assert form["ExternalId"] == ["ext-42"]
    assert f"Credential={ACCESS_KEY}/" in sts[0].headers["Authorization"]
    gets = [r for r in s3.requests if r.is_get_object]
    assert all(f"Credential={ACCESS_KEY}/" not in r.headers["Authorization"] for r in gets)
    assert all("X-Amz-Security-Token" in r.headers for r in gets)
    # botocore logs the STS answer and the session token at DEBUG: both masked
    assert "<SecretAccessKey>***</SecretAccessKey>" in caplog.text
    assert re.search(r"<SecretAccessKey>[^*<]", caplog.text) is None
    assert gets[0].headers["X-Amz-Security-Token"] not in caplog.text
    assert CANARY not in caplog.text


# --- errors from a misbehaving store -----------------------------------------------------


@dataclass
class Fault:
    status: int
    body: str


class FaultServer:
    """Answers every request with one canned S3 error (real botocore parsing on our side)."""

    def __init__(self) -> None:
        self.fault = Fault(500, "")
        self.count = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.count += 1
                body = outer.fault.body.encode()
                self.send_response(outer.fault.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    server = FaultServer()
    yield server
    server.stop()


def s3_error(code: str, message: str) -> str:
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (403, "AccessDenied", PermissionDeniedError),
        (403, "InvalidAccessKeyId", AuthenticationError),
        (403, "SignatureDoesNotMatch", AuthenticationError),
        (404, "NoSuchKey", NotFoundError),
        (503, "SlowDown", RateLimitedError),
        (500, "InternalError", UpstreamError),
        (400, "InvalidRequest", HttpStatusError),
    ],
)
def test_store_errors_are_typed_and_redacted(
    faults: FaultServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    code: str,
    error: type[ScmReaderError],
) -> None:
    faults.fault = Fault(status, s3_error(code, f"echoing {CANARY}"))
    reader = direct_reader(entry_for(faults.endpoint), max_attempts=1)
    caplog.set_level(logging.DEBUG)
    for call in (
        lambda: reader.read_url(f"{faults.endpoint}/b/k.md"),
        lambda: reader.read_tree(f"{faults.endpoint}/b/k"),
        lambda: reader.search(f"{faults.endpoint}/b/**/*.md"),
    ):
        with pytest.raises(error) as info:
            call()
        assert type(info.value) is error
        assert code in str(info.value)
        assert CANARY not in str(info.value)
        assert info.value.__cause__ is None
    assert CANARY not in caplog.text
    assert CANARY not in repr(reader)


def entry_for(endpoint: str) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "s3ForcePathStyle": True,
        "accessKeyId": ACCESS_KEY,
        "secretAccessKey": CANARY,
    }


def test_settings_reach_botocore(faults: FaultServer) -> None:
    faults.fault = Fault(500, s3_error("InternalError", "boom"))
    reader = direct_reader(entry_for(faults.endpoint), max_attempts=2, backoff_initial=0.0)
    with pytest.raises(UpstreamError):
        reader.read_url(f"{faults.endpoint}/b/k.md")
    assert faults.count == 2


def test_unreachable_endpoint_is_a_transport_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reader = direct_reader(entry_for(f"http://127.0.0.1:{port}"), max_attempts=1)
    with pytest.raises(ScmReaderError) as info:
        reader.read_url(f"http://127.0.0.1:{port}/b/k.md")
    assert "connection" in str(info.value).lower() or "timed out" in str(info.value).lower()
    assert CANARY not in str(info.value)


def test_assume_role_refused(
    faults: FaultServer, moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = moto_s3
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", faults.endpoint)
    faults.fault = Fault(
        403,
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>not trusted {CANARY}</Message></Error></ErrorResponse>",
    )
    reader = direct_reader(entry(s3, roleArn="arn:aws:iam::1:role/nope"), max_attempts=1)
    with pytest.raises(PermissionDeniedError, match="arn:aws:iam::1:role/nope") as info:
        reader.read_url(url(s3, "docs/index.md"))
    assert CANARY not in str(info.value)
    assert s3.get_objects() == []


# --- boto3 is optional --------------------------------------------------------------------


def test_missing_boto3_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, moto_s3: MotoS3
) -> None:
    s3 = moto_s3
    monkeypatch.setitem(sys.modules, "boto3", None)
    readers = make_readers(entry(s3))  # building the readers does not need boto3
    with pytest.raises(ConfigError, match=r"pip install 'scmreader\[s3\]'"):
        readers.read_url(url(s3, "docs/index.md"))


def test_importing_the_reader_does_not_import_boto3() -> None:
    import subprocess

    code = (
        "import sys, scmreader.readers.aws_s3, scmreader.readers;"
        "scmreader.readers.UrlReaders.default({});"
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]
