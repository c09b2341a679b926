"""Reading ``integrations.github[]``: hosts, API and raw base URLs, tokens and GitHub Apps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scmreader.errors import ConfigError
from scmreader.integrations._common import missing_value, multiline_secret, required_secret
from scmreader.integrations.base import read_host, read_secret, read_url_key, with_default_host
from scmreader.redact import Secret

if TYPE_CHECKING:
    from scmreader.config import Config

#: The public host, always present unless configured explicitly.
GITHUB_HOST = "github.com"
GITHUB_API_BASE_URL = "https://api.github.com"
GITHUB_RAW_BASE_URL = "https://raw.githubusercontent.com"

_PROVIDER = "GitHub"


@dataclass(frozen=True)
class ConfigSource:
    """Where an integration entry was written, for errors raised after reading."""

    key_path: str | None = None
    file: str | None = None
    line: int | None = None

    def error(self, message: str, key: str | None = None) -> ConfigError:
        """A ConfigError pointing at this entry (or at ``key`` below it)."""
        path = self.key_path
        if key:
            path = f"{path}.{key}" if path else key
        return ConfigError(message, key_path=path, file=self.file, line=self.line)


@dataclass(frozen=True)
class GithubAppConfig:
    """One GitHub App under ``apps[]``; secrets never appear in ``repr``."""

    app_id: int
    client_id: str
    client_secret: str = field(repr=False)
    private_key: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    #: Lower-cased account logins the app may act for; None means any.
    allowed_installation_owners: tuple[str, ...] | None = None
    #: Fall back to any installation's token for read access to public repositories.
    public_access: bool = False
    source: ConfigSource = field(default_factory=ConfigSource, repr=False, compare=False)


@dataclass(frozen=True)
class GithubIntegrationConfig:
    """One ``integrations.github[]`` entry after defaults and trimming."""

    host: str = GITHUB_HOST
    api_base_url: str | None = None
    raw_base_url: str | None = None
    token: str | None = field(default=None, repr=False)
    apps: tuple[GithubAppConfig, ...] = ()
    source: ConfigSource = field(default_factory=ConfigSource, repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"GithubIntegrationConfig(host={self.host!r}, api_base_url={self.api_base_url!r}, "
            f"raw_base_url={self.raw_base_url!r}, token={'***' if self.token else None}, "
            f"apps={list(self.apps)!r})"
        )


def _source(entry: Config, key: str | None = None) -> ConfigSource:
    file, line = entry.location(key)
    return ConfigSource(entry.key_path(key) if key else entry.prefix or None, file, line)


def _read_private_key(entry: Config) -> Secret:
    # A PEM spans lines; keys pasted into one-line environment variables carry literal \n.
    key = multiline_secret(entry, "privateKey", strip=True, unescape_newlines=True)
    if key is None:
        raise missing_value(entry, "privateKey")
    if "PRIVATE KEY-----" not in key:
        raise entry.error(
            "privateKey",
            "is not a PEM private key; paste the whole key the GitHub App settings page "
            "generated, including the '-----BEGIN ... PRIVATE KEY-----' line.",
        )
    return Secret(key + "\n")


def _read_app(entry: Config) -> GithubAppConfig:
    app_id = entry.get_number("appId")
    if isinstance(app_id, float) and app_id.is_integer():
        app_id = int(app_id)
    if not isinstance(app_id, int) or app_id <= 0:
        raise entry.error("appId", "must be a positive whole number (the GitHub App's ID)")
    owners = entry.get_optional_string_array("allowedInstallationOwners")
    return GithubAppConfig(
        app_id=app_id,
        client_id=entry.get_string("clientId"),
        client_secret=required_secret(entry, "clientSecret"),
        private_key=_read_private_key(entry),
        webhook_secret=read_secret(entry, "webhookSecret"),
        allowed_installation_owners=(
            None if owners is None else tuple(o.strip().lower() for o in owners)
        ),
        public_access=bool(entry.get_optional_boolean("publicAccess")),
        source=_source(entry),
    )


#: Every key :func:`read_github_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "apiBaseUrl",
        "rawBaseUrl",
        "token",
        "apps[].appId",
        "apps[].clientId",
        "apps[].clientSecret",
        "apps[].privateKey",
        "apps[].webhookSecret",
        "apps[].allowedInstallationOwners",
        "apps[].publicAccess",
    }
)


def read_github_integration_config(config: Config) -> GithubIntegrationConfig:
    """Read one ``integrations.github[]`` entry.

    ``host`` defaults to ``github.com``, whose API and raw base URLs then default to
    ``https://api.github.com`` and ``https://raw.githubusercontent.com``; other hosts keep
    what is configured (possibly nothing). Base URLs lose trailing slashes, the token is
    trimmed. Raises ConfigError (with the key path) for an invalid host or URL, a missing
    app field, or a credential that cannot be sent in a header.
    """
    host = read_host(config, provider=_PROVIDER) if config.has("host") else GITHUB_HOST
    api_base_url = read_url_key(config, "apiBaseUrl", provider=_PROVIDER)
    raw_base_url = read_url_key(config, "rawBaseUrl", provider=_PROVIDER)
    if host == GITHUB_HOST:
        api_base_url = api_base_url or GITHUB_API_BASE_URL
        raw_base_url = raw_base_url or GITHUB_RAW_BASE_URL
    apps = tuple(_read_app(app) for app in config.get_optional_config_array("apps") or [])
    return GithubIntegrationConfig(
        host=host,
        api_base_url=api_base_url,
        raw_base_url=raw_base_url,
        token=read_secret(config, "token") or None,
        apps=apps,
        source=_source(config),
    )


def read_github_integration_configs(configs: list[Config] | None) -> list[GithubIntegrationConfig]:
    """Read every entry, then add the ``github.com`` default unless an entry has that host."""
    result: list[GithubIntegrationConfig] = with_default_host(
        configs,
        read_github_integration_config,
        lambda: GithubIntegrationConfig(
            host=GITHUB_HOST, api_base_url=GITHUB_API_BASE_URL, raw_base_url=GITHUB_RAW_BASE_URL
        ),
        GITHUB_HOST,
    )
    return result
