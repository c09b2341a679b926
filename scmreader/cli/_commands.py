"""``read``, ``tree``, ``search``, ``resolve`` and ``url edit|fetch``."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scmreader.cli import TOKEN_ENV
from scmreader.cli._run import emit
from scmreader.cli._write import (
    check_out_path,
    copy_stream,
    out_folder,
    write_file,
)
from scmreader.errors import ConflictError, InputError, TargetWriteError
from scmreader.readers.types import FileInfo

if TYPE_CHECKING:
    from scmreader.config import Config
    from scmreader.integrations import ScmIntegrations
    from scmreader.readers import UrlReaders

# --- shared ---------------------------------------------------------------------------


def load_cli_config(files: Sequence[str] | None, *, strict: bool = False) -> Config:
    """The files named by ``--config``, else the default files present in the cwd (what
    ``load_config()`` reads). Unknown keys are logged as warnings on ``scmreader.config``
    (the CLI prints them on stderr); with ``strict`` they are a ConfigError."""
    from scmreader.config import load_config

    return load_config(*(files or ()), strict=strict)


def cli_token(args: argparse.Namespace) -> str | None:
    """``--token``, else ``$SCMREADER_TOKEN``; registered for redaction."""
    from scmreader.redact import register_secret

    token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV) or None
    register_secret(token)
    return token


def readers_for(args: argparse.Namespace) -> UrlReaders:
    """The readers for a command's ``--config``, ``--strict``, ``--cache`` and ``--timeout``."""
    from dataclasses import replace

    from scmreader.cache import http_client_from_config
    from scmreader.readers import UrlReaders

    config = load_cli_config(args.config, strict=args.strict)
    cache_path = getattr(args, "cache", None)
    if cache_path:
        check_cache_file(cache_path)
    http = http_client_from_config(config, cache_path=cache_path or None)
    limit = float(args.timeout)
    s = http.settings
    # --timeout bounds the wait for each answer (connect, headers, retries), not the
    # download of a large body, which keeps the client's body deadline.
    http.settings = replace(
        s,
        connect_timeout=min(s.connect_timeout, limit),
        read_timeout=min(s.read_timeout, limit),
        request_deadline=min(s.request_deadline, limit),
    )
    return UrlReaders.default(config, http=http)


_SQLITE_HEADER = b"SQLite format 3\x00"


def check_cache_file(path: str) -> None:
    """InputError when ``--cache PATH`` is an existing file that is not a SQLite database:
    the user's file is never touched (nor suggested for deletion)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        head = b"folder"
    except OSError as exc:
        raise InputError(
            f"--cache {path!r} cannot be opened ({exc.strerror}); give a path scmreader may "
            "create and write, e.g. ~/.cache/scmreader/responses.sqlite"
        ) from None
    if head and (head != _SQLITE_HEADER or not _only_cache_tables(path)):
        kind = (
            "is another SQLite database" if head == _SQLITE_HEADER else "is not a SQLite database"
        )
        raise InputError(
            f"--cache {path!r} exists and {kind}, so it is not a response cache; scmreader "
            "leaves it alone. Give a new path (created on first use) or the path of an "
            "existing scmreader cache."
        )


#: Tables (and indexes) of scmreader's SQLite response cache.
_CACHE_TABLES = frozenset({"responses", "responses_accessed"})


def _only_cache_tables(path: str) -> bool:
    """Whether the SQLite file at ``path`` holds nothing but the response cache's tables
    (read-only look; an unreadable file is left for the cache to report)."""
    import sqlite3

    try:
        with contextlib.closing(
            sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        ) as db:
            names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error:
        return True
    return {n for n in names if not n.startswith("sqlite_")} <= _CACHE_TABLES


def _integrations(args: argparse.Namespace) -> ScmIntegrations:
    from scmreader.integrations import ScmIntegrations

    return ScmIntegrations.from_config(load_cli_config(args.config, strict=args.strict))


def print_json(data: dict[str, Any]) -> None:
    """One JSON object and a newline on stdout (only when not interrupted)."""
    emit(json.dumps(data, default=str, ensure_ascii=False))


def show_summary(args: argparse.Namespace) -> bool:
    """Whether to print human summaries on stderr: a terminal, and not ``-q``."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


# --- read -----------------------------------------------------------------------------


def cmd_read(args: argparse.Namespace) -> int:
    """``scmreader read URL [-o FILE]``: the file's bytes to stdout or FILE."""
    if args.output is not None and not args.output.strip():
        raise InputError("-o/--output is empty; give a file path, or '-' for stdout")
    response = readers_for(args).read_url(args.url, etag=args.etag, token=cli_token(args))
    output = None if args.output in (None, "-") else args.output
    stream = response.stream()
    content: bytes | None = None
    try:
        if output is not None:
            size = write_file(output, stream)
        elif args.json:
            content = stream.read()
            size = len(content)
        else:
            sys.stdout.flush()
            size = copy_stream(stream, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    finally:
        stream.close()
    if args.json:
        data: dict[str, Any] = {
            "url": args.url,
            "etag": response.etag,
            "last_modified_at": response.last_modified_at,
            "size": size,
            "output": output,
        }
        if content is not None:
            try:
                data["content"] = content.decode("utf-8")
            except UnicodeDecodeError:
                data["content_base64"] = base64.b64encode(content).decode("ascii")
        print_json(data)
    elif output is not None and show_summary(args):
        print(f"wrote {size} bytes to {output} (etag {response.etag})", file=sys.stderr)
    return 0


# --- tree -----------------------------------------------------------------------------


class _TreeSelection:
    """The ``--filter`` globs as a tree filter that also counts for the progress bar."""

    def __init__(self, globs: Sequence[str] | None, progress: Any) -> None:
        self.globs = list(globs or [])
        self.progress = progress
        self.paths: list[str] = []

    def __call__(self, path: str, info: FileInfo) -> bool:
        if self.globs:
            from wcmatch import glob as wglob

            flags = wglob.GLOBSTAR | wglob.BRACE | wglob.DOTGLOB | wglob.NEGATE
            if not wglob.globmatch(path, self.globs, flags=flags):
                return False
        self.paths.append(path)
        self.progress.advance(info.size)
        return True


def cmd_tree(args: argparse.Namespace) -> int:
    """``scmreader tree URL --out DIR [--filter GLOB]... [--force | --merge]``."""
    from scmreader.cli._progress import TreeProgress

    out = check_out_path(args.out)
    readers = readers_for(args)
    token = cli_token(args)
    enabled = not args.quiet and sys.stderr.isatty()
    with (
        out_folder(out, force=args.force, merge=args.merge) as folder,
        TreeProgress(enabled=enabled, description=f"reading into {out}") as progress,
    ):
        selection = _TreeSelection(args.filter, progress)
        tree = readers.read_tree(args.url, etag=args.etag, filter=selection, token=token)
        try:
            tree.dir(folder)
        except (TargetWriteError, ConflictError) as exc:
            # The library names the file below the folder; say which folder, too.
            raise TargetWriteError(f"Writing the tree into {args.out!r} failed: {exc}") from None
    if args.json:
        print_json(
            {
                "url": args.url,
                "etag": tree.etag,
                "dir": str(out),
                "files": selection.paths,
                "file_count": progress.files,
                "bytes": progress.bytes,
            }
        )
    elif show_summary(args):
        print(
            f"wrote {progress.files} files ({progress.bytes} bytes) to {out} (etag {tree.etag})",
            file=sys.stderr,
        )
    return 0


# --- resolve / url --------------------------------------------------------------------


def cmd_resolve(args: argparse.Namespace) -> int:
    """``scmreader resolve URL --base URL [--line N]``."""
    resolved = _integrations(args).resolve_url(url=args.url, base=args.base, line_number=args.line)
    if args.json:
        print_json({"url": args.url, "base": args.base, "line": args.line, "resolved": resolved})
    else:
        emit(resolved)
    return 0


def cmd_url_edit(args: argparse.Namespace) -> int:
    """``scmreader url edit URL``: the host's web-editor URL."""
    edit = _integrations(args).resolve_edit_url(args.url)
    if args.json:
        print_json({"url": args.url, "edit_url": edit})
    else:
        emit(edit)
    return 0


def cmd_url_fetch(args: argparse.Namespace) -> int:
    """``scmreader url fetch URL``: the API URL the reader would fetch for a file URL."""
    from scmreader.cli._fetch_url import fetch_url

    integrations = _integrations(args)
    integration = integrations.by_url(args.url)
    if integration is None:
        from scmreader.errors import NotAllowedError
        from scmreader.redact import redact_url

        raise NotAllowedError(
            f"No integration is configured for {redact_url(args.url)}; add one under "
            "'integrations' (url fetch only knows integration hosts)."
        )
    api_url = fetch_url(integration, args.url, token=cli_token(args))
    if args.json:
        print_json(
            {
                "url": args.url,
                "integration": integration.type,
                "host": integration.host,
                "fetch_url": api_url,
            }
        )
    else:
        emit(api_url)
    return 0
