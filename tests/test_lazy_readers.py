"""UrlReaders.default imports only the reader modules the config or a URL needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

API = "https://ghe.example.com/api/v3"

PROBE = """
import json, sys
from scmreader.readers import UrlReaders
readers = UrlReaders.default(json.loads(sys.argv[1]))
for url in sys.argv[2:]:
    readers.reader_for(url)
print(json.dumps(sorted(
    m.rsplit(".", 1)[1] for m in sys.modules
    if m.startswith("scmreader.readers.") and m.count(".") == 2
    and m.rsplit(".", 1)[1] not in ("base", "types", "tree")
    and not m.rsplit(".", 1)[1].startswith("_")
)))
"""


@pytest.mark.parametrize(
    ("config", "urls", "imported"),
    [
        ({}, [], []),
        ({"backend": {"reading": {"allow": [{"host": "example.com"}]}}}, [], ["fetch"]),
        (
            {"integrations": {"github": [{"host": "ghe.example.com", "apiBaseUrl": API}]}},
            [],
            ["github"],
        ),
        ({}, ["https://gitlab.com/o/r/-/blob/main/catalog-info.yaml"], ["gitlab"]),
        (  # github.com sits behind azure and both bitbuckets in Backstage's order
            {"integrations": {"gitea": [{"host": "gitea.example.com"}]}},
            ["https://github.com/o/r/blob/main/catalog-info.yaml"],
            ["gitea", "github"],
        ),
        (
            {},
            ["https://my-bucket.s3.eu-west-1.amazonaws.com/catalog-info.yaml"],
            ["aws_s3"],
        ),
    ],
)
def test_only_needed_reader_modules_are_imported(
    config: dict[str, object], urls: list[str], imported: list[str]
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(config), *urls],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == imported


def test_readers_lists_every_builtin_and_selection_is_unchanged() -> None:
    from scmreader.readers import UrlReaders, reader_factories

    lazy = UrlReaders.default({})
    eager = UrlReaders.create({}, factories=reader_factories())
    assert repr(lazy) == repr(eager)
    for url in (
        "https://github.com/o/r/blob/main/a.yaml",
        "https://dev.azure.com/org/p/_git/r?path=/a.yaml",
        "https://bitbucket.org/w/r/src/main/a.yaml",
    ):
        assert repr(UrlReaders.default({}).reader_for(url)) == repr(eager.reader_for(url))


def test_the_lazy_table_matches_the_reader_modules() -> None:
    import importlib

    from scmreader.readers import LAZY_BUILTINS, reader_factories

    for key, (module, order, _) in LAZY_BUILTINS.items():
        factory = importlib.import_module(f"scmreader.readers.{module}").READER_FACTORY
        assert (factory.name, factory.order) == (key, order)
    from scmreader.readers._registry import FETCH_BUILTIN

    fetch = importlib.import_module(f"scmreader.readers.{FETCH_BUILTIN[0]}").READER_FACTORY
    assert (fetch.name, fetch.order) == ("fetch", FETCH_BUILTIN[1])
    eager = {f.name for f in reader_factories()} - set(LAZY_BUILTINS)
    # fetch (the allow-list reader) has no default host; a new built-in belongs in the table
    assert eager == {"fetch"}, "add new built-in readers to LAZY_BUILTINS to load them lazily"


def test_an_allow_list_refusal_still_names_the_rule_with_fetch_deferred() -> None:
    from scmreader.errors import NotAllowedError
    from scmreader.readers import UrlReaders

    readers = UrlReaders.default({"backend": {"reading": {"allow": [{"host": "example.com"}]}}})
    with pytest.raises(NotAllowedError, match="does not allow port 8443"):
        readers.reader_for("https://example.com:8443/a.yaml")
    with pytest.raises(NotAllowedError, match=r"no integration and no backend\.reading\.allow"):
        UrlReaders.default({}).reader_for("https://example.com/a.yaml")
