"""AWS CodeCommit (``integrations.awsCodeCommit[]``): config, URL parsing, integration.

Each entry is one region; its host is the region's console host
(``<region>.console.aws.amazon.com``) unless ``host`` overrides it. URLs are console
URLs: ``/codesuite/codecommit/repositories/<repo>/browse/<ref>/--/<path>``. No entry
exists by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from scmreader.integrations._common import decode_component, secret, url_error
from scmreader.integrations.base import IntegrationType, ScmIntegration, is_valid_host, read_host
from scmreader.redact import Secret
from scmreader.urls import parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "AMAZON_AWS_CODECOMMIT_HOST",
    "INTEGRATION",
    "KNOWN_KEYS",
    "AwsCodeCommitIntegration",
    "AwsCodeCommitIntegrationConfig",
    "AwsCodeCommitUrl",
    "parse_aws_code_commit_url",
    "read_aws_code_commit_integration_config",
    "read_aws_code_commit_integration_configs",
    "replace_code_commit_url_type",
]

#: The console domain below which each region has its host.
AMAZON_AWS_CODECOMMIT_HOST = "console.aws.amazon.com"

_PREFIX = "/codesuite/codecommit/repositories/"
_URL_FORM = (
    "https://<region>.console.aws.amazon.com/codesuite/codecommit/repositories/<repo>/"
    "browse/<ref>/--/<path>"
)
_CONSOLE_HOST_RE = re.compile(r"^([^.]+)\.console\.aws\.amazon\.com$")
_FILE_PATH_RE = re.compile(r"^/codesuite/codecommit/repositories/([^/]+)/browse/((.*)/)?--/(.*)$")


@dataclass(frozen=True)
class AwsCodeCommitIntegrationConfig:
    """One CodeCommit region (and its console host)."""

    region: str
    host: str
    access_key_id: str | None = None
    secret_access_key: Secret | None = None
    role_arn: str | None = None
    external_id: str | None = None


#: Every key :func:`read_aws_code_commit_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "region",
        "accessKeyId",
        "secretAccessKey",
        "roleArn",
        "externalId",
    }
)


def read_aws_code_commit_integration_config(entry: Config) -> AwsCodeCommitIntegrationConfig:
    """Read one ``integrations.awsCodeCommit[]`` entry; ``region`` is required."""
    region = entry.get_string("region")
    if entry.has("host"):
        host = read_host(entry, provider="AWS CodeCommit")
    else:
        host = f"{region}.{AMAZON_AWS_CODECOMMIT_HOST}"
        if not is_valid_host(host):
            raise entry.error(
                "region",
                "Invalid AWS CodeCommit integration config: the region is not a valid AWS "
                "region name; write it like 'eu-west-1'.",
            )
    return AwsCodeCommitIntegrationConfig(
        region=region,
        host=host,
        access_key_id=entry.get_optional_string("accessKeyId"),
        secret_access_key=secret(entry, "secretAccessKey"),
        role_arn=entry.get_optional_string("roleArn"),
        external_id=entry.get_optional_string("externalId"),
    )


def read_aws_code_commit_integration_configs(
    entries: list[Config] | None,
) -> list[AwsCodeCommitIntegrationConfig]:
    """Read every entry; there is no default."""
    return [read_aws_code_commit_integration_config(e) for e in entries or []]


@dataclass(frozen=True)
class AwsCodeCommitUrl:
    """A console URL read into region, repository, ref (None: the default branch) and
    decoded file or folder ``path`` (``/`` for the repository root)."""

    region: str
    repository_name: str
    path: str
    commit_specifier: str | None = None


def parse_aws_code_commit_url(
    url: str,
    *,
    require_git_path: bool = False,
    config: AwsCodeCommitIntegrationConfig | None = None,
) -> AwsCodeCommitUrl:
    """Read a CodeCommit console URL.

    ``require_git_path`` (for files) demands the ``/browse/<ref>/--/<path>`` form; for
    trees a repository or ``/browse/<ref>`` URL also works (path ``/``). The region comes
    from the ``<region>.console.aws.amazon.com`` host, or from ``config`` when the URL is
    on its custom host.
    """
    parsed = parse_url(url)
    path = parsed.path
    if "/files/edit/" in path:
        raise url_error(url, "is an edit URL", "use the URL of the file's view page (…/browse/…)")
    if require_git_path and "/browse/" not in path:
        raise url_error(url, "does not point to a file", f"use {_URL_FORM}")
    host_match = _CONSOLE_HOST_RE.match(parsed.host)
    if host_match:
        region = host_match.group(1)
    elif config is not None and parsed.host == config.host:
        region = config.region
    else:
        raise url_error(url, "is not on an AWS console host", f"use {_URL_FORM}")
    match = _FILE_PATH_RE.match(path)
    if match:
        repository, ref, file_path = match.group(1), match.group(3), match.group(4)
    elif require_git_path or not path.startswith(_PREFIX):
        raise url_error(url, "is not a CodeCommit file URL", f"use {_URL_FORM}")
    else:
        repository, _, ref = path.split("/--/")[0][len(_PREFIX) :].partition("/browse")
        repository, ref, file_path = repository.strip("/"), ref.strip("/"), "/"
    if not repository:
        raise url_error(url, "names no repository", f"use {_URL_FORM}")
    return AwsCodeCommitUrl(
        region=region,
        repository_name=decode_component(repository, url),
        path=decode_component(file_path, url),
        commit_specifier=decode_component(ref, url) if ref else None,
    )


def replace_code_commit_url_type(
    url: str, repository_name: str, type: Literal["browse", "edit"]
) -> str:
    """Switch a console URL of ``repository_name`` between its view (``browse``) and edit
    (``files/edit``) pages."""
    new = "files/edit" if type == "edit" else type
    repo = re.escape(repository_name)
    return re.sub(
        rf"/codesuite/codecommit/repositories/{repo}/(browse|files/edit)/",
        f"{_PREFIX}{repository_name}/{new}/".replace("\\", "\\\\"),
        url,
        count=1,
    )


class AwsCodeCommitIntegration(ScmIntegration):
    """A configured CodeCommit region."""

    type: ClassVar[str] = "awsCodeCommit"
    config: AwsCodeCommitIntegrationConfig

    def __init__(self, config: AwsCodeCommitIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_edit_url(self, url: str) -> str:
        """The console's edit page of the file a view URL shows."""
        match = re.match(r"^/codesuite/codecommit/repositories/([^/]+)/", parse_url(url).path)
        if not match:
            raise url_error(url, "is not a CodeCommit repository URL", f"use {_URL_FORM}")
        return replace_code_commit_url_type(url, match.group(1), "edit")


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [AwsCodeCommitIntegration(c) for c in read_aws_code_commit_integration_configs(entries)]


#: Registry hook: ``integrations.awsCodeCommit``.
INTEGRATION = IntegrationType(key="awsCodeCommit", order=20, read_configs=_read_configs)
