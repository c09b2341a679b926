"""``scmreader search GLOB_URL [--out DIR]``: glob checks, match paths, writing matches."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, unquote

from scmreader.cli._commands import cli_token, print_json, readers_for, show_summary
from scmreader.cli._run import emit
from scmreader.cli._write import check_out_path, out_folder, write_error, write_file
from scmreader.errors import InputError, TargetWriteError


def relative_search_path(glob_url: str, file_url: str) -> str:
    """Where a search match goes below ``--out``: its path after the glob's static prefix.

    ``https://h/o/r/blob/main/**/c.yaml`` + ``https://h/o/r/blob/main/a/c.yaml`` -> ``a/c.yaml``.
    Providers that put the path in a ``path`` query parameter (Azure) are handled the same
    way; anything else falls back to the file name. InputError for unsafe paths.
    """
    from scmreader.urls import glob_static_prefix, is_glob, parse_url

    g, f = parse_url(glob_url), parse_url(file_url)
    pairs = [(g.path, f.path)]
    gq, fq = dict(parse_qsl(g.query)), dict(parse_qsl(f.query))
    if "path" in gq and "path" in fq:
        pairs.insert(0, (gq["path"], fq["path"]))
    relative = ""
    for pattern, path in pairs:
        pattern, path = unquote(pattern).lstrip("/"), unquote(path).lstrip("/")
        prefix = glob_static_prefix(pattern) if is_glob(pattern) else pattern.rpartition("/")[0]
        if prefix and path.startswith(prefix + "/"):
            relative = path[len(prefix) + 1 :]
            break
    if not relative:
        relative = unquote(f.path).rstrip("/").rpartition("/")[2]
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        raise InputError(
            f"cannot write the search match {file_url} below --out: its path '{relative}' "
            "is not a plain relative path"
        )
    return "/".join(parts)


def check_glob(url: str) -> None:
    """InputError (exit 2) when the glob in ``url``'s path is malformed: an unclosed ``[``
    or unbalanced ``{``/``}``."""
    from scmreader.urls import parse_url

    path = unquote(parse_url(url).path)
    depth = 0
    i = 0
    problem = ""
    while i < len(path) and not problem:
        c = path[i]
        if c == "[":
            start = i + 2 if path[i + 1 : i + 2] in ("!", "^") else i + 1
            close = path.find("]", start + 1)
            if close < 0:
                problem = f"the '[' at position {i + 1} of the path is never closed"
            i = max(close, i)
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                problem = f"the '}}' at position {i + 1} of the path has no '{{'"
        i += 1
    if not problem and depth > 0:
        problem = "a '{' in the path is never closed"
    if problem:
        raise InputError(
            f"The glob in {url} is malformed: {problem}. Close it (e.g. '[ab].md', "
            "'{a,b}.md'), or escape a literal bracket as '[[]'."
        )


def _write_below(root: Path, relative: str, content: bytes, label: str | None = None) -> Path:
    """Write ``content`` at ``root/relative``, refusing to leave ``root`` (links included).

    Containment is checked on the nearest folder that already exists *before* anything is
    created, so a symlink inside ``root`` cannot make ``mkdir`` land outside it. ``label``
    is the folder as the user wrote it, for messages.
    """
    import io

    label = str(root) if label is None else label
    real_root = root.resolve()
    target = root.joinpath(*relative.split("/"))
    existing = target.parent
    while not existing.exists() and existing != root:
        existing = existing.parent
    if not existing.resolve().is_relative_to(real_root) or target.is_symlink():
        raise InputError(f"refusing to write '{relative}': it would leave {label!r}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file(target, io.BytesIO(content))
    except (OSError, TargetWriteError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise TargetWriteError(
            f"Cannot write '{relative}' below {label!r} ({reason}); check free space and "
            "permissions, or choose another --out folder."
        ) from None
    return target


def cmd_search(args: argparse.Namespace) -> int:
    """``scmreader search GLOB_URL [--out DIR] [--fail-if-none]``: matched URLs, one per line.

    Nothing matched: exit 0 with an empty list, or 1 with ``--fail-if-none`` (like grep)."""
    out = check_out_path(args.out) if args.out is not None else None
    check_glob(args.url)
    readers = readers_for(args)
    records: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        folder = None
        if out is not None:
            folder = stack.enter_context(out_folder(out, force=args.force, merge=args.merge))
        result = readers.search(args.url, etag=args.etag, token=cli_token(args))
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise write_error(args.out, exc, "create the folder") from None
        for found in result.files:
            record: dict[str, Any] = {"url": found.url, "last_modified_at": found.last_modified_at}
            if folder is not None:
                relative = relative_search_path(args.url, found.url)
                _write_below(folder, relative, found.content(), args.out)
                record["path"] = relative
            records.append(record)
    if args.json:
        print_json({"url": args.url, "etag": result.etag, "files": records})
    else:
        emit("".join(f"{r['url']}\n" for r in records), end="")
        if out is not None and show_summary(args):
            print(f"wrote {len(records)} files to {out}", file=sys.stderr)
    return 1 if not records and args.fail_if_none else 0
