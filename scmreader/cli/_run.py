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
    TargetWriteError,
)
from scmreader.redact import redact

#: ``-v``: one line per HTTP request (method, redacted URL, status, time, bytes).
REQUEST_LOGGERS = ("scmreader.http.requests",)
#: ``-vv``: every scmreader log record.
LIBRARY_LOGGERS = ("scmreader",)
#: ``-vvv``: also the libraries underneath (urllib3's connection pool, tenacity, botocore).
THIRD_PARTY_LOGGERS = ("urllib3", "tenacity", "botocore", "azure", "google")
#: Warnings of this logger (unknown config keys...) are printed on stderr once each.
CONFIG_LOGGER = "scmreader.config"


def setup_logging(verbose: int, *, json_mode: bool = False) -> Callable[[], None]:
    """Route log records to stderr through a redacting filter; returns a function that
    undoes it. Config warnings are always shown (once each); ``verbose`` adds request
    lines (1), library debug records (2) and third-party debug records (3 or more)."""
    from scmreader.redact import RedactingFilter, install_log_redaction

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    names: tuple[str, ...] = ()
    if verbose >= 1:
        names = REQUEST_LOGGERS
    if verbose >= 2:
        names = LIBRARY_LOGGERS
    if verbose >= 3:
        names = LIBRARY_LOGGERS + THIRD_PARTY_LOGGERS
    install_log_redaction(*names, CONFIG_LOGGER)
    saved: list[tuple[logging.Logger, int, logging.Handler]] = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, handler))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    if verbose < 2:  # with -vv the "scmreader" handler shows config warnings already
        warnings = logging.getLogger(CONFIG_LOGGER)
        once = _OnceHandler(json_mode)
        saved.append((warnings, warnings.level, once))
        if warnings.getEffectiveLevel() > logging.WARNING:
            warnings.setLevel(logging.WARNING)
        warnings.addHandler(once)

    def restore() -> None:
        for logger, level, added in saved:
            logger.removeHandler(added)
            logger.setLevel(level)

    return restore


#: JSON key -> LogRecord attribute of the config loader's warnings (``extra=``).
_WARNING_FIELDS = (("key_path", "key_path"), ("file", "config_file"), ("line", "config_line"))


class _OnceHandler(logging.Handler):
    """Config warnings on stderr, each distinct message once (JSON objects with --json)."""

    def __init__(self, json_mode: bool) -> None:
        super().__init__(logging.WARNING)
        from scmreader.redact import RedactingFilter

        self.addFilter(RedactingFilter())
        self._json = json_mode
        self._seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message in self._seen:
            return
        self._seen.add(message)
        if self._json:
            found: dict[str, Any] = {"message": message}
            for key, attribute in _WARNING_FIELDS:
                value = getattr(record, attribute, None)
                if value is not None:
                    found[key] = value
            print(json.dumps({"warning": found}), file=sys.stderr)
        else:
            print(f"scmreader: warning: {message}", file=sys.stderr)


class _State:
    """Whether the running command was interrupted (SIGINT seen, even if swallowed)."""

    interrupted = False


def emit(text: str, *, end: str = "\n") -> None:
    """Print success output on stdout, unless the command was interrupted: then raise
    KeyboardInterrupt, so no success object is printed for a run that exits 130."""
    if _State.interrupted:
        raise KeyboardInterrupt
    sys.stdout.write(text + end)


def _on_sigint(signum: int, frame: object) -> None:
    _State.interrupted = True
    raise KeyboardInterrupt


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
    report_failure(args, error_record(exc))


def report_failure(args: argparse.Namespace | None, record: dict[str, Any]) -> None:
    """Print a failure ``{"type", "message", "exit_code", ...}`` on stderr: one JSON object
    with ``--json``, else ``scmreader: TYPE: MESSAGE``."""
    if getattr(args, "json", False):
        print(json.dumps({"error": record}), file=sys.stderr)
    else:
        print(f"scmreader: {record['type']}: {record['message']}", file=sys.stderr)


def _failure(kind: str, message: str, code: int) -> dict[str, Any]:
    return {"type": kind, "message": redact(message), "exit_code": code}


def run(args: argparse.Namespace, module: str, function: str) -> int:
    """Import and run one command handler; map every failure to its exit code."""
    import signal
    import threading

    verbose = int(getattr(args, "verbose", 0) or 0)
    restore = setup_logging(verbose, json_mode=bool(getattr(args, "json", False)))
    _State.interrupted = False
    installed = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _on_sigint) if installed else None
    try:
        handler = getattr(importlib.import_module(module), function)
        code: int = handler(args)
        if _State.interrupted:  # a library swallowed the KeyboardInterrupt
            raise KeyboardInterrupt
        return code
    except ScmReaderError as exc:
        report_error(args, exc)
        return exc.exit_code
    except KeyboardInterrupt:
        report_failure(args, _failure("Interrupted", "interrupted; nothing was completed", 130))
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
        # A local write the commands did not wrap themselves: still a TargetWriteError.
        from scmreader.cli._write import write_error

        report_error(args, write_error(exc.filename or "the output", exc))
        return TargetWriteError.exit_code
    except Exception as exc:  # a bug: one redacted line, the traceback only with -v
        if verbose:
            import traceback

            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        message = f"{type(exc).__name__}: {exc} (run with -v for the traceback)"
        report_failure(args, _failure("InternalError", message, 1))
        return 1
    finally:
        if installed:
            signal.signal(signal.SIGINT, previous or signal.default_int_handler)
        restore()
