"""The ``scmreader`` command.

Only data goes to stdout; progress (on a terminal), request logs (``-v``) and the one-line
error go to stderr. Each class of failure has its own exit code (:data:`EXIT_CODES`), and
``--json`` gives stable machine-readable output.

This module only builds the argument parser: ``scmreader --help`` must not import
requests, PyYAML, rich or git. Each command's code is imported when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from scmreader._version import __version__

#: Exit codes by outcome. Library errors carry theirs as ``ScmReaderError.exit_code``.
EXIT_CODES: dict[str, int] = {
    "ok": 0,
    "error (also: config validate found problems)": 1,
    "usage / bad input": 2,
    "bad config": 3,
    "not allowed": 4,
    "http error": 5,
    "not found": 6,
    "authentication / permission": 7,
    "rate limited": 8,
    "upstream or network failure": 9,
    "not modified": 10,
    "unsafe archive": 11,
    "local write failed": 12,
    "interrupted": 130,
}

#: Read when no ``--config`` is given, when they exist in the working directory.
DEFAULT_CONFIG_FILES = ("app-config.yaml", "app-config.local.yaml")

#: Seconds ``read``, ``tree`` and ``search`` wait for a host's answer (``--timeout``).
DEFAULT_TIMEOUT = 30.0

#: Environment variable read when ``--token`` is not given (keeps tokens out of ``ps``).
TOKEN_ENV = "SCMREADER_TOKEN"

#: command name -> (module, function) run for it, imported only when the command runs.
_HANDLERS: dict[str, tuple[str, str]] = {
    "read": ("scmreader.cli._commands", "cmd_read"),
    "tree": ("scmreader.cli._commands", "cmd_tree"),
    "search": ("scmreader.cli._search", "cmd_search"),
    "resolve": ("scmreader.cli._commands", "cmd_resolve"),
    "url-edit": ("scmreader.cli._commands", "cmd_url_edit"),
    "url-fetch": ("scmreader.cli._commands", "cmd_url_fetch"),
    "config-validate": ("scmreader.cli._validate", "cmd_config_validate"),
    "demo": ("scmreader.demo", "cmd_demo"),
    "discover": ("scmreader.cli._discover", "cmd_discover"),
}


def _verbosity(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On sub-commands the defaults are suppressed so `scmreader -v read URL` keeps its -v.
    default: object = 0 if top else argparse.SUPPRESS
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="log one line per HTTP request to stderr (method, URL, status, time, bytes; "
        "secrets redacted); -vv adds scmreader's debug logs, -vvv those of urllib3 and others",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="no progress bar or summary on stderr (errors are still reported)",
    )


def _common(*, reading: bool, config: bool = True) -> _Parser:
    common = _Parser(add_help=False)
    if config:
        common.add_argument(
            "--config",
            "-c",
            action="append",
            metavar="FILE",
            help="app-config file; repeat to merge several (later files win). Default: "
            + " and ".join(DEFAULT_CONFIG_FILES)
            + " in the working directory, when present",
        )
    common.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout; any failure is one JSON object on stderr",
    )
    if reading:
        common.add_argument(
            "--token",
            help=f"use this token for the request instead of the configured credentials "
            f"(default: ${TOKEN_ENV} when set)",
        )
        common.add_argument(
            "--etag",
            help="etag of a previous read: exit 10 without downloading when nothing changed",
        )
        common.add_argument(
            "--cache",
            metavar="PATH",
            help="keep answers in a SQLite response cache at PATH and revalidate them with "
            "ETags next time (instead of the cache configured at scmreader.cache)",
        )
        common.add_argument(
            "--timeout",
            type=_seconds,
            default=DEFAULT_TIMEOUT,
            metavar="SECONDS",
            help="give up on a host that does not answer within SECONDS, retries included "
            f"(default {DEFAULT_TIMEOUT:g}; large downloads are not cut short)",
        )
    if config:
        common.add_argument(
            "--strict",
            action="store_true",
            help="treat unknown config keys (typos) as errors instead of warnings",
        )
    _verbosity(common, top=False)
    return common


def _out_policy(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--force",
        action="store_true",
        help="replace the contents of a non-empty --out folder (swapped in once all is written)",
    )
    group.add_argument(
        "--merge",
        action="store_true",
        help="write into a non-empty --out folder, keeping the files already there",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _line_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a line number (1 or more)")
    return value


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one JSON object on stderr under ``--json``."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        """Report a usage error (exit 2)."""
        if _Parser.json_errors:
            import json

            record = {"type": "UsageError", "message": message, "exit_code": 2}
            self.exit(2, json.dumps({"error": record}) + "\n")
        super().error(message)


def _add_read(sub: Any, reading: _Parser, plain: _Parser) -> None:
    p = sub.add_parser("read", parents=[reading], help="read one file (to stdout or -o FILE)")
    p.add_argument("url", metavar="URL", help="browse URL of the file (as copied from the host)")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE instead of stdout: a regular file is replaced atomically (its "
        "mode kept), a device or FIFO is written into, a symlink is followed",
    )
    p.set_defaults(handler="read")


def _add_tree(sub: Any, reading: _Parser, plain: _Parser) -> None:
    p = sub.add_parser("tree", parents=[reading], help="read a directory tree into a folder")
    p.add_argument("url", metavar="URL", help="browse URL of the folder (or repository)")
    p.add_argument(
        "--out",
        "-o",
        required=True,
        metavar="DIR",
        help="target folder: created when missing; must be empty unless --force or --merge",
    )
    _out_policy(p)
    p.add_argument(
        "--filter",
        action="append",
        metavar="GLOB",
        help="keep only files whose path (relative to the tree) matches GLOB; repeatable, "
        "'**' crosses folders, e.g. --filter 'docs/**' --filter '*.md'",
    )
    p.set_defaults(handler="tree")


def _add_search(sub: Any, reading: _Parser, plain: _Parser) -> None:
    p = sub.add_parser("search", parents=[reading], help="list the files a glob URL matches")
    p.add_argument(
        "url", metavar="GLOB_URL", help="browse URL with a glob, e.g. .../blob/main/**/*.md"
    )
    p.add_argument(
        "--out",
        "-o",
        metavar="DIR",
        help="also write the matched files into DIR (new or empty unless --force or --merge)",
    )
    _out_policy(p)
    p.add_argument(
        "--fail-if-none",
        action="store_true",
        help="exit 1 when nothing matches, like grep (default: exit 0 with an empty list)",
    )
    p.set_defaults(handler="search")


def _add_resolve(sub: Any, reading: _Parser, plain: _Parser) -> None:
    p = sub.add_parser("resolve", parents=[plain], help="resolve a relative URL against a file URL")
    p.add_argument("url", metavar="URL", help="relative (or absolute) URL, e.g. ../b.yaml")
    p.add_argument("--base", required=True, metavar="URL", help="URL of the referring file")
    p.add_argument(
        "--line", type=_line_number, metavar="N", help="point at line N (1 or more) of the result"
    )
    p.set_defaults(handler="resolve")


def _add_url(sub: Any, reading: _Parser, plain: _Parser) -> None:
    p = sub.add_parser("url", help="URL helpers of the integrations")
    url_sub = p.add_subparsers(dest="url_command", metavar="SUBCOMMAND", required=True)
    u = url_sub.add_parser("edit", parents=[plain], help="the host's web-editor URL for a file")
    u.add_argument("url", metavar="URL", help="browse URL of the file")
    u.set_defaults(handler="url-edit")
    fetch_parent = _common(reading=False)
    fetch_parent.add_argument(
        "--token", help="pretend this token is used (it can change the endpoint on GitHub)"
    )
    u = url_sub.add_parser(
        "fetch", parents=[fetch_parent], help="the API URL the reader fetches for a file URL"
    )
    u.add_argument("url", metavar="URL", help="browse URL of the file")
    u.set_defaults(handler="url-fetch")


def _add_config(sub: Any, reading: _Parser, plain: _Parser) -> None:
    p = sub.add_parser("config", help="work with app-config files")
    config_sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    v = config_sub.add_parser(
        "validate",
        parents=[_common(reading=False, config=False)],
        help="check app-config files and report every problem (for CI)",
        description="Load and merge FILEs as the library does and check every integration "
        "and backend.reading.allow entry. Exit 0 when valid, 1 when not, 2 on bad usage.",
    )
    v.add_argument("files", nargs="+", metavar="FILE", help="app-config files, merged in order")
    v.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default=None,
        help="report format: text (default), json, or github (GitHub Actions annotations)",
    )
    v.add_argument("--strict", action="store_true", help="treat warnings as errors")
    v.add_argument(
        "--online",
        action="store_true",
        help="also check each credential against its host (network access needed)",
    )
    v.set_defaults(handler="config-validate")


def _add_demo(sub: Any, reading: _Parser, plain: _Parser) -> None:
    d = sub.add_parser(
        "demo",
        parents=[_common(reading=False, config=False)],
        help="run read, tree and search against a built-in fake GitHub (offline)",
    )
    d.set_defaults(handler="demo")


def _add_discover(sub: Any, reading: _Parser, plain: _Parser) -> None:
    p = sub.add_parser(
        "discover",
        parents=[reading],
        help="read a file or glob in every repository of an owner, group or project",
    )
    p.add_argument(
        "url", metavar="URL", help="e.g. https://github.com/acme/*/blob/-/catalog-info.yaml"
    )
    p.add_argument("--out", metavar="DIR", help="write the files below DIR/<repository>/")
    p.add_argument("--state", metavar="FILE", help="previous run's state; updated afterwards")
    for kind in ("archived", "forks", "empty", "disabled"):
        p.add_argument(f"--include-{kind}", action="store_true", help=f"also read {kind} ones")
    p.set_defaults(handler="discover")


#: Sub-commands in the order ``--help`` lists them, and the function adding each.
_COMMANDS: dict[str, Callable[[Any, _Parser, _Parser], None]] = {
    "read": _add_read,
    "tree": _add_tree,
    "search": _add_search,
    "resolve": _add_resolve,
    "url": _add_url,
    "config": _add_config,
    "demo": _add_demo,
    "discover": _add_discover,
}

#: Options the top-level parser takes before the command (none takes a value).
_TOP_OPTIONS = frozenset({"-v", "-vv", "-vvv", "--verbose", "-q", "--quiet"})


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``scmreader`` command; with ``only``, just that
    sub-command's (what :func:`main` builds to run one command: half the work)."""
    parser = _Parser(
        prog="scmreader",
        description="Read files, trees and glob searches from source-code hosts and object "
        "stores through their HTTP APIs, configured like Backstage integrations.",
        epilog="exit codes:\n"
        + "\n".join(f"  {code:>3}  {name}" for name, code in EXIT_CODES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"scmreader {__version__}")
    _verbosity(parser, top=True)
    reading = _common(reading=True)
    plain = _common(reading=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, add in _COMMANDS.items():
        if only is None or name == only:
            add(sub, reading, plain)
    return parser


def _command_of(arguments: Sequence[str]) -> str | None:
    """The sub-command ``arguments`` run, when only top-level flags come before it (so a
    parser with that sub-command alone parses them exactly as the full one); else None."""
    for argument in arguments:
        if argument in _COMMANDS:
            return argument
        if argument not in _TOP_OPTIONS:
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(arguments))
    options = arguments[: arguments.index("--")] if "--" in arguments else arguments
    _Parser.json_errors = "--json" in options
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, --version, usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    from scmreader.cli._run import run

    module, function = _HANDLERS[args.handler]
    return run(args, module, function)


__all__ = [
    "DEFAULT_CONFIG_FILES",
    "DEFAULT_TIMEOUT",
    "EXIT_CODES",
    "TOKEN_ENV",
    "build_parser",
    "main",
]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
