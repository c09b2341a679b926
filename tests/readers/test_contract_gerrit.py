"""Gerrit/Gitiles against the shared reader contract (authenticated, Gitiles on the same host)."""

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
from scmreader.testing.routes import gerrit as gerrit_routes


class TestGerritContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.enable("gerrit")
        host.add_repo(REPO, CONTRACT_FILES, branches=CONTRACT_BRANCHES)
        host.add_repo(EMPTY_REPO, {})
        gerrit_routes.add_user(host, "robot", "contract-password")
        config = gerrit_routes.app_config(host, username="robot", password="contract-password")
        readers = UrlReaders.default(config, http=HttpClient(sleep=lambda _: None))

        def browse(path: str, ref: str = "main", repo: str = REPO) -> str:
            base = f"{host.base_url}/plugins/gitiles/{repo}/+/refs/heads/{ref}"
            return f"{base}/{path}" if path else base

        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=browse,
            tree_url=browse,
            archive_path=r"\+archive/",
            credential_hosts={host.host},
        )

    @pytest.mark.parametrize("ref", ["main", "feature/x"])
    def test_short_ref_names_work_like_full_ones(
        self, contract: ContractEnv, fake_scm_host: FakeScmHost, ref: str
    ) -> None:
        short = f"{fake_scm_host.base_url}/plugins/gitiles/{REPO}/+/{ref}"
        full = contract.file_url("docs/index.md", ref=ref)
        expected = contract.readers.read(full)
        assert contract.readers.read(f"{short}/docs/index.md") == expected
        tree = contract.readers.read_tree(f"{short}/docs")
        assert {f.path: f.content() for f in tree.files()}["index.md"] == expected
        found = contract.readers.search(f"{short}/docs/*.md")
        assert [f.url for f in found.files] == [f"{short}/docs/index.md"]
