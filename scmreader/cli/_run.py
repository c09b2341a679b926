"""Running one command: logging for ``-v``, and turning failures into exit codes."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from scmreader.errors import (
    ConfigError,
    HttpStatusError,
    NotModifiedError,
    RateLimitedError,
    ScmReaderError,
)
from scmreader.redact import redact

#: Loggers shown with ``-v``: one line per request, from scmreader and from urllib3's pool.
REQUEST_LOGGERS = ("scmreader.http", "urllib3.connectionpool")
#: Loggers shown with ``-vv``.
ALL_LOGGERS = ("scmreader", "urllib3", "tenacity")


def setup_logging(verbose: int) -> Callable[[], None]:
    """Send the request loggers (all library loggers when ``verbose > 1``) to stderr at DEBUG,
    through a redacting filter; returns a function that undoes it."""
    from scmreader.redact import RedactingFilter, install_log_redaction

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    names = REQUEST_LOGGERS if verbose <= 1 else ALL_LOGGERS
    install_log_redaction(*names)
    saved: list[tuple[logging.Logger, int]] = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)

    def restore() -> None:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)

    return restore


def error_record(exc: ScmReaderError) -> dict[str, Any]:
    """The JSON object describing ``exc`` (printed on stderr with ``--json``)."""
    record: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": redact(str(exc)),
        "exit_code": exc.exit_code,
    }
    if isinstance(exc, HttpStatusError) and exc.status is not None:
        record["status"] = exc.status
    if isinstance(exc, NotModifiedError) and exc.etag:
        record["etag"] = exc.etag
    if isinstance(exc, RateLimitedError) and exc.reset_at is not None:
        record["reset_at"] = exc.reset_at.isoformat()
    if isinstance(exc, ConfigError):
        record.update(key_path=exc.key_path, file=exc.file, line=exc.line)
    return record


def report_error(args: argparse.Namespace, exc: ScmReaderError) -> None:
    """One line (or one JSON object with ``--json``) on stderr."""
    if getattr(args, "json", False):
        print(json.dumps({"error": error_record(exc)}), file=sys.stderr)
    else:
        print(f"scmreader: {type(exc).__name__}: {redact(str(exc))}", file=sys.stderr)


def run(args: argparse.Namespace, module: str, function: str) -> int:
    """Import and run one command handler; map every failure to its exit code."""
    verbose = int(getattr(args, "verbose", 0) or 0)
    restore = setup_logging(verbose) if verbose else None
    try:
        handler = getattr(importlib.import_module(module), function)
        code: int = handler(args)
        return code
    except ScmReaderError as exc:
        report_error(args, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("scmreader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except OSError as exc:
        # Local files: -o/--out not writable, disk full...
        where = f" '{exc.filename}'" if exc.filename else ""
        reason = exc.strerror or type(exc).__name__
        print(f"scmreader: cannot write{where}: {reason}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one redacted line, the traceback only with -v
        if verbose:
            import traceback

            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print(
            f"scmreader: internal error: {type(exc).__name__}: {redact(str(exc))} "
            "(run with -v for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        if restore is not None:
            restore()
