"""`config validate` checks the scmreader.cache block with the library's own reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from scmreader.validate import validate_files


@pytest.mark.parametrize(
    ("block", "key", "fragment"),
    [
        ("store: disk", "scmreader.cache.store", "unknown cache store"),
        ("store: memory\n    url: redis://x", "scmreader.cache.url", "not used by the memory"),
        ("path: /tmp/x.sqlite", "scmreader.cache.store", "missing"),
    ],
)
def test_bad_cache_blocks_are_reported(tmp_path: Path, block: str, key: str, fragment: str) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(f"scmreader:\n  cache:\n    {block}\n")
    report = validate_files([str(config)])
    matching = [p for p in report.problems if p.key_path == key]
    assert matching, [str(p) for p in report.problems]
    assert fragment in matching[0].message
    assert matching[0].line is not None


def test_good_cache_block_is_valid(tmp_path: Path) -> None:
    config = tmp_path / "app-config.yaml"
    config.write_text(
        f"scmreader:\n  cache:\n    store: sqlite\n    path: {tmp_path / 'c.sqlite'}\n"
    )
    report = validate_files([str(config)])
    assert report.problems == []
    assert not (tmp_path / "c.sqlite").exists()  # validating opens nothing
