"""Google Cloud Storage integration: the single-object config and the integration."""

from __future__ import annotations

from typing import Any

import pytest

from scmreader.config import Config, load_config
from scmreader.errors import ConfigError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.google_gcs import (
    INTEGRATION,
    GoogleGcsIntegration,
    GoogleGcsIntegrationConfig,
    read_google_gcs_integration_config,
    read_google_gcs_integration_configs,
)
from scmreader.redact import redact

KEY = "-----BEGIN PRIVATE KEY-----\\nMIIEabcdefgh\\n-----END PRIVATE KEY-----\\n"


def test_no_credentials() -> None:
    assert read_google_gcs_integration_config(Config({})) == GoogleGcsIntegrationConfig()
    assert GoogleGcsIntegrationConfig().host == "storage.cloud.google.com"


def test_service_account_key_gets_real_newlines_and_stays_hidden() -> None:
    config = read_google_gcs_integration_config(
        Config({"clientEmail": "sa@p.iam.gserviceaccount.com", "privateKey": KEY})
    )
    assert config.client_email == "sa@p.iam.gserviceaccount.com"
    assert (
        config.private_key
        == "-----BEGIN PRIVATE KEY-----\nMIIEabcdefgh\n-----END PRIVATE KEY-----\n"
    )
    assert "MIIE" not in repr(config)
    assert "MIIE" not in redact(f"oops {config.private_key}")


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        ({"clientEmail": "sa@p.iam.gserviceaccount.com"}, "privateKey"),
        ({"privateKey": KEY}, "clientEmail"),
    ],
)
def test_both_keys_are_required_once_one_is_given(data: dict[str, Any], missing: str) -> None:
    with pytest.raises(ConfigError, match="Missing required") as info:
        read_google_gcs_integration_config(Config(data))
    assert info.value.key_path == missing


def test_there_is_always_exactly_one() -> None:
    assert read_google_gcs_integration_configs(None) == [GoogleGcsIntegrationConfig()]
    assert read_google_gcs_integration_configs([]) == [GoogleGcsIntegrationConfig()]
    root = load_config(
        {"integrations": {"googleGcs": {"clientEmail": "a@b.c", "privateKey": "k-123456"}}}
    )
    configs = read_google_gcs_integration_configs([root.get_config("integrations.googleGcs")])
    assert [c.client_email for c in configs] == ["a@b.c"]


def test_registry_reads_the_single_mapping() -> None:
    registry = ScmIntegrations.from_config(
        {"integrations": {"googleGcs": {"clientEmail": "a@b.c", "privateKey": "k-123456"}}}
    )
    group = registry.group("googleGcs").list()
    assert len(group) == 1 and isinstance(group[0], GoogleGcsIntegration)
    assert group[0].config.client_email == "a@b.c"
    assert (
        ScmIntegrations.from_config({}).group("googleGcs").list()[0].title
        == "storage.cloud.google.com"
    )


def test_a_list_is_rejected() -> None:
    with pytest.raises(ConfigError, match="single mapping") as info:
        ScmIntegrations.from_config(
            {"integrations": {"googleGcs": [{"clientEmail": "a@b.c", "privateKey": "k"}]}}
        )
    assert info.value.key_path == "integrations.googleGcs[0]"


def test_integration() -> None:
    assert (INTEGRATION.key, INTEGRATION.order) == ("googleGcs", 110)
    integration = GoogleGcsIntegration(GoogleGcsIntegrationConfig())
    assert integration.type == "googleGcs"
    assert (
        integration.resolve_url(
            url="b.yaml", base="https://storage.cloud.google.com/bucket/dir/a.yaml", line_number=2
        )
        == "https://storage.cloud.google.com/bucket/dir/b.yaml#L2"
    )
    url = "https://storage.cloud.google.com/bucket/dir/a.yaml"
    assert integration.resolve_edit_url(url) == url
