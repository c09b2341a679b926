"""Entry names: safety checks, strip/sub-path mapping and collision detection."""

from __future__ import annotations

import re
import unicodedata

from scmreader.errors import ArchiveLimitError, InputError, UnsafeArchiveError
from scmreader.readers.tree._limits import ArchiveLimits
from scmreader.urls import MAX_DECODE_ROUNDS, decode_fully

# Entry kinds shared by every source.
FILE = 0
DIR = 1
SYMLINK = 2
HARDLINK = 3

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Unicode categories refused in names besides C0 controls: C1 controls (Cc), format
#: characters such as bidi overrides and zero-width joiners (Cf), line/paragraph separators,
#: and lone surrogates: they hide or reorder what a name shows in a terminal or a listing.
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _invisible(name: str) -> str | None:
    """The first invisible or bidirectional control character of ``name``, if any."""
    for char in name:
        if not char.isascii() and unicodedata.category(char) in _INVISIBLE:
            return char
    return None


_SEPARATORS = re.compile(r"[/\\]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def describe(name: str) -> str:
    """``name`` quoted for an error message, shortened when very long."""
    return repr(name if len(name) <= 200 else name[:100] + "..." + name[-60:])


def fold(path: str) -> str:
    """The key two names share when they collide on a case-insensitive or normalising
    file system (``README`` / ``readme``; NFC ``é`` / NFD ``e\u0301``)."""
    if path.isascii():
        return path.lower()
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


class PathRules:
    """Checks raw entry names and turns them into clean ``/``-separated relative paths."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self._max_name = limits.max_name_length
        self._max_component = limits.max_component_length
        self._max_depth = limits.max_depth
        # Below this many characters no length limit can be exceeded (4 bytes per char).
        self._short = min(self._max_component // 4, self._max_name // 4, 2 * self._max_depth - 1)

    def clean(self, raw: str) -> str:
        """``raw`` as a safe relative path ('' for the archive root, e.g. ``./``).

        Rejects absolute names (``/x``, ``////x``, ``\\x``, ``C:x``), ``..`` segments (also
        when separated by ``\\`` or percent-encoded, decoded with
        :func:`scmreader.urls.decode_fully`; a name encoded deeper than it decodes is
        refused too), and control characters (C0, C1, format and bidi controls such as
        U+202E, line separators); drops ``.`` and empty segments and trailing
        slashes.
        """
        s = raw
        if (
            s.isprintable()
            and ".." not in s
            and "\\" not in s
            and "%" not in s
            and "//" not in s
            and s[:1] != "/"
            and s[1:2] != ":"
            and "/./" not in s
            and s[:2] != "./"
            and s[-2:] != "/."
            and s != "."
        ):
            if s[-1:] == "/":
                s = s.rstrip("/")
        else:
            s = self._slow_clean(raw)
        if len(s) > self._short:
            self._check_length(s)
        return s

    def _slow_clean(self, raw: str) -> str:
        if _CONTROL.search(raw):
            raise UnsafeArchiveError(
                f"The archive has an entry whose name contains a control character "
                f"({describe(raw)}); refusing to extract it. The archive is malformed or hostile."
            )
        hidden = _invisible(raw)
        if hidden is not None:
            raise UnsafeArchiveError(
                f"The archive has an entry whose name contains the invisible or bidirectional "
                f"control character U+{ord(hidden):04X} ({describe(raw)}); refusing to extract "
                "it, since it hides or reorders what the name shows. The archive is malformed "
                "or hostile."
            )
        decoded = decode_fully(raw)
        if decoded is None:
            raise UnsafeArchiveError(
                f"The archive has an entry whose name is percent-encoded more than "
                f"{MAX_DECODE_ROUNDS} levels deep ({describe(raw)}), which only serves to hide "
                "'..' segments; refusing to extract it. The archive is malformed or hostile."
            )
        for candidate in (raw, decoded):
            if candidate[:1] in ("/", "\\") or _DRIVE.match(candidate):
                raise UnsafeArchiveError(
                    f"The archive has an entry with an absolute path ({describe(raw)}); "
                    "refusing to extract it. The archive is malformed or hostile."
                )
            if ".." in _SEPARATORS.split(candidate):
                raise UnsafeArchiveError(
                    f"The archive has an entry whose path leaves the tree ({describe(raw)}, "
                    "'..' segment); refusing to extract it. The archive is hostile."
                )
            if candidate is not raw and (_CONTROL.search(candidate) or _invisible(candidate)):
                raise UnsafeArchiveError(
                    f"The archive has an entry whose name encodes a control character "
                    f"({describe(raw)}); refusing to extract it."
                )
        return "/".join(p for p in raw.split("/") if p and p != ".")

    def _check_length(self, s: str) -> None:
        encoded = s.encode("utf-8", "surrogateescape")
        if len(encoded) > self._max_name:
            raise ArchiveLimitError(
                f"The archive has an entry whose path is {len(encoded)} bytes long, over the "
                f"limit of {self._max_name} ({describe(s)}). Raise ArchiveLimits.max_name_length "
                "if this is expected."
            )
        parts = encoded.split(b"/")
        if len(parts) > self._max_depth:
            raise ArchiveLimitError(
                f"The archive has an entry {len(parts)} folders deep, over the limit of "
                f"{self._max_depth} ({describe(s)}). Raise ArchiveLimits.max_depth if this is "
                "expected."
            )
        longest = max(len(p) for p in parts)
        if longest > self._max_component:
            raise ArchiveLimitError(
                f"The archive has an entry with a name component of {longest} bytes, over the "
                f"limit of {self._max_component} ({describe(s)})."
            )


def normalize_subpath(subpath: str | None, what: str = "subpath") -> str:
    """``docs`` / ``docs/`` -> ``docs/``; ``None``/'' -> ''. A leading ``/``, ``..`` or
    other unsafe spelling raises InputError."""
    if not subpath:
        return ""
    if subpath.startswith("/"):
        raise InputError(f"{what} must not start with a /, got {subpath!r}")
    try:
        cleaned = PathRules(ArchiveLimits()).clean(subpath)
    except UnsafeArchiveError as exc:
        raise InputError(f"{what} {subpath!r} is not a safe relative path: {exc}") from None
    return cleaned + "/" if cleaned else ""


_FOLDER = -1
_LINK = -2


class Layout:
    """Every path selected so far, to refuse duplicates, case/Unicode collisions and a name
    used both as a file and as a folder. Also tells which folders are new.

    Kept compact (it is the one structure that grows with the number of entries): fold key
    -> size for files, -1 for folders, -2 for symlinks; the exact spelling is stored only
    where it differs from the key.
    """

    def __init__(self) -> None:
        self._keys: dict[str, int] = {}
        self._names: dict[str, str] = {}
        self._dirs: set[str] = set()

    def add_file(self, path: str, kind: int, size: int) -> tuple[str, ...]:
        """Register a file; return the folders (parents first) it needs that are new."""
        new_dirs: tuple[str, ...] = ()
        cut = path.rfind("/")
        if cut > 0 and path[:cut] not in self._dirs:
            new_dirs = self._add_dirs(path[:cut])
        key = path.lower() if path.isascii() else fold(path)
        if key in self._keys:
            raise self._collision(path, FILE, key)
        self._keys[key] = _LINK if kind == SYMLINK else size
        if key != path:
            self._names[key] = path
        return new_dirs

    def earlier_file(self, path: str) -> int | None:
        """The size of the earlier regular file (or copied hard link) at ``path``, if any."""
        key = fold(path)
        size = self._keys.get(key)
        if size is None or size < 0 or self._names.get(key, key) != path:
            return None
        return size

    def _add_dirs(self, parent: str) -> tuple[str, ...]:
        new: list[str] = []
        parts = parent.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if prefix in self._dirs:
                continue
            key = fold(prefix)
            if key in self._keys:
                raise self._collision(prefix, DIR, key)
            self._keys[key] = _FOLDER
            if key != prefix:
                self._names[key] = prefix
            self._dirs.add(prefix)
            new.append(prefix)
        return tuple(new)

    def _collision(self, path: str, adding: int, key: str) -> UnsafeArchiveError:
        other = self._names.get(key, key)
        if other != path:
            return UnsafeArchiveError(
                f"The archive's paths {describe(other)} and {describe(path)} differ only in "
                "case or Unicode normalisation and would collide on some file systems; "
                "refusing to extract an ambiguous tree."
            )
        if adding == DIR:
            problem = "is a file (or link) but later entries use it as a folder"
        elif self._keys[key] == _FOLDER:
            problem = "is a folder but a later entry is a file of that name"
        else:
            problem = "appears twice (duplicate entry)"
        return UnsafeArchiveError(
            f"The archive's path {describe(path)} {problem}; refusing to extract an "
            "ambiguous tree. The archive is malformed or hostile."
        )
