"""``scmreader config validate FILE...``: exit 0 when valid, 1 when not (2: bad usage)."""

from __future__ import annotations

import argparse

from scmreader.validate import format_report, validate_files


def cmd_config_validate(args: argparse.Namespace) -> int:
    """Check the files, print the report on stdout in the chosen format."""
    fmt = args.format or ("json" if args.json else "text")
    report = validate_files(args.files, strict=args.strict, online=args.online)
    text = format_report(report, fmt)
    if text:
        print(text)
    return 0 if report.valid else 1
