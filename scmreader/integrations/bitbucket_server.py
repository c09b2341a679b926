"""Bitbucket Server / Data Center (``integrations.bitbucketServer[]``).

Web URLs look like ``https://<host>/projects/<KEY>/repos/<repo>/browse/<path>?at=<ref>``
(the ``at`` value may be ``refs/heads/main`` or just ``main``). The API lives under
``apiBaseUrl`` (default ``https://<host>/rest/api/1.0``). A ``token`` is sent as Bearer;
otherwise ``username`` + ``password`` as Basic. No host is configured by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from scmreader.errors import InvalidUrlError, UpstreamError
from scmreader.integrations._common import (
    RequestOptions,
    SearchParams,
    basic_auth,
    encode_path,
    multiline_secret,
    replace_fragment,
    secret,
    url_error,
)
from scmreader.integrations.base import IntegrationType, ScmIntegration, read_host, read_url_key
from scmreader.redact import Secret, redact_url
from scmreader.urls import GitUrl, default_scm_resolve_url, encode_uri_component, parse_git_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "INTEGRATION",
    "KNOWN_KEYS",
    "BitbucketServerIntegration",
    "BitbucketServerIntegrationConfig",
    "get_bitbucket_server_default_branch_urls",
    "get_bitbucket_server_download_url",
    "get_bitbucket_server_file_fetch_url",
    "get_bitbucket_server_request_options",
    "read_bitbucket_server_default_branch",
    "read_bitbucket_server_integration_config",
    "read_bitbucket_server_integration_configs",
]

_PROVIDER = "Bitbucket Server"
_URL_FORM = "https://<host>/projects/<KEY>/repos/<repo>/browse/<path>?at=<branch>"


@dataclass(frozen=True)
class BitbucketServerIntegrationConfig:
    """One Bitbucket Server host: ``api_base_url`` without trailing ``/``, token trimmed,
    password kept verbatim."""

    host: str
    api_base_url: str
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    commit_signing_key: Secret | None = None


#: Every key :func:`read_bitbucket_server_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "apiBaseUrl",
        "token",
        "username",
        "password",
        "commitSigningKey",
    }
)


def read_bitbucket_server_integration_config(entry: Config) -> BitbucketServerIntegrationConfig:
    """Read and validate one ``integrations.bitbucketServer[]`` entry."""
    host = read_host(entry, provider=_PROVIDER)
    api_base_url = read_url_key(entry, "apiBaseUrl", provider=_PROVIDER)
    return BitbucketServerIntegrationConfig(
        host=host,
        api_base_url=api_base_url or f"https://{host}/rest/api/1.0",
        token=secret(entry, "token"),
        username=entry.get_optional_string("username"),
        password=secret(entry, "password", strip=False),
        commit_signing_key=multiline_secret(entry, "commitSigningKey"),
    )


def read_bitbucket_server_integration_configs(
    entries: list[Config] | None,
) -> list[BitbucketServerIntegrationConfig]:
    """Read every entry; there is no default host."""
    return [read_bitbucket_server_integration_config(e) for e in entries or []]


def _parse(url: str) -> GitUrl:
    try:
        git = parse_git_url(url)
    except InvalidUrlError as exc:
        raise url_error(url, f"cannot be read ({exc})", "fix the link") from None
    if not git.owner or not git.name:
        raise url_error(
            url, "does not name a Bitbucket Server project and repository", f"use {_URL_FORM}"
        )
    return git


def _repo_api(git: GitUrl, config: BitbucketServerIntegrationConfig) -> str:
    owner, name = encode_uri_component(git.owner), encode_uri_component(git.name)
    return f"{config.api_base_url}/projects/{owner}/repos/{name}"


def get_bitbucket_server_file_fetch_url(url: str, config: BitbucketServerIntegrationConfig) -> str:
    """The raw-content API URL of a file: ``…/repos/r/browse/a.yaml?at=main`` ->
    ``<api>/projects/P/repos/r/raw/a.yaml?at=main`` (an absent ``at`` stays empty, which
    Bitbucket reads as the default branch)."""
    git = _parse(url)
    if git.filepathtype not in ("browse", "raw", "src"):
        raise url_error(url, "is not a Bitbucket Server file URL", f"use {_URL_FORM}")
    params = SearchParams()
    params.set("at", git.ref)
    path = encode_path(git.filepath.lstrip("/"))
    return f"{_repo_api(git, config)}/raw/{path}?{params}"


def get_bitbucket_server_default_branch_urls(
    url: str, config: BitbucketServerIntegrationConfig
) -> tuple[str, str]:
    """Where to ask for the default branch: the current endpoint, then (on 404) the one
    Bitbucket 5.x has. Both answer with ``displayId``."""
    base = _repo_api(_parse(url), config)
    return f"{base}/default-branch", f"{base}/branches/default"


def read_bitbucket_server_default_branch(payload: Any, url: str) -> str:
    """The ``displayId`` of a default-branch answer; UpstreamError when it has none."""
    name = payload.get("displayId") if isinstance(payload, Mapping) else None
    if not isinstance(name, str) or not name:
        raise UpstreamError(
            f"Bitbucket Server did not say which branch is the default of {redact_url(url)}; "
            "name the branch in the URL with ?at=<branch>.",
            url=redact_url(url),
        )
    return name


def get_bitbucket_server_download_url(
    url: str,
    config: BitbucketServerIntegrationConfig,
    default_branch: Callable[[], str] | None = None,
    *,
    ref: str | None = None,
) -> str:
    """The tar.gz archive API URL of the URL's folder at its ``at`` ref (or, when the URL
    has none, at ``default_branch()``); ``ref`` (say a looked-up commit id) overrides both."""
    git = _parse(url)
    ref = ref or git.ref
    if not ref:
        if default_branch is None:
            raise url_error(
                url, "names no branch", "add ?at=<branch> or look the default branch up first"
            )
        ref = default_branch()
    params = SearchParams()
    params.set("format", "tgz")
    params.set("at", ref)
    params.set("prefix", f"{git.owner}-{git.name}")
    if git.filepath:
        params.set("path", git.filepath)
    return f"{_repo_api(git, config)}/archive?{params}"


def get_bitbucket_server_request_options(
    config: BitbucketServerIntegrationConfig,
) -> RequestOptions:
    """Headers for API calls: Bearer ``token``, else Basic ``username:password``."""
    if config.token:
        return {"headers": {"Authorization": f"Bearer {config.token}"}}
    if config.username and config.password:
        return {"headers": {"Authorization": basic_auth(config.username, config.password)}}
    return {"headers": {}}


class BitbucketServerIntegration(ScmIntegration):
    """A configured Bitbucket Server host."""

    type: ClassVar[str] = "bitbucketServer"
    config: BitbucketServerIntegrationConfig

    def __init__(self, config: BitbucketServerIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_url(self, *, url: str, base: str, line_number: int | None = None) -> str:
        """Default resolution (the base's ``?at=`` is kept); a line number becomes ``#<n>``."""
        resolved = default_scm_resolve_url(url=url, base=base, line_number=line_number)
        return replace_fragment(resolved, str(line_number)) if line_number else resolved

    def resolve_edit_url(self, url: str) -> str:
        """Bitbucket Server has no edit deep link: the URL without its query."""
        return url.split("?", 1)[0]


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [
        BitbucketServerIntegration(c) for c in read_bitbucket_server_integration_configs(entries)
    ]


#: Registry hook: ``integrations.bitbucketServer``.
INTEGRATION = IntegrationType(key="bitbucketServer", order=60, read_configs=_read_configs)
