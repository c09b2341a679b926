"""``scmreader discover URL [--out DIR] [--state FILE] [--json]``: read a file or glob in
every repository a discovery URL matches (see :meth:`UrlReaders.discover`).

Prints one line per result (``status url``), or with ``--json`` one JSON object per line;
``--out`` writes each added, changed or unchanged file to ``DIR/<repository>/<path>``;
``--state`` reads the previous run's state (when the file exists) and writes the new one,
so unchanged repositories cost one conditional request each. A progress line shows on a
terminal. The exit code is a failed listing's, else the first failed repository's, else 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from scmreader.cli._commands import cli_token, print_json, readers_for, show_summary
from scmreader.cli._run import emit
from scmreader.cli._search import _write_below
from scmreader.cli._write import check_out_path
from scmreader.errors import ScmReaderError
from scmreader.urls import parse_url

if TYPE_CHECKING:
    from scmreader.readers._discover import DiscoveryResult


def cmd_discover(args: argparse.Namespace) -> int:
    """Run the discovery; see the module docstring."""
    from scmreader.readers._discover import load_state

    out = check_out_path(args.out) if args.out is not None else None
    readers = readers_for(args)
    progress = _progress if show_summary(args) else None
    run = readers.discover(
        args.url,
        include_archived=args.include_archived,
        include_forks=args.include_forks,
        include_empty=args.include_empty,
        include_disabled=args.include_disabled,
        state=load_state(args.state) if args.state else None,
        token=cli_token(args),
        progress=progress,
    )
    code = 0
    for result in run:
        if out is not None and result.status in ("added", "changed", "unchanged"):
            relative = f"{result.repository}/{_repo_path(result)}"
            _write_below(out, relative, result.content(), args.out)
        if result.error is not None and not code:
            code = getattr(result.error, "exit_code", 1)
        if args.json:
            print_json(_record(result))
        else:
            emit(f"{result.status:9} {result.url}")
    if progress is not None:
        print(file=sys.stderr)
    if args.state:
        run.save_state(args.state)
    s = run.summary
    if show_summary(args):
        print(
            f"{s.repositories} repositories: {s.added} added, {s.changed} changed, "
            f"{s.unchanged} unchanged, {s.removed} removed, {s.missing} without the path, "
            f"{s.errors} failed",
            file=sys.stderr,
        )
    return code


def _record(result: DiscoveryResult) -> dict[str, Any]:
    record: dict[str, Any] = {
        "repository": result.repository,
        "branch": result.branch,
        "url": result.url,
        "etag": result.etag,
        "status": result.status,
    }
    if isinstance(result.error, ScmReaderError):
        record["error"] = {"type": type(result.error).__name__, "message": str(result.error)}
    elif result.error is not None:
        record["error"] = {"type": type(result.error).__name__, "message": "unexpected error"}
    return record


def _repo_path(result: DiscoveryResult) -> str:
    """The file's path inside its repository, read back from its URL: after the branch
    (Harness's ``~/`` dropped), else the ``path`` query (Azure DevOps), else the name."""
    parsed = parse_url(result.url)
    path = unquote(parsed.path)
    marker = f"/{result.branch}/" if result.branch else ""
    if marker and marker in path:
        return path.split(marker, 1)[1].removeprefix("~/")
    query = parse_qs(parsed.query).get("path", [""])[0].strip("/")
    return query or path.rsplit("/", 1)[-1]


def _progress(done: int, total: int) -> None:
    print(f"\rdiscover: {done}/{total} repositories", end="", file=sys.stderr, flush=True)
