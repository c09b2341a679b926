"""``scmreader read`` through FakeScmHost: output forms and the exit code of every failure."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import SERVICE_FILES, Cli, GithubSite

from scmreader.testing import FakeScmHost
from scmreader.testing.routes.github import github, integration_config


def test_read_writes_exactly_the_file_to_stdout(cli: Cli, github_site: GithubSite) -> None:
    result = cli("read", github_site.blob("catalog-info.yaml"), "--config", github_site.config)
    assert result.code == 0
    assert result.stdout == SERVICE_FILES["catalog-info.yaml"].encode()
    assert result.stderr == ""


def test_read_to_a_file(cli: Cli, github_site: GithubSite, tmp_path: Path) -> None:
    target = tmp_path / "copy.yaml"
    result = cli(
        "read", github_site.blob("docs/index.md"), "-o", str(target), "-c", github_site.config
    )
    assert result.code == 0
    assert result.stdout == b""
    assert target.read_text() == SERVICE_FILES["docs/index.md"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_read_json(cli: Cli, github_site: GithubSite) -> None:
    url = github_site.blob("mkdocs.yml")
    data = cli("read", url, "--json", "--config", github_site.config).json()
    assert data["url"] == url
    assert data["content"] == SERVICE_FILES["mkdocs.yml"]
    assert data["size"] == len(SERVICE_FILES["mkdocs.yml"])
    assert data["output"] is None
    assert data["etag"]


def test_read_json_of_binary_content_is_base64(
    cli: Cli, fake_scm_host: FakeScmHost, write_config: Callable[..., str]
) -> None:
    blob = bytes(range(256))
    fake_scm_host.serve_file("/bin.dat", blob)
    config = write_config({"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}})
    data = cli("read", fake_scm_host.url("/bin.dat"), "--json", "-c", config).json()
    assert base64.b64decode(data["content_base64"]) == blob
    assert "content" not in data


def test_read_json_with_output_reports_the_file(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    target = tmp_path / "out.yaml"
    data = cli(
        "read", github_site.blob("catalog-info.yaml"), "-o", str(target), "--json",
        "-c", github_site.config,
    ).json()  # fmt: skip
    assert data["output"] == str(target)
    assert "content" not in data
    assert target.exists()


def test_etag_of_an_unchanged_file_exits_10(cli: Cli, github_site: GithubSite) -> None:
    url = github_site.blob("catalog-info.yaml")
    etag = cli("read", url, "--json", "-c", github_site.config).json()["etag"]
    result = cli("read", url, "--etag", etag, "-c", github_site.config)
    assert result.code == 10
    assert result.stdout == b""
    assert result.stderr.startswith("scmreader: NotModifiedError: ")
    changed = cli("read", url, "--etag", '"something-else"', "-c", github_site.config)
    assert changed.code == 0


def test_errors_as_json_on_stderr(cli: Cli, github_site: GithubSite) -> None:
    url = github_site.blob("catalog-info.yaml")
    etag = cli("read", url, "--json", "-c", github_site.config).json()["etag"]
    result = cli("read", url, "--etag", etag, "--json", "-c", github_site.config)
    assert result.code == 10
    assert result.stdout == b""
    error = result.error_json()["error"]
    assert error["type"] == "NotModifiedError"
    assert error["exit_code"] == 10


@pytest.mark.parametrize(
    ("path", "code", "kind"),
    [
        ("missing.yaml", 6, "NotFoundError"),
        ("docs", 6, "NotFoundError"),  # a folder is not a file
    ],
)
def test_missing_files(cli: Cli, github_site: GithubSite, path: str, code: int, kind: str) -> None:
    result = cli("read", github_site.blob(path), "-c", github_site.config, "--json")
    assert result.code == code
    assert result.error_json()["error"]["type"] == kind
    assert result.error_json()["error"]["status"] == 404


def test_a_host_without_integration_is_not_allowed(cli: Cli, github_site: GithubSite) -> None:
    result = cli("read", "http://127.0.0.2:9/octo/x/blob/main/a.yaml", "-c", github_site.config)
    assert result.code == 4
    assert "NotAllowedError" in result.stderr
    assert "backend.reading.allow" in result.stderr
    assert github_site.host.requests == []


def test_a_rejected_token_exits_7_and_is_never_printed(cli: Cli, github_site: GithubSite) -> None:
    github(github_site.host).add_token("ghp_thegoodtokenvalue")
    url = github_site.blob("catalog-info.yaml")
    ok = cli("read", url, "--token", "ghp_thegoodtokenvalue", "-c", github_site.config)
    assert ok.code == 0
    bad = cli("read", url, "--token", "ghp_rejectedtokenvalue", "-c", github_site.config, "-v")
    assert bad.code == 7
    assert "AuthenticationError" in bad.stderr
    assert "ghp_rejectedtokenvalue" not in bad.stderr
    assert "/contents/catalog-info.yaml" in bad.stderr  # -v logged the request


def test_token_from_the_environment(
    cli: Cli, github_site: GithubSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    github(github_site.host).add_token("ghp_thegoodtokenvalue")
    monkeypatch.setenv("SCMREADER_TOKEN", "ghp_rejectedtokenvalue")
    assert cli("read", github_site.blob("mkdocs.yml"), "-c", github_site.config).code == 7
    monkeypatch.setenv("SCMREADER_TOKEN", "ghp_thegoodtokenvalue")
    assert cli("read", github_site.blob("mkdocs.yml"), "-c", github_site.config).code == 0


def test_rate_limited_exits_8(cli: Cli, github_site: GithubSite) -> None:
    github(github_site.host).set_rate_limit(0, reset=time.time() + 3600)
    result = cli("tree", github_site.tree("docs"), "--out", "x", "-c", github_site.config)
    assert result.code == 8
    assert "RateLimitedError" in result.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"integrations": {"github": [{"host": "Not A Host"}]}}, "is not a valid host"),
        ({"integrations": {"github": [{"token": 42}]}}, "expected a string, got a number"),
        ({"backend": {"reading": {"allow": "everything"}}}, "expected a list of mappings"),
    ],
)
def test_bad_config_exits_3(
    cli: Cli, write_config: Callable[..., str], config: dict[str, object], message: str
) -> None:
    path = write_config(config)
    result = cli("read", "https://github.com/o/r/blob/main/a.yaml", "-c", path)
    assert result.code == 3
    assert result.stderr.startswith(f"scmreader: ConfigError: {path}:")
    assert message in result.stderr


def test_missing_config_file_exits_3(cli: Cli, tmp_path: Path) -> None:
    result = cli("read", "https://github.com/o/r/blob/main/a", "-c", str(tmp_path / "nope.yaml"))
    assert result.code == 3
    assert "does not exist" in result.stderr


def test_default_config_files_in_the_working_directory(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "app-config.yaml").write_text(Path(github_site.config).read_text())
    result = cli("read", github_site.blob("mkdocs.yml"), cwd=folder)
    assert result.code == 0
    assert cli("read", github_site.blob("mkdocs.yml")).code == 4  # no config: not allowed


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@127.0.0.1:1/o/r/blob/main/a.yaml",
        "ftp://example.com/a.yaml",
        "not a url",
    ],
)
def test_bad_urls_exit_2(cli: Cli, url: str) -> None:
    result = cli("read", url)
    assert result.code == 2
    assert "secret" not in result.stderr


def test_plain_http_with_the_allow_list_and_redacted_request_log(
    cli: Cli, fake_scm_host: FakeScmHost, write_config: Callable[..., str]
) -> None:
    fake_scm_host.serve_file("/docs/a.txt", "hello\n")
    config = write_config({"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}})
    secret = "s3cr3t-value-in-the-url"
    url = fake_scm_host.url(f"/docs/a.txt?sig={secret}")
    result = cli("read", url, "--token", secret, "-c", config, "-v")
    assert result.code == 0
    assert result.stdout == b"hello\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines  # -v: one line per request, no third-party debug noise
    assert re.fullmatch(
        r"scmreader\.http\.requests: GET http://[^ ]+/docs/a\.txt\?sig=\*\*\* -> 200 "
        r"in \d+ ms, 6 bytes",
        lines[0],
    ), lines[0]
    assert secret not in result.stderr
    library = cli("read", url, "--token", secret, "-c", config, "-vv")
    assert "urllib3" not in library.stderr
    assert len(library.stderr.splitlines()) > 1  # scmreader's own debug records too
    everything = cli("read", url, "--token", secret, "-c", config, "-vvv")
    assert '"GET /docs/a.txt?sig=*** HTTP/1.1" 200' in everything.stderr  # urllib3's line
    assert secret not in library.stderr + everything.stderr
    quiet = cli("read", url, "-c", config)
    assert quiet.stderr == ""


def test_tree_is_not_implemented_for_plain_http(
    cli: Cli, fake_scm_host: FakeScmHost, write_config: Callable[..., str]
) -> None:
    fake_scm_host.serve_file("/docs/a.txt", "hello\n")
    config = write_config({"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}})
    result = cli("tree", fake_scm_host.url("/docs"), "--out", "x", "-c", config)
    assert result.code == 2
    assert "NotImplementedByReaderError" in result.stderr


def test_unwritable_output_exits_12_naming_the_path(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "a.yaml"
    result = cli(
        "read", github_site.blob("mkdocs.yml"), "-o", str(target), "-c", github_site.config
    )
    assert result.code == 12
    assert result.stderr.startswith(f"scmreader: TargetWriteError: Cannot write '{target}'")
    assert ".part" not in result.stderr
    as_json = cli(
        "read",
        github_site.blob("mkdocs.yml"),
        "-o",
        str(target),
        "-c",
        github_site.config,
        "--json",
    )
    assert as_json.code == 12 and as_json.stdout == b""
    error = as_json.error_json()["error"]
    assert error["type"] == "TargetWriteError" and str(target) in error["message"]


def test_second_github_host_uses_its_own_integration(
    cli: Cli,
    github_site: GithubSite,
    fake_scm_host_factory: Callable[..., FakeScmHost],
    write_config: Callable[..., str],
) -> None:
    other = fake_scm_host_factory("127.0.0.2", providers=["github"])
    other.add_repo("octo/service", {"catalog-info.yaml": "kind: System\n"})
    config = write_config(
        {
            "integrations": {
                "github": [integration_config(github_site.host), integration_config(other)]
            }
        },
        name="two.yaml",
    )
    first = cli("read", github_site.blob("catalog-info.yaml"), "-c", config)
    second = cli("read", f"{other.base_url}/octo/service/blob/main/catalog-info.yaml", "-c", config)
    assert first.stdout == SERVICE_FILES["catalog-info.yaml"].encode()
    assert second.stdout == b"kind: System\n"


def test_a_bug_is_one_redacted_line_and_exit_1(
    cli: Cli, github_site: GithubSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scmreader.readers import UrlReaders
    from scmreader.redact import register_secret

    register_secret("ghp_leakedinabugmessage")

    def broken(self: object, url: str, **kwargs: object) -> None:
        raise RuntimeError("boom with ghp_leakedinabugmessage inside")

    monkeypatch.setattr(UrlReaders, "read_url", broken)
    result = cli("read", github_site.blob("mkdocs.yml"), "-c", github_site.config)
    assert result.code == 1
    assert result.stderr == (
        "scmreader: InternalError: RuntimeError: boom with *** inside "
        "(run with -v for the traceback)\n"
    )
    verbose = cli("read", github_site.blob("mkdocs.yml"), "-c", github_site.config, "-v")
    assert "Traceback (most recent call last)" in verbose.stderr
    assert "ghp_leakedinabugmessage" not in verbose.stderr


def test_a_closed_pipe_stops_quietly(
    fake_scm_host: FakeScmHost, write_config: Callable[..., str]
) -> None:
    import subprocess
    import sys

    fake_scm_host.serve_file("/big.bin", b"x" * 4_000_000)
    config = write_config({"backend": {"reading": {"allow": [{"host": fake_scm_host.host}]}}})
    process = subprocess.Popen(
        [sys.executable, "-m", "scmreader", "read", fake_scm_host.url("/big.bin"), "-c", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10) == b"x" * 10
    process.stdout.close()  # like `| head -c 10`
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert stderr == b""
