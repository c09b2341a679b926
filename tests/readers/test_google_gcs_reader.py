"""GoogleGcsUrlReader against gcp-storage-emulator on loopback (urlreader spec §2.12).

Requests per call, as asserted here: read_url = 1 metadata GET + 1 ranged download per
``chunk_size`` bytes, issued when the stream is read (only the metadata GET when the etag
still matches); read_tree = the listing, then 1 download per selected file when its
content is read (the listing alone when the etag is unchanged); glob search = the listing
of the glob's static prefix, plus 1 download per ``content()`` call.

``GcsEmulator`` serves the emulator's request handler behind a recorder and adds an OAuth
token endpoint (``POST /token``) so the service-account path runs offline end to end.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from object_servers import GCS_ACCESS_TOKEN, FakeGcs, ThreadedServer

from scmreader.errors import (
    AuthenticationError,
    ChangedWhileReadingError,
    ConfigError,
    InvalidUrlError,
    NotFoundError,
    NotModifiedError,
    PermissionDeniedError,
    RateLimitedError,
    ScmReaderError,
    TransportError,
    UpstreamError,
)
from scmreader.http import HttpSettings
from scmreader.integrations.google_gcs import (
    GoogleGcsIntegration,
    GoogleGcsIntegrationConfig,
    read_google_gcs_integration_config,
)
from scmreader.readers import UrlReaders
from scmreader.readers.google_gcs import (
    READER_FACTORY,
    GcsLocation,
    GoogleGcsUrlReader,
    parse_gcs_url,
)
from scmreader.readers.tree import TreeResponseFactory
from scmreader.readers.types import FileInfo

pytest.importorskip("google.cloud.storage")
pytest.importorskip("gcp_storage_emulator")

BUCKET = "scm-bucket"
GCS = "https://storage.cloud.google.com"
CLIENT_EMAIL = "reader@scm-project.iam.gserviceaccount.com"
ACCESS_TOKEN = GCS_ACCESS_TOKEN
FAST = HttpSettings(retry_budget=0.5, connect_timeout=2, read_timeout=5)


def make_private_key() -> str:
    """A fresh RSA key in PEM (PKCS#8), as a service account's JSON key file holds it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


PRIVATE_KEY = make_private_key()
#: A line from the middle of the key: it must never show up in messages, logs or repr.
CANARY = PRIVATE_KEY.splitlines()[5]


# --- the server -----------------------------------------------------------------------


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def auth_headers(self) -> list[str]:
        return [h for h in self.headers if h.lower() == "authorization"]

    @property
    def is_download(self) -> bool:
        return self.path.startswith("/download/") or self.query.get("alt") == ["media"]


@dataclass
class GcsEmulator(ThreadedServer):
    """gcp-storage-emulator on 127.0.0.1 with a request log (duck-types FakeScmHost's),
    a token endpoint, and injectable faults (``faults[path_fragment] = status``)."""

    requests: list[Recorded] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    token_status: int = 200
    host: str = ""

    def __post_init__(self) -> None:
        from gcp_storage_emulator.server import RequestHandler
        from gcp_storage_emulator.storage import Storage

        self.storage = Storage(use_memory_fs=True)
        emulator = self
        lock = threading.Lock()

        class Handler(RequestHandler):  # type: ignore[misc]
            def _intercept(self) -> bool:
                parts = urlsplit(self.path)
                emulator.requests.append(
                    Recorded(
                        self.command,
                        unquote(parts.path),
                        parse_qs(parts.query, keep_blank_values=True),
                        dict(self.headers.items()),
                    )
                )
                if parts.path == "/token":
                    self._answer_token()
                    return True
                for fragment, status in emulator.faults.items():
                    if fragment in unquote(parts.path):
                        self._answer(status, {"error": {"code": status, "message": "injected"}})
                        return True
                return False

            def _answer_token(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if emulator.token_status == 200:
                    body = {
                        "access_token": ACCESS_TOKEN,
                        "expires_in": 3600,
                        "token_type": "Bearer",
                    }
                else:
                    body = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                self._answer(emulator.token_status, body)

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                with lock:
                    if not self._intercept():
                        super().do_GET()

            def do_POST(self) -> None:
                with lock:
                    if not self._intercept():
                        super().do_POST()

        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, self.storage))
        server.daemon_threads = True
        self._serve(server)

    def reset(self) -> None:
        self.storage.wipe()
        self.faults.clear()
        self.token_status = 200
        self.clear_requests()

    def put(self, bucket: str, files: dict[str, bytes | str]) -> None:
        """Create ``bucket`` (if needed) and upload ``files`` through the JSON API."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        client = storage.Client(
            project="test",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": self.endpoint},
        )
        target = client.bucket(bucket)
        if not target.exists():
            target = client.create_bucket(bucket)
        for name, data in files.items():
            target.blob(name).upload_from_string(data.encode() if isinstance(data, str) else data)

    def inject(self, bucket: str, name: str, like: str) -> None:
        """List ``name`` (a name the emulator cannot store) with ``like``'s metadata."""
        resource = dict(self.storage.objects[bucket][like])
        resource["name"] = name
        self.storage.objects[bucket][name] = resource

    def generation(self, bucket: str, name: str) -> str:
        return str(self.storage.objects[bucket][name]["generation"])

    def downloads(self) -> list[str]:
        return [r.path for r in self.requests if r.is_download]

    def listings(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("/o")]


@pytest.fixture(autouse=True)
def gcp_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No host Google credentials, no metadata-server probes, no emulator override."""
    import os

    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GCE_", "CLOUDSDK_")) or name == "STORAGE_EMULATOR_HOST":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")


@pytest.fixture(scope="module")
def emulator() -> Iterator[GcsEmulator]:
    server = GcsEmulator()
    yield server
    server.stop()


#: The two Cloud Storage servers the tests run on (the same request-log and setup methods).
GcsServer = GcsEmulator | FakeGcs


@pytest.fixture(params=["gcp-storage-emulator", "fake-gcs-server"])
def gcs(request: pytest.FixtureRequest) -> GcsServer:
    """The stocked bucket on gcp-storage-emulator, and on fake-gcs-server."""
    emulator: GcsServer = request.getfixturevalue(
        "emulator" if request.param == "gcp-storage-emulator" else "fake_gcs"
    )
    emulator.reset()
    emulator.put(
        BUCKET,
        {
            "catalog-info.yaml": "kind: Component\n",
            "docs/index.md": "# Index\n",
            "docs/big.bin": b"x" * 300_000,
            "docs/sub/page.md": "# Page\n",
            "docs2/other.md": "# Other\n",
            "top.txt": "top\n",
        },
    )
    emulator.clear_requests()
    return emulator


def service_account(**overrides: Any) -> GoogleGcsIntegration:
    from scmreader.config import Config

    entry = {"clientEmail": CLIENT_EMAIL, "privateKey": PRIVATE_KEY, **overrides}
    return GoogleGcsIntegration(read_google_gcs_integration_config(Config.from_dict(entry)))


def make_reader(
    gcs: GcsServer, integration: GoogleGcsIntegration | None = None, **kwargs: Any
) -> GoogleGcsUrlReader:
    """A reader with a service account whose tokens come from the emulator's /token."""
    return GoogleGcsUrlReader(
        integration or service_account(),
        tree=TreeResponseFactory(),
        settings=FAST,
        endpoint=gcs.endpoint,
        token_uri=f"{gcs.endpoint}/token",
        **kwargs,
    )


def url(name: str, bucket: str = BUCKET) -> str:
    return f"{GCS}/{bucket}/{name}"


# --- URL parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (f"{GCS}/bucket/dir/a.yaml", GcsLocation("bucket", "dir/a.yaml")),
        (f"{GCS}/my.bucket_1/a%20b/c.yaml", GcsLocation("my.bucket_1", "a b/c.yaml")),
        (f"{GCS}/bucket/", GcsLocation("bucket", "")),
        (f"{GCS}/bucket", GcsLocation("bucket", "")),
        (f"{GCS}/bucket/docs/**/*.md", GcsLocation("bucket", "docs/**/*.md")),
    ],
)
def test_parse_gcs_url(given: str, expected: GcsLocation) -> None:
    assert parse_gcs_url(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "https://storage.googleapis.com/bucket/a.yaml",
        f"{GCS}/",
        f"{GCS}/UPPER/a.yaml",
        f"{GCS}/-bad/a.yaml",
        f"{GCS}/ab/a.yaml",
    ],
)
def test_parse_gcs_url_rejects(given: str) -> None:
    with pytest.raises(InvalidUrlError):
        parse_gcs_url(given)


def test_factory_claims_only_the_gcs_host() -> None:
    readers = UrlReaders.create({}, factories=[READER_FACTORY])
    assert repr(readers.reader_for(url("a.yaml"))) == (
        "googleGcs{host=storage.cloud.google.com,authed=false}"
    )
    from scmreader.errors import NotAllowedError

    with pytest.raises(NotAllowedError):
        readers.reader_for("https://storage.googleapis.com/bucket/a.yaml")


# --- read_url -------------------------------------------------------------------------


def test_read_url_content_etag_and_date(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    response = reader.read_url(url("docs/index.md"))
    assert response.buffer() == b"# Index\n"
    generation = gcs.generation(BUCKET, "docs/index.md")
    assert response.etag == generation
    assert response.last_modified_at is not None
    assert abs(response.last_modified_at - datetime.now(UTC)) < timedelta(minutes=5)
    api = [r for r in gcs.requests if r.path != "/token"]
    assert len(api) == 2 and len(gcs.downloads()) == 1
    assert all(r.headers.get("authorization") == f"Bearer {ACCESS_TOKEN}" for r in api)


def test_read_url_streams_in_chunks(gcs: GcsServer) -> None:
    reader = make_reader(gcs, chunk_size=128 * 1024)
    stream = reader.read_url(url("docs/big.bin")).stream()
    assert gcs.downloads() == []  # nothing fetched before the stream is read
    first = stream.read(10)
    assert first == b"x" * 10 and len(gcs.downloads()) == 1
    assert len(first + stream.read()) == 300_000
    assert len(gcs.downloads()) == 3  # 128 KiB + 128 KiB + the rest, no request past the end


def test_read_url_not_modified_by_etag_downloads_nothing(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    etag = reader.read_url(url("catalog-info.yaml")).etag
    gcs.clear_requests()
    with pytest.raises(NotModifiedError) as caught:
        reader.read_url(url("catalog-info.yaml"), etag=etag)
    assert caught.value.etag == etag
    assert gcs.downloads() == []
    assert reader.read_url(url("catalog-info.yaml"), etag="12345").buffer() == (
        b"kind: Component\n"
    )


def test_read_url_not_modified_by_date(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    with pytest.raises(NotModifiedError):
        reader.read_url(url("top.txt"), last_modified_after=datetime.now(UTC) + timedelta(1))
    naive_past = datetime.now() - timedelta(days=1)
    assert reader.read_url(url("top.txt"), last_modified_after=naive_past).buffer() == b"top\n"


@pytest.mark.parametrize("target", [url("docs/missing.md"), url("a.yaml", bucket="no-such-bucket")])
def test_read_url_missing_is_not_found(gcs: GcsServer, target: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        make_reader(gcs).read_url(target)
    assert caught.value.status == 404


def test_read_url_of_a_folder_is_invalid(gcs: GcsServer) -> None:
    with pytest.raises(InvalidUrlError, match="read_tree"):
        make_reader(gcs).read_url(url("docs/"))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, PermissionDeniedError),
        (401, AuthenticationError),
        (429, RateLimitedError),
        (500, UpstreamError),
        (503, UpstreamError),
    ],
)
def test_read_url_maps_statuses(gcs: GcsServer, status: int, error: type[Exception]) -> None:
    gcs.faults["catalog-info.yaml"] = status
    with pytest.raises(error) as caught:
        make_reader(gcs).read_url(url("catalog-info.yaml"))
    assert getattr(caught.value, "status", None) == status


def test_download_failure_after_metadata_is_typed(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    response = reader.read_url(url("top.txt"))
    gcs.faults["/download/"] = 403
    with pytest.raises(PermissionDeniedError):
        response.buffer()


def test_unreachable_endpoint_is_a_transport_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    reader = GoogleGcsUrlReader(
        GoogleGcsIntegration(GoogleGcsIntegrationConfig()),
        tree=TreeResponseFactory(),
        settings=HttpSettings(retry_budget=0.2, connect_timeout=1),
    )
    with pytest.raises(TransportError):
        reader.read_url(url("top.txt"))


# --- credentials ----------------------------------------------------------------------


def test_emulator_env_without_service_account_is_anonymous(
    gcs: GcsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.endpoint)
    readers = UrlReaders.default({})
    assert readers.read(url("top.txt")) == b"top\n"
    assert gcs.requests and not [r for r in gcs.requests if r.auth_headers]


def test_service_account_from_config_through_the_default_factory(
    gcs: GcsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.endpoint)
    config = {"integrations": {"googleGcs": {"clientEmail": CLIENT_EMAIL, "privateKey": "x"}}}
    readers = UrlReaders.default(config)
    assert "googleGcs{host=storage.cloud.google.com,authed=true}" in repr(readers)
    with pytest.raises(ConfigError) as caught:  # "x" is no PEM key
        readers.read(url("top.txt"))
    assert caught.value.key_path == "integrations.googleGcs.privateKey"


def test_no_default_credentials_is_an_authentication_error() -> None:
    reader = GoogleGcsUrlReader(
        GoogleGcsIntegration(GoogleGcsIntegrationConfig()), tree=TreeResponseFactory()
    )
    with pytest.raises(AuthenticationError, match="clientEmail and privateKey"):
        reader.read_url(url("top.txt"))


def test_rejected_service_account_is_an_authentication_error(gcs: GcsServer) -> None:
    gcs.token_status = 400
    with pytest.raises(AuthenticationError, match="clientEmail"):
        make_reader(gcs).read_url(url("top.txt"))
    assert [r.path for r in gcs.requests] == ["/token"]


def test_missing_package_tells_how_to_install(
    gcs: GcsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    with pytest.raises(ConfigError, match=r"pip install 'scmreader\[gcs\]'"):
        make_reader(gcs).read_url(url("top.txt"))


def test_private_key_never_leaks(gcs: GcsServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    reader = make_reader(gcs)
    seen: list[str] = [repr(reader), str(reader), repr(reader.integration.config)]
    reader.read_url(url("top.txt")).buffer()
    list(reader.read_tree(url("docs")).files())
    reader.search(url("**/*.md"))
    failures: list[ScmReaderError] = []
    for fault in (403, 401, 500):
        gcs.faults["top.txt"] = fault
        with pytest.raises(ScmReaderError) as caught:
            reader.read_url(url("top.txt"))
        failures.append(caught.value)
    gcs.token_status = 400
    with pytest.raises(AuthenticationError) as rejected:
        make_reader(gcs).read_url(url("top.txt"))
    failures.append(rejected.value)
    with pytest.raises(ConfigError) as broken:
        make_reader(gcs, service_account(privateKey=PRIVATE_KEY[:200])).read_url(url("top.txt"))
    failures.append(broken.value)
    seen += [str(e) for e in failures] + [repr(e) for e in failures]
    seen += [r.getMessage() for r in caplog.records]
    assert not [text for text in seen if CANARY in text or "BEGIN PRIVATE KEY-----\nMII" in text]


# --- read_tree ------------------------------------------------------------------------


def test_read_tree_prefix_stops_at_the_folder_boundary(gcs: GcsServer) -> None:
    tree = make_reader(gcs).read_tree(url("docs"))
    files = {f.path: f.content() for f in tree.files()}
    assert files == {
        "index.md": b"# Index\n",
        "big.bin": b"x" * 300_000,
        "sub/page.md": b"# Page\n",
    }
    assert len(tree.etag) == 64
    assert gcs.listings()[0].query["prefix"] == ["docs/"]


def test_read_tree_root_and_last_modified(gcs: GcsServer) -> None:
    files = list(make_reader(gcs).read_tree(url("")).files())
    assert {f.path for f in files} == {
        "catalog-info.yaml",
        "docs/index.md",
        "docs/big.bin",
        "docs/sub/page.md",
        "docs2/other.md",
        "top.txt",
    }
    assert all(f.last_modified_at is not None for f in files)


def test_read_tree_skips_markers_and_unsafe_names(gcs: GcsServer) -> None:
    for name in (
        "docs/",
        "docs/sub/",
        "docs/../evil",
        "docs//twice",
        "docs/./dot",
        "docs/a\x01b",
        "docs/%2e%2e/enc",
    ):
        gcs.inject(BUCKET, name, like="docs/index.md")
    files = {f.path for f in make_reader(gcs).read_tree(url("docs/")).files()}
    assert files == {"index.md", "big.bin", "sub/page.md"}


def test_read_tree_filter_sees_sizes_and_downloads_only_selected(gcs: GcsServer) -> None:
    seen: dict[str, int] = {}

    def small(path: str, info: FileInfo) -> bool:
        seen[path] = info.size
        return info.size < 1000

    tree = make_reader(gcs).read_tree(url("docs"), filter=small)
    assert gcs.downloads() == []  # lazy
    assert sorted(f.path for f in tree.files()) == ["index.md", "sub/page.md"]
    assert seen == {"index.md": 8, "big.bin": 300_000, "sub/page.md": 7}
    assert not any("big.bin" in d for d in gcs.downloads())


def test_read_tree_dir(gcs: GcsServer, tmp_path: Path) -> None:
    target = make_reader(gcs).read_tree(url("docs/sub")).dir(tmp_path / "out")
    assert (target / "page.md").read_bytes() == b"# Page\n"


def test_read_tree_etag_not_modified_before_download(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    etag = reader.read_tree(url("docs")).etag
    assert reader.read_tree(url("docs")).etag == etag  # stable
    gcs.clear_requests()
    with pytest.raises(NotModifiedError):
        reader.read_tree(url("docs"), etag=etag)
    assert gcs.downloads() == [] and len(gcs.listings()) == 1
    gcs.put(BUCKET, {"docs/index.md": "# Changed\n"})  # new generation
    changed = reader.read_tree(url("docs"), etag=etag)
    assert changed.etag != etag
    assert {f.path: f.content() for f in changed.files()}["index.md"] == b"# Changed\n"


def test_generation_gone_mid_read_is_changed_while_reading(fake_gcs: FakeGcs) -> None:
    """Without Object Versioning an overwrite deletes the listed generation, so the pinned
    download gets 404: ChangedWhileReadingError, not NotFoundError. fake-gcs-server only:
    gcp-storage-emulator ignores ``generation`` and would serve the new content."""
    bucket = fake_gcs.new_bucket("generations")
    fake_gcs.put(bucket, {"docs/index.md": "# Index\n"})
    tree = make_reader(fake_gcs).read_tree(url("docs", bucket=bucket))
    fake_gcs.put(bucket, {"docs/index.md": "# Changed\n"})
    with pytest.raises(ChangedWhileReadingError) as info:
        list(tree.files())
    assert info.value.status == 404


def test_read_tree_missing_prefix_or_bucket_is_not_found(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    with pytest.raises(NotFoundError):
        reader.read_tree(url("nothing"))
    with pytest.raises(NotFoundError):
        reader.read_tree(url("", bucket="no-such-bucket"))


def test_read_tree_rejects_traversal(gcs: GcsServer) -> None:
    with pytest.raises(InvalidUrlError):
        make_reader(gcs).read_tree(url("docs/%2e%2e/secrets"))


# --- search ---------------------------------------------------------------------------


def test_search_glob_lists_the_static_prefix_and_fetches_lazily(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    result = reader.search(url("docs/**/*.md"))
    assert gcs.listings()[0].query["prefix"] == ["docs/"]
    assert gcs.downloads() == []
    assert {f.url: f.content() for f in result.files} == {
        url("docs/index.md"): b"# Index\n",
        url("docs/sub/page.md"): b"# Page\n",
    }
    assert len(result.etag) == 64
    gcs.clear_requests()
    with pytest.raises(NotModifiedError):
        reader.search(url("docs/**/*.md"), etag=result.etag)
    assert gcs.downloads() == []


def test_search_prefix_glob_like_backstage(gcs: GcsServer) -> None:
    result = make_reader(gcs).search(url("docs*"))
    assert result.files == []  # '*' stays within a segment: no key is exactly docs<x>
    result = make_reader(gcs).search(url("docs/*"))
    assert sorted(f.url for f in result.files) == [url("docs/big.bin"), url("docs/index.md")]


def test_search_urls_are_encoded(gcs: GcsServer) -> None:
    gcs.put(BUCKET, {"space dir/a b.md": "spaced\n"})
    result = make_reader(gcs).search(url("space%20dir/*.md"))
    assert [f.url for f in result.files] == [url("space%20dir/a%20b.md")]
    assert result.files[0].content() == b"spaced\n"


def test_search_exact_and_miss(gcs: GcsServer) -> None:
    reader = make_reader(gcs)
    exact = reader.search(url("top.txt"))
    assert [(f.url, f.content()) for f in exact.files] == [(url("top.txt"), b"top\n")]
    assert exact.etag == gcs.generation(BUCKET, "top.txt")
    miss = reader.search(url("nothing.txt"))
    assert (miss.files, miss.etag) == ([], "")
    assert reader.search(url("nothing/**/*.md")).files == []
