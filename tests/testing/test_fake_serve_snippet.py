"""``python -m scmreader.testing serve`` prints a ready app-config and browse URLs (issue 12,
surprise 14): the printed snippet and URL work with the scmreader command as they are."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from scmreader.cli import main
from scmreader.demo import FILES


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """A sample serve process (no arguments): its stdout lines and its --config-out file."""
    config = tmp_path / "fake-config.yaml"
    process = subprocess.Popen(
        [sys.executable, "-m", "scmreader.testing", "serve", "--config-out", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not any(line.startswith("# github ") for line in lines):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)
    try:
        yield lines, config
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_prints_a_config_snippet_and_browse_urls(
    served: tuple[list[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines, config_file = served
    base = lines[0]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
    snippet = "\n".join(lines[2 : lines.index(next(x for x in lines if x.startswith("# github")))])
    config = yaml.safe_load(snippet)
    assert config == yaml.safe_load(config_file.read_text())
    host = base.removeprefix("http://")
    assert config["integrations"]["github"][0]["host"] == host
    assert config["backend"]["reading"]["allow"] == [{"host": host}]
    browse = next(x for x in lines if x.startswith("# github octo/service: "))
    tree_url = browse.split(": ", 1)[1]
    assert tree_url == f"{base}/octo/service/tree/main"

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "docs"
    assert main(["tree", f"{tree_url}/docs", "--out", str(out), "-c", str(config_file)]) == 0
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(p.removeprefix("docs/") for p in FILES if p.startswith("docs/"))


def test_serve_help_lists_the_providers() -> None:
    from scmreader.testing.server import available_providers

    result = subprocess.run(
        [sys.executable, "-m", "scmreader.testing", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    flat = " ".join(result.stdout.split())
    for name in available_providers():
        assert name in flat
