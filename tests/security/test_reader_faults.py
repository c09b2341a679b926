"""Fault injection for every git-host reader through FakeScmHost's faults (issue item 8;
R7 scenarios F1-F8).

Each provider's shared-contract environment (``tests/readers/test_contract_<x>.py``) is
reused as it is; only its tests are left out here. Every scenario ends in the right result
(read again byte for byte) or in the expected typed error, never in an untyped exception,
a hang, or a half-written folder. Waits are tiny: the clients built by the contract
fixtures sleep for nothing, and their default HttpSettings are swapped for short limits.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import pytest
import test_contract_azure
import test_contract_bitbucket_cloud
import test_contract_bitbucket_server
import test_contract_gerrit
import test_contract_gitea
import test_contract_github
import test_contract_gitlab
import test_contract_harness
from contract import CONTRACT_FILES, ContractEnv

import scmreader.http._client as client_module
from scmreader.errors import (
    RateLimitedError,
    RequestTimeoutError,
    ScmReaderError,
    TransportError,
    UnsafeArchiveError,
)
from scmreader.http import HttpSettings

FILE = "docs/index.md"
CUT = (TransportError, UnsafeArchiveError)


@pytest.fixture(autouse=True)
def short_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients built without settings (as the contract fixtures do) get short limits."""
    fast = functools.partial(
        HttpSettings,
        low_speed_limit=2_000,
        low_speed_time=0.4,
        read_timeout=2.0,
        body_deadline=10.0,
    )
    monkeypatch.setattr(client_module, "HttpSettings", fast)


def _read_file(env: ContractEnv) -> bytes:
    return env.readers.read_url(env.file_url(FILE)).buffer()


def _read_file_through_faults(env: ContractEnv) -> bytes:
    """Read the file, then check every fault was served: a read that never met the fault
    would prove nothing."""
    content = _read_file(env)
    assert env.hosts[0].faults.remaining() == 0, "the fault never fired"
    return content


def _read_tree(env: ContractEnv, target: Path) -> dict[str, str]:
    out = env.readers.read_tree(env.tree_url("")).dir(target)
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}


def _tree_fails_cleanly(env: ContractEnv, target: Path, expected: tuple[type, ...]) -> str:
    """Read the tree under a fault: the right files, or the expected typed error and an
    empty target. Returns 'survived' or the error's class name."""
    try:
        files = _read_tree(env, target)
    except ScmReaderError as exc:
        assert isinstance(exc, expected), f"{type(exc).__name__}: {exc}"
        assert not target.exists() or list(target.iterdir()) == []
        return type(exc).__name__
    assert files == CONTRACT_FILES
    return "survived"


class FaultChecks:
    """Scenarios run against each provider's contract environment."""

    def test_f1_f2_server_error_run_then_success(self, contract: ContractEnv) -> None:
        contract.hosts[0].faults.statuses(r".", [502, 503, 500])
        assert _read_file_through_faults(contract) == CONTRACT_FILES[FILE].encode()

    def test_f3_429_with_retry_after_then_success(self, contract: ContractEnv) -> None:
        contract.hosts[0].faults.status(r".", 429, headers={"Retry-After": "1"})
        assert _read_file_through_faults(contract) == CONTRACT_FILES[FILE].encode()

    def test_f4_403_rate_limit_with_reset_then_success(self, contract: ContractEnv) -> None:
        reset = str(int(time.time()) + 2)
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        contract.hosts[0].faults.status(r".", 403, headers=headers)
        assert _read_file_through_faults(contract) == CONTRACT_FILES[FILE].encode()

    def test_f5_secondary_rate_limit_then_success(self, contract: ContractEnv) -> None:
        body = {"message": "You have exceeded a secondary rate limit."}
        contract.hosts[0].faults.status(r".", 403, body=body)
        assert _read_file_through_faults(contract) == CONTRACT_FILES[FILE].encode()

    def test_rate_limit_beyond_the_budget_is_rate_limited(self, contract: ContractEnv) -> None:
        contract.hosts[0].faults.status(r".", 429, headers={"Retry-After": "86400"}, times=None)
        with pytest.raises(RateLimitedError):
            _read_file(contract)

    def test_f6_reset_mid_archive(self, contract: ContractEnv, tmp_path: Path) -> None:
        contract.hosts[0].faults.reset_after(contract.archive_path, 100, times=None)
        # every archive answer is cut: a whole tree would mean the fault never fired
        assert _tree_fails_cleanly(contract, tmp_path / "out", CUT) != "survived"

    def test_f7_truncated_archive(self, contract: ContractEnv, tmp_path: Path) -> None:
        contract.hosts[0].faults.truncate(contract.archive_path, 100, times=None)
        # every archive answer is cut: a whole tree would mean the fault never fired
        assert _tree_fails_cleanly(contract, tmp_path / "out", CUT) != "survived"

    def test_f8_dripped_archive(self, contract: ContractEnv, tmp_path: Path) -> None:
        contract.hosts[0].faults.drip(contract.archive_path, 1, 0.05, times=None)
        # every archive answer is cut: a whole tree would mean the fault never fired
        assert _tree_fails_cleanly(contract, tmp_path / "out", (RequestTimeoutError,)) != "survived"

    def test_dripped_answer_head_is_retried(self, contract: ContractEnv) -> None:
        contract.hosts[0].faults.drip(r".", 1, 0.05, head=True)
        assert _read_file_through_faults(contract) == CONTRACT_FILES[FILE].encode()

    def test_truncated_first_answer(self, contract: ContractEnv) -> None:
        contract.hosts[0].faults.truncate(r".", 3)
        try:
            content = _read_file(contract)
        except ScmReaderError as exc:
            assert isinstance(exc, CUT), f"{type(exc).__name__}: {exc}"
        else:
            assert content == CONTRACT_FILES[FILE].encode()
        assert contract.hosts[0].faults.remaining() == 0, "the fault never fired"

    def test_no_fault_left_unconsumed_by_a_clean_tree(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        assert _read_tree(contract, tmp_path / "clean") == CONTRACT_FILES


PROVIDERS: dict[str, Any] = {
    "Github": test_contract_github.TestGithubContract,
    "Gitlab": test_contract_gitlab.TestGitlabContract,
    "BitbucketCloud": test_contract_bitbucket_cloud.TestBitbucketCloudContract,
    "BitbucketServer": test_contract_bitbucket_server.TestBitbucketServerContract,
    "Gitea": test_contract_gitea.TestGiteaContract,
    "Azure": test_contract_azure.TestAzureContract,
    "Gerrit": test_contract_gerrit.TestGerritContract,
    "Harness": test_contract_harness.TestHarnessContract,
}

for _name, _base in PROVIDERS.items():
    _skip_contract = {attr: None for attr in dir(_base) if attr.startswith("test_")}
    globals()[f"Test{_name}Faults"] = type(
        f"Test{_name}Faults", (FaultChecks, _base), {**_skip_contract, "__module__": __name__}
    )


class TestFetchFaults:
    """The plain-HTTP reader (``backend.reading.allow``): the same faults on read_url."""

    @pytest.fixture
    def fetch(self, fake_scm_host: Any) -> tuple[Any, Any]:
        from scmreader.http import HttpClient
        from scmreader.readers import UrlReaders

        fake_scm_host.serve_file("/docs/index.md", b"# Test\n")
        config = {"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}}
        readers = UrlReaders.default(config, http=HttpClient(sleep=lambda _: None))
        return fake_scm_host, readers

    def _read(self, fetch: tuple[Any, Any]) -> bytes:
        host, readers = fetch
        data: bytes = readers.read_url(host.url("/docs/index.md")).buffer()
        assert host.faults.remaining() == 0, "the fault never fired"
        return data

    def test_f1_f2_server_error_run_then_success(self, fetch: tuple[Any, Any]) -> None:
        fetch[0].faults.statuses(r".", [502, 503, 500])
        assert self._read(fetch) == b"# Test\n"

    def test_f3_429_with_retry_after_then_success(self, fetch: tuple[Any, Any]) -> None:
        fetch[0].faults.status(r".", 429, headers={"Retry-After": "1"})
        assert self._read(fetch) == b"# Test\n"

    def test_rate_limit_beyond_the_budget_is_rate_limited(self, fetch: tuple[Any, Any]) -> None:
        fetch[0].faults.status(r".", 429, headers={"Retry-After": "86400"}, times=None)
        with pytest.raises(RateLimitedError):
            self._read(fetch)

    def test_f7_truncated_body(self, fetch: tuple[Any, Any]) -> None:
        fetch[0].faults.truncate(r".", 3)
        with pytest.raises(TransportError):
            self._read(fetch)

    def test_f6_reset_body(self, fetch: tuple[Any, Any]) -> None:
        fetch[0].faults.reset_after(r".", 3)
        with pytest.raises(TransportError):
            self._read(fetch)

    def test_dripped_answer_head_is_retried(self, fetch: tuple[Any, Any]) -> None:
        fetch[0].faults.drip(r".", 1, 0.05, head=True)
        assert self._read(fetch) == b"# Test\n"

    def test_dripped_body_is_a_timeout(self, fetch: tuple[Any, Any]) -> None:
        host, _ = fetch
        host.serve_file("/big.bin", bytes(50_000))
        host.faults.drip(r"/big", 10, 0.05)
        with pytest.raises(RequestTimeoutError):
            fetch[1].read_url(host.url("/big.bin")).buffer()
