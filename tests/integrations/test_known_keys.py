"""Each provider's ``KNOWN_KEYS`` is exactly what its config reader reads.

``config validate`` warns about every key outside a provider's ``KNOWN_KEYS``, so a key
missing there is a false warning and a stale one hides a typo. The readers are watched
while they read complete, realistic entries: every key they ask for must be known (or
deprecated), and every known key must be asked for.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import Any

import pytest

from scmreader.config import Config
from scmreader.integrations import IntegrationType, ScmIntegration, integration_types
from scmreader.validate import Problem, check_config, deprecated_keys, known_keys

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----\n"
)
SIGNING_KEY = (
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBGX...\n-----END PGP PRIVATE KEY BLOCK-----"
)
AWS = {
    "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
    "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "roleArn": "arn:aws:iam::123456789012:role/catalog-reader",
    "externalId": "backstage-catalog",
}
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0f2c6b8e-3a1d-4c55-9d4e-8a7b6c5d4e3f"

#: provider key -> entries that together use every key the provider knows; each entry is
#: valid on its own and all of them together (``googleGcs`` takes one mapping, not a list).
EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "awsS3": [{"endpoint": "http://localhost:4566", "s3ForcePathStyle": True, **AWS}],
    "awsCodeCommit": [
        {"host": "eu-west-1.console.aws.amazon.com", "region": "eu-west-1", **AWS},
    ],
    "azureBlobStorage": [
        {
            "accountName": "catalogstore",
            "endpoint": "https://catalogstore.blob.core.windows.net",
            "accountKey": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==",
            "connectionString": "DefaultEndpointsProtocol=https;AccountName=catalogstore;"
            "EndpointSuffix=core.windows.net",
            "endpointSuffix": "core.windows.net",
        },
        {
            "accountName": "sasstore",
            "sasToken": "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=c2lnbmF0",
        },
        {
            "accountName": "aadstore",
            "aadCredential": {
                "clientId": CLIENT,
                "tenantId": TENANT,
                "clientSecret": "Qx8Q~example.client.secret.value",
            },
        },
    ],
    "azure": [
        {
            "host": "dev.azure.com",
            "commitSigningKey": SIGNING_KEY,
            "credentials": [
                {"organizations": ["contoso"], "personalAccessToken": "pat-for-contoso"},
                {
                    "organizations": ["fabrikam"],
                    "clientId": CLIENT,
                    "clientSecret": "fabrikam-client-secret",
                    "tenantId": TENANT,
                },
                {
                    "organizations": ["northwind"],
                    "clientId": CLIENT,
                    "clientCertificate": PEM,
                    "tenantId": TENANT,
                },
                {
                    "organizations": ["tailspin"],
                    "clientId": CLIENT,
                    "clientCertificatePath": "/etc/backstage/azure-cert.pem",
                    "tenantId": TENANT,
                },
                {
                    "organizations": ["wingtip"],
                    "clientId": CLIENT,
                    "managedIdentityClientId": "5c3a9e1f-7b2d-4e8a-b6c4-1d2e3f4a5b6c",
                    "tenantId": TENANT,
                },
                {"clientId": "system-assigned"},
            ],
        },
        {"host": "tfs.example.com", "apiVersion": "4.1"},  # TFS 2018
    ],
    "bitbucketCloud": [
        {
            "username": "catalog-bot",
            "token": "ATATT3xFfGF0example",
            "appPassword": "app-password-example",
            "clientId": "oauth-consumer-key",
            "clientSecret": "oauth-consumer-secret",
            "commitSigningKey": SIGNING_KEY,
        }
    ],
    "bitbucketServer": [
        {
            "host": "bitbucket.example.com",
            "apiBaseUrl": "https://bitbucket.example.com/rest/api/1.0",
            "token": "BBDC-example-token",
            "username": "catalog-bot",
            "password": "example-password",
            "commitSigningKey": SIGNING_KEY,
        }
    ],
    "gerrit": [
        {
            "host": "gerrit.example.com",
            "baseUrl": "https://gerrit.example.com/gerrit",
            "cloneUrl": "https://gerrit.example.com/clone",
            "gitilesBaseUrl": "https://gerrit.example.com/plugins/gitiles",
            "disableEditUrl": True,
            "username": "catalog-bot",
            "password": "gerrit-http-password",
            "commitSigningKey": SIGNING_KEY,
        }
    ],
    "github": [
        {
            "host": "ghe.example.net",
            "apiBaseUrl": "https://ghe.example.net/api/v3",
            "rawBaseUrl": "https://ghe.example.net/raw",
            "token": "ghp_exampleexampleexample",
            "apps": [
                {
                    "appId": 4242,
                    "clientId": "Iv1.0123456789abcdef",
                    "clientSecret": "example-client-secret",
                    "privateKey": PEM,
                    "webhookSecret": "example-webhook-secret",
                    "allowedInstallationOwners": ["octo-org"],
                    "publicAccess": True,
                }
            ],
        }
    ],
    "gitlab": [
        {
            "host": "gitlab.example.com",
            "apiBaseUrl": "https://gitlab.example.com/api/v4",
            "baseUrl": "https://gitlab.example.com",
            "token": "glpat-example",
            "commitSigningKey": SIGNING_KEY,
            "retry": {
                "maxRetries": 3,
                "retryStatusCodes": [429, 502, 503],
                "maxApiRequestsPerMinute": 600,
            },
        }
    ],
    "gitea": [
        {
            "host": "gitea.example.com",
            "baseUrl": "https://gitea.example.com/forge",
            "username": "catalog-bot",
            "password": "gitea-access-token",
            "commitSigningKey": SIGNING_KEY,
        }
    ],
    "googleGcs": [
        {"clientEmail": "reader@catalog-project.iam.gserviceaccount.com", "privateKey": PEM}
    ],
    "harness": [{"host": "app.harness.io", "token": "pat.example", "apiKey": "sat.example"}],
}

#: Warnings that the examples are expected to get: provider -> key paths (deprecated keys).
EXPECTED_WARNINGS = {"bitbucketCloud": ["integrations.bitbucketCloud[0].appPassword"]}

KINDS = {kind.key: kind for kind in integration_types()}
GETTERS = [
    name
    for name in vars(Config)
    if name == "has" or (name.startswith("get") and callable(getattr(Config, name)))
]


def _pattern(path: str) -> str:
    """``apps[0].appId`` -> ``apps[].appId``: the notation of KNOWN_KEYS."""
    return re.sub(r"\[\d+\]", "[]", path)


def _keys_of(data: Any, prefix: str = "") -> Iterator[str]:
    """Every leaf key of an example in KNOWN_KEYS notation."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _keys_of(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(data, list) and data and all(isinstance(i, dict) for i in data):
        for item in data:
            yield from _keys_of(item, f"{prefix}[]")
    else:
        yield prefix


def _reads(
    monkeypatch: pytest.MonkeyPatch, kind: IntegrationType, entry: dict[str, Any]
) -> set[str]:
    """The key paths (KNOWN_KEYS notation) the reader asks for while reading ``entry``."""
    asked: set[str] = set()

    def spy(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Config, key: str, *args: Any, **kwargs: Any) -> Any:
            asked.add(_pattern(self.key_path(key)))
            return original(self, key, *args, **kwargs)

        return wrapper

    config = Config.from_dict(entry)
    with monkeypatch.context() as m:
        for name in GETTERS:
            m.setattr(Config, name, spy(getattr(Config, name)))
        kind.read_configs([config])
    return asked


def _config(provider: str, entries: list[dict[str, Any]]) -> Config:
    block: Any = entries[0] if provider == "googleGcs" else entries
    return Config.from_dict({"integrations": {provider: block}})


def _entry_path(provider: str, index: int) -> str:
    return f"integrations.{provider}" + ("" if provider == "googleGcs" else f"[{index}]")


def test_the_spy_watches_every_getter() -> None:
    assert {"has", "get", "get_optional", "get_string", "get_optional_config_array"} <= set(GETTERS)


def test_every_registered_provider_has_examples_here() -> None:
    assert set(EXAMPLES) == set(KINDS)


@pytest.mark.parametrize("provider", sorted(KINDS))
def test_every_provider_module_exposes_known_keys(provider: str) -> None:
    kind = KINDS[provider]
    module_name = kind.read_configs.__module__
    exposed = vars(sys.modules[module_name]).get("KNOWN_KEYS")
    assert isinstance(exposed, frozenset)
    assert exposed and all(isinstance(k, str) and k for k in exposed)
    assert known_keys(kind) == exposed


@pytest.mark.parametrize("provider", sorted(EXAMPLES))
def test_the_examples_use_every_known_key(provider: str) -> None:
    used = {key for entry in EXAMPLES[provider] for key in _keys_of(entry)}
    assert frozenset(used) == known_keys(KINDS[provider])


@pytest.mark.parametrize("provider", sorted(EXAMPLES))
def test_the_reader_reads_exactly_the_known_keys(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = KINDS[provider]
    known = known_keys(kind)
    assert known is not None
    deprecated = set(deprecated_keys(kind))
    asked: set[str] = set()
    for entry in EXAMPLES[provider]:
        asked |= _reads(monkeypatch, kind, deepcopy(entry))
    containers = {k for k in asked if any(n.startswith((f"{k}.", f"{k}[].")) for n in known)}
    assert asked - containers - deprecated <= known, "read but not in KNOWN_KEYS"
    assert known <= asked, "in KNOWN_KEYS but never read"


@pytest.mark.parametrize("provider", sorted(EXAMPLES))
def test_validate_accepts_every_known_key(provider: str) -> None:
    checked, problems = check_config(_config(provider, EXAMPLES[provider]))
    assert checked == len(EXAMPLES[provider])
    assert [p.key_path for p in problems] == EXPECTED_WARNINGS.get(provider, [])
    assert all(p.severity == "warning" and "unknown" not in p.message for p in problems)


def _misspellings() -> Iterator[tuple[str, str]]:
    for provider in sorted(EXAMPLES):
        known = known_keys(KINDS[provider]) or frozenset()
        for key in sorted(known):
            yield provider, key


def _rename(provider: str, entries: list[dict[str, Any]], key: str, new: str) -> str:
    """Rename ``key`` (KNOWN_KEYS notation) where the examples first have it; the full key
    path of the renamed key."""
    *parents, leaf = key.split(".")
    for index, entry in enumerate(entries):
        node: Any = entry
        path = _entry_path(provider, index)
        for part in parents:
            node = node.get(part.removesuffix("[]")) if isinstance(node, dict) else None
            path += f".{part.removesuffix('[]')}"
            if part.endswith("[]") and isinstance(node, list):
                position = next((i for i, item in enumerate(node) if leaf in item), 0)
                node, path = node[position], f"{path}[{position}]"
        if isinstance(node, dict) and leaf in node:
            node[new] = node.pop(leaf)
            return f"{path}.{new}"
    raise AssertionError(f"no example has {key}")


@pytest.mark.parametrize(("provider", "key"), list(_misspellings()))
def test_a_misspelled_known_key_is_reported(provider: str, key: str) -> None:
    entries = deepcopy(EXAMPLES[provider])
    leaf = key.split(".")[-1]
    typo = leaf.upper()
    path = _rename(provider, entries, key, typo)
    _, problems = check_config(_config(provider, entries))
    expected = f"unknown key '{typo}' (did you mean '{leaf}'?); it is ignored"
    assert Problem("warning", expected, path) in problems


@pytest.mark.parametrize(
    ("provider", "entry", "path", "message"),
    [
        (
            "gitlab",
            {"host": "gitlab.com", "retry": {"maxRetry": 2}},
            "integrations.gitlab[0].retry.maxRetry",
            "unknown key 'maxRetry' (did you mean 'maxRetries'?); it is ignored",
        ),
        (
            "gitlab",
            {"host": "gitlab.com", "retries": {"maxRetries": 2}},
            "integrations.gitlab[0].retries",
            "unknown key 'retries' (did you mean 'retry'?); it is ignored",
        ),
        (
            "github",
            {"host": "github.com", "app": [{"appId": 1}]},
            "integrations.github[0].app",
            "unknown key 'app' (did you mean 'apps'?); it is ignored",
        ),
        (
            "azure",
            {"credentials": [{"personalAccessToken": "x", "organisations": ["contoso"]}]},
            "integrations.azure[0].credentials[0].organisations",
            "unknown key 'organisations' (did you mean 'organizations'?); it is ignored",
        ),
        (
            "awsS3",
            {"accesKeyId": "AKIAIOSFODNN7EXAMPLE"},
            "integrations.awsS3[0].accesKeyId",
            "unknown key 'accesKeyId' (did you mean 'accessKeyId'?); it is ignored",
        ),
        (
            "harness",
            {"host": "app.harness.io", "apikey": "sat.example"},
            "integrations.harness[0].apikey",
            "unknown key 'apikey' (did you mean 'apiKey'?); it is ignored",
        ),
    ],
)
def test_typical_typos(provider: str, entry: dict[str, Any], path: str, message: str) -> None:
    _, problems = check_config(_config(provider, [entry]))
    assert Problem("warning", message, path) in problems


def test_deprecated_keys_come_from_the_provider_modules() -> None:
    from scmreader.integrations import azure, bitbucket_cloud

    assert deprecated_keys(KINDS["azure"]) == dict(azure.DEPRECATED_KEYS)
    assert deprecated_keys(KINDS["bitbucketCloud"]) == dict(bitbucket_cloud.DEPRECATED_KEYS)
    assert set(bitbucket_cloud.DEPRECATED_KEYS) == {"appPassword", "host", "apiBaseUrl"}
    assert deprecated_keys(KINDS["gitlab"]) == {}


def test_github_keys_live_in_its_config_module() -> None:
    from scmreader.integrations.github import config

    assert known_keys(KINDS["github"]) is config.KNOWN_KEYS


# --- finding a provider's module --------------------------------------------------------


def _read_nothing(entries: list[Config] | None) -> list[ScmIntegration]:
    return []


def _module(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    vars(module).update(attributes)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def _kind_defined_in(module: str) -> IntegrationType:
    def read(entries: list[Config] | None) -> list[ScmIntegration]:
        return []

    read.__module__ = module
    return IntegrationType("example", 999, read)


def test_keys_of_a_package_whose_reader_lives_in_a_submodule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kind = _kind_defined_in("example_provider.reading")
    _module(monkeypatch, "example_provider", INTEGRATION=kind, KNOWN_KEYS=frozenset({"host"}))
    _module(monkeypatch, "example_provider.reading")
    assert known_keys(kind) == frozenset({"host"})


def test_keys_of_a_provider_whose_reader_lives_in_a_private_helper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kind = _kind_defined_in("_example_helpers")
    _module(monkeypatch, "_example_helpers", KNOWN_KEYS=frozenset({"wrong"}))
    _module(
        monkeypatch,
        "example_plugin",
        INTEGRATION=kind,
        KNOWN_KEYS=frozenset({"host", "mirror.url"}),
        DEPRECATED_KEYS={"url": "is ignored; remove it"},
    )
    assert known_keys(kind) == frozenset({"host", "mirror.url"})
    assert deprecated_keys(kind) == {"url": "is ignored; remove it"}


def test_a_module_that_only_imports_the_integration_does_not_hide_the_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kind = _kind_defined_in("example_plugin2")
    _module(monkeypatch, "aaa_uses_the_plugin", INTEGRATION=kind)
    _module(monkeypatch, "example_plugin2", INTEGRATION=kind, KNOWN_KEYS=frozenset({"host"}))
    assert known_keys(kind) == frozenset({"host"})


def test_no_keys_when_the_provider_does_not_list_them() -> None:
    kind = IntegrationType("example", 999, _read_nothing)
    assert known_keys(kind) is None
    assert deprecated_keys(kind) == {}


def test_lookup_never_runs_a_module_getattr(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(name: str) -> Any:
        raise AssertionError(f"module __getattr__ ran for {name}")

    _module(monkeypatch, "example_lazy", __getattr__=explode)
    assert known_keys(IntegrationType("example", 999, _read_nothing)) is None
