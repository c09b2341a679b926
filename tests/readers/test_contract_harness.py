"""Harness Code against the shared reader contract (a private repository read with an API
key, so the credential check is meaningful: without the key the repository is refused)."""

from __future__ import annotations

import pytest
from contract import (
    CONTRACT_BRANCHES,
    CONTRACT_FILES,
    EMPTY_REPO,
    REPO,
    ContractEnv,
    GitHostContract,
)

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


class TestHarnessContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(REPO, CONTRACT_FILES, branches=CONTRACT_BRANCHES)  # account "acme"
        host.add_repo(EMPTY_REPO, {})
        state = harness_routes.harness(host)
        state.add_api_key(API_KEY)
        state.make_private(REPO)
        return ContractEnv(
            readers=_readers(host, apiKey=API_KEY),
            hosts=[host],
            file_url=lambda path, ref="main", repo=REPO: harness_routes.browse_url(
                host, repo, ref, path
            ),
            tree_url=lambda path, ref="main", repo=REPO: harness_routes.browse_url(
                host, repo, ref, path
            ),
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

    @pytest.mark.parametrize("flatten", [False, True])
    def test_one_level_and_flattened_listings(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost, flatten: bool
    ) -> None:
        harness_routes.harness(fake_scm_host).flatten = flatten
        found = contract.readers.search(contract.file_url("docs/**/*.md"))
        assert sorted((f.url, f.content()) for f in found.files) == [
            (contract.file_url("docs/index.md"), b"# Test\n"),
            (contract.file_url("docs/sub/page.md"), b"# Page\n"),
        ]
        listings = fake_scm_host.requests_to(r"/\+/content")
        assert len(listings) == (1 if flatten else 2)  # docs (+ docs/sub one level at a time)
