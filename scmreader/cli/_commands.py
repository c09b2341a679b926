"""``read``, ``tree``, ``search``, ``resolve`` and ``url edit|fetch``."""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import parse_qsl, unquote

from scmreader.cli import DEFAULT_CONFIG_FILES, TOKEN_ENV
from scmreader.errors import InputError, TargetWriteError
from scmreader.readers.types import FileInfo

if TYPE_CHECKING:
    from scmreader.config import Config
    from scmreader.integrations import ScmIntegrations
    from scmreader.readers import UrlReaders

_CHUNK = 256 * 1024


# --- shared ---------------------------------------------------------------------------


def load_cli_config(files: Sequence[str] | None) -> Config:
    """The files named by ``--config``, else the default files present in the cwd."""
    from scmreader.config import load_config

    if files:
        return load_config(*files)
    return load_config(*[f for f in DEFAULT_CONFIG_FILES if os.path.exists(f)])


def cli_token(args: argparse.Namespace) -> str | None:
    """``--token``, else ``$SCMREADER_TOKEN``; registered for redaction."""
    from scmreader.redact import register_secret

    token = getattr(args, "token", None) or os.environ.get(TOKEN_ENV) or None
    register_secret(token)
    return token


def _readers(args: argparse.Namespace) -> UrlReaders:
    from scmreader.readers import UrlReaders

    config = load_cli_config(args.config)
    cache_path = getattr(args, "cache", None)
    if cache_path:
        from scmreader.cache import http_client_from_config

        return UrlReaders.default(
            config, http=http_client_from_config(config, cache_path=cache_path)
        )
    return UrlReaders.default(config)


def _integrations(args: argparse.Namespace) -> ScmIntegrations:
    from scmreader.integrations import ScmIntegrations

    return ScmIntegrations.from_config(load_cli_config(args.config))


def print_json(data: dict[str, Any]) -> None:
    """One JSON object and a newline on stdout."""
    print(json.dumps(data, default=str, ensure_ascii=False))


def show_summary(args: argparse.Namespace) -> bool:
    """Whether to print human summaries on stderr: a terminal, and not ``-q``."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def _copy(src: BinaryIO, dst: BinaryIO) -> int:
    total = 0
    while chunk := src.read(_CHUNK):
        dst.write(chunk)
        total += len(chunk)
    return total


def write_atomically(path: str | Path, src: BinaryIO) -> int:
    """Stream ``src`` into ``path`` through a temporary file: no half-written file on error."""
    import tempfile

    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            size = _copy(src, out)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return size


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- read -----------------------------------------------------------------------------


def cmd_read(args: argparse.Namespace) -> int:
    """``scmreader read URL [-o FILE]``: the file's bytes to stdout or FILE."""
    response = _readers(args).read_url(args.url, etag=args.etag, token=cli_token(args))
    output = None if args.output in (None, "-") else args.output
    stream = response.stream()
    content: bytes | None = None
    try:
        if output is not None:
            size = write_atomically(output, stream)
        elif args.json:
            content = stream.read()
            size = len(content)
        else:
            sys.stdout.flush()
            size = _copy(stream, sys.stdout.buffer)
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
    """``scmreader tree URL --out DIR [--filter GLOB]...``."""
    from scmreader.cli._progress import TreeProgress

    readers = _readers(args)
    token = cli_token(args)
    out = Path(args.out)
    enabled = not args.quiet and sys.stderr.isatty()
    with TreeProgress(enabled=enabled, description=f"reading into {out}") as progress:
        selection = _TreeSelection(args.filter, progress)
        tree = readers.read_tree(args.url, etag=args.etag, filter=selection, token=token)
        target = tree.dir(out)
    if args.json:
        print_json(
            {
                "url": args.url,
                "etag": tree.etag,
                "dir": str(target),
                "files": selection.paths,
                "file_count": progress.files,
                "bytes": progress.bytes,
            }
        )
    elif show_summary(args):
        print(
            f"wrote {progress.files} files ({progress.bytes} bytes) to {target} (etag {tree.etag})",
            file=sys.stderr,
        )
    return 0


# --- search ---------------------------------------------------------------------------


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


def _write_below(root: Path, relative: str, content: bytes) -> Path:
    """Write ``content`` at ``root/relative``, refusing to leave ``root`` (links included).

    Containment is checked on the nearest folder that already exists *before* anything is
    created, so a symlink inside ``root`` cannot make ``mkdir`` land outside it.
    """
    import io

    real_root = root.resolve()
    target = root.joinpath(*relative.split("/"))
    existing = target.parent
    while not existing.exists() and existing != root:
        existing = existing.parent
    if not existing.resolve().is_relative_to(real_root) or target.is_symlink():
        raise InputError(f"refusing to write '{relative}': it would leave {root}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, io.BytesIO(content))
    except OSError as exc:
        raise TargetWriteError(
            f"could not write '{relative}' below {root} ({exc.strerror or type(exc).__name__}); "
            "check free space and permissions."
        ) from None
    return target


def cmd_search(args: argparse.Namespace) -> int:
    """``scmreader search GLOB_URL [--out DIR]``: matched URLs, one per line."""
    result = _readers(args).search(args.url, etag=args.etag, token=cli_token(args))
    out = Path(args.out) if args.out else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetWriteError(
                f"could not create {out} ({exc.strerror or type(exc).__name__}); choose "
                "another --out folder."
            ) from None
    records: list[dict[str, Any]] = []
    for found in result.files:
        record: dict[str, Any] = {"url": found.url, "last_modified_at": found.last_modified_at}
        if out is not None:
            relative = relative_search_path(args.url, found.url)
            _write_below(out, relative, found.content())
            record["path"] = relative
        records.append(record)
        if not args.json:
            print(found.url)
    if args.json:
        print_json({"url": args.url, "etag": result.etag, "files": records})
    elif out is not None and show_summary(args):
        print(f"wrote {len(records)} files to {out}", file=sys.stderr)
    return 0


# --- resolve / url --------------------------------------------------------------------


def cmd_resolve(args: argparse.Namespace) -> int:
    """``scmreader resolve URL --base URL [--line N]``."""
    resolved = _integrations(args).resolve_url(url=args.url, base=args.base, line_number=args.line)
    if args.json:
        print_json({"url": args.url, "base": args.base, "line": args.line, "resolved": resolved})
    else:
        print(resolved)
    return 0


def cmd_url_edit(args: argparse.Namespace) -> int:
    """``scmreader url edit URL``: the host's web-editor URL."""
    edit = _integrations(args).resolve_edit_url(args.url)
    if args.json:
        print_json({"url": args.url, "edit_url": edit})
    else:
        print(edit)
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
        print(api_url)
    return 0
