"""AWS S3 integration: config rules, default host, URL parsing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.config import Config
from scmreader.errors import ConfigError, InvalidUrlError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations._common import encode_path
from scmreader.integrations.aws_s3 import (
    INTEGRATION,
    AwsS3Integration,
    AwsS3IntegrationConfig,
    AwsS3Url,
    parse_aws_s3_url,
    read_aws_s3_integration_config,
    read_aws_s3_integration_configs,
)
from scmreader.redact import Secret

AWS = AwsS3IntegrationConfig()
LOCAL = AwsS3IntegrationConfig(host="localhost:4566", endpoint="http://localhost:4566")
LOCAL_PATH_STYLE = AwsS3IntegrationConfig(
    host="localhost:4566", endpoint="http://localhost:4566", s3_force_path_style=True
)


def read(data: dict[str, Any]) -> AwsS3IntegrationConfig:
    return read_aws_s3_integration_config(Config(data))


def test_all_keys() -> None:
    config = read(
        {
            "endpoint": "http://localhost:4566",
            "s3ForcePathStyle": True,
            "accessKeyId": "AKIAEXAMPLE",
            "secretAccessKey": " wJalr-secret ",
            "roleArn": "arn:aws:iam::123:role/r",
            "externalId": "ext",
        }
    )
    assert config == AwsS3IntegrationConfig(
        host="localhost:4566",
        endpoint="http://localhost:4566",
        s3_force_path_style=True,
        access_key_id="AKIAEXAMPLE",
        secret_access_key=Secret("wJalr-secret"),
        role_arn="arn:aws:iam::123:role/r",
        external_id="ext",
    )
    assert "wJalr" not in repr(config)


def test_empty_entry_is_aws() -> None:
    assert read({}) == AWS


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [("not a url", "not a valid URL"), ("http://localhost:4566/bucket", "cannot contain a path")],
)
def test_invalid_endpoint(endpoint: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read({"endpoint": endpoint})
    assert info.value.key_path == "endpoint"


def test_wrong_type_for_path_style() -> None:
    with pytest.raises(ConfigError) as info:
        read({"s3ForcePathStyle": "sometimes"})
    assert info.value.key_path == "s3ForcePathStyle"


@pytest.mark.parametrize(
    ("entries", "hosts"),
    [
        (None, ["amazonaws.com"]),
        ([{}], ["amazonaws.com"]),
        ([{"endpoint": "http://localhost:4566"}], ["localhost:4566", "amazonaws.com"]),
    ],
)
def test_default_host_is_added_unless_configured(
    entries: list[dict[str, Any]] | None, hosts: list[str]
) -> None:
    configs = read_aws_s3_integration_configs(
        None if entries is None else [Config(e) for e in entries]
    )
    assert [c.host for c in configs] == hosts


@pytest.mark.parametrize(
    ("config", "url", "expected"),
    [
        (
            AWS,
            "https://my-bucket.s3.us-west-2.amazonaws.com/a/b.yaml",
            AwsS3Url("my-bucket", "a/b.yaml", "us-west-2"),
        ),
        (
            AWS,
            "https://my-bucket.s3.amazonaws.com/a.yaml",
            AwsS3Url("my-bucket", "a.yaml", "us-east-1"),
        ),
        (
            AWS,
            "https://my.dotted.bucket.s3-eu-west-1.amazonaws.com/x",
            AwsS3Url("my.dotted.bucket", "x", "eu-west-1"),
        ),
        (
            AWS,
            "https://s3.eu-central-1.amazonaws.com/bucket/dir/f.md",
            AwsS3Url("bucket", "dir/f.md", "eu-central-1"),
        ),
        (AWS, "https://s3.amazonaws.com/bucket/f.md", AwsS3Url("bucket", "f.md", "us-east-1")),
        (AWS, "https://b.s3.cn-north-1.amazonaws.com.cn/k", AwsS3Url("b", "k", "cn-north-1")),
        (
            AWS,
            "https://b.s3.us-east-2.amazonaws.com/my%20dir/a%2Bb.yaml",
            AwsS3Url("b", "my dir/a+b.yaml", "us-east-2"),
        ),
        (
            AwsS3IntegrationConfig(s3_force_path_style=True),
            "https://ignored.s3.us-east-2.amazonaws.com/bucket/k",
            AwsS3Url("bucket", "k", "us-east-2"),
        ),
        (
            LOCAL,
            "http://localhost:4566/bucket/a/b.yaml",
            AwsS3Url("bucket", "a/b.yaml", "us-east-1"),
        ),
        (
            LOCAL,
            "http://bucket.localhost:4566/a/b.yaml",
            AwsS3Url("bucket", "a/b.yaml", "us-east-1"),
        ),
        (LOCAL_PATH_STYLE, "http://localhost:4566/bucket/", AwsS3Url("bucket", "", "us-east-1")),
    ],
)
def test_parse_url(config: AwsS3IntegrationConfig, url: str, expected: AwsS3Url) -> None:
    assert parse_aws_s3_url(url, config) == expected


@pytest.mark.parametrize(
    ("config", "url", "message"),
    [
        (AWS, "https://example.com/bucket/key", "not an AWS S3 URL"),
        (AWS, "https://s3.us-east-1.amazonaws.com/bucket-only", "without a bucket"),
        (LOCAL, "http://localhost:4566/bucket-only", "without a bucket"),
        (LOCAL, "http://otherhost:4566/bucket/key", "not on the S3 endpoint"),
        (AWS, "s3://bucket/key", "not allowed"),
    ],
)
def test_parse_url_errors(config: AwsS3IntegrationConfig, url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=message):
        parse_aws_s3_url(url, config)


def test_integration_and_exact_host_matching() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("awsS3", 10)
    registry = ScmIntegrations.from_config(
        {"integrations": {"awsS3": [{"endpoint": "http://localhost:4566"}]}}
    )
    assert isinstance(registry.by_url("http://localhost:4566/bucket/a.yaml"), AwsS3Integration)
    # as in Backstage: virtual-hosted AWS URLs are not found by exact-host matching
    assert registry.by_url("https://bucket.s3.us-east-1.amazonaws.com/a.yaml") is None
    integration = AwsS3Integration(AWS)
    assert integration.title == "amazonaws.com"
    assert integration.resolve_edit_url("https://x.example/a") == "https://x.example/a"


@given(
    bucket=st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True),
    key=st.text(st.characters(codec="utf-8"), max_size=30),
)
def test_path_style_urls_round_trip(bucket: str, key: str) -> None:
    url = f"http://localhost:4566/{bucket}/{encode_path(key)}"
    assert parse_aws_s3_url(url, LOCAL) == AwsS3Url(bucket, key, "us-east-1")
