"""Harness Code (``integrations.harness[]``): config, URL helpers, integration.

Web URLs look like ``https://<host>/ng/account/<account>/module/code[/orgs/<org>]
[/projects/<project>]/repos/<repo>/files/<ref...>/~/<path>`` (refs may contain ``/``).
The API lives on the same host under ``/gateway/code/api/v1``. An ``apiKey`` is sent as
``x-api-key`` and wins over a ``token`` (Bearer); neither is trimmed. No host is
configured by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from scmreader.integrations._common import (
    RequestOptions,
    decode_component,
    encode_path,
    reject_traversal,
    secret,
    url_error,
)
from scmreader.integrations.base import IntegrationType, ScmIntegration, read_host
from scmreader.redact import Secret
from scmreader.urls import encode_uri_component, parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "INTEGRATION",
    "KNOWN_KEYS",
    "HarnessIntegration",
    "HarnessIntegrationConfig",
    "HarnessUrl",
    "get_harness_archive_url",
    "get_harness_edit_contents_url",
    "get_harness_file_contents_url",
    "get_harness_latest_commit_url",
    "get_harness_repo_api_url",
    "get_harness_request_options",
    "parse_harness_url",
    "read_harness_config",
    "read_harness_integration_config",
    "read_harness_integration_configs",
]

_URL_FORM = (
    "https://<host>/ng/account/<account>/module/code/orgs/<org>/projects/<project>/repos/"
    "<repo>/files/<branch>/~/<path>"
)


@dataclass(frozen=True)
class HarnessIntegrationConfig:
    """One Harness host; the base URL is always ``https://<host>``."""

    host: str
    token: Secret | None = None
    api_key: Secret | None = None


#: Every key :func:`read_harness_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "token",
        "apiKey",
    }
)


def read_harness_integration_config(entry: Config) -> HarnessIntegrationConfig:
    """Read and validate one ``integrations.harness[]`` entry (Backstage's
    ``readHarnessConfig``)."""
    return HarnessIntegrationConfig(
        host=read_host(entry, provider="Harness Code"),
        token=secret(entry, "token", strip=False),
        api_key=secret(entry, "apiKey", strip=False),
    )


#: Backstage's name for :func:`read_harness_integration_config`.
read_harness_config = read_harness_integration_config


def read_harness_integration_configs(
    entries: list[Config] | None,
) -> list[HarnessIntegrationConfig]:
    """Read every entry; there is no default host."""
    return [read_harness_integration_config(e) for e in entries or []]


@dataclass(frozen=True)
class HarnessUrl:
    """A Harness Code URL read into its (decoded) parts.

    ``ref_string`` is the ref before ``~``; ``branch`` is the same, or everything after
    ``files`` when the URL has no ``~`` (a folder or branch URL); ``ref_dash_str`` is the
    ref with ``-`` for ``/``. ``org_name``/``project_name`` are '' when absent.
    """

    base_url: str
    account_id: str
    org_name: str
    project_name: str
    repo_name: str
    ref_string: str
    path: str
    ref_dash_str: str
    branch: str


def _after(segments: list[str], name: str, start: int = 0) -> int:
    """Index of the segment after the first ``name`` at or after ``start``; -1 if none."""
    try:
        return segments.index(name, start) + 1
    except ValueError:
        return -1


def parse_harness_url(config: HarnessIntegrationConfig, url: str) -> HarnessUrl:
    """Read a Harness Code file, folder or branch URL (``files`` or ``edit`` form)."""
    parsed = parse_url(url)
    reject_traversal(parsed.path)
    named = [decode_component(s, url) for s in parsed.path.split("/") if s]
    account = _after(named, "account")
    org = _after(named, "orgs")
    project = _after(named, "projects")
    repo = _after(named, "repos", max(account, org, project) + 1)
    if not 0 < account < len(named) or not 0 < repo < len(named):
        raise url_error(url, "is not a Harness Code repository URL", f"use {_URL_FORM}")
    kind = next((i for i in range(repo + 1, len(named)) if named[i] in ("files", "edit")), None)
    ref_and_path = named[kind + 1 :] if kind is not None else []
    tilde = ref_and_path.index("~") if "~" in ref_and_path else len(ref_and_path)
    ref_parts = ref_and_path[:tilde]
    path = "/".join(ref_and_path[tilde + 1 :])
    ref = "/".join(ref_parts)
    return HarnessUrl(
        base_url=f"https://{config.host}",
        account_id=named[account],
        org_name=named[org] if 0 < org < len(named) else "",
        project_name=named[project] if 0 < project < len(named) else "",
        repo_name=named[repo],
        ref_string=ref,
        path=path,
        ref_dash_str="-".join(ref_parts),
        branch=ref,
    )


def _api_repo(parsed: HarnessUrl) -> str:
    ids = [parsed.account_id, parsed.org_name, parsed.project_name, parsed.repo_name]
    joined = "/".join(encode_uri_component(i) for i in ids if i)
    return f"{parsed.base_url}/gateway/code/api/v1/repos/{joined}"


def get_harness_repo_api_url(config: HarnessIntegrationConfig, url: str) -> str:
    """The API URL of the URL's repository (``<base>/gateway/code/api/v1/repos/<acct>
    [/<org>][/<proj>]/<repo>``); the endpoints hang below it after ``/+/``."""
    return _api_repo(parse_harness_url(config, url))


def _need_ref(parsed: HarnessUrl, url: str) -> str:
    if not parsed.branch:
        raise url_error(url, "names no branch", f"use {_URL_FORM}")
    return quote(parsed.branch, safe="/")


def get_harness_file_contents_url(config: HarnessIntegrationConfig, url: str) -> str:
    """The raw-content API URL of a file."""
    parsed = parse_harness_url(config, url)
    ref = _need_ref(parsed, url)
    account = encode_uri_component(parsed.account_id)
    return (
        f"{_api_repo(parsed)}/+/raw/{encode_path(parsed.path)}"
        f"?routingId={account}&git_ref=refs/heads/{ref}"
    )


def get_harness_archive_url(config: HarnessIntegrationConfig, url: str) -> str:
    """The zip archive API URL of the repository at the URL's branch."""
    parsed = parse_harness_url(config, url)
    ref = _need_ref(parsed, url)
    account = encode_uri_component(parsed.account_id)
    return f"{_api_repo(parsed)}/+/archive/{ref}.zip?routingId={account}"


def get_harness_latest_commit_url(config: HarnessIntegrationConfig, url: str) -> str:
    """The content API URL that reports the latest commit of the URL's branch."""
    parsed = parse_harness_url(config, url)
    ref = _need_ref(parsed, url)
    account = encode_uri_component(parsed.account_id)
    return (
        f"{_api_repo(parsed)}/+/content?routingId={account}&include_commit=true"
        f"&git_ref=refs/heads/{ref}"
    )


def get_harness_edit_contents_url(config: HarnessIntegrationConfig, url: str) -> str:
    """The normalized web URL of a file (Harness opens its editor from there)."""
    parsed = parse_harness_url(config, url)
    scope = "".join(
        f"/{kind}/{encode_uri_component(value)}"
        for kind, value in (("orgs", parsed.org_name), ("projects", parsed.project_name))
        if value
    )
    return (
        f"{parsed.base_url}/ng/account/{encode_uri_component(parsed.account_id)}/module/code"
        f"{scope}/repos/{encode_uri_component(parsed.repo_name)}/files/"
        f"{_need_ref(parsed, url)}/~/{encode_path(parsed.path)}"
    )


def get_harness_request_options(config: HarnessIntegrationConfig) -> RequestOptions:
    """Headers for API calls: ``x-api-key`` when an API key is set, else Bearer token."""
    if config.api_key:
        return {"headers": {"x-api-key": config.api_key}}
    if config.token:
        return {"headers": {"Authorization": f"Bearer {config.token}"}}
    return {"headers": {}}


class HarnessIntegration(ScmIntegration):
    """A configured Harness Code host."""

    type: ClassVar[str] = "harness"
    config: HarnessIntegrationConfig

    def __init__(self, config: HarnessIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_edit_url(self, url: str) -> str:
        """The normalized file URL of ``url`` (see :func:`get_harness_edit_contents_url`)."""
        return get_harness_edit_contents_url(self.config, url)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [HarnessIntegration(c) for c in read_harness_integration_configs(entries)]


#: Registry hook: ``integrations.harness``.
INTEGRATION = IntegrationType(key="harness", order=120, read_configs=_read_configs)
