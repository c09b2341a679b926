"""Harness Code against the shared reader contract (a private repository read with an API
key, so the credential check is meaningful: without the key the repository is refused)."""

from __future__ import annotations

import pytest
from contract import CONTRACT_FILES, REPO, ContractEnv, ReaderContract

from scmreader.errors import AuthenticationError
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import harness as harness_routes

API_KEY = "pat.contractAccount.contractKey.forTests01"


def _readers(host: FakeScmHost, **credentials: str) -> UrlReaders:
    entry = harness_routes.integration_config(host, **credentials)
    return UrlReaders.default(
        {"integrations": {"harness": [entry]}},
        http=harness_routes.http_client(host, sleep=lambda _: None),
    )


class TestHarnessContract(ReaderContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(REPO, CONTRACT_FILES)  # account "acme", repository "widgets"
        state = harness_routes.harness(host)
        state.add_api_key(API_KEY)
        state.make_private(REPO)
        return ContractEnv(
            readers=_readers(host, apiKey=API_KEY),
            hosts=[host],
            file_url=lambda path: harness_routes.browse_url(host, REPO, "main", path),
            tree_url=lambda path: harness_routes.browse_url(host, REPO, "main", path),
            archive_path=r"/\+/archive/",
            credential_hosts={host.host},
        )

    def test_private_repository_is_refused_without_the_key(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost
    ) -> None:
        anonymous = _readers(fake_scm_host)
        with pytest.raises(AuthenticationError):
            anonymous.read_url(contract.file_url("mkdocs.yml"))
        with pytest.raises(AuthenticationError):
            anonymous.read_tree(contract.tree_url(""))
        with pytest.raises(AuthenticationError):
            anonymous.search(contract.file_url("**/*.md"))
