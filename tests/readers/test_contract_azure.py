"""Azure DevOps against the shared reader contract: a private repository read with a
personal access token for its organization (without it Azure shows its sign-in page),
served as an on-premises host (``http://127.0.0.1:PORT/{org}/{project}/_git/{repo}``)."""

from __future__ import annotations

import pytest
from contract import CONTRACT_FILES, ContractEnv, ReaderContract

from scmreader.errors import AuthenticationError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import azure as azure_routes

PAT = "azdoContractPat0123456789abcdef"
FULL_NAME = "acme/platform/widgets"


def _url(host: FakeScmHost, path: str) -> str:
    query = f"path=/{path}&version=GBmain" if path else "version=GBmain"
    return f"{host.base_url}/acme/platform/_git/widgets?{query}"


class TestAzureContract(ReaderContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(FULL_NAME, CONTRACT_FILES)
        state = azure_routes.azure(host)
        state.add_pat("acme", PAT)
        state.make_private(FULL_NAME)
        entry = azure_routes.integration_config(
            host, credentials=[azure_routes.pat_credential(PAT, "acme")]
        )
        readers = UrlReaders.default(
            {"integrations": {"azure": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=lambda path: _url(host, path),
            tree_url=lambda path: _url(host, path),
            archive_path=r"/items$",
            credential_hosts={host.host},
        )

    def test_read_tree_not_modified_downloads_nothing(self, contract: ContractEnv) -> None:
        super().test_read_tree_not_modified_downloads_nothing(contract)
        # archive_path matches every items request; here only the commits lookup is made.
        assert [path for _, path, _ in contract.requests()] == [
            "/acme/platform/_apis/git/repositories/widgets/commits"
        ]

    def test_private_repository_needs_the_pat(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost
    ) -> None:
        entry = azure_routes.integration_config(fake_scm_host)
        anonymous = UrlReaders.default(
            {"integrations": {"azure": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        with pytest.raises(AuthenticationError):
            anonymous.read_url(contract.file_url("mkdocs.yml"))
        with pytest.raises(AuthenticationError):
            anonymous.read_tree(contract.tree_url(""))
