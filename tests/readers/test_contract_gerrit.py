"""Gerrit/Gitiles against the shared reader contract (authenticated, Gitiles on the same host)."""

from __future__ import annotations

import pytest
from contract import CONTRACT_FILES, REPO, ContractEnv, ReaderContract

from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import gerrit as gerrit_routes


class TestGerritContract(ReaderContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.enable("gerrit")
        host.add_repo(REPO, CONTRACT_FILES)
        gerrit_routes.add_user(host, "robot", "contract-password")
        config = gerrit_routes.app_config(host, username="robot", password="contract-password")
        readers = UrlReaders.default(config, http=HttpClient(sleep=lambda _: None))
        base = f"{host.base_url}/plugins/gitiles/{REPO}/+/refs/heads/main"
        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=lambda path: f"{base}/{path}",
            tree_url=lambda path: f"{base}/{path}" if path else base,
            archive_path=r"\+archive/",
            credential_hosts={host.host},
        )
