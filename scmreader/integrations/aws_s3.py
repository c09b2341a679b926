"""AWS S3 and S3-compatible stores (``integrations.awsS3[]``): config, URL parsing.

Without ``endpoint`` an entry serves AWS itself (host amazonaws.com); with one (MinIO,
LocalStack, Ceph...) its host is the endpoint's host. Credentials are optional: an
access key pair, optionally a role to assume, else the SDK's default chain.
:func:`parse_aws_s3_url` reads virtual-hosted (``bucket.s3.region.amazonaws.com/key``)
and path-style (``s3.region.amazonaws.com/bucket/key``) URLs, and the two forms on a
custom endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from scmreader.integrations._common import decode_component, read_endpoint, secret, url_error
from scmreader.integrations.base import IntegrationType, ScmIntegration, with_default_host
from scmreader.redact import Secret
from scmreader.urls import parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "AMAZON_AWS_HOST",
    "DEFAULT_REGION",
    "INTEGRATION",
    "KNOWN_KEYS",
    "AwsS3Integration",
    "AwsS3IntegrationConfig",
    "AwsS3Url",
    "parse_aws_s3_url",
    "read_aws_s3_integration_config",
    "read_aws_s3_integration_configs",
]

#: The host of the default entry (AWS itself).
AMAZON_AWS_HOST = "amazonaws.com"
#: The region used when a URL does not name one.
DEFAULT_REGION = "us-east-1"

_AWS_HOSTS = (AMAZON_AWS_HOST, "amazonaws.com.cn")
_AWS_URL_HOST_RE = re.compile(
    r"^(?:([a-z0-9.-]+)\.)?s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(\.cn)?$"
)


@dataclass(frozen=True)
class AwsS3IntegrationConfig:
    """One S3 service: AWS (no endpoint) or an S3-compatible endpoint."""

    host: str = AMAZON_AWS_HOST
    endpoint: str | None = None
    s3_force_path_style: bool = False
    access_key_id: str | None = None
    secret_access_key: Secret | None = None
    role_arn: str | None = None
    external_id: str | None = None


#: Every key :func:`read_aws_s3_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "endpoint",
        "s3ForcePathStyle",
        "accessKeyId",
        "secretAccessKey",
        "roleArn",
        "externalId",
    }
)


def read_aws_s3_integration_config(entry: Config) -> AwsS3IntegrationConfig:
    """Read and validate one ``integrations.awsS3[]`` entry (all keys are optional)."""
    endpoint = read_endpoint(entry, "awsS3", "http://localhost:4566")
    return AwsS3IntegrationConfig(
        host=endpoint[1] if endpoint else AMAZON_AWS_HOST,
        endpoint=endpoint[0] if endpoint else None,
        s3_force_path_style=bool(entry.get_optional_boolean("s3ForcePathStyle")),
        access_key_id=entry.get_optional_string("accessKeyId"),
        secret_access_key=secret(entry, "secretAccessKey"),
        role_arn=entry.get_optional_string("roleArn"),
        external_id=entry.get_optional_string("externalId"),
    )


def read_aws_s3_integration_configs(entries: list[Config] | None) -> list[AwsS3IntegrationConfig]:
    """Read every entry, then add amazonaws.com unless an entry has that exact host."""
    return with_default_host(
        entries, read_aws_s3_integration_config, AwsS3IntegrationConfig, AMAZON_AWS_HOST
    )


@dataclass(frozen=True)
class AwsS3Url:
    """An object's location: ``bucket``, decoded ``path`` (the key or prefix) and
    ``region``."""

    bucket: str
    path: str
    region: str


def parse_aws_s3_url(url: str, config: AwsS3IntegrationConfig) -> AwsS3Url:
    """Read an S3 object URL for the service ``config`` describes.

    On AWS the region comes from the host (``s3.eu-west-1`` or the old ``s3-eu-west-1``),
    else us-east-1. A bucket in the host wins unless ``s3_force_path_style``; otherwise the
    first path segment is the bucket. On a custom endpoint a URL on the endpoint's own
    host is path-style and one on a sub-domain of it is virtual-hosted.
    """
    parsed = parse_url(url)
    key_path = parsed.path[1:]
    host = parsed.host
    region = DEFAULT_REGION
    host_bucket = ""
    if config.host in _AWS_HOSTS:
        match = _AWS_URL_HOST_RE.match(host)
        if not match:
            raise url_error(
                url,
                "is not an AWS S3 URL",
                "use https://<bucket>.s3.<region>.amazonaws.com/<key> or "
                "https://s3.<region>.amazonaws.com/<bucket>/<key>",
            )
        host_bucket, region = match.group(1) or "", match.group(2) or DEFAULT_REGION
    elif host != config.host:
        if not host.endswith(f".{config.host}"):
            raise url_error(
                url,
                f"is not on the S3 endpoint {config.host}",
                "use a URL on the endpoint's host (path style) or a bucket sub-domain of it",
            )
        host_bucket = host[: -len(config.host) - 1]
    if config.s3_force_path_style or not host_bucket:
        bucket, slash, key_path = key_path.partition("/")
        if not slash or not bucket:
            raise url_error(
                url,
                "is a path-style S3 URL without a bucket in its path",
                "use the form https://<s3 host>/<bucket>/<key>",
            )
    else:
        bucket = host_bucket
    return AwsS3Url(
        bucket=decode_component(bucket, url),
        path=decode_component(key_path, url),
        region=region,
    )


class AwsS3Integration(ScmIntegration):
    """A configured S3 service."""

    type: ClassVar[str] = "awsS3"
    config: AwsS3IntegrationConfig

    def __init__(self, config: AwsS3IntegrationConfig) -> None:
        super().__init__(config)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [AwsS3Integration(c) for c in read_aws_s3_integration_configs(entries)]


#: Registry hook: ``integrations.awsS3``.
INTEGRATION = IntegrationType(key="awsS3", order=10, read_configs=_read_configs)
