"""The CLI reference page (``docs/cli-reference.md``), generated from the argument parser.

``python -m scmreader.cli._reference docs/cli-reference.md`` rewrites the page; a test
checks that the committed page equals :func:`render`, so it never drifts from the parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence

from scmreader.cli import build_parser

HEADER = (
    "# CLI reference\n\n"
    "Generated from the argument parser by `python -m scmreader.cli._reference "
    "docs/cli-reference.md`; do not edit by hand. How the commands behave (output, exit "
    "codes, local files) is explained in [Command line](cli.md).\n"
)
_WIDTH = 88


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...], summary: str
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str]]:
    yield path, parser, summary
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name), helps.get(name, ""))


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(prog=parser.prog, width=_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _row(action: argparse.Action) -> str | None:
    if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
        return None
    if action.help == argparse.SUPPRESS:
        return None
    if action.option_strings:
        name = ", ".join(f"`{o}`" for o in action.option_strings)
        takes = action.nargs != 0
        metavar = action.metavar or action.dest.upper()
        argument = f"`{metavar}`" if takes and not action.choices else ""
        if action.choices and takes:
            argument = " \\| ".join(f"`{c}`" for c in action.choices)
    else:
        name = f"`{action.metavar or action.dest}`"
        argument = "repeatable" if action.nargs in ("+", "*") else ""
    default = action.default
    shown = (
        f"`{default}`"
        if default not in (None, False, argparse.SUPPRESS, [], 0) and action.nargs != 0
        else ""
    )
    return f"| {name} | {argument} | {shown} | {_cell(action.help or '')} |"


def render() -> str:
    """The whole reference page as Markdown."""
    parts = [HEADER]
    for path, parser, summary in _commands(build_parser(), ("scmreader",), ""):
        rows = [r for r in map(_row, parser._actions) if r]
        parts.append(f"\n## `{' '.join(path)}`\n")
        text = summary or parser.description or ""
        if text:
            parts.append(f"\n{_cell(text)}\n")
        parts.append(f"\n```text\n{_usage(parser)}\n```\n")
        if rows:
            parts.append("\n| argument | value | default | meaning |\n|---|---|---|---|\n")
            parts.append("\n".join(rows) + "\n")
    return "".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the page to the path given (stdout without one)."""
    args = list(sys.argv[1:] if argv is None else argv)
    page = render()
    if args:
        with open(args[0], "w", encoding="utf-8") as out:
            out.write(page)
    else:
        sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
