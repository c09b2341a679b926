"""One test (or table) per surprise of issue 12 that is not covered next to its command:
tree paths, config warnings, NotAllowedError wording, --json failures, search exit codes
and the small ones (resolve --line, demo without git, --cache, a silent server)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_helpers import Cli, GithubSite

from scmreader.testing import FakeScmHost

# --- 2: a tree path that does not exist, a file URL given to tree ------------------------


def test_tree_of_a_missing_folder_exits_6_naming_it(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    out = tmp_path / "x"
    result = cli("tree", github_site.tree("nosuchdir"), "-c", github_site.config, "--out", str(out))
    assert result.code == 6, result.stderr
    assert "nosuchdir" in result.stderr and "NotFoundError" in result.stderr
    assert not out.exists()


def test_tree_of_a_file_url_exits_2_suggesting_read(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    out = tmp_path / "x"
    result = cli(
        "tree",
        github_site.blob("mkdocs.yml"),
        "-c",
        github_site.config,
        "--out",
        str(out),
        "--json",
    )
    assert result.code == 2
    error = result.error_json()["error"]
    assert error["type"] == "InputError"
    assert "scmreader read" in error["message"]
    assert result.stdout == b"" and not out.exists()


# --- 3 (CLI side): config warnings on stderr once each, --strict passed through -----------


@pytest.fixture
def config_warnings(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """load_config logs two identical warnings and one other on ``scmreader.config`` (as
    the config loader does for unknown keys) and records the keyword arguments it got."""
    import scmreader.config as config_module

    real = config_module.load_config
    calls: list[dict[str, Any]] = []

    def load_config(*sources: Any, strict: bool = False, **kwargs: Any) -> Any:
        calls.append({"strict": strict})
        log = logging.getLogger("scmreader.config")
        for key in ("tokn", "tokn", "apiBaseURL"):
            log.warning("app-config.yaml:3: integrations.github[0].%s: unknown key", key)
        return real(*sources, **kwargs)

    monkeypatch.setattr(config_module, "load_config", load_config)
    return calls


def test_config_warnings_are_printed_once_each(
    cli: Cli, github_site: GithubSite, config_warnings: list[dict[str, Any]]
) -> None:
    result = cli("read", github_site.blob("mkdocs.yml"), "-c", github_site.config)
    assert result.code == 0
    assert result.stderr.splitlines() == [
        "scmreader: warning: app-config.yaml:3: integrations.github[0].tokn: unknown key",
        "scmreader: warning: app-config.yaml:3: integrations.github[0].apiBaseURL: unknown key",
    ]
    as_json = cli("read", github_site.blob("mkdocs.yml"), "-c", github_site.config, "--json")
    warnings = [json.loads(line) for line in as_json.stderr.splitlines()]
    assert [w["warning"]["message"].split(".")[-1] for w in warnings] == [
        "tokn: unknown key",
        "apiBaseURL: unknown key",
    ]


def test_typos_in_a_real_config_are_warned_about_and_fail_under_strict(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    config = yaml.safe_load(Path(github_site.config).read_text())
    config["integrations"]["github"][0]["tokn"] = "ghp_typo"
    config["integrations"]["githb"] = [{"host": "example.com"}]
    typos = tmp_path / "typos.yaml"
    typos.write_text(yaml.safe_dump(config))
    result = cli("read", github_site.blob("mkdocs.yml"), "-c", str(typos))
    assert result.code == 0
    warnings = result.stderr.splitlines()
    assert len(warnings) == 2, warnings
    tokn, githb = sorted(warnings, key=lambda w: "githb" in w)
    assert "integrations.github[0].tokn" in tokn and "did you mean 'token'" in tokn
    assert "integrations.githb" in githb and "did you mean 'github'" in githb
    assert all(w.startswith(f"scmreader: warning: {typos}:") for w in warnings)
    as_json = cli("read", github_site.blob("mkdocs.yml"), "-c", str(typos), "--json")
    records = [json.loads(line)["warning"] for line in as_json.stderr.splitlines()]
    first = next(r for r in records if r["key_path"].endswith("tokn"))
    assert first["key_path"] == "integrations.github[0].tokn" and first["file"] == str(typos)
    assert isinstance(first["line"], int)
    strict = cli("read", github_site.blob("mkdocs.yml"), "-c", str(typos), "--strict", "--json")
    assert strict.code == 3 and strict.stdout == b""
    error = json.loads(strict.stderr.splitlines()[-1])["error"]
    assert error["type"] == "ConfigError" and "tokn" in error["message"]


# --- 4: NotAllowedError says which rule failed -----------------------------------------


@pytest.mark.parametrize(
    ("allow", "path", "expected"),
    [
        ([], "/docs/a.txt", "no integration and no backend.reading.allow entry covers host"),
        ([{"host": "HOST", "paths": ["/public/"]}], "/docs/a.txt", "only below the paths /public/"),
        ([{"host": "HOSTNAME:1-2"}], "/docs/a.txt", "does not allow port PORT"),
        ([{"host": "HOSTNAME"}], "/docs/a.txt", "does not allow port PORT"),
    ],
)
def test_not_allowed_says_which_rule_failed(
    cli: Cli,
    fake_scm_host: FakeScmHost,
    write_config: Callable[..., str],
    allow: list[dict[str, Any]],
    path: str,
    expected: str,
) -> None:
    hostname, _, port = fake_scm_host.host.partition(":")
    fill = {"HOSTNAME": hostname, "HOST": fake_scm_host.host, "PORT": port}

    def sub(text: str) -> str:
        for key in ("HOSTNAME", "HOST", "PORT"):
            text = text.replace(key, fill[key])
        return text

    entries = [{k: (sub(v) if k == "host" else v) for k, v in e.items()} for e in allow]
    fake_scm_host.serve_file(path, "x")
    config = write_config({"backend": {"reading": {"allow": entries}}})
    result = cli("read", fake_scm_host.url(path), "-c", config)
    assert result.code == 4
    assert sub(expected) in result.stderr
    assert "add" in result.stderr.lower()


# --- 6: --json failures are one JSON object on stderr -----------------------------------


def _one_error(stderr: str) -> dict[str, Any]:
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    record: dict[str, Any] = json.loads(lines[0])["error"]
    return record


@pytest.mark.parametrize(
    "args",
    [
        ["read", "--json"],  # missing URL
        ["read", "https://github.com/o/r/blob/main/a", "--json", "--bogus"],
        [
            "resolve",
            "a.md",
            "--base",
            "https://github.com/o/r/blob/main/x.md",
            "--line",
            "x",
            "--json",
        ],
        ["tree", "https://github.com/o/r/tree/main", "--json", "--force", "--merge", "-o", "d"],
    ],
)
def test_usage_errors_are_json_under_json(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 2
    assert result.stdout == b""
    error = _one_error(result.stderr)
    assert error["type"] == "UsageError" and error["exit_code"] == 2 and error["message"]


def test_usage_errors_stay_text_without_json(cli: Cli) -> None:
    result = cli("read")
    assert result.code == 2
    assert result.stderr.startswith("usage: scmreader read")


def _assert_tree_interrupted(cli: Cli, site: GithubSite, out: Path) -> None:
    """``tree --json`` exits 130 with no success object and one JSON error."""
    result = cli("tree", site.tree("docs"), "-c", site.config, "--out", str(out), "--json")
    assert result.code == 130
    assert result.stdout == b""
    assert _one_error(result.stderr)["type"] == "Interrupted"


def test_an_interrupt_is_json_and_prints_no_success_object(
    cli: Cli, github_site: GithubSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from scmreader.readers.tree._response import ArchiveTreeResponse

    def interrupted(self: object, target: object = None) -> Path:
        raise KeyboardInterrupt

    monkeypatch.setattr(ArchiveTreeResponse, "dir", interrupted)
    _assert_tree_interrupted(cli, github_site, tmp_path / "o")


def test_an_interrupt_a_library_swallowed_still_exits_130_without_output(
    cli: Cli, github_site: GithubSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from scmreader.readers.tree._response import ArchiveTreeResponse

    real = ArchiveTreeResponse.dir

    def swallowing(self: ArchiveTreeResponse, target: Any = None) -> Path:
        try:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the tree is written...
        except KeyboardInterrupt:
            pass  # ...caught by code that should not have caught it
        return real(self, target)

    monkeypatch.setattr(ArchiveTreeResponse, "dir", swallowing)
    _assert_tree_interrupted(cli, github_site, tmp_path / "o")


def test_a_bug_is_json_under_json(
    cli: Cli, github_site: GithubSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scmreader.readers import UrlReaders

    def broken(self: object, url: str, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(UrlReaders, "read_url", broken)
    result = cli("read", github_site.blob("mkdocs.yml"), "-c", github_site.config, "--json")
    assert result.code == 1
    error = _one_error(result.stderr)
    assert error["type"] == "InternalError" and "boom" in error["message"]


# --- 7: search exit codes ---------------------------------------------------------------


@pytest.mark.parametrize("glob", ["[.md", "docs/[!a.md", "{a,b.md", "a}.md"])
def test_a_malformed_glob_exits_2(cli: Cli, github_site: GithubSite, glob: str) -> None:
    result = cli("search", github_site.blob(glob), "-c", github_site.config, "--json")
    assert result.code == 2
    error = _one_error(result.stderr)
    assert error["type"] == "InputError" and "malformed" in error["message"]
    assert github_site.host.requests == []


@pytest.mark.parametrize("glob", ["[ab].md", "**/*.{md,yaml}", "docs/[[]x].md", "[!.]*.yml"])
def test_well_formed_globs_are_accepted(cli: Cli, github_site: GithubSite, glob: str) -> None:
    assert cli("search", github_site.blob(glob), "-c", github_site.config).code == 0


def test_no_matches_exits_0_with_an_empty_list_or_1_with_fail_if_none(
    cli: Cli, github_site: GithubSite
) -> None:
    url = github_site.blob("**/*.rst")
    plain = cli("search", url, "-c", github_site.config)
    assert (plain.code, plain.stdout) == (0, b"")
    as_json = cli("search", url, "-c", github_site.config, "--json")
    assert as_json.code == 0 and as_json.json()["files"] == []
    grep_like = cli("search", url, "-c", github_site.config, "--fail-if-none")
    assert (grep_like.code, grep_like.stdout, grep_like.stderr) == (1, b"", "")
    found = cli("search", github_site.blob("**/*.md"), "-c", github_site.config, "--fail-if-none")
    assert found.code == 0 and found.out.count("\n") == 2


# --- 9: the small ones ----------------------------------------------------------------


@pytest.mark.parametrize("line", ["-3", "0", "x"])
def test_resolve_refuses_a_line_below_1(cli: Cli, line: str) -> None:
    result = cli(
        "resolve", "a.md", "--base", "https://github.com/o/r/blob/main/x.md", "--line", line
    )
    assert result.code == 2
    assert "#L" not in result.out
    assert "line number (1 or more)" in result.stderr


def test_demo_without_git_names_the_git_binary(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "no-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("GIT_PYTHON_GIT_EXECUTABLE", raising=False)
    result = cli("demo")
    assert result.code == 2
    assert "git binary" in result.stderr and "gitpython" not in result.stderr.lower()


def test_cache_refuses_a_file_that_is_not_sqlite_and_never_suggests_deleting_it(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    result = cli(
        "read", github_site.blob("mkdocs.yml"), "-c", github_site.config, "--cache", str(notes)
    )
    assert result.code == 2
    assert "not a SQLite database" in result.stderr and "delete" not in result.stderr
    assert notes.read_text() == "my notes\n"
    other = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.commit()
    refused = cli(
        "read", github_site.blob("mkdocs.yml"), "-c", github_site.config, "--cache", str(other)
    )
    assert refused.code == 2 and "another SQLite database" in refused.stderr
    with contextlib.closing(sqlite3.connect(other)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master")]
    assert tables == ["users"]
    cache = tmp_path / "responses.sqlite"
    ok = cli(
        "read", github_site.blob("mkdocs.yml"), "-c", github_site.config, "--cache", str(cache)
    )
    assert ok.code == 0 and cache.exists()
    again = cli(
        "read", github_site.blob("mkdocs.yml"), "-c", github_site.config, "--cache", str(cache)
    )
    assert again.code == 0 and again.stderr == ""


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_server_that_never_answers_fails_within_the_timeout(
    cli: Cli, silent_server: str, write_config: Callable[..., str]
) -> None:
    config = write_config({"backend": {"reading": {"allow": [{"host": silent_server}]}}})
    result = cli("read", f"http://{silent_server}/a.txt", "-c", config, "--timeout", "0.5")
    assert result.code == 9
    assert "RequestTimeoutError" in result.stderr


def test_the_default_timeout_is_well_below_two_minutes(cli: Cli) -> None:
    from scmreader.cli import DEFAULT_TIMEOUT, build_parser

    args = build_parser().parse_args(["read", "https://github.com/o/r/blob/main/a"])
    assert args.timeout == DEFAULT_TIMEOUT <= 30
    assert cli("read", "x", "--timeout", "0").code == 2


# --- 8: -v is one line per HTTP request --------------------------------------------------


def test_verbose_tree_logs_each_request_once(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    result = cli(
        "tree",
        github_site.tree("docs"),
        "-c",
        github_site.config,
        "--out",
        str(tmp_path / "o"),
        "-v",
    )
    assert result.code == 0, result.stderr
    lines = result.stderr.splitlines()
    requests = list(github_site.host.requests)
    assert len(lines) == len(requests) == 3  # commit lookup, tarball redirect, codeload
    for line, request in zip(lines, requests, strict=True):
        method, url, arrow, status, _in, ms, _unit, size, _bytes = line.split(" ")[1:]
        assert (method, arrow, _in, _unit, _bytes) == (request.method, "->", "in", "ms,", "bytes")
        assert url.split("?")[0].endswith(request.path)
        assert status.isdigit() and ms.isdigit() and (size.isdigit() or size == "streamed")
