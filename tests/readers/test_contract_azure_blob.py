"""The shared reader contract, run against AzureBlobStorageUrlReader and Azurite.

The "repository" is a container holding CONTRACT_FILES; browse URLs are path-style blob
URLs on the recording proxy in front of Azurite (``/<account>/<container>/<blob>``); the
"archive downloads" the suite counts are Get Blob requests (a listing is
``/<account>/<container>?restype=container&comp=list``), and the credential check looks at
the SharedKey ``Authorization`` header the proxy saw.
"""

from __future__ import annotations

import pytest
from contract import CONTRACT_FILES, ContractEnv, ReaderContract
from test_azure_blob_reader import ACCOUNT, Azurite, entry  # skips without Azurite/SDK

from scmreader.readers import UrlReaders

CONTAINER = "contract"


@pytest.fixture
def contract(azurite: Azurite) -> ContractEnv:
    azurite.reset(CONTAINER)
    azurite.put(CONTAINER, dict(CONTRACT_FILES))
    azurite.clear_requests()
    base = f"{azurite.endpoint}/{ACCOUNT}/{CONTAINER}"
    return ContractEnv(
        readers=UrlReaders.default({"integrations": {"azureBlobStorage": [entry(azurite)]}}),
        hosts=[azurite],  # type: ignore[list-item]  # duck-typed FakeScmHost request log
        file_url=lambda path: f"{base}/{path}",
        tree_url=lambda path: f"{base}/{path}",
        archive_path=rf"^/{ACCOUNT}/{CONTAINER}/[^?]",
        credential_hosts={azurite.host},
    )


class TestAzureBlobContract(ReaderContract):
    """Every contract case, on Azure Blob Storage (Azurite)."""
