"""Bitbucket Server against the shared reader contract (a private repository read with
Basic credentials, so the credential check is meaningful: anonymous callers get 401)."""

from __future__ import annotations

import pytest
from contract import CONTRACT_FILES, REPO, ContractEnv, ReaderContract

from scmreader.errors import AuthenticationError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import bitbucket_server as bbs

USER = "robot"
PASSWORD = "BBDC-contractPasswordForTests01"
PROJECT, SLUG = REPO.upper().split("/")[0], REPO.split("/")[1]


class TestBitbucketServerContract(ReaderContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(REPO, CONTRACT_FILES)
        state = bbs.bitbucket_server(host)
        state.add_user(USER, PASSWORD)
        state.make_private(REPO)
        entry = bbs.integration_config(host, username=USER, password=PASSWORD)
        readers = UrlReaders.default(
            {"integrations": {"bitbucketServer": [entry]}}, http=HttpClient(sleep=lambda _: None)
        )
        base = f"{host.base_url}/projects/{PROJECT}/repos/{SLUG}/browse"
        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=lambda path: f"{base}/{path}?at=refs/heads/main",
            tree_url=lambda path: f"{base}/{path}".rstrip("/") + "?at=refs/heads/main",
            archive_path=r"/archive$",
            credential_hosts={host.host},
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
