"""Bitbucket Cloud against the shared reader contract (private repository, Basic API-token
auth; bitbucket.org and api.bitbucket.org are served by the fake through the client)."""

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

from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import bitbucket_cloud as bb

USER = "robot@acme.example"  # API tokens authenticate with the Atlassian account email
TOKEN = "ATATT3xFfGF0contractTokenForTests"


class TestBitbucketCloudContract(GitHostContract):
    @pytest.fixture
    def contract(self, fake_scm_host: FakeScmHost) -> ContractEnv:
        host = fake_scm_host
        host.add_repo(REPO, CONTRACT_FILES, branches=CONTRACT_BRANCHES)
        host.add_repo(EMPTY_REPO, {})
        state = bb.bitbucket(host)
        state.add_user(USER, TOKEN)
        state.make_private(REPO)
        entry = bb.integration_config(host, username=USER, token=TOKEN)
        readers = UrlReaders.default(
            {"integrations": {"bitbucketCloud": [entry]}},
            http=bb.http_client(host, sleep=lambda _: None),
        )
        return ContractEnv(
            readers=readers,
            hosts=[host],
            file_url=lambda path, ref="main", repo=REPO: (
                f"https://bitbucket.org/{repo}/src/{ref}/{path}"
            ),
            tree_url=lambda path, ref="main", repo=REPO: (
                f"https://bitbucket.org/{repo}/src/{ref}/{path}".rstrip("/")
            ),
            archive_path=r"/get/",
            credential_hosts={bb.WEB_HOST, bb.API_HOST},
            page_size=lambda n: setattr(state, "page_cap", n),
        )
