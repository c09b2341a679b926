"""Google Cloud Storage (``integrations.googleGcs``, ONE mapping, not a list).

There is always exactly one GCS integration, on storage.cloud.google.com. A service
account (``clientEmail`` + ``privateKey``) is optional; without it the reader uses the
environment's default credentials. A ``privateKey`` pasted with literal ``\\n`` (as in a
JSON key file) gets real line breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from scmreader.integrations.base import IntegrationType, ScmIntegration
from scmreader.redact import Secret, register_config_secret

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "GOOGLE_GCS_HOST",
    "INTEGRATION",
    "KNOWN_KEYS",
    "GoogleGcsIntegration",
    "GoogleGcsIntegrationConfig",
    "read_google_gcs_integration_config",
    "read_google_gcs_integration_configs",
]

#: The one GCS host.
GOOGLE_GCS_HOST = "storage.cloud.google.com"


@dataclass(frozen=True)
class GoogleGcsIntegrationConfig:
    """The GCS integration: its host and, optionally, a service account."""

    host: str = GOOGLE_GCS_HOST
    client_email: str | None = None
    private_key: Secret | None = None


#: Every key :func:`read_google_gcs_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "clientEmail",
        "privateKey",
    }
)


def read_google_gcs_integration_config(entry: Config) -> GoogleGcsIntegrationConfig:
    """Read the ``integrations.googleGcs`` mapping; once either ``clientEmail`` or
    ``privateKey`` is given, both are required."""
    if not entry.has("clientEmail") and not entry.has("privateKey"):
        return GoogleGcsIntegrationConfig()
    client_email = entry.get_string("clientEmail")
    private_key = entry.get_string("privateKey").replace("\\n", "\n")
    register_config_secret(private_key)
    return GoogleGcsIntegrationConfig(client_email=client_email, private_key=Secret(private_key))


def read_google_gcs_integration_configs(
    entries: list[Config] | None,
) -> list[GoogleGcsIntegrationConfig]:
    """The one GCS config. The registry passes the ``googleGcs`` mapping as a one-item
    list (None when absent); a YAML list there is an error, as in Backstage."""
    if not entries:
        return [GoogleGcsIntegrationConfig()]
    entry = entries[0]
    if len(entries) > 1 or entry.prefix.endswith("]"):
        raise entry.error(
            None,
            "integrations.googleGcs takes a single mapping, not a list: there is only one "
            "GCS host; remove the '-' and keep one set of clientEmail/privateKey.",
        )
    return [read_google_gcs_integration_config(entry)]


class GoogleGcsIntegration(ScmIntegration):
    """The storage.cloud.google.com integration."""

    type: ClassVar[str] = "googleGcs"
    config: GoogleGcsIntegrationConfig

    def __init__(self, config: GoogleGcsIntegrationConfig) -> None:
        super().__init__(config)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [GoogleGcsIntegration(c) for c in read_google_gcs_integration_configs(entries)]


#: Registry hook: ``integrations.googleGcs``.
INTEGRATION = IntegrationType(key="googleGcs", order=110, read_configs=_read_configs)
