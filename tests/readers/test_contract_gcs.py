"""The shared reader contract, run against GoogleGcsUrlReader on gcp-storage-emulator and
on fake-gcs-server (a Cloud Storage implementation that keeps generations as GCS does).

The "repository" is a bucket holding CONTRACT_FILES; browse URLs are the usual
``https://storage.cloud.google.com/<bucket>/<name>`` (the reader is pointed at the emulator
with ``endpoint=``); the "archive downloads" the suite counts are object downloads
(``/download/storage/v1/b/<bucket>/o/<name>``; metadata and listings are under
``/storage/v1``); and the credential check looks at the ``Authorization`` header the
emulator received, carrying the token the service account from the config obtained from
the emulator's (or the recording proxy's) ``/token``. ``GcsEmulator`` and ``FakeGcs``
offer the request log the suite reads from a FakeScmHost.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from contract import CONTRACT_FILES, ContractEnv, ReaderContract
from object_servers import FakeGcs, gcs_factory
from test_google_gcs_reader import (  # skips without google-cloud-storage / the emulator
    CLIENT_EMAIL,
    GCS,
    PRIVATE_KEY,
    GcsEmulator,
    gcp_env,
)

from scmreader.readers import UrlReaders

__all__ = ["gcp_env"]  # the autouse fixture that isolates the Google environment

BUCKET = "contract"


@pytest.fixture(scope="module")
def emulator() -> Iterator[GcsEmulator]:
    server = GcsEmulator()
    yield server
    server.stop()


@pytest.fixture(params=["gcp-storage-emulator", "fake-gcs-server"])
def contract(request: pytest.FixtureRequest) -> ContractEnv:
    """The contract bucket on gcp-storage-emulator or on fake-gcs-server."""
    server: GcsEmulator | FakeGcs
    if request.param == "fake-gcs-server":
        server = request.getfixturevalue("fake_gcs")
        bucket = server.new_bucket("contract")
    else:
        server = request.getfixturevalue("emulator")
        server.reset()
        bucket = BUCKET
    server.put(bucket, dict(CONTRACT_FILES))
    server.clear_requests()
    config = {
        "integrations": {"googleGcs": {"clientEmail": CLIENT_EMAIL, "privateKey": PRIVATE_KEY}}
    }
    base = f"{GCS}/{bucket}"
    return ContractEnv(
        readers=UrlReaders.default(config, factories=[gcs_factory(server.endpoint)]),
        hosts=[server],  # type: ignore[list-item]  # duck-typed: FakeScmHost's request log
        file_url=lambda path: f"{base}/{path}",
        tree_url=lambda path: f"{base}/{path}",
        archive_path=r"^/download/",
        credential_hosts={server.host},
    )


class TestGoogleGcsContract(ReaderContract):
    """Every contract case, on GCS."""
