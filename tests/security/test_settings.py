"""The limits are settable: HttpSettings, per host, and the ``scmreader.http`` config block."""

from __future__ import annotations

import pytest

from scmreader import load_config
from scmreader._client_factory import http_client_from_config, http_settings_from_config
from scmreader.errors import ConfigError, InputError, ResponseTooLargeError
from scmreader.http import HttpClient, HttpSettings, parse_json
from scmreader.testing import FakeResponse, FakeScmHost


def test_per_host_overrides_apply_to_that_host_only(
    fake_scm_host: FakeScmHost, fake_scm_host_factory: object
) -> None:
    other = fake_scm_host_factory(bind="127.0.0.2")  # type: ignore[operator]
    for host in (fake_scm_host, other):
        host.route("GET", r"/listing", lambda r: FakeResponse.json({"pad": " " * 5000}))
    client = HttpClient(HttpSettings(hosts={fake_scm_host.host: {"max_metadata_bytes": 1000}}))
    with pytest.raises(ResponseTooLargeError, match="1000-byte cap"):
        parse_json(client.get(fake_scm_host.url("/listing")))
    assert len(parse_json(client.get(other.url("/listing")))["pad"]) == 5000


def test_unknown_per_host_fields_are_refused() -> None:
    with pytest.raises(InputError, match="user_agent"):
        HttpSettings(hosts={"example.com": {"user_agent": 1.0}})


def test_the_config_block_sets_limits_and_host_overrides() -> None:
    config = load_config(
        {
            "scmreader": {
                "http": {
                    "bodyDeadline": 900,
                    "lowSpeedLimit": 4096,
                    "maxMetadataBytes": 1048576,
                    "hosts": [{"host": "GHE.example.com", "bodyDeadline": 1800}],
                }
            }
        }
    )
    settings = http_settings_from_config(config)
    assert (settings.body_deadline, settings.low_speed_limit) == (900, 4096)
    assert settings.max_metadata_bytes == 1048576
    assert settings.for_host("ghe.example.com").body_deadline == 1800
    assert settings.for_host("other.example.com").body_deadline == 900
    assert http_client_from_config(config).settings == settings


@pytest.mark.parametrize(
    ("block", "key"),
    [
        ({"bodyDeadlin": 5}, "bodyDeadlin"),
        ({"readTimeout": -1}, "readTimeout"),
        ({"maxFileBytes": 1.5}, "maxFileBytes"),
        ({"hosts": [{"host": "a.example.com", "nope": 1}]}, "nope"),
        ({"hosts": [{"bodyDeadline": 1}]}, "host"),
    ],
)
def test_bad_config_values_are_config_errors(block: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        http_settings_from_config(load_config({"scmreader": {"http": block}}))


def test_the_old_import_path_still_works() -> None:
    from scmreader.cache import http_client_from_config as old

    assert old is http_client_from_config
