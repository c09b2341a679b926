"""AWS CodeCommit against the shared reader contract, through FakeScmHost's emulation of
CodeCommit's JSON API (every request is ``POST /``, so the log shows the operation).

"Downloads nothing on not-modified" means here: after the commit lookup, no GetFolder
listing and no GetFile; ``archive_path`` matches those two operations.
"""

from __future__ import annotations

import pytest
from contract import CONTRACT_FILES, REPO, ContractEnv, ReaderContract

from scmreader.errors import AuthenticationError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import aws_codecommit as codecommit_routes

pytest.importorskip("boto3")

ACCESS_KEY = "AKIAEXAMPLECODECOMMIT"
SECRET_KEY = "contractSecretKey/0123456789+abcdefghijklmno"
REGION = "eu-west-1"
CONSOLE = f"https://{REGION}.console.aws.amazon.com"
BROWSE = f"{CONSOLE}/codesuite/codecommit/repositories/widgets/browse/main/--/"


class CodeCommitEnv(ContractEnv):
    """Paths in the request log carry the CodeCommit operation: ``/#GetFile``."""

    def requests(self) -> list[tuple[str, str, frozenset[str]]]:
        return [
            (
                r.headers.get("Host") or h.host,
                f"{r.path}#{codecommit_routes.operation_of(r)}",
                frozenset(r.auth_headers),
            )
            for h in self.hosts
            for r in h.requests
        ]


def _readers(access_key: str = ACCESS_KEY) -> UrlReaders:
    entry = {"region": REGION, "accessKeyId": access_key, "secretAccessKey": SECRET_KEY}
    return UrlReaders.default(
        {"integrations": {"awsCodeCommit": [entry]}}, http=HttpClient(sleep=lambda _: None)
    )


@pytest.fixture
def endpoint(fake_scm_host: FakeScmHost, monkeypatch: pytest.MonkeyPatch) -> FakeScmHost:
    """botocore's own endpoint override, and no shared AWS files from the machine."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODECOMMIT", fake_scm_host.base_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", raising=False)
    return fake_scm_host


class TestAwsCodeCommitContract(ReaderContract):
    @pytest.fixture
    def contract(self, endpoint: FakeScmHost) -> ContractEnv:
        host = endpoint
        host.add_repo(REPO, CONTRACT_FILES)
        codecommit_routes.codecommit(host).allow_key(ACCESS_KEY)
        return CodeCommitEnv(
            readers=_readers(),
            hosts=[host],
            file_url=lambda path: f"{BROWSE}{path}",
            tree_url=lambda path: f"{BROWSE}{path}",
            archive_path=r"#(GetFile|GetFolder)$",
            credential_hosts={host.host},
        )

    def test_unknown_access_key_is_an_authentication_error(self, contract: ContractEnv) -> None:
        with pytest.raises(AuthenticationError) as caught:
            _readers("AKIAUNKNOWNKEY000000").read_url(contract.file_url("mkdocs.yml"))
        assert SECRET_KEY not in str(caught.value)
