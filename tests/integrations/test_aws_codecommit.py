"""AWS CodeCommit integration: config rules, console URL parsing, edit URLs."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.aws_codecommit import (
    INTEGRATION,
    AwsCodeCommitIntegration,
    AwsCodeCommitIntegrationConfig,
    AwsCodeCommitUrl,
    parse_aws_code_commit_url,
    read_aws_code_commit_integration_config,
    read_aws_code_commit_integration_configs,
    replace_code_commit_url_type,
)
from scmreader.redact import Secret

CONSOLE = "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories"
CONFIG = AwsCodeCommitIntegrationConfig(region="eu-west-1", host="eu-west-1.console.aws.amazon.com")


def read(data: dict[str, Any]) -> AwsCodeCommitIntegrationConfig:
    return read_aws_code_commit_integration_config(Config(data))


def test_region_gives_the_host() -> None:
    config = read(
        {
            "region": "eu-west-1",
            "accessKeyId": "AKIA1",
            "secretAccessKey": " sk-secret ",
            "roleArn": "r",
        }
    )
    assert config == AwsCodeCommitIntegrationConfig(
        region="eu-west-1",
        host="eu-west-1.console.aws.amazon.com",
        access_key_id="AKIA1",
        secret_access_key=Secret("sk-secret"),
        role_arn="r",
    )
    assert "sk-secret" not in repr(config)


def test_host_override() -> None:
    assert (
        read({"region": "us-east-1", "host": "codecommit.example.com"}).host
        == "codecommit.example.com"
    )


@pytest.mark.parametrize(
    ("data", "key", "message"),
    [
        ({}, "region", "Missing required"),
        ({"region": "eu west 1"}, "region", "not a valid AWS region"),
        ({"region": "eu-west-1", "host": "https://x.example"}, "host", "not a valid host"),
    ],
)
def test_invalid_config(data: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read(data)
    assert info.value.key_path == key


def test_no_default_entry() -> None:
    assert read_aws_code_commit_integration_configs(None) == []
    assert ScmIntegrations.from_config({}).group("awsCodeCommit").list() == []


@pytest.mark.parametrize(
    ("url", "require", "expected"),
    [
        (
            f"{CONSOLE}/my-repo/browse/refs/heads/main/--/catalog-info.yaml?region=eu-west-1",
            True,
            AwsCodeCommitUrl("eu-west-1", "my-repo", "catalog-info.yaml", "refs/heads/main"),
        ),
        (
            f"{CONSOLE}/my-repo/browse/--/docs/a%20b.md",
            True,
            AwsCodeCommitUrl("eu-west-1", "my-repo", "docs/a b.md"),
        ),
        (
            f"{CONSOLE}/my-repo/browse?region=eu-west-1",
            False,
            AwsCodeCommitUrl("eu-west-1", "my-repo", "/"),
        ),
        (f"{CONSOLE}/my-repo", False, AwsCodeCommitUrl("eu-west-1", "my-repo", "/")),
        (
            f"{CONSOLE}/my-repo/browse/dev/",
            False,
            AwsCodeCommitUrl("eu-west-1", "my-repo", "/", "dev"),
        ),
        (
            f"{CONSOLE}/my-repo/browse/dev/--/docs",
            False,
            AwsCodeCommitUrl("eu-west-1", "my-repo", "docs", "dev"),
        ),
    ],
)
def test_parse_url(url: str, require: bool, expected: AwsCodeCommitUrl) -> None:
    assert parse_aws_code_commit_url(url, require_git_path=require) == expected


def test_custom_host_takes_the_region_from_config() -> None:
    config = AwsCodeCommitIntegrationConfig(region="ap-south-1", host="cc.example.com")
    url = "https://cc.example.com/codesuite/codecommit/repositories/r/browse/--/a.yaml"
    assert parse_aws_code_commit_url(url, config=config).region == "ap-south-1"
    with pytest.raises(InvalidUrlError, match="console host"):
        parse_aws_code_commit_url(url)


@pytest.mark.parametrize(
    ("url", "require", "message"),
    [
        (f"{CONSOLE}/my-repo/files/edit/refs/heads/main/--/a.yaml", False, "edit URL"),
        (f"{CONSOLE}/my-repo", True, "does not point to a file"),
        (f"{CONSOLE}/my-repo/browse/main", True, "not a CodeCommit file URL"),
        (
            "https://eu-west-1.console.aws.amazon.com/s3/buckets/x",
            False,
            "not a CodeCommit file URL",
        ),
        (
            "https://example.com/codesuite/codecommit/repositories/r/browse/--/a",
            False,
            "console host",
        ),
    ],
)
def test_parse_url_errors(url: str, require: bool, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        parse_aws_code_commit_url(url, require_git_path=require)


def test_edit_url() -> None:
    integration = AwsCodeCommitIntegration(CONFIG)
    view = f"{CONSOLE}/my-repo/browse/refs/heads/main/--/catalog-info.yaml?region=eu-west-1"
    edit = f"{CONSOLE}/my-repo/files/edit/refs/heads/main/--/catalog-info.yaml?region=eu-west-1"
    assert integration.resolve_edit_url(view) == edit
    assert integration.resolve_edit_url(edit) == edit
    assert replace_code_commit_url_type(edit, "my-repo", "browse") == view
    with pytest.raises(InvalidUrlError, match="not a CodeCommit repository URL"):
        integration.resolve_edit_url("https://eu-west-1.console.aws.amazon.com/other")


def test_registry_hook() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("awsCodeCommit", 20)
    registry = ScmIntegrations.from_config(
        {"integrations": {"awsCodeCommit": [{"region": "eu-west-1"}]}}
    )
    assert isinstance(registry.by_url(f"{CONSOLE}/r/browse/--/a.yaml"), AwsCodeCommitIntegration)
    assert (
        AwsCodeCommitIntegration(CONFIG).resolve_url(
            url="b.yaml", base=f"{CONSOLE}/r/browse/--/dir/a.yaml", line_number=4
        )
        == f"{CONSOLE}/r/browse/--/dir/b.yaml#L4"
    )
