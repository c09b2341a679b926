"""``scmreader url fetch``: the API URL a reader fetches for a browse URL.

Each provider module has its own helper (Backstage's ``getGithubFileFetchUrl`` and
friends) with its own argument order; this table only says which one to call and how.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from scmreader.errors import NotImplementedByReaderError
from scmreader.integrations.base import ScmIntegration

#: integration type -> (module, helper, how the helper takes its arguments)
#: "url,config": helper(url, config); "config,url": helper(config, url); "url": helper(url).
FETCH_URL_HELPERS: dict[str, tuple[str, str, str]] = {
    "github": ("scmreader.integrations.github", "get_github_file_fetch_url", "github"),
    "gitlab": ("scmreader.integrations.gitlab", "get_gitlab_file_fetch_url", "url,config"),
    "gerrit": ("scmreader.integrations.gerrit", "get_gerrit_file_contents_api_url", "config,url"),
    "bitbucketCloud": (
        "scmreader.integrations.bitbucket_cloud",
        "get_bitbucket_cloud_file_fetch_url",
        "url,config",
    ),
    "bitbucketServer": (
        "scmreader.integrations.bitbucket_server",
        "get_bitbucket_server_file_fetch_url",
        "url,config",
    ),
    "azure": ("scmreader.integrations.azure", "get_azure_file_fetch_url", "url"),
    "gitea": ("scmreader.integrations.gitea", "get_gitea_file_contents_url", "config,url"),
    "harness": ("scmreader.integrations.harness", "get_harness_file_contents_url", "config,url"),
}


def _helper(kind: str) -> tuple[Callable[..., Any], str]:
    entry = FETCH_URL_HELPERS.get(kind)
    if entry is not None:
        module_name, name, style = entry
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        helper = getattr(module, name, None)
        if callable(helper):
            return helper, style
    raise NotImplementedByReaderError(
        f"'url fetch' does not know the API URL of {kind} integrations: their reader does "
        "not fetch files by URL (object stores use their SDK); use 'scmreader read' instead."
    )


def fetch_url(integration: ScmIntegration, url: str, *, token: str | None = None) -> str:
    """The URL the reader of ``integration`` requests to read the file at ``url``.

    For GitHub the choice between the contents API and the raw host depends on whether a
    token is used: ``token``, the configured token, or an app installation token.
    """
    helper, style = _helper(integration.type)
    config = integration.config
    if style == "github":
        from scmreader.integrations.github import GithubCredentials

        has_token = bool(token or config.token or config.apps)
        credentials = GithubCredentials("token", "x" if has_token else None)
        return str(helper(url, config, credentials))
    if style == "url,config":
        return str(helper(url, config))
    if style == "config,url":
        return str(helper(config, url))
    return str(helper(url))
