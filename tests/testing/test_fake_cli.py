"""``python -m scmreader.testing serve`` in its own process."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from scmreader.testing.__main__ import main

SIZE = 32 * 1024 * 1024


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scmreader.testing", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_line(process: subprocess.Popen[str], timeout: float = 20) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    assert lines, "serve printed nothing"
    return lines[0].strip()


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.tar.gz"
    with path.open("wb") as out:
        block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB, not all zeros
        for _ in range(SIZE // len(block)):
            out.write(block)
    return path


@pytest.fixture
def server(tmp_path: Path, big_file: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Docs\n")
    process = _serve(
        "--file",
        f"/dl/big.tar.gz={big_file}",
        "--repo",
        f"octo/docs={docs}",
        "--enable",
        "plain",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
    )
    try:
        yield process, _first_line(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serve_prints_its_url_and_streams_files(
    server: tuple[subprocess.Popen[str], str], big_file: Path
) -> None:
    process, url = server
    assert url.startswith("http://127.0.0.1:")
    baseline = _kib(process.pid, "VmRSS")
    expected = hashlib.sha256(big_file.read_bytes()).hexdigest()
    with requests.get(f"{url}/dl/big.tar.gz", stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(SIZE)
        digest = hashlib.sha256()
        for block in response.iter_content(1 << 20):
            digest.update(block)
    assert digest.hexdigest() == expected
    assert requests.get(f"{url}/missing", timeout=5).status_code == 404
    # the whole file never sat in the server's memory
    assert _kib(process.pid, "VmHWM") - baseline < SIZE // 1024 // 2
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--file", "/x=/no/such/file.bin"], 2, "error: cannot serve"),
        (["--repo", "no-equals-sign"], 2, "expected NAME=VALUE"),
        (["--bind", "192.0.2.1"], 2, "loopback"),
        (["--repo", "o/r=/no/such/folder"], 2, "no such folder"),
    ],
)
def test_serve_reports_bad_arguments(
    capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    try:
        result = main(["serve", *args])
    except SystemExit as exc:  # argparse's own usage errors
        result = int(exc.code or 0)
    assert result == code
    assert message in capsys.readouterr().err
