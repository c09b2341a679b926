"""GitHub against the shared reader contract (token auth; tarballs redirected to a codeload
origin on another host name, which must never see the token)."""

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

from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import github as github_routes

TOKEN = "ghp_contractTokenForTests0001"


class TestGithubContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.enable("github")
        host.add_repo(REPO, CONTRACT_FILES, branches=CONTRACT_BRANCHES)
        host.add_repo(EMPTY_REPO, {})
        state = github_routes.github(host)
        state.add_token(TOKEN)
        state.make_private(REPO)
        entry = github_routes.integration_config(host, token=TOKEN)
        readers = UrlReaders.default(
            {"integrations": {"github": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        assert github_routes.codeload_base_url(host).startswith("http://localhost:")
        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=lambda path, ref="main", repo=REPO: (
                f"{host.base_url}/{repo}/blob/{ref}/{path}"
            ),
            tree_url=lambda path, ref="main", repo=REPO: (
                f"{host.base_url}/{repo}/tree/{ref}/{path}".rstrip("/")
            ),
            archive_path=r"tarball|_codeload",
            credential_hosts={host.host},
            page_size=lambda n: setattr(state, "tree_limit", n),
        )

    def test_signed_archive_link_never_reaches_the_logs(
        self, contract: ContractEnv, caplog: pytest.LogCaptureFixture
    ) -> None:
        import logging

        caplog.set_level(logging.DEBUG)
        list(contract.readers.read_tree(contract.tree_url("")).files())
        signed = [r for h in contract.hosts for r in h.requests if "token=" in r.raw_query]
        assert signed, "the fake signs private archive links like GitHub does"
        assert "AQYV3CODELOAD" not in caplog.text
        assert "token=***" in caplog.text
