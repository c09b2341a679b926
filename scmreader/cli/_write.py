"""Local writes of the CLI: ``read -o FILE`` and the ``--out`` folders of ``tree`` and ``search``.

Rules (the README's "Local files" section says the same):

- a new path or an existing regular file is replaced atomically (temporary file in the same
  folder, then rename); an existing file keeps its permission bits (and, for root, its
  owner); a file with several hard links is written in place instead;
- anything else that is not a folder (a device such as ``/dev/null``, a FIFO, a terminal,
  a socket) is opened and written directly, never replaced;
- a symlink is followed: the file it points to is written (by the rules above) and the
  link stays a link;
- every failure is a :class:`~scmreader.errors.TargetWriteError` (exit 12) naming the path
  the user gave, never a temporary name.

An ``--out`` folder must be new or empty, unless ``merge`` (write into it, keeping other
files) or ``force`` (replace its contents: the tree is written to a new folder next to it,
which takes its place only when everything was written).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from scmreader.errors import InputError, TargetWriteError

_CHUNK = 256 * 1024


def copy_stream(src: BinaryIO, dst: BinaryIO) -> int:
    """Copy ``src`` to ``dst`` in chunks; return the number of bytes."""
    total = 0
    while chunk := src.read(_CHUNK):
        dst.write(chunk)
        total += len(chunk)
    return total


def write_error(
    path: str | os.PathLike[str], exc: OSError, what: str = "write"
) -> TargetWriteError:
    """A TargetWriteError naming ``path`` (the user's path) and the reason."""
    reason = exc.strerror or type(exc).__name__
    return TargetWriteError(
        f"Cannot {what} {os.fspath(path)!r} ({reason}); check that its folder exists and is "
        "writable and that the disk has space, or choose another path."
    )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace_atomically(target: Path, src: BinaryIO, mode: int, old: os.stat_result | None) -> int:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            size = copy_stream(src, out)
        if old is not None and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(OSError):  # keep the owner when allowed (root)
                os.chown(tmp, old.st_uid, old.st_gid)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return size


def write_file(path: str | os.PathLike[str], src: BinaryIO) -> int:
    """Write ``src`` to ``path`` by the rules of this module; return the byte count."""
    user_path = os.fspath(path)
    target = Path(user_path)
    try:
        if target.is_symlink():
            target = Path(os.path.realpath(target))
        try:
            info: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise TargetWriteError(f"Cannot write {user_path!r}: it is a folder; give a file path.")
        if info is not None and (not stat.S_ISREG(info.st_mode) or info.st_nlink > 1):
            # A device, FIFO, terminal or socket: write into it, never replace it. So is a
            # file with several hard links, so that every name sees the new content.
            with open(target, "wb", buffering=0) as out:
                return copy_stream(src, out)
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
        return _replace_atomically(target, src, mode, info)
    except OSError as exc:
        raise write_error(user_path, exc) from None


# --- --out folders ---------------------------------------------------------------------


def check_out_path(out: str) -> Path:
    """Usage checks of an ``--out`` value: not empty."""
    if not out.strip():
        raise InputError("--out is empty; give the folder to write into, e.g. --out ./docs")
    return Path(out)


def _is_empty_dir(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


@contextlib.contextmanager
def out_folder(out: Path, *, force: bool, merge: bool) -> Iterator[Path]:
    """The folder to write an ``--out`` tree into; cleans up on failure.

    New ``out``: ``out`` itself, removed again on failure. Empty: ``out``. Non-empty:
    refused, unless ``merge`` (``out`` itself) or ``force`` (a fresh sibling folder that
    replaces ``out`` on success).
    A symlink to a folder is followed. Failures to prepare are TargetWriteError.
    """
    user = str(out)
    real = Path(os.path.realpath(out)) if out.is_symlink() else out
    if real.exists() and not real.is_dir():
        raise TargetWriteError(
            f"Cannot write into {user!r}: it exists and is not a folder; choose a folder path."
        )
    if not real.exists():
        try:
            yield real
        except BaseException:
            shutil.rmtree(real, ignore_errors=True)  # created by this command: remove it
            raise
        return
    if merge or _is_empty_dir(real):
        yield real
        return
    if not force:
        raise TargetWriteError(
            f"{user!r} is not empty; pass --force to replace its contents, or --merge to "
            "write into it and keep the files already there."
        )
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=".new", dir=real.parent))
    except OSError as exc:
        raise write_error(user, exc, "replace") from None
    try:
        yield staging
        old = real.with_name(f"{staging.name[:-4]}.old")
        os.rename(real, old)
        try:
            os.rename(staging, real)
        except OSError:
            os.rename(old, real)
            raise
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise write_error(user, exc, "replace") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


__all__ = ["check_out_path", "copy_stream", "out_folder", "write_error", "write_file"]
