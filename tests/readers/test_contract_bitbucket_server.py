"""Bitbucket Server against the shared reader contract (a private repository read with
Basic credentials, so the credential check is meaningful: anonymous callers get 401)."""

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
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import bitbucket_server as bbs

USER = "robot"
PASSWORD = "BBDC-contractPasswordForTests01"


class TestBitbucketServerContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(REPO, CONTRACT_FILES, branches=CONTRACT_BRANCHES)
        host.add_repo(EMPTY_REPO, {})
        state = bbs.bitbucket_server(host)
        state.add_user(USER, PASSWORD)
        state.make_private(REPO)
        entry = bbs.integration_config(host, username=USER, password=PASSWORD)
        readers = UrlReaders.default(
            {"integrations": {"bitbucketServer": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )

        def browse(path: str, ref: str = "main", repo: str = REPO) -> str:
            project, slug = repo.split("/")
            base = f"{host.base_url}/projects/{project.upper()}/repos/{slug}/browse"
            return f"{base}/{path}".rstrip("/") + f"?at=refs/heads/{ref}"

        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=browse,
            tree_url=browse,
            archive_path=r"/archive$",
            credential_hosts={host.host},
            page_size=lambda n: setattr(state, "max_limit", n),
        )

    def test_private_repository_needs_the_credentials(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost
    ) -> None:
        entry = bbs.integration_config(fake_scm_host)
        anonymous = UrlReaders.default(
            {"integrations": {"bitbucketServer": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        with pytest.raises(AuthenticationError):
            anonymous.read_url(contract.file_url("mkdocs.yml"))
        with pytest.raises(AuthenticationError):
            anonymous.read_tree(contract.tree_url(""))

    def test_empty_repository_without_a_ref_is_not_found(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost
    ) -> None:
        from scmreader.errors import NotFoundError

        url = contract.tree_url("", repo=EMPTY_REPO).split("?")[0]
        with pytest.raises(NotFoundError, match="is empty"):
            contract.readers.read_tree(url)  # branches/default answers 204 No Content
