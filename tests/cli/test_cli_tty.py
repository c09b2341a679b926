"""Terminal behaviour, in real subprocesses: a progress bar on a TTY, only data on pipes."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import REPO_ROOT, SERVICE_FILES, GithubSite

pytest.importorskip("rich")


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "SCMREADER_TOKEN", "CI")
    }
    env.update(TERM="xterm-256color", COLUMNS="100", LINES="30")
    return env


def _run_with_tty_stderr(args: list[str]) -> tuple[int, bytes, bytes]:
    """Run ``scmreader ARGS`` with stderr on a pseudo-terminal and stdout on a pipe."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "scmreader", *args],
            cwd=REPO_ROOT,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
    finally:
        os.close(slave)
    terminal = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer of the terminal is gone
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    assert process.stdout is not None
    stdout = process.stdout.read()
    process.stdout.close()
    return process.wait(timeout=30), stdout, terminal


def test_progress_bar_on_a_terminal_and_only_json_on_the_pipe(
    github_site: GithubSite, tmp_path: Path
) -> None:
    out = tmp_path / "tree"
    code, stdout, terminal = _run_with_tty_stderr(
        ["tree", github_site.tree(), "--out", str(out), "--json", "-c", github_site.config]
    )
    assert code == 0, terminal
    text = terminal.decode("utf-8", "replace")
    assert f"reading into {out}" in text
    assert f"{len(SERVICE_FILES)} files" in text
    size = sum(len(v) for v in SERVICE_FILES.values())
    assert f"{size} bytes" in text
    assert "\x1b[" in text  # drawn with terminal control sequences
    assert stdout.startswith(b'{"url": ') and stdout.count(b"\n") == 1
    assert b"\x1b" not in stdout


def test_quiet_hides_the_progress_bar(github_site: GithubSite, tmp_path: Path) -> None:
    code, stdout, terminal = _run_with_tty_stderr(
        ["tree", github_site.tree(), "--out", str(tmp_path / "q"), "-q", "-c", github_site.config]
    )
    assert code == 0
    assert terminal == b""
    assert stdout == b""


def test_summary_on_a_terminal_without_json(github_site: GithubSite, tmp_path: Path) -> None:
    out = tmp_path / "s"
    code, stdout, terminal = _run_with_tty_stderr(
        ["tree", github_site.tree("docs"), "--out", str(out), "-c", github_site.config]
    )
    assert code == 0
    assert stdout == b""
    assert "wrote 3 files (" in terminal.decode()


def test_read_with_a_terminal_on_stderr_sends_only_the_bytes_to_stdout(
    github_site: GithubSite,
) -> None:
    code, stdout, terminal = _run_with_tty_stderr(
        ["read", github_site.blob("catalog-info.yaml"), "-c", github_site.config]
    )
    assert code == 0
    assert stdout == SERVICE_FILES["catalog-info.yaml"].encode()
    assert terminal == b""


def test_everything_piped_means_no_progress_at_all(github_site: GithubSite, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scmreader",
            "tree",
            github_site.tree(),
            "--out",
            str(tmp_path / "p"),
            "-c",
            github_site.config,
        ],
        cwd=REPO_ROOT,
        env=_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == b""
    assert done.stderr == b""
