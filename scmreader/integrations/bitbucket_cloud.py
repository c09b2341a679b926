"""Bitbucket Cloud (``integrations.bitbucketCloud[]``): config, URL helpers, integration.

The host is always bitbucket.org and the API https://api.bitbucket.org/2.0 (a ``host``
key in config is ignored, as in Backstage). The credential kinds, in order of preference
(:attr:`BitbucketCloudIntegrationConfig.credential_kind`):

- ``oauth``: ``clientId`` + ``clientSecret`` (client-credentials grant, Bearer);
- ``apiToken``: ``username`` + ``token``, Basic with the **Atlassian account email** as
  the user (https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/);
- ``appPassword``: ``username`` + ``appPassword``, Basic with the **Bitbucket username**
  (app passwords stop working on 2026-06-09);
- ``accessToken``: ``token`` alone, Bearer (a workspace, project or repository access
  token, https://support.atlassian.com/bitbucket-cloud/docs/access-tokens/).

One ``username`` key serves both Basic kinds, as in Backstage, so ``config validate``
warns (:data:`ENTRY_WARNINGS`) when an API token is paired with a username that is not an
email address: Bitbucket answers such requests 401.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from scmreader.errors import InvalidUrlError, UpstreamError
from scmreader.integrations._common import (
    RequestOptions,
    SearchParams,
    basic_auth,
    encode_path,
    multiline_secret,
    optional_trimmed,
    replace_fragment,
    secret,
    url_error,
    with_query,
)
from scmreader.integrations.base import IntegrationType, ScmIntegration
from scmreader.redact import Secret, redact_url, register_secret
from scmreader.urls import (
    GitUrl,
    default_scm_resolve_url,
    encode_uri_component,
    parse_git_url,
    parse_url,
)

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "BITBUCKET_CLOUD_API_BASE_URL",
    "BITBUCKET_CLOUD_HOST",
    "BITBUCKET_CLOUD_OAUTH_TOKEN_URL",
    "DEPRECATED_KEYS",
    "ENTRY_WARNINGS",
    "INTEGRATION",
    "KNOWN_KEYS",
    "BitbucketCloudIntegration",
    "BitbucketCloudIntegrationConfig",
    "CredentialKind",
    "OAuthToken",
    "OAuthTokenRequest",
    "entry_warnings",
    "get_bitbucket_cloud_default_branch_url",
    "get_bitbucket_cloud_download_url",
    "get_bitbucket_cloud_file_fetch_url",
    "get_bitbucket_cloud_oauth_token_request",
    "get_bitbucket_cloud_request_options",
    "read_bitbucket_cloud_default_branch",
    "read_bitbucket_cloud_integration_config",
    "read_bitbucket_cloud_integration_configs",
    "read_bitbucket_cloud_oauth_token",
]

#: The only Bitbucket Cloud host.
BITBUCKET_CLOUD_HOST = "bitbucket.org"
#: Bitbucket Cloud's REST API.
BITBUCKET_CLOUD_API_BASE_URL = "https://api.bitbucket.org/2.0"
#: Where OAuth client credentials are exchanged for an access token.
BITBUCKET_CLOUD_OAUTH_TOKEN_URL = "https://bitbucket.org/site/oauth2/access_token"

#: Tokens are renewed this long before Bitbucket says they expire.
_OAUTH_EXPIRY_MARGIN = 600.0
_OAUTH_DEFAULT_LIFETIME = 3600.0


@dataclass(frozen=True)
class BitbucketCloudIntegrationConfig:
    """One Bitbucket Cloud account's settings; host and API URL are constants."""

    host: str = BITBUCKET_CLOUD_HOST
    api_base_url: str = BITBUCKET_CLOUD_API_BASE_URL
    username: str | None = None
    app_password: Secret | None = None
    token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    commit_signing_key: Secret | None = None

    @property
    def credential_kind(self) -> CredentialKind | None:
        """Which credential the entry configures (see the module docstring); None when
        it configures none."""
        if self.client_id and self.client_secret:
            return "oauth"
        if self.username and self.token:
            return "apiToken"
        if self.username and self.app_password:
            return "appPassword"
        return "accessToken" if self.token else None


#: The credential kinds of a Bitbucket Cloud entry.
CredentialKind = Literal["oauth", "apiToken", "appPassword", "accessToken"]


def entry_warnings(entry: Config) -> list[tuple[str, str]]:
    """``(key, message)`` warnings for one entry that reads without error: an API token
    with a ``username`` that is not an email address (API tokens authenticate with the
    Atlassian account email; the Bitbucket username gets 401)."""
    config = read_bitbucket_cloud_integration_config(entry)
    if config.credential_kind == "apiToken" and "@" not in (config.username or ""):
        return [
            (
                "username",
                f"'username' is {config.username!r}, but Bitbucket Cloud API tokens "
                "authenticate with the Atlassian account email as the user; use the email "
                "address here (keep the Bitbucket username only for an appPassword)",
            )
        ]
    return []


#: Per-entry warnings ``config validate`` shows (``(key, message)`` pairs).
ENTRY_WARNINGS = entry_warnings


#: Every key :func:`read_bitbucket_cloud_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "username",
        "appPassword",
        "token",
        "clientId",
        "clientSecret",
        "commitSigningKey",
    }
)

#: Keys that still work but should go (``appPassword``) or that are ignored -> what to do
#: instead; ``config validate`` shows these as warnings.
DEPRECATED_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "appPassword": "is deprecated: Atlassian stops app passwords in 2026; use 'username' "
        "with an API 'token' instead",
        "host": "is ignored: Bitbucket Cloud is always bitbucket.org; remove it",
        "apiBaseUrl": "is ignored: Bitbucket Cloud always uses https://api.bitbucket.org/2.0; "
        "remove it",
    }
)


def read_bitbucket_cloud_integration_config(entry: Config) -> BitbucketCloudIntegrationConfig:
    """Read one entry. ``token`` is kept verbatim; ``appPassword``, ``clientId`` and
    ``clientSecret`` are trimmed."""
    username = entry.get_optional_string("username")
    app_password = secret(entry, "appPassword")
    token = secret(entry, "token", strip=False)
    client_id = optional_trimmed(entry, "clientId")
    client_secret = secret(entry, "clientSecret")
    if username and not (token or app_password):
        raise entry.error(
            "username",
            "Bitbucket Cloud integration config has a username but no credential; add an "
            "API 'token' (or a legacy 'appPassword') next to it, or remove the username.",
        )
    if bool(client_id) != bool(client_secret):
        missing = "clientSecret" if client_id else "clientId"
        raise entry.error(
            missing,
            "Bitbucket Cloud integration has an incomplete OAuth configuration: clientId and "
            f"clientSecret go together; add {missing} or remove the other one.",
        )
    return BitbucketCloudIntegrationConfig(
        username=username,
        app_password=app_password,
        token=token,
        client_id=client_id,
        client_secret=client_secret,
        commit_signing_key=multiline_secret(entry, "commitSigningKey"),
    )


def read_bitbucket_cloud_integration_configs(
    entries: list[Config] | None,
) -> list[BitbucketCloudIntegrationConfig]:
    """Read every entry; only when there is none, add an anonymous bitbucket.org."""
    configs = [read_bitbucket_cloud_integration_config(e) for e in entries or []]
    return configs or [BitbucketCloudIntegrationConfig()]


def _parse(url: str) -> GitUrl:
    try:
        return parse_git_url(url)
    except InvalidUrlError as exc:
        raise url_error(url, f"cannot be read ({exc})", "fix the link") from None


def _repository(url: str, git: GitUrl) -> str:
    if not git.owner or not git.name:
        raise url_error(
            url,
            "does not name a Bitbucket Cloud workspace and repository",
            "use the form https://bitbucket.org/<workspace>/<repo>/src/<branch>/<path>",
        )
    return f"{encode_uri_component(git.owner)}/{encode_uri_component(git.name)}"


def get_bitbucket_cloud_file_fetch_url(url: str, config: BitbucketCloudIntegrationConfig) -> str:
    """The API URL of a file: ``https://bitbucket.org/o/r/src/main/a.yaml`` ->
    ``<api>/repositories/o/r/src/main/a.yaml`` (``raw`` URLs are accepted too)."""
    git = _parse(url)
    repository = _repository(url, git)
    if git.filepathtype not in ("src", "raw") or not git.ref:
        raise url_error(
            url,
            "is not a Bitbucket Cloud file URL",
            "use the form https://bitbucket.org/<workspace>/<repo>/src/<branch>/<path>",
        )
    path = encode_path(git.filepath.lstrip("/"))
    return (
        f"{config.api_base_url}/repositories/{repository}/src/"
        f"{encode_uri_component(git.ref)}/{path}"
    )


def get_bitbucket_cloud_default_branch_url(
    url: str, config: BitbucketCloudIntegrationConfig
) -> str:
    """The API URL of the repository, whose ``mainbranch.name`` is the default branch."""
    git = _parse(url)
    return f"{config.api_base_url}/repositories/{_repository(url, git)}"


def read_bitbucket_cloud_default_branch(payload: Any, url: str) -> str:
    """The default branch from the repository API answer; UpstreamError if it has none."""
    branch = payload.get("mainbranch") if isinstance(payload, Mapping) else None
    name = branch.get("name") if isinstance(branch, Mapping) else None
    if not isinstance(name, str) or not name:
        raise UpstreamError(
            f"Bitbucket Cloud did not say which branch is the default of {redact_url(url)}; "
            "name the branch in the URL (…/src/<branch>/…).",
            url=redact_url(url),
        )
    return name


def get_bitbucket_cloud_download_url(
    url: str,
    config: BitbucketCloudIntegrationConfig,
    default_branch: Callable[[], str] | None = None,
    *,
    ref: str | None = None,
) -> str:
    """The tar.gz archive URL of the repository at the URL's branch (or, when the URL names
    none, at ``default_branch()``): ``https://bitbucket.org/o/r/get/main.tar.gz``.

    ``ref`` (a commit hash looked up beforehand, say) replaces the URL's branch, so the
    archive cannot move on between the lookup and the download."""
    git = _parse(url)
    repository = _repository(url, git)
    ref = ref or git.ref
    if not ref:
        if default_branch is None:
            raise url_error(
                url,
                "names no branch",
                "name it in the URL (…/src/<branch>/…) or look the default branch up first",
            )
        ref = default_branch()
    origin = parse_url(url).origin
    return f"{origin}/{repository}/get/{encode_uri_component(ref)}.tar.gz"


@dataclass(frozen=True)
class OAuthTokenRequest:
    """The POST that exchanges OAuth client credentials for an access token."""

    url: str
    headers: dict[str, str] = field(repr=False)
    data: dict[str, str]


@dataclass(frozen=True)
class OAuthToken:
    """An access token and the time (same clock as ``now``) it should be renewed."""

    token: Secret
    expires_at: float


def get_bitbucket_cloud_oauth_token_request(
    client_id: str, client_secret: str
) -> OAuthTokenRequest:
    """The client-credentials token request for ``client_id``/``client_secret``."""
    return OAuthTokenRequest(
        url=BITBUCKET_CLOUD_OAUTH_TOKEN_URL,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": basic_auth(client_id, client_secret),
        },
        data={"grant_type": "client_credentials"},
    )


def read_bitbucket_cloud_oauth_token(payload: Any, *, now: float) -> OAuthToken:
    """The token from the OAuth answer, to be renewed 10 minutes before it expires
    (``expires_in`` seconds, one hour when absent)."""
    token = payload.get("access_token") if isinstance(payload, Mapping) else None
    if not isinstance(token, str) or not token:
        raise UpstreamError(
            "Bitbucket Cloud's OAuth answer has no access_token; check that the OAuth "
            "consumer is private and has the client-credentials grant enabled."
        )
    register_secret(token)
    lifetime = payload.get("expires_in")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        lifetime = _OAUTH_DEFAULT_LIFETIME
    return OAuthToken(Secret(token), now + float(lifetime) - _OAUTH_EXPIRY_MARGIN)


def get_bitbucket_cloud_request_options(
    config: BitbucketCloudIntegrationConfig,
    oauth_token: Callable[[str, str], str] | None = None,
) -> RequestOptions:
    """Headers for Bitbucket Cloud API calls.

    OAuth client credentials win (``oauth_token(client_id, client_secret)`` supplies the
    access token; the caller caches it), then Basic ``username`` + ``token`` (or
    ``app_password``), then Bearer ``token``; no credentials give no headers.
    """
    if config.client_id and config.client_secret:
        if oauth_token is None:
            raise TypeError("OAuth is configured: pass oauth_token= to obtain an access token")
        return {
            "headers": {
                "Authorization": f"Bearer {oauth_token(config.client_id, config.client_secret)}"
            }
        }
    kind = config.credential_kind
    if kind in ("apiToken", "appPassword"):
        password = config.token if kind == "apiToken" else config.app_password
        assert config.username and password
        return {"headers": {"Authorization": basic_auth(config.username, password)}}
    if kind == "accessToken":
        return {"headers": {"Authorization": f"Bearer {config.token}"}}
    return {"headers": {}}


class BitbucketCloudIntegration(ScmIntegration):
    """The bitbucket.org integration."""

    type: ClassVar[str] = "bitbucketCloud"
    config: BitbucketCloudIntegrationConfig

    def __init__(self, config: BitbucketCloudIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_url(self, *, url: str, base: str, line_number: int | None = None) -> str:
        """Default resolution; a line number becomes Bitbucket's ``#lines-<n>``."""
        resolved = default_scm_resolve_url(url=url, base=base, line_number=line_number)
        return replace_fragment(resolved, f"lines-{line_number}") if line_number else resolved

    def resolve_edit_url(self, url: str) -> str:
        """The URL with ``mode=edit`` and ``at=<branch>`` set in its query."""
        try:
            parsed = parse_url(url)
            ref = parse_git_url(url).ref
        except InvalidUrlError:
            return url
        params = SearchParams(parsed.query)
        params.set("mode", "edit")
        params.set("at", ref)
        return with_query(parsed, params)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [BitbucketCloudIntegration(c) for c in read_bitbucket_cloud_integration_configs(entries)]


#: Registry hook: ``integrations.bitbucketCloud``.
INTEGRATION = IntegrationType(key="bitbucketCloud", order=50, read_configs=_read_configs)
