"""Azure Blob Storage (``integrations.azureBlobStorage[]``): config and the integration.

Each entry is one storage account (``accountName``) with at most one way to sign in: an
account key, a SAS token, a connection string, or an Entra ID app (``aadCredential``);
none means the Azure SDK's default credential chain. ``endpoint`` points at another
service (Azurite, a sovereign cloud) and gives the integration its host; without it the
host is blob.core.windows.net, which (as in Backstage) matches URLs on exactly that host.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from scmreader.integrations._common import (
    decode_component,
    optional_trimmed,
    read_endpoint,
    required_secret,
    secret,
    url_error,
)
from scmreader.integrations.base import IntegrationType, ScmIntegration, with_default_host
from scmreader.redact import Secret
from scmreader.urls import parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "AZURE_BLOB_STORAGE_HOST",
    "INTEGRATION",
    "KNOWN_KEYS",
    "AzureBlobStorageAadCredential",
    "AzureBlobStorageIntegration",
    "AzureBlobStorageIntegrationConfig",
    "AzureBlobStorageUrl",
    "is_path_style_endpoint",
    "parse_azure_blob_storage_url",
    "read_azure_blob_storage_integration_config",
    "read_azure_blob_storage_integration_configs",
]

#: The public Blob Storage host, present even when not configured.
AZURE_BLOB_STORAGE_HOST = "blob.core.windows.net"


@dataclass(frozen=True)
class AzureBlobStorageAadCredential:
    """An Entra ID (Azure AD) app registration that reads the account."""

    client_id: str
    tenant_id: str
    client_secret: Secret


@dataclass(frozen=True)
class AzureBlobStorageIntegrationConfig:
    """One storage account; the default entry has no account and no credentials."""

    host: str = AZURE_BLOB_STORAGE_HOST
    endpoint: str | None = None
    account_name: str | None = None
    account_key: Secret | None = None
    sas_token: Secret | None = None
    connection_string: Secret | None = None
    endpoint_suffix: str | None = None
    aad_credential: AzureBlobStorageAadCredential | None = None


#: Every key :func:`read_azure_blob_storage_integration_config` reads; ``config validate``
#: warns about others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "accountName",
        "endpoint",
        "accountKey",
        "sasToken",
        "connectionString",
        "endpointSuffix",
        "aadCredential.clientId",
        "aadCredential.tenantId",
        "aadCredential.clientSecret",
    }
)


def read_azure_blob_storage_integration_config(
    entry: Config,
) -> AzureBlobStorageIntegrationConfig:
    """Read and validate one ``integrations.azureBlobStorage[]`` entry."""
    account_name = entry.get_string("accountName")
    endpoint = read_endpoint(entry, "azureBlobStorage", "https://myaccount.blob.core.windows.net")
    account_key = secret(entry, "accountKey")
    sas_token = secret(entry, "sasToken")
    aad = entry.get_optional_config("aadCredential")
    aad_credential = None
    if aad is not None:
        aad_credential = AzureBlobStorageAadCredential(
            client_id=aad.get_string("clientId"),
            tenant_id=aad.get_string("tenantId"),
            client_secret=required_secret(aad, "clientSecret"),
        )
    if account_key and sas_token:
        raise entry.error(
            "sasToken",
            f"Invalid Azure Blob Storage config for {account_name}: an account key and a SAS "
            "token cannot be used together; keep only one of accountKey and sasToken.",
        )
    if aad_credential and (account_key or sas_token):
        raise entry.error(
            "aadCredential",
            f"Invalid Azure Blob Storage config for {account_name}: Azure AD credentials "
            "cannot be combined with an account key or SAS token for the same account; "
            "remove aadCredential or the key/token.",
        )
    return AzureBlobStorageIntegrationConfig(
        host=endpoint[1] if endpoint else AZURE_BLOB_STORAGE_HOST,
        endpoint=endpoint[0] if endpoint else None,
        account_name=account_name,
        account_key=account_key,
        sas_token=sas_token,
        connection_string=secret(entry, "connectionString"),
        endpoint_suffix=optional_trimmed(entry, "endpointSuffix"),
        aad_credential=aad_credential,
    )


def read_azure_blob_storage_integration_configs(
    entries: list[Config] | None,
) -> list[AzureBlobStorageIntegrationConfig]:
    """Read every entry, then add blob.core.windows.net unless an entry has that host."""
    return with_default_host(
        entries,
        read_azure_blob_storage_integration_config,
        AzureBlobStorageIntegrationConfig,
        AZURE_BLOB_STORAGE_HOST,
    )


@dataclass(frozen=True)
class AzureBlobStorageUrl:
    """A blob URL read into its container and (decoded) blob path."""

    container: str
    path: str


def parse_azure_blob_storage_url(
    url: str, *, account_in_path: str | None = None
) -> AzureBlobStorageUrl:
    """``https://acct.blob.core.windows.net/<container>/<path>`` -> container and path
    (the path may be '' for the whole container).

    With ``account_in_path`` the URL is path-style, as emulators such as Azurite serve it
    (``http://127.0.0.1:10000/<account>/<container>/<path>``): its first segment must be
    that account, and is dropped.
    """
    segments = [s for s in parse_url(url).path.split("/") if s]
    if account_in_path is not None:
        if not segments or decode_component(segments[0], url) != account_in_path:
            raise url_error(
                url,
                f"does not start with the storage account {account_in_path!r}",
                f"path-style URLs have the form <endpoint>/{account_in_path}/<container>/<path>",
            )
        segments = segments[1:]
    if not segments:
        raise url_error(
            url,
            "names no blob container",
            "use the form https://<account>.blob.core.windows.net/<container>/<path>",
        )
    container = decode_component(segments[0], url)
    return AzureBlobStorageUrl(container, decode_component("/".join(segments[1:]), url))


def is_path_style_endpoint(config: AzureBlobStorageIntegrationConfig) -> bool:
    """Whether the entry's ``endpoint`` takes path-style URLs (the account as the first path
    segment): its host is an IP address or ``localhost``, as for Azurite. The Azure SDK
    draws the same line, so a virtual-host endpoint keeps the account in the host name."""
    if not config.endpoint:
        return False
    hostname = parse_url(config.endpoint).hostname.strip("[]")
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


class AzureBlobStorageIntegration(ScmIntegration):
    """A configured Blob Storage account (or the anonymous default)."""

    type: ClassVar[str] = "azureBlobStorage"
    config: AzureBlobStorageIntegrationConfig

    def __init__(self, config: AzureBlobStorageIntegrationConfig) -> None:
        super().__init__(config)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [
        AzureBlobStorageIntegration(c) for c in read_azure_blob_storage_integration_configs(entries)
    ]


#: Registry hook: ``integrations.azureBlobStorage``.
INTEGRATION = IntegrationType(key="azureBlobStorage", order=30, read_configs=_read_configs)
