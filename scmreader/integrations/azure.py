"""Azure DevOps and Azure DevOps Server (``integrations.azure[]``).

Config: a host (default dev.azure.com) and a list of ``credentials``, each for some
organizations or for all. A credential's kind is inferred from the keys it has; hosts
other than dev.azure.com (Azure DevOps Server, TFS) only take personal access tokens.
URLs: :class:`AzureUrl` reads repository URLs (``/org/project/_git/repo?path=&version=``)
and builds the REST API URLs for a file, a zip of a folder, and the commit list.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal

from scmreader.errors import InvalidUrlError
from scmreader.integrations._common import (
    SearchParams,
    decode_component,
    encode_path,
    multiline_secret,
    optional_trimmed,
    reject_traversal,
    secret,
    url_error,
    with_query,
)
from scmreader.integrations.base import (
    IntegrationType,
    ScmIntegration,
    read_host,
    with_default_host,
)
from scmreader.redact import Secret
from scmreader.urls import encode_uri_component, join_url, parse_url

if TYPE_CHECKING:
    from scmreader.config import Config

__all__ = [
    "AZURE_HOST",
    "DEFAULT_API_VERSION",
    "DEPRECATED_KEYS",
    "INTEGRATION",
    "KNOWN_KEYS",
    "AzureDevOpsCredential",
    "AzureDevOpsCredentialKind",
    "AzureIntegration",
    "AzureIntegrationConfig",
    "AzureUrl",
    "get_azure_commits_url",
    "get_azure_download_url",
    "get_azure_file_fetch_url",
    "is_visual_studio_domain",
    "read_azure_integration_config",
    "read_azure_integration_configs",
]

#: The Azure DevOps service host, present even when not configured.
AZURE_HOST = "dev.azure.com"

AzureDevOpsCredentialKind = Literal[
    "ClientSecret",
    "ClientCertificate",
    "ManagedIdentity",
    "ManagedIdentityClientAssertion",
    "PersonalAccessToken",
]

# (kind, the exact set of fields it has); the first match wins, as in Backstage.
_KINDS: tuple[tuple[AzureDevOpsCredentialKind, frozenset[str]], ...] = (
    ("ClientSecret", frozenset({"client_id", "client_secret", "tenant_id"})),
    ("ClientCertificate", frozenset({"client_id", "client_certificate", "tenant_id"})),
    ("ClientCertificate", frozenset({"client_id", "client_certificate_path", "tenant_id"})),
    ("ManagedIdentity", frozenset({"client_id"})),
    (
        "ManagedIdentityClientAssertion",
        frozenset({"client_id", "managed_identity_client_id", "tenant_id"}),
    ),
    ("PersonalAccessToken", frozenset({"personal_access_token"})),
)
_KIND_HELP = (
    "give exactly one of: personalAccessToken; clientId + clientSecret + tenantId; "
    "clientId + clientCertificate (or clientCertificatePath) + tenantId; clientId alone "
    "(managed identity, 'system-assigned' for the system one); clientId + "
    "managedIdentityClientId + tenantId"
)


@dataclass(frozen=True)
class AzureDevOpsCredential:
    """One entry of ``credentials``: its inferred ``kind``, the organizations it serves
    (empty: all others) and the fields of that kind (the rest are None)."""

    kind: AzureDevOpsCredentialKind
    organizations: tuple[str, ...] = ()
    personal_access_token: Secret | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    client_certificate: Secret | None = None
    client_certificate_path: str | None = None
    managed_identity_client_id: str | None = None


#: The REST API version asked for unless ``apiVersion`` says otherwise (Backstage's).
DEFAULT_API_VERSION = "6.0"


@dataclass(frozen=True)
class AzureIntegrationConfig:
    """One Azure DevOps host; ``credentials`` is None when the key is absent."""

    host: str = AZURE_HOST
    credentials: tuple[AzureDevOpsCredential, ...] | None = None
    commit_signing_key: Secret | None = None
    #: REST ``api-version`` the reader starts with (``apiVersion``); a server that answers
    #: "out of range" is asked again with the latest version it names.
    api_version: str = DEFAULT_API_VERSION


#: Every key :func:`read_azure_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "apiVersion",
        "commitSigningKey",
        "credentials[].organizations",
        "credentials[].personalAccessToken",
        "credentials[].tenantId",
        "credentials[].clientId",
        "credentials[].clientSecret",
        "credentials[].clientCertificate",
        "credentials[].clientCertificatePath",
        "credentials[].managedIdentityClientId",
    }
)

#: Keys that are no longer accepted -> what to write instead (``config validate`` shows it
#: unless the reader has already rejected the key).
DEPRECATED_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "credential": "was removed (Backstage integration 2.0); put it in the "
        "'credentials' list instead",
        "token": "was removed (Backstage integration 2.0); move the token to "
        "'credentials: [{personalAccessToken: ...}]'",
    }
)


def read_azure_integration_config(entry: Config) -> AzureIntegrationConfig:
    """Read and validate one ``integrations.azure[]`` entry."""
    for removed in DEPRECATED_KEYS:
        if entry.has(removed):
            raise entry.error(
                removed,
                "Invalid Azure integration config: 'credential' and 'token' were removed "
                "(Backstage integration 2.0); move the value into an entry of "
                "'credentials' (e.g. personalAccessToken) and delete this key.",
            )
    host = read_host(entry, provider="Azure") if entry.has("host") else AZURE_HOST
    items = entry.get_optional_config_array("credentials")
    credentials = None if items is None else _read_credentials(entry, host, items)
    api_version = entry.get_optional_string("apiVersion") or DEFAULT_API_VERSION
    if not re.fullmatch(r"\d+\.\d+(-preview(\.\d+)?)?", api_version.strip()):
        raise entry.error(
            "apiVersion",
            f"Invalid Azure integration config for {host}: apiVersion {api_version!r} is not "
            "a REST API version; use one like '6.0', or '5.0' for Azure DevOps Server 2019 "
            "and '4.1' for TFS 2018.",
        )
    return AzureIntegrationConfig(
        host=host,
        credentials=credentials,
        commit_signing_key=multiline_secret(entry, "commitSigningKey"),
        api_version=api_version.strip(),
    )


def _read_credential(item: Config) -> AzureDevOpsCredential:
    # The kind is a placeholder until _kind_of has seen which fields are present.
    return AzureDevOpsCredential(
        kind="PersonalAccessToken",
        organizations=tuple(item.get_optional_string_array("organizations") or ()),
        personal_access_token=secret(item, "personalAccessToken"),
        tenant_id=optional_trimmed(item, "tenantId"),
        client_id=optional_trimmed(item, "clientId"),
        client_secret=secret(item, "clientSecret"),
        client_certificate=multiline_secret(item, "clientCertificate", strip=True),
        client_certificate_path=optional_trimmed(item, "clientCertificatePath"),
        managed_identity_client_id=optional_trimmed(item, "managedIdentityClientId"),
    )


def _kind_of(credential: AzureDevOpsCredential) -> AzureDevOpsCredentialKind | None:
    present = {
        f.name
        for f in dataclasses.fields(credential)
        if f.name not in ("kind", "organizations") and getattr(credential, f.name) is not None
    }
    return next((kind for kind, needed in _KINDS if needed == present), None)


def _read_credentials(
    entry: Config, host: str, items: list[Config]
) -> tuple[AzureDevOpsCredential, ...]:
    drafts = [_read_credential(item) for item in items]
    errors: list[str] = []
    credentials: list[AzureDevOpsCredential] = []
    for position, draft in enumerate(drafts, start=1):
        kind = _kind_of(draft)
        if kind is None:
            errors.append(f"credential at position {position} is not a valid credential")
        else:
            credentials.append(dataclasses.replace(draft, kind=kind))
    positions: dict[str, list[int]] = {}
    for position, draft in enumerate(drafts, start=1):
        for organization in dict.fromkeys(draft.organizations):
            positions.setdefault(organization, []).append(position)
    for organization, where in positions.items():
        if len(where) > 1:
            listed = f"{', '.join(map(str, where[:-1]))} and {where[-1]}"
            errors.append(
                f"organization {organization} is specified multiple times in credentials at "
                f"positions {listed}"
            )
    if errors:
        raise entry.error(
            "credentials",
            f"Invalid Azure integration config for {host}: {'; '.join(errors)}. For a "
            f"credential, {_KIND_HELP}; list each organization in one credential only.",
        )
    if host != AZURE_HOST and any(c.kind != "PersonalAccessToken" for c in credentials):
        raise entry.error(
            "credentials",
            f"Invalid Azure integration config for {host}: only personal access tokens can be "
            f"used with hosts other than {AZURE_HOST}; use personalAccessToken credentials.",
        )
    if sum(1 for c in credentials if not c.organizations) > 1:
        raise entry.error(
            "credentials",
            f"Invalid Azure integration config for {host}: more than one credential has no "
            "organizations; give all but one of them an 'organizations' list.",
        )
    return tuple(credentials)


def read_azure_integration_configs(entries: list[Config] | None) -> list[AzureIntegrationConfig]:
    """Read every entry, then add dev.azure.com unless an entry has that exact host."""
    return with_default_host(
        entries, read_azure_integration_config, AzureIntegrationConfig, AZURE_HOST
    )


def is_visual_studio_domain(origin: str) -> bool:
    """Whether ``origin`` (or host) is an ``<org>.visualstudio.com`` address."""
    return origin.endswith(".visualstudio.com")


_REPO_HELP = "use the form https://dev.azure.com/<org>/<project>/_git/<repo>?path=/<file>"


@dataclass(frozen=True)
class AzureUrl:
    """An Azure DevOps repository URL, read into its parts (Backstage's ``AzureUrl``).

    ``path`` is the ``path`` query value (None when absent); ``ref`` comes from
    ``version=GB<branch>`` or ``GT<tag>``, with ``ref_type`` ``branch`` or ``tag``.
    ``owner`` is ``org`` (or ``tfs/collection`` on Azure DevOps Server).
    """

    origin: str
    owner: str
    project: str
    repo: str
    path: str | None = None
    ref: str | None = None
    ref_type: Literal["branch", "tag"] | None = None

    @classmethod
    def from_repo_url(cls, url: str) -> AzureUrl:
        """Read ``url``; InvalidUrlError when it is not a git repository URL or its
        ``version`` is not a branch (``GB``) or a tag (``GT``)."""
        parsed = parse_url(url)
        parts = [decode_component(p, url) for p in parsed.path.split("/")] + ["", "", ""]
        owner = project = repo = ""
        if is_visual_studio_domain(parsed.origin) and parts[2] == "_git":
            owner, project, repo = parsed.hostname.split(".")[0], parts[1], parts[3]
        elif parts[2] == "_git":
            owner, project, repo = parts[1], parts[3], parts[3]
        elif parts[3] == "_git":
            owner, project, repo = parts[1], parts[2], parts[4]
        elif parts[4] == "_git":
            owner, project, repo = f"{parts[1]}/{parts[2]}", parts[3], parts[5]
        if not owner or not project or not repo:
            raise url_error(url, "does not point to an Azure DevOps git repository", _REPO_HELP)
        params = SearchParams(parsed.query)
        path = params.get("path")
        if path:
            reject_traversal(path)
        version = params.get("version")
        ref = ref_type = None
        if version:
            kinds: dict[str, Literal["branch", "tag"]] = {"GB": "branch", "GT": "tag"}
            ref_type = kinds.get(version[:2])
            if ref_type is None:
                raise url_error(
                    url,
                    "has a version that is not a git branch or tag",
                    "use version=GB<branch> or version=GT<tag> (commits, GC, are not supported)",
                )
            ref = version[2:]
        return cls(parsed.origin, owner, project, repo, path, ref, ref_type)

    def _api(self, *tail: str) -> str:
        prefix = (
            [self.project] if is_visual_studio_domain(self.origin) else [self.owner, self.project]
        )
        segments = "/".join(encode_path(s) for s in prefix)
        rest = "/".join(
            encode_uri_component(s) for s in ("_apis", "git", "repositories", self.repo, *tail)
        )
        return f"{self.origin}/{segments}/{rest}"

    def _version(self, params: SearchParams, prefix: str) -> None:
        if self.ref:
            params.set(f"{prefix}.version", self.ref)
            params.set(f"{prefix}.versionType", self.ref_type or "branch")

    def to_repo_url(self) -> str:
        """The web URL of the repository with this path and ref."""
        if is_visual_studio_domain(self.origin):
            head = [self.project]
        elif self.project == self.repo:
            head = [self.owner]
        else:
            head = [self.owner, self.project]
        segments = "/".join(encode_path(s) for s in head)
        url = f"{self.origin}/{segments}/_git/{encode_uri_component(self.repo)}"
        params = SearchParams()
        if self.path:
            params.set("path", self.path)
        if self.ref:
            params.set("version", f"{'GT' if self.ref_type == 'tag' else 'GB'}{self.ref}")
        return f"{url}?{params}" if str(params) else url

    def to_file_url(self) -> str:
        """The items API URL that returns the file at ``path``."""
        if not self.path:
            raise InvalidUrlError(
                "The Azure DevOps URL has no 'path' query parameter, so it names no file; "
                "add ?path=/<file> to download a file."
            )
        params = SearchParams()
        params.set("api-version", "6.0")
        params.set("path", self.path)
        self._version(params, "versionDescriptor")
        return f"{self._api('items')}?{params}"

    def to_archive_url(self) -> str:
        """The items API URL that returns a zip of the repository (or of ``path``)."""
        params = SearchParams()
        params.set("recursionLevel", "full")
        params.set("download", "true")
        params.set("api-version", "6.0")
        if self.path:
            params.set("scopePath", self.path)
        self._version(params, "versionDescriptor")
        return f"{self._api('items')}?{params}"

    def to_commits_url(self) -> str:
        """The commits API URL, for the latest commit of the ref."""
        params = SearchParams()
        params.set("api-version", "6.0")
        self._version(params, "searchCriteria.itemVersion")
        return f"{self._api('commits')}?{params}"


def get_azure_file_fetch_url(url: str) -> str:
    """The API URL of the file an Azure DevOps URL names with ``?path=``."""
    return AzureUrl.from_repo_url(url).to_file_url()


def get_azure_download_url(url: str) -> str:
    """The API URL of a zip archive of the repository, or of its ``?path=`` folder."""
    return AzureUrl.from_repo_url(url).to_archive_url()


def get_azure_commits_url(url: str) -> str:
    """The API URL listing the commits of the URL's ref."""
    return AzureUrl.from_repo_url(url).to_commits_url()


class AzureIntegration(ScmIntegration):
    """A configured Azure DevOps host."""

    type: ClassVar[str] = "azure"
    config: AzureIntegrationConfig

    def __init__(self, config: AzureIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_url(self, *, url: str, base: str, line_number: int | None = None) -> str:
        """Resolve ``url`` inside the repository of ``base`` by rewriting its ``path``
        parameter (``/x`` is the repository root); a line number sets ``line``,
        ``lineEnd``, ``lineStartColumn`` and ``lineEndColumn``. Absolute URLs come back
        as they are; a base that is not a repository URL resolves like a browser would."""
        try:
            parse_url(url)
            return url
        except InvalidUrlError:
            pass
        try:
            azure = AzureUrl.from_repo_url(base)
            folder = encode_path("/" + (azure.path or "").lstrip("/"))
            target = parse_url(join_url(f"https://a.com{folder}", url)).path
            parsed = parse_url(base)
            params = SearchParams(parsed.query)
            params.set("path", decode_component(target, url))
            if line_number:
                params.set("line", str(line_number))
                params.set("lineEnd", str(line_number + 1))
                params.set("lineStartColumn", "1")
                params.set("lineEndColumn", "1")
            return with_query(parsed, params)
        except InvalidUrlError:
            return join_url(base, url)

    def resolve_edit_url(self, url: str) -> str:
        """The URL with ``_a=edit`` when it names a file; otherwise unchanged."""
        try:
            azure = AzureUrl.from_repo_url(url)
            if azure.path in (None, "", "/"):
                return url
            parsed = parse_url(url)
        except InvalidUrlError:
            return url
        params = SearchParams(parsed.query)
        params.set("_a", "edit")
        return with_query(parsed, params)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [AzureIntegration(c) for c in read_azure_integration_configs(entries)]


#: Registry hook: ``integrations.azure``.
INTEGRATION = IntegrationType(key="azure", order=40, read_configs=_read_configs)
