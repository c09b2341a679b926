"""Azure DevOps against the shared reader contract: a private repository read with a
personal access token for its organization (without it Azure shows its sign-in page),
served as an on-premises host (``http://127.0.0.1:PORT/{org}/{project}/_git/{repo}``)."""

from __future__ import annotations

import pytest
from contract import CONTRACT_BRANCHES, CONTRACT_FILES, REPO, ContractEnv, GitHostContract

from scmreader.errors import AuthenticationError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import azure as azure_routes

PAT = "azdoContractPat0123456789abcdef"
FULL_NAME = "acme/platform/widgets"


def _url(host: FakeScmHost, path: str, ref: str = "main", repo: str = REPO) -> str:
    query = f"path=/{path}&version=GB{ref}" if path else f"version=GB{ref}"
    return f"{host.base_url}/acme/platform/_git/{repo.rsplit('/', 1)[-1]}?{query}"


class TestAzureContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(FULL_NAME, CONTRACT_FILES, branches=CONTRACT_BRANCHES)
        host.add_repo("acme/platform/empty", {})
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
            file_url=lambda path, **at: _url(host, path, **at),
            tree_url=lambda path, **at: _url(host, path, **at),
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

    @pytest.mark.parametrize("server", ["5.0", "4.1"])  # Azure DevOps Server 2019, TFS 2018
    def test_older_servers_negotiate_the_api_version(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost, server: str
    ) -> None:
        azure_routes.azure(fake_scm_host).max_api_version = server
        assert contract.readers.read(contract.file_url("mkdocs.yml")) == b"site_name: Test\n"
        tree = contract.readers.read_tree(contract.tree_url("docs"))
        assert sorted(f.path for f in tree.files()) == ["index.md", "sub/page.md"]
        versions = [r.query.get("api-version") for r in fake_scm_host.requests]
        assert versions[:2] == ["6.0", server]  # refused once, then the server's own
        assert set(versions[2:]) == {server}

    def test_configured_api_version_is_used(self, fake_scm_host: FakeScmHost) -> None:
        host = fake_scm_host
        azure_routes.azure(host).max_api_version = "4.1"
        host.add_repo("acme/platform/tools", {"a.txt": "a\n"})
        entry = azure_routes.integration_config(host, apiVersion="4.1")
        readers = UrlReaders.default(
            {"integrations": {"azure": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        url = f"{host.base_url}/acme/platform/_git/tools?path=/a.txt&version=GBmain"
        assert readers.read(url) == b"a\n"
        assert {r.query.get("api-version") for r in host.requests} == {"4.1"}
