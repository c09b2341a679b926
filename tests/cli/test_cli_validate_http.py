"""`config validate` checks the scmreader.http and scmreader.hosts blocks with the library's
own readers, so what would fail when the readers are built fails in CI first."""

from __future__ import annotations

from pathlib import Path

import pytest

from scmreader.validate import validate_files


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("http:\n    connectTimeout: -1", "scmreader.http.connectTimeout", "positive number"),
        ("http:\n    maxFileBytes: 1.5", "scmreader.http.maxFileBytes", "whole number"),
        (
            "http:\n    blockPrivateAddresses: maybe",
            "scmreader.http.blockPrivateAddresses",
            "boolean",
        ),
        ("http:\n    readTimeOut: 5", "scmreader.http.readTimeOut", "unknown key"),
        (
            "http:\n    hosts:\n      - host: a.example.com\n        blockPrivateAddresses: 2",
            "scmreader.http.hosts[0].blockPrivateAddresses",
            "boolean",
        ),
        (
            "hosts:\n    - host: github.com\n      maxConcurrency: 0",
            "scmreader.hosts[0].maxConcurrency",
            "whole number of at least 1",
        ),
        (
            "hosts:\n    - host: github.com\n      maxRequestsPerSecond: -2",
            "scmreader.hosts[0].maxRequestsPerSecond",
            "above 0",
        ),
    ],
)
def test_bad_http_and_hosts_blocks_are_reported(
    tmp_path: Path, text: str, key: str, fragment: str
) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(f"scmreader:\n  {text}\n")
    report = validate_files([str(config)])
    matching = [p for p in report.problems if p.key_path == key and p.severity == "error"]
    assert matching, [str(p) for p in report.problems]
    assert fragment in matching[0].message
    assert matching[0].line is not None


def test_good_http_and_hosts_blocks_are_valid(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(
        "scmreader:\n"
        "  http:\n"
        "    blockPrivateAddresses: true\n"
        "    bodyDeadline: 900\n"
        "    hosts:\n"
        "      - host: gitlab.internal.example.com\n"
        "        blockPrivateAddresses: false\n"
        "  hosts:\n"
        "    - host: github.com\n"
        "      maxConcurrency: 8\n"
        "      maxRequestsPerSecond: 2.5\n"
    )
    report = validate_files([str(config)])
    assert report.problems == []
