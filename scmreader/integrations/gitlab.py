"""GitLab (``integrations.gitlab[]``): config, URL helpers and the integration.

Hosts on gitlab.com need no ``apiBaseUrl``; a self-managed GitLab needs one, and one
served under a sub-path (``relative_url_root``) gives it in ``baseUrl``
(``https://git.example.com/gitlab``). File URLs are turned into API URLs without a
network call, using the URL-encoded project path (Backstage integration 2.x).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from scmreader.integrations._common import (
    RequestOptions,
    SearchParams,
    decode_component,
    multiline_secret,
    reject_traversal,
    secret,
    url_error,
)
from scmreader.integrations.base import (
    IntegrationType,
    ScmIntegration,
    read_host,
    read_url_key,
    with_default_host,
)
from scmreader.redact import Secret
from scmreader.urls import encode_uri_component, parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "GITLAB_API_BASE_URL",
    "GITLAB_HOST",
    "INTEGRATION",
    "KNOWN_KEYS",
    "GitLabIntegration",
    "GitLabIntegrationConfig",
    "GitLabRetryConfig",
    "get_gitlab_file_fetch_url",
    "get_gitlab_integration_relative_path",
    "get_gitlab_request_options",
    "read_gitlab_integration_config",
    "read_gitlab_integration_configs",
    "replace_gitlab_url_type",
]

#: The public GitLab host, present even when not configured.
GITLAB_HOST = "gitlab.com"
#: The API of gitlab.com.
GITLAB_API_BASE_URL = "https://gitlab.com/api/v4"

_PROVIDER = "GitLab"


@dataclass(frozen=True)
class GitLabRetryConfig:
    """How GitLab API calls are retried and throttled (``retry:``, Backstage 2.0).

    Retries happen only when ``max_retries`` > 0 and ``retry_status_codes`` is not empty;
    ``max_api_requests_per_minute`` <= 0 means no throttling.
    """

    max_retries: int = 0
    retry_status_codes: tuple[int, ...] = ()
    max_api_requests_per_minute: int = -1


@dataclass(frozen=True)
class GitLabIntegrationConfig:
    """One GitLab host, normalized: URLs without trailing ``/``, token trimmed."""

    host: str
    api_base_url: str
    base_url: str
    token: Secret | None = None
    commit_signing_key: Secret | None = None
    retry: GitLabRetryConfig | None = None


#: Every key :func:`read_gitlab_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "apiBaseUrl",
        "baseUrl",
        "token",
        "commitSigningKey",
        "retry.maxRetries",
        "retry.retryStatusCodes",
        "retry.maxApiRequestsPerMinute",
    }
)


def read_gitlab_integration_config(entry: Config) -> GitLabIntegrationConfig:
    """Read and validate one ``integrations.gitlab[]`` entry (host, then apiBaseUrl, then
    baseUrl are checked, after defaults are applied)."""
    host = read_host(entry, provider=_PROVIDER)
    api_base_url = read_url_key(entry, "apiBaseUrl", provider=_PROVIDER)
    if api_base_url is None:
        if host != GITLAB_HOST:
            raise entry.error(
                "apiBaseUrl",
                f"Invalid GitLab integration config: apiBaseUrl is missing; hosts other than "
                f"{GITLAB_HOST} must set it, usually to 'https://{host}/api/v4'.",
            )
        api_base_url = GITLAB_API_BASE_URL
    base_url = read_url_key(entry, "baseUrl", provider=_PROVIDER) or f"https://{host}"
    return GitLabIntegrationConfig(
        host=host,
        api_base_url=api_base_url,
        base_url=base_url,
        token=secret(entry, "token"),
        commit_signing_key=multiline_secret(entry, "commitSigningKey"),
        retry=_read_retry(entry),
    )


def _read_retry(entry: Config) -> GitLabRetryConfig | None:
    retry = entry.get_optional_config("retry")
    if retry is None:
        return None
    max_retries = _whole_number(retry, "maxRetries", 0)
    if max_retries < 0:
        raise retry.error("maxRetries", "maxRetries must be 0 or more; use 0 to never retry.")
    return GitLabRetryConfig(
        max_retries=max_retries,
        retry_status_codes=_status_codes(retry),
        max_api_requests_per_minute=_whole_number(retry, "maxApiRequestsPerMinute", -1),
    )


def _whole_number(config: Config, key: str, default: int) -> int:
    value = config.get_optional_number(key)
    if value is None:
        return default
    if value != int(value):
        raise config.error(key, f"{key} must be a whole number; remove the fraction.")
    return int(value)


def _status_codes(retry: Config) -> tuple[int, ...]:
    raw = retry.get_optional("retryStatusCodes")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise retry.error(
            "retryStatusCodes",
            f"Invalid retryStatusCodes config: expected a list of HTTP status codes, got "
            f"{_kind(raw)}; write e.g. [429, 502, 503].",
        )
    codes: list[int] = []
    for index, code in enumerate(raw):
        if isinstance(code, bool) or not isinstance(code, int | float):
            raise retry.error(
                f"retryStatusCodes[{index}]",
                f"Invalid retryStatusCodes config: every value must be a number, got "
                f"{_kind(code)} at index {index}; write status codes such as 503 unquoted.",
            )
        if code != int(code) or not 100 <= code <= 599:
            raise retry.error(
                f"retryStatusCodes[{index}]",
                f"Invalid retryStatusCodes config: the value at index {index} is not an HTTP "
                "status code; use whole numbers from 100 to 599.",
            )
        codes.append(int(code))
    return tuple(codes)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    return "a list" if isinstance(value, list) else type(value).__name__


def read_gitlab_integration_configs(entries: list[Config] | None) -> list[GitLabIntegrationConfig]:
    """Read every entry, then add gitlab.com unless an entry already has that exact host."""
    return with_default_host(
        entries,
        read_gitlab_integration_config,
        lambda: GitLabIntegrationConfig(
            host=GITLAB_HOST, api_base_url=GITLAB_API_BASE_URL, base_url=f"https://{GITLAB_HOST}"
        ),
        GITLAB_HOST,
    )


def get_gitlab_integration_relative_path(config: GitLabIntegrationConfig) -> str:
    """The sub-path GitLab is served under (``/gitlab``), '' for gitlab.com or none."""
    if config.host == GITLAB_HOST:
        return ""
    return parse_url(config.base_url).path.rstrip("/")


def get_gitlab_file_fetch_url(url: str, config: GitLabIntegrationConfig) -> str:
    """The API URL that returns the raw content of the file a ``/blob/`` URL shows.

    ``https://gitlab.com/group/repo/-/blob/main/a/b.yaml`` ->
    ``https://gitlab.com/api/v4/projects/group%2Frepo/repository/files/a%2Fb.yaml/raw?ref=main``.
    The URL's own origin is kept (not ``api_base_url``), as Backstage does; the branch is
    the first segment after ``/blob/``.
    """
    parsed = parse_url(url)
    path = parsed.path
    reject_traversal(path)
    if "/blob/" not in path:
        raise url_error(
            url,
            "is not a GitLab file URL (its path has no /blob/)",
            "use the URL of a file as GitLab shows it, e.g. https://gitlab.com/group/repo/"
            "-/blob/main/catalog-info.yaml",
        )
    repo_part = path.split("/-/blob/", 1)[0].split("/blob/", 1)[0]
    relative = get_gitlab_integration_relative_path(config)
    if relative:
        if not repo_part.startswith(f"{relative}/"):
            raise url_error(
                url,
                f"is outside this GitLab instance, whose URLs start with {relative}/",
                "check the URL against the integration's baseUrl",
            )
        repo_part = repo_part[len(relative) :]
    project = decode_component(repo_part.lstrip("/"), url)
    branch, _, file = path.split("/blob/", 1)[1].partition("/")
    if not project or not branch or not file:
        raise url_error(
            url,
            "does not name a project, a branch and a file",
            "use the form https://<host>/<group>/<project>/-/blob/<branch>/<file>",
        )
    params = SearchParams()
    params.set("ref", decode_component(branch, url))
    return (
        f"{parsed.origin}{relative}/api/v4/projects/{encode_uri_component(project)}"
        f"/repository/files/{encode_uri_component(decode_component(file, url))}/raw?{params}"
    )


def get_gitlab_request_options(
    config: GitLabIntegrationConfig, token: str | None = None
) -> RequestOptions:
    """Headers for GitLab API calls: ``Bearer`` with ``token``, else the config's token."""
    credential = token or config.token
    return {"headers": {"Authorization": f"Bearer {credential}"} if credential else {}}


_URL_TYPE_RE = re.compile(r"/-/(blob|tree|edit)/")


def replace_gitlab_url_type(url: str, type: Literal["blob", "tree", "edit"]) -> str:
    """Swap the first ``/-/blob|tree|edit/`` of ``url`` for ``/-/<type>/``; URLs without the
    ``/-/`` form come back unchanged."""
    return _URL_TYPE_RE.sub(f"/-/{type}/", url, count=1)


class GitLabIntegration(ScmIntegration):
    """A configured GitLab host."""

    type: ClassVar[str] = "gitlab"
    config: GitLabIntegrationConfig

    def __init__(self, config: GitLabIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_edit_url(self, url: str) -> str:
        """The web editor URL: ``/-/blob/`` (or ``tree``) becomes ``/-/edit/``."""
        return replace_gitlab_url_type(url, "edit")


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [GitLabIntegration(c) for c in read_gitlab_integration_configs(entries)]


#: Registry hook: ``integrations.gitlab``.
INTEGRATION = IntegrationType(key="gitlab", order=90, read_configs=_read_configs)
