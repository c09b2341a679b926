"""Startup stays lazy: which modules ``scmreader read`` imports (no wall-clock assertions;
``benchmarks/startup.py`` prints the times)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scmreader import _plugins
from scmreader.integrations import (
    BUILTIN_PROVIDERS,
    IntegrationType,
    ScmIntegrations,
    ScmIntegrationsGroup,
    integration_type,
    integration_types,
    provider_entries,
)
from scmreader.readers._registry import LAZY_BUILTINS
from scmreader.testing import FakeScmHost
from scmreader.testing.routes.github import integration_config

GITHUB_URL = "https://github.com/octo/svc/blob/main/catalog-info.yaml"

#: What a plain read of a GitHub file must not import: the validator, the cache backends,
#: the retry library (until a retry), every other provider, the heavy optional
#: dependencies, and the machinery of other operations.
NEVER = {
    "scmreader.validate",
    "scmreader.cache._memory",
    "scmreader.cache._sqlite",
    "sqlite3",
    "tenacity",  # retries import it when first needed (with tornado installed: 30+ ms)
    "tornado",
    "asyncio",
    "rich",
    "git",
    "boto3",
    "botocore",
    "redis",
    "jwt",
    "google.cloud.storage",
    "azure.storage.blob",
    "dask",
    "fsspec",
    # what only trees, searches, batches, discovery, a cache or an allow list need
    "scmreader.readers.tree._response",
    "scmreader.readers.tree._limits",
    "scmreader.readers._listing",
    "scmreader.readers._batch",
    "scmreader.readers.fetch",
    "scmreader.cache._hook",
    "scmreader.cache._redis",
    "scmreader.cli._discover",
}
NEVER |= {
    f"scmreader.integrations.{m}" for k, (m, _, _) in BUILTIN_PROVIDERS.items() if k != "github"
}
NEVER |= {f"scmreader.readers.{m}" for k, (m, _, _) in LAZY_BUILTINS.items() if k != "github"}
NEEDED = {"scmreader.readers.github", "scmreader.integrations.github", "requests"}

# What `scmreader read URL` runs up to the network call: parse, load the (empty) config
# of the working directory, build the readers, pick the one for the URL.
PROBE = """
import json, sys
from scmreader.cli import build_parser
from scmreader.cli import _commands
args = build_parser().parse_args(["read", sys.argv[1]])
_commands.readers_for(args).reader_for(args.url)
print(json.dumps(sorted(sys.modules)))
"""

# The command itself, recording the modules it ended with (``-X importtime`` would miss
# those imported through importlib.import_module).
COMMAND = """
import atexit, json, sys
from pathlib import Path
atexit.register(lambda: Path("modules.json").write_text(json.dumps(sorted(sys.modules))))
from scmreader.cli import main
sys.exit(main())
"""


def test_read_of_a_github_url_with_an_empty_config_imports_only_what_it_needs(
    tmp_path: Path,
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, GITHUB_URL],
        cwd=tmp_path,  # no app-config.yaml here
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules = set(json.loads(out))
    assert modules >= NEEDED
    assert sorted(modules & (NEVER | {"yaml"})) == []  # no config file: no YAML parser


def test_the_read_command_end_to_end_imports_only_what_it_needs(tmp_path: Path) -> None:
    host = FakeScmHost(providers=["github"])
    host.add_repo("octo/svc", {"catalog-info.yaml": "kind: Component\n"})
    with host:
        entry = integration_config(host)
        (tmp_path / "app-config.yaml").write_text(
            "integrations:\n  github:\n"
            + "".join(
                f"    {'-' if i == 0 else ' '} {k}: {v}\n" for i, (k, v) in enumerate(entry.items())
            )
        )
        url = f"{host.base_url}/octo/svc/blob/main/catalog-info.yaml"
        done = subprocess.run(
            [sys.executable, "-c", COMMAND, "read", url, "-o", "out"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out").read_text() == "kind: Component\n"
    modules = set(json.loads((tmp_path / "modules.json").read_text()))
    assert modules >= NEEDED
    assert sorted(modules & NEVER) == []


def test_builtin_provider_table_matches_the_provider_modules() -> None:
    for kind in integration_types():
        if kind.key not in BUILTIN_PROVIDERS:
            continue
        module, order, hosts = BUILTIN_PROVIDERS[kind.key]
        assert kind.read_configs.__module__.startswith(f"scmreader.integrations.{module}")
        assert kind.order == order
        assert tuple(i.host for i in kind.read_configs(None)) == hosts
    assert set(BUILTIN_PROVIDERS) <= {kind.key for kind in integration_types()}


def _eager(config: dict[str, Any]) -> ScmIntegrations:
    from scmreader.config import load_config

    loaded = load_config(config)
    return ScmIntegrations(
        {
            k.key: ScmIntegrationsGroup(k.read_configs(provider_entries(loaded, k.key)))
            for k in integration_types()
        }
    )


CONFIGS: list[dict[str, Any]] = [
    {},
    {
        "integrations": {
            "github": [{"host": "ghe.example.com", "apiBaseUrl": "https://ghe.example.com/api/v3"}]
        }
    },
    {
        "integrations": {
            "gitlab": [{"host": "gitlab.com", "token": "t"}],
            "gitea": [{"host": "g.example.com"}],
        }
    },
    {
        "integrations": {
            "azure": [],
            "awsS3": [{"host": "minio.example.com", "endpoint": "https://minio.example.com"}],
        }
    },
]
URLS = [
    GITHUB_URL,
    "https://ghe.example.com/o/r/blob/main/a.yaml",
    "https://gitlab.com/o/r/-/blob/main/a.yaml",
    "https://dev.azure.com/org/project/_git/repo?path=/a.yaml",
    "https://bitbucket.org/ws/repo/src/main/a.yaml",
    "https://amazonaws.com/bucket/a.yaml",
    "https://blob.core.windows.net/c/a.yaml",
    "https://storage.cloud.google.com/b/a.yaml",
    "https://g.example.com/o/r/src/branch/main/a.yaml",
    "https://minio.example.com/bucket/a.yaml",
    "https://elsewhere.example.com/a.yaml",
    "not a url",
]


@pytest.mark.parametrize("config", CONFIGS)
def test_lazy_integrations_answer_as_the_eager_registry_does(config: dict[str, Any]) -> None:
    lazy, eager = ScmIntegrations.from_config(config), _eager(config)
    for url in URLS:
        assert repr(lazy.by_url(url)) == repr(eager.by_url(url)), url
    assert [repr(i) for i in lazy.list()] == [repr(i) for i in eager.list()]
    assert [repr(i) for i in lazy.github.list()] == [repr(i) for i in eager.github.list()]
    assert [repr(i) for i in lazy.aws_s3.list()] == [repr(i) for i in eager.aws_s3.list()]


def test_integration_type_knows_builtins_and_nothing_else() -> None:
    github = integration_type("github")
    assert github is not None and github.key == "github"
    assert integration_type("githbu") is None


ENTRY_POINTS = (
    "[console_scripts]\nacme = acme_scm:main\n\n"
    "[scmreader.integrations]\nacme = acme_scm:INTEGRATION\n"
)


def test_entry_point_providers_are_found_only_when_a_distribution_declares_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plugins.declared_groups.cache_clear()
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert "scmreader.integrations" not in (_plugins.declared_groups() or ())
    assert _plugins.from_entry_points("scmreader.integrations", IntegrationType) == []

    (tmp_path / "acme_scm.py").write_text(
        "from scmreader.integrations.base import IntegrationType\n"
        "INTEGRATION = IntegrationType(key='acmeScm', order=500, read_configs=lambda e: [])\n"
    )
    info = tmp_path / "acme_scm-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-scm\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    _plugins.declared_groups.cache_clear()
    try:
        assert _plugins.declared_groups() == frozenset({"scmreader.integrations"})
        found = _plugins.from_entry_points("scmreader.integrations", IntegrationType)
        assert [kind.key for kind in found] == ["acmeScm"]
        assert _plugins.from_entry_points("scmreader.readers", IntegrationType) == []
    finally:
        monkeypatch.undo()
        sys.modules.pop("acme_scm", None)
        _plugins.declared_groups.cache_clear()
