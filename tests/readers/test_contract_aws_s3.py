"""The shared reader contract, run against AwsS3UrlReader and moto's S3 server.

The contract was written for git hosts, but it fits an object store: the "repository" is a
bucket holding CONTRACT_FILES, browse URLs are path-style object URLs on the endpoint, the
"archive downloads" it counts are GetObject requests (``/<bucket>/<key>``; a listing is
``/<bucket>?list-type=2``), and the credential check looks at the SigV4 ``Authorization``
header the server received. ``MotoS3`` offers the request log the suite reads from a
FakeScmHost (``host``, ``requests`` with ``headers``/``path``/``auth_headers``,
``clear_requests()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from contract import CONTRACT_FILES, ContractEnv, ReaderContract
from test_aws_s3_reader import ACCESS_KEY, CANARY, MotoS3, aws_env  # skips without boto3/moto

from scmreader.readers import UrlReaders

__all__ = ["aws_env"]  # the autouse fixture that isolates the AWS environment

BUCKET = "contract"


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.stop()


@pytest.fixture
def contract(moto_server: MotoS3) -> ContractEnv:
    moto_server.reset()
    moto_server.put(BUCKET, dict(CONTRACT_FILES))
    moto_server.clear_requests()
    entry: dict[str, Any] = {
        "endpoint": moto_server.endpoint,
        "s3ForcePathStyle": True,
        "accessKeyId": ACCESS_KEY,
        "secretAccessKey": CANARY,
    }
    base = f"{moto_server.endpoint}/{BUCKET}"
    return ContractEnv(
        readers=UrlReaders.default({"integrations": {"awsS3": [entry]}}),
        hosts=[moto_server],  # duck-typed: MotoS3 has FakeScmHost's request log
        file_url=lambda path: f"{base}/{path}",
        tree_url=lambda path: f"{base}/{path}",
        archive_path=rf"^/{BUCKET}/.",
        credential_hosts={moto_server.host},
    )


class TestAwsS3Contract(ReaderContract):
    """Every contract case, on S3."""
