"""A tree URL whose path holds no files (issue 12, surprise 2), for every git-host reader.

Backstage answers an empty tree; scmreader raises NotFoundError naming the URL, and an
InputError that suggests read_url when the URL is a file's. The readers and fakes are the
contract suite's (each provider's ``contract`` fixture, reused here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_contract_azure as azure
import test_contract_bitbucket_cloud as bitbucket_cloud
import test_contract_bitbucket_server as bitbucket_server
import test_contract_gerrit as gerrit
import test_contract_gitea as gitea
import test_contract_github as github
import test_contract_gitlab as gitlab
import test_contract_harness as harness
from contract import ContractEnv

from scmreader.errors import InputError, NotFoundError


class TreePathChecks:
    """Checks run for each provider below; ``contract`` is the provider's fixture."""

    def test_missing_folder_is_not_found_naming_the_path(self, contract: ContractEnv) -> None:
        with pytest.raises(NotFoundError, match="nosuchdir"):
            list(contract.readers.read_tree(contract.tree_url("docs/nosuchdir")).files())

    def test_missing_folder_leaves_no_target_folder(
        self, contract: ContractEnv, tmp_path: Path
    ) -> None:
        target = tmp_path / "out"
        with pytest.raises(NotFoundError):
            contract.readers.read_tree(contract.tree_url("nosuchdir")).dir(target)
        assert not target.exists()

    def test_a_file_url_is_an_input_error_suggesting_read(self, contract: ContractEnv) -> None:
        with pytest.raises(InputError, match=r"file, not a folder.*read_url"):
            list(contract.readers.read_tree(contract.file_url("docs/index.md")).files())

    def test_a_filter_that_keeps_nothing_is_still_an_empty_tree(
        self, contract: ContractEnv
    ) -> None:
        tree = contract.readers.read_tree(contract.tree_url("docs"), filter=lambda p, i: False)
        assert list(tree.files()) == []


class TestGithub(TreePathChecks):
    contract = github.TestGithubContract.contract


class TestGitlab(TreePathChecks):
    contract = gitlab.TestGitlabContract.contract


class TestGitea(TreePathChecks):
    contract = gitea.TestGiteaContract.contract


class TestBitbucketCloud(TreePathChecks):
    contract = bitbucket_cloud.TestBitbucketCloudContract.contract


class TestBitbucketServer(TreePathChecks):
    contract = bitbucket_server.TestBitbucketServerContract.contract


class TestAzure(TreePathChecks):
    contract = azure.TestAzureContract.contract


class TestHarness(TreePathChecks):
    contract = harness.TestHarnessContract.contract


class TestGerrit(TreePathChecks):
    contract = gerrit.TestGerritContract.contract
