"""GitLab against the shared reader contract (a private project read with a token, so the
credential check is meaningful: without the token the project does not exist)."""

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
from scmreader.testing.routes import gitlab as gitlab_routes

TOKEN = "glpat-contractTokenForTests01"


class TestGitlabContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.enable("gitlab")
        host.add_repo(REPO, CONTRACT_FILES, branches=CONTRACT_BRANCHES)
        host.add_repo(EMPTY_REPO, {})
        state = gitlab_routes.gitlab(host)
        state.add_token(TOKEN)
        state.make_private(REPO)
        entry = gitlab_routes.integration_config(host, token=TOKEN)
        readers = UrlReaders.default(
            {"integrations": {"gitlab": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=lambda path, ref="main", repo=REPO: (
                f"{host.base_url}/{repo}/-/blob/{ref}/{path}"
            ),
            tree_url=lambda path, ref="main", repo=REPO: (
                f"{host.base_url}/{repo}/-/tree/{ref}/{path}".rstrip("/")
            ),
            archive_path=r"/repository/archive",
            credential_hosts={host.host},
            page_size=lambda n: setattr(state, "max_per_page", n),
        )

    def test_private_project_is_invisible_without_the_token(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost
    ) -> None:
        from scmreader.errors import NotFoundError

        entry = gitlab_routes.integration_config(fake_scm_host)
        anonymous = UrlReaders.default(
            {"integrations": {"gitlab": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        with pytest.raises(NotFoundError):
            anonymous.read_url(contract.file_url("mkdocs.yml"))
        with pytest.raises(NotFoundError):
            anonymous.read_tree(contract.tree_url(""))
