"""What every integration shares: the base class, the per-provider group and its factory."""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from scmreader.redact import Secret, redact_url, register_config_secret
from scmreader.urls import default_scm_resolve_url, parse_url

if TYPE_CHECKING:
    from scmreader.config import Config


class ScmIntegration(ABC):
    """One configured host of one provider (Backstage's ``ScmIntegration``)."""

    #: The provider's key under ``integrations:`` (``github``, ``gerrit``, ``awsS3`` ...).
    type: ClassVar[str]

    def __init__(self, config: Any) -> None:
        self.config = config

    @property
    def title(self) -> str:
        """A human name for the integration: normally its host."""
        return str(self.config.host)

    @property
    def host(self) -> str:
        """The host (with ``:port`` when not default) that URLs of this integration use."""
        return str(self.config.host)

    def resolve_url(self, *, url: str, base: str, line_number: int | None = None) -> str:
        """Resolve ``url`` relative to ``base`` (a browse URL of this host)."""
        return default_scm_resolve_url(url=url, base=base, line_number=line_number)

    def resolve_edit_url(self, url: str) -> str:
        """The URL of the host's web editor for ``url``; unchanged when it has none."""
        return url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.title!r})"


IntegrationT = TypeVar("IntegrationT", bound=ScmIntegration)


class ScmIntegrationsGroup(Generic[IntegrationT]):
    """The configured integrations of one provider, in config order (defaults last)."""

    def __init__(self, integrations: Sequence[IntegrationT]) -> None:
        self._items = list(integrations)

    def list(self) -> list[IntegrationT]:
        """All integrations of this provider."""
        return list(self._items)

    def by_host(self, host: str) -> IntegrationT | None:
        """The first integration whose host is exactly ``host`` (with ``:port``)."""
        return next((i for i in self._items if i.host == host), None)

    def by_url(self, url: str) -> IntegrationT | None:
        """The integration whose host is the host of ``url``; None when none is, or bad URL."""
        try:
            host = parse_url(url).host
        except ValueError:
            return None
        return self.by_host(host)

    def __iter__(self) -> Iterator[IntegrationT]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ScmIntegrationsGroup({[i.title for i in self._items]!r})"


@dataclass(frozen=True)
class IntegrationType:
    """How a provider plugs into :class:`~scmreader.integrations.ScmIntegrations`.

    A provider module exposes one as ``INTEGRATION``; entry points in the group
    ``scmreader.integrations`` may name more. ``order`` is Backstage's registry order, which
    decides ``by_url`` when several providers claim a host.
    """

    key: str
    order: int
    read_configs: Callable[[list[Config] | None], list[ScmIntegration]]

    @property
    def attribute(self) -> str:
        """The snake_case attribute name on ScmIntegrations (``aws_s3`` for ``awsS3``)."""
        return attribute_name(self.key)


def attribute_name(key: str) -> str:
    """The snake_case spelling of a provider key (``aws_s3`` for ``awsS3``)."""
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


def with_default_host(
    entries: list[Config] | None,
    read_one: Callable[[Config], Any],
    default: Callable[[], Any],
    default_host: str,
) -> list[Any]:
    """Read each entry, then add the public host's default unless an entry has that host."""
    configs = [read_one(entry) for entry in entries or []]
    if not any(c.host == default_host for c in configs):
        configs.append(default())
    return configs


# --- helpers for reading integration config ------------------------------------------


def is_valid_host(host: str) -> bool:
    """A bare, lower-case host with an optional ``:port`` that writing it into a URL's
    host leaves unchanged (Backstage's ``isValidHost``), e.g. ``ghe.example.net:8443``."""
    # Backstage sets the host on an *http* URL and compares, so ':80' (http's default,
    # dropped by the URL) is rejected while ':443' (an explicit port for http) is kept and
    # accepted. The same config must be accepted or rejected the same way, hence http://
    # here, although the integrations themselves speak https.
    try:
        return parse_url(f"http://{host}/").host == host
    except ValueError:
        return False


def is_valid_url(url: str) -> bool:
    """An absolute http(s) URL that scmreader's URL parser accepts."""
    try:
        parse_url(url)
    except ValueError:
        return False
    return True


def trim_trailing_slashes(value: str) -> str:
    """``value`` without any trailing ``/`` (lodash ``trimEnd(value, '/')``)."""
    return value.rstrip("/")


def read_host(entry: Config, *, key: str = "host", provider: str) -> str:
    """The entry's required, validated host; ConfigError names the key when it is bad."""
    host = entry.get_string(key)
    if not is_valid_host(host):
        raise entry.error(
            key,
            f"Invalid {provider} integration config, '{host}' is not a valid host; write a "
            "bare host name such as 'git.example.com' or 'git.example.com:8443' (no scheme, "
            "no path, lower case, no ':80').",
        )
    return host


def read_url_key(entry: Config, key: str, *, provider: str) -> str | None:
    """An optional absolute URL, trailing slashes trimmed; ConfigError when it is invalid."""
    value = entry.get_optional_string(key)
    if value is None:
        return None
    parsed = None
    try:
        parsed = parse_url(value)
    except ValueError:
        pass
    if parsed is None or parsed.query or parsed.fragment:
        raise entry.error(
            key,
            f"Invalid {provider} integration config, {key} '{redact_url(value)}' is not a "
            "valid URL; write an absolute http(s) URL without query or fragment, such as "
            "'https://git.example.com/api'.",
        )
    return trim_trailing_slashes(value)


def read_secret(entry: Config, key: str, *, strip: bool = True) -> Secret | None:
    """An optional credential: trimmed (unless ``strip`` is False), registered for redaction,
    and checked for characters that cannot go into an HTTP header."""
    value = entry.get_optional_string(key)
    if value is None:
        return None
    if strip:
        value = value.strip()
    if any(c in value for c in "\r\n\0") or not value.isascii():
        raise entry.error(
            key,
            f"{key} contains line breaks or non-ASCII characters and cannot be sent in an "
            "HTTP header; copy the credential again without them.",
        )
    register_config_secret(value)
    return Secret(value)
