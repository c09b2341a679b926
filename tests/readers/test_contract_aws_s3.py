"""The shared reader contract, run against AwsS3UrlReader on moto's S3 server and on
SeaweedFS (a real S3 implementation; the reader signs as its read-only identity).

The contract was written for git hosts, but it fits an object store: the "repository" is a
bucket holding CONTRACT_FILES, browse URLs are path-style object URLs on the endpoint, the
"archive downloads" it counts are GetObject requests (``/<bucket>/<key>``; a listing is
``/<bucket>?list-type=2``), and the credential check looks at the SigV4 ``Authorization``
header the server received. ``MotoS3`` and ``SeaweedFs`` (through its recording proxy)
offer the request log the suite reads from a FakeScmHost (``host``, ``requests`` with
``headers``/``path``/``auth_headers``, ``clear_requests()``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from contract import CONTRACT_FILES, ContractEnv, ReaderContract
from object_servers import SEAWEED_READER, SeaweedFs
from test_aws_s3_reader import ACCESS_KEY, CANARY, MotoS3, aws_env  # skips without boto3/moto

from scmreader.readers import UrlReaders

__all__ = ["aws_env"]  # the autouse fixture that isolates the AWS environment

BUCKET = "contract"


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoS3]:
    server = MotoS3()
    yield server
    server.stop()


def _env(server: MotoS3 | SeaweedFs, bucket: str, keys: tuple[str, str]) -> ContractEnv:
    entry: dict[str, Any] = {
        "endpoint": server.endpoint,
        "s3ForcePathStyle": True,
        "accessKeyId": keys[0],
        "secretAccessKey": keys[1],
    }
    base = f"{server.endpoint}/{bucket}"
    return ContractEnv(
        readers=UrlReaders.default({"integrations": {"awsS3": [entry]}}),
        hosts=[server],  # type: ignore[list-item]  # duck-typed: FakeScmHost's request log
        file_url=lambda path: f"{base}/{path}",
        tree_url=lambda path: f"{base}/{path}",
        archive_path=rf"^/{bucket}/.",
        credential_hosts={server.host},
    )


@pytest.fixture(params=["moto", "seaweedfs"])
def contract(request: pytest.FixtureRequest) -> ContractEnv:
    """The contract bucket on moto, or on SeaweedFS read with its read-only identity."""
    if request.param == "seaweedfs":
        seaweed: SeaweedFs = request.getfixturevalue("seaweedfs")
        bucket = seaweed.new_bucket("contract")
        seaweed.put(bucket, dict(CONTRACT_FILES))
        seaweed.clear_requests()
        return _env(seaweed, bucket, SEAWEED_READER)
    moto: MotoS3 = request.getfixturevalue("moto_server")
    moto.reset()
    moto.put(BUCKET, dict(CONTRACT_FILES))
    moto.clear_requests()
    return _env(moto, BUCKET, (ACCESS_KEY, CANARY))


class TestAwsS3Contract(ReaderContract):
    """Every contract case, on S3."""
