"""Gitea and Forgejo (``integrations.gitea[]``): config, URL helpers, integration.

Web URLs look like ``<baseUrl>/<owner>/<repo>/src/<branch|tag|commit>/<ref>/<path>``;
``baseUrl`` defaults to ``https://<host>`` and may carry a sub-path. A ``password``
(a password or an access token) is sent as Basic with ``username``, else as
``token <password>``. No host is configured by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from scmreader.integrations._common import (
    RequestOptions,
    SearchParams,
    basic_auth,
    decode_component,
    encode_path,
    multiline_secret,
    reject_traversal,
    secret,
    url_error,
)
from scmreader.integrations.base import IntegrationType, ScmIntegration, read_host, read_url_key
from scmreader.redact import Secret
from scmreader.urls import encode_uri_component, parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "INTEGRATION",
    "KNOWN_KEYS",
    "GiteaIntegration",
    "GiteaIntegrationConfig",
    "GiteaUrl",
    "get_gitea_archive_url",
    "get_gitea_edit_contents_url",
    "get_gitea_file_contents_url",
    "get_gitea_latest_commit_url",
    "get_gitea_request_options",
    "parse_gitea_url",
    "read_gitea_config",
    "read_gitea_integration_config",
    "read_gitea_integration_configs",
]

_PROVIDER = "Gitea"
_URL_FORM = "<baseUrl>/<owner>/<repo>/src/branch/<branch>/<path>"
_REF_KINDS = ("branch", "tag", "commit")


@dataclass(frozen=True)
class GiteaIntegrationConfig:
    """One Gitea host; ``base_url`` has no trailing ``/``, ``password`` is trimmed."""

    host: str
    base_url: str
    username: str | None = None
    password: Secret | None = None
    commit_signing_key: Secret | None = None


#: Every key :func:`read_gitea_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "baseUrl",
        "username",
        "password",
        "commitSigningKey",
    }
)


def read_gitea_integration_config(entry: Config) -> GiteaIntegrationConfig:
    """Read and validate one ``integrations.gitea[]`` entry (Backstage's ``readGiteaConfig``)."""
    host = read_host(entry, provider=_PROVIDER)
    base_url = read_url_key(entry, "baseUrl", provider=_PROVIDER)
    return GiteaIntegrationConfig(
        host=host,
        base_url=base_url or f"https://{host}",
        username=entry.get_optional_string("username"),
        password=secret(entry, "password"),
        commit_signing_key=multiline_secret(entry, "commitSigningKey"),
    )


#: Backstage's name for :func:`read_gitea_integration_config`.
read_gitea_config = read_gitea_integration_config


def read_gitea_integration_configs(entries: list[Config] | None) -> list[GiteaIntegrationConfig]:
    """Read every entry; there is no default host."""
    return [read_gitea_integration_config(e) for e in entries or []]


@dataclass(frozen=True)
class GiteaUrl:
    """A Gitea file or folder URL read into its parts (decoded); ``url`` is the base URL."""

    url: str
    owner: str
    name: str
    ref: str
    path: str


def parse_gitea_url(config: GiteaIntegrationConfig, url: str) -> GiteaUrl:
    """Read ``<baseUrl>/<owner>/<repo>/src/<kind>/<ref>/<path>`` (the ref is one segment)."""
    base = parse_url(config.base_url)
    parsed = parse_url(url)
    prefix = base.path.rstrip("/")
    if parsed.origin != base.origin or not parsed.path.startswith(f"{prefix}/"):
        raise url_error(
            url, f"is not below the Gitea base URL {config.base_url}", f"use {_URL_FORM}"
        )
    rest = parsed.path[len(prefix) :]
    reject_traversal(rest)
    parts = rest.split("/")
    if len(parts) < 6 or not all(parts[1:3]) or parts[3] != "src" or parts[4] not in _REF_KINDS:
        raise url_error(url, "is not a Gitea file or folder URL", f"use {_URL_FORM}")
    owner, name, ref = (decode_component(p, url) for p in (parts[1], parts[2], parts[5]))
    if not ref:
        raise url_error(url, "names no branch, tag or commit", f"use {_URL_FORM}")
    path = decode_component("/".join(parts[6:]), url).lstrip("/")
    return GiteaUrl(config.base_url, owner, name, ref, path)


def _repo(parsed: GiteaUrl) -> str:
    return f"{encode_uri_component(parsed.owner)}/{encode_uri_component(parsed.name)}"


def get_gitea_file_contents_url(config: GiteaIntegrationConfig, url: str) -> str:
    """The contents API URL of a file: ``<base>/api/v1/repos/o/r/contents/<path>?ref=<ref>``."""
    parsed = parse_gitea_url(config, url)
    params = SearchParams()
    params.set("ref", parsed.ref)
    return f"{parsed.url}/api/v1/repos/{_repo(parsed)}/contents/{encode_path(parsed.path)}?{params}"


def get_gitea_archive_url(config: GiteaIntegrationConfig, url: str) -> str:
    """The tar.gz archive API URL of the whole repository at the URL's ref."""
    parsed = parse_gitea_url(config, url)
    ref = encode_uri_component(parsed.ref)
    return f"{parsed.url}/api/v1/repos/{_repo(parsed)}/archive/{ref}.tar.gz"


def get_gitea_latest_commit_url(config: GiteaIntegrationConfig, url: str) -> str:
    """The API URL of the commit the URL's ref points at."""
    parsed = parse_gitea_url(config, url)
    ref = encode_uri_component(parsed.ref)
    return f"{parsed.url}/api/v1/repos/{_repo(parsed)}/git/commits/{ref}"


def get_gitea_edit_contents_url(config: GiteaIntegrationConfig, url: str) -> str:
    """The web editor URL of a file: ``<base>/o/r/_edit/<ref>/<path>``."""
    parsed = parse_gitea_url(config, url)
    ref = encode_uri_component(parsed.ref)
    return f"{parsed.url}/{_repo(parsed)}/_edit/{ref}/{encode_path(parsed.path)}"


def get_gitea_request_options(config: GiteaIntegrationConfig) -> RequestOptions:
    """Headers for API calls: ``basic`` with username and password, ``token <password>``
    with a password alone, none without a password."""
    if not config.password:
        return {"headers": {}}
    if config.username:
        return {
            "headers": {
                "Authorization": basic_auth(config.username, config.password, scheme="basic")
            }
        }
    return {"headers": {"Authorization": f"token {config.password}"}}


class GiteaIntegration(ScmIntegration):
    """A configured Gitea host."""

    type: ClassVar[str] = "gitea"
    config: GiteaIntegrationConfig

    def __init__(self, config: GiteaIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_edit_url(self, url: str) -> str:
        """The web editor URL of the file ``url`` shows."""
        return get_gitea_edit_contents_url(self.config, url)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [GiteaIntegration(c) for c in read_gitea_integration_configs(entries)]


#: Registry hook: ``integrations.gitea``.
INTEGRATION = IntegrationType(key="gitea", order=100, read_configs=_read_configs)
