"""Gitea against the shared reader contract: a private repository read with a token, so
the credential check means something (without the token the repository does not exist)."""

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

from scmreader.errors import NotFoundError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import gitea as gitea_routes

TOKEN = "gitea-contract-token-0123456789abcdef"


def _readers(host: FakeScmHost, **extra: str) -> UrlReaders:
    entry = gitea_routes.integration_config(host, **extra)
    return UrlReaders.default(
        {"integrations": {"gitea": [entry]}}, http=HttpClient(sleep=lambda _: None)
    )


class TestGiteaContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(REPO, CONTRACT_FILES, branches=CONTRACT_BRANCHES)
        host.add_repo(EMPTY_REPO, {})
        state = gitea_routes.gitea(host)
        state.add_token(TOKEN)
        state.make_private(REPO)
        return ContractEnv(
            readers=_readers(host, password=TOKEN),
            hosts=[host],
            file_url=lambda path, ref="main", repo=REPO: (
                f"{host.base_url}/{repo}/src/branch/{ref}/{path}"
            ),
            tree_url=lambda path, ref="main", repo=REPO: (
                f"{host.base_url}/{repo}/src/branch/{ref}/{path}".rstrip("/")
            ),
            archive_path=r"/archive/",
            credential_hosts={host.host},
            page_size=lambda n: setattr(state, "trees_per_page", n),
        )

    def test_private_repository_is_invisible_without_the_token(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost
    ) -> None:
        anonymous = _readers(fake_scm_host)
        with pytest.raises(NotFoundError):
            anonymous.read_url(contract.file_url("mkdocs.yml"))
        with pytest.raises(NotFoundError):
            anonymous.read_tree(contract.tree_url(""))
        with pytest.raises(NotFoundError):
            anonymous.search(contract.file_url("**/*.md"))
