"""The argument parser: help, usage errors, exit-code table, and a cheap ``--help``."""

from __future__ import annotations

import json
import sys

import pytest
from cli_helpers import Cli, run_subprocess

from scmreader import errors
from scmreader.cli import EXIT_CODES, _command_of, build_parser

COMMANDS = ["read", "tree", "search", "resolve", "url", "config", "demo", "discover"]


def test_help_lists_every_command_and_the_exit_codes(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    result = cli("--help")
    text = capsys.readouterr().out + result.out  # argparse prints to the real sys.stdout
    assert result.code == 0
    for command in COMMANDS:
        assert f"    {command} " in text
    assert "   10  not modified\n" in text
    assert "    6  not found\n" in text


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nope"],
        ["read"],
        ["tree", "https://github.com/o/r/tree/main"],  # --out is required
        ["resolve", "b.yaml"],  # --base is required
        ["url"],
        ["config"],
        ["config", "validate"],
        ["config", "validate", "--format", "xml", "a.yaml"],
        ["read", "https://github.com/o/r/blob/main/a", "--bogus"],
    ],
)
def test_usage_errors_exit_2(cli: Cli, argv: list[str]) -> None:
    assert cli(*argv).code == 2


def test_verbosity_may_come_before_or_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["-v", "read", "u"]).verbose == 1
    assert parser.parse_args(["read", "u", "-vv"]).verbose == 2
    assert parser.parse_args(["read", "u"]).verbose == 0
    assert parser.parse_args(["-q", "tree", "u", "--out", "d"]).quiet is True


@pytest.mark.parametrize(
    "argv",
    [
        ["read", "https://github.com/o/r/blob/main/a", "-o", "out.yaml", "--etag", "e1"],
        ["-v", "read", "https://github.com/o/r/blob/main/a", "--timeout", "5", "-q"],
        ["-vv", "-q", "tree", "https://github.com/o/r/tree/main", "--out", "d", "--merge"],
        ["search", "https://github.com/o/r/blob/main/**/*.md", "--fail-if-none", "--json"],
        ["resolve", "../b.yaml", "--base", "https://github.com/o/r/blob/main/a/c.yaml"],
        ["url", "fetch", "https://github.com/o/r/blob/main/a", "--token", "t"],
        ["config", "validate", "a.yaml", "b.yaml", "--format", "github", "--strict"],
        ["demo", "--json"],
        ["discover", "https://github.com/acme/*/blob/-/c.yaml", "--include-forks"],
        ["--verbose", "--quiet", "search", "https://github.com/o/r/blob/main/*", "-c", "x"],
    ],
)
def test_the_parser_of_one_command_parses_as_the_full_parser(argv: list[str]) -> None:
    command = _command_of(argv)
    assert command == next(a for a in argv if not a.startswith("-"))
    assert build_parser(command).parse_args(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize(
    "argv",
    [[], ["--help"], ["-h", "read", "u"], ["--version"], ["nope", "read"], ["-c", "read"]],
)
def test_anything_but_top_level_flags_before_the_command_gets_the_full_parser(
    argv: list[str],
) -> None:
    assert _command_of(argv) is None


def test_every_error_class_has_a_documented_exit_code() -> None:
    documented = set(EXIT_CODES.values())
    classes = [getattr(errors, name) for name in errors.__all__]
    assert {cls.exit_code for cls in classes} <= documented
    assert errors.NotModifiedError.exit_code == 10


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys\n"
        "from scmreader.cli import main\n"
        "code = main(['--help'])\n"
        "heavy = ['requests', 'yaml', 'rich', 'git', 'urllib3', 'wcmatch', 'jwt']\n"
        "print(repr(code), file=sys.stderr)\n"
        "print(__import__('json').dumps([m for m in heavy if m in sys.modules]), file=sys.stderr)\n"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    code, loaded = done.stderr.strip().splitlines()[-2:]
    assert code == "0"
    assert json.loads(loaded) == []
    assert "usage: scmreader" in done.stdout


def test_python_dash_m_runs_the_command() -> None:
    done = run_subprocess("--version")
    assert done.returncode == 0
    assert done.stdout.decode().startswith("scmreader ")
