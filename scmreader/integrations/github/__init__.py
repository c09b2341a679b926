"""GitHub and GitHub Enterprise (``integrations.github[]``).

Only the ``Github`` spellings exist: the capital-H aliases that Backstage removed in v1.28
are not provided (tests/integrations/test_github_integration.py lists them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scmreader.integrations.base import IntegrationType, ScmIntegration
from scmreader.integrations.github.config import (
    GITHUB_API_BASE_URL,
    GITHUB_HOST,
    GITHUB_RAW_BASE_URL,
    KNOWN_KEYS,
    GithubAppConfig,
    GithubIntegrationConfig,
    read_github_integration_config,
    read_github_integration_configs,
)
from scmreader.integrations.github.core import (
    GithubIntegration,
    GithubUrlType,
    RateLimitInfo,
    get_github_file_fetch_url,
    github_file_fetch_url,
    parse_github_url,
    parse_rate_limit_info,
    replace_github_url_type,
)
from scmreader.integrations.github.credentials import (
    DefaultGithubCredentialsProvider,
    GithubAppCredentialsMux,
    GithubAppManager,
    GithubCredentials,
    GithubCredentialsProvider,
    GithubCredentialType,
    InstallationNotFoundError,
    SingleInstanceGithubCredentialsProvider,
)

if TYPE_CHECKING:
    from scmreader.config import Config


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [GithubIntegration(c) for c in read_github_integration_configs(entries)]


#: How the registry finds this provider (Backstage registry order 80).
INTEGRATION = IntegrationType(key="github", order=80, read_configs=_read_configs)

__all__ = [
    "GITHUB_API_BASE_URL",
    "GITHUB_HOST",
    "GITHUB_RAW_BASE_URL",
    "INTEGRATION",
    "KNOWN_KEYS",
    "DefaultGithubCredentialsProvider",
    "GithubAppConfig",
    "GithubAppCredentialsMux",
    "GithubAppManager",
    "GithubCredentialType",
    "GithubCredentials",
    "GithubCredentialsProvider",
    "GithubIntegration",
    "GithubIntegrationConfig",
    "GithubUrlType",
    "InstallationNotFoundError",
    "RateLimitInfo",
    "SingleInstanceGithubCredentialsProvider",
    "get_github_file_fetch_url",
    "github_file_fetch_url",
    "parse_github_url",
    "parse_rate_limit_info",
    "read_github_integration_config",
    "read_github_integration_configs",
    "replace_github_url_type",
]
