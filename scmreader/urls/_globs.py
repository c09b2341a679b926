"""Glob patterns for search: detection, static prefix and matching.

:func:`is_glob` decides, exactly as npm ``is-glob`` does, whether a search URL is a glob;
:func:`glob_static_prefix` names the folder a reader can list instead of the whole tree;
:func:`glob_matcher` matches repository paths the way minimatch does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from scmreader.errors import InvalidUrlError

_EXTGLOB_RE = re.compile(r"(\\).|([@?!+*]\(.*\))")
_BRACKET_PAIRS = {"{": "}", "(": ")", "[": "]"}


def _is_extglob(text: str) -> bool:
    while True:
        match = _EXTGLOB_RE.search(text)
        if match is None:
            return False
        if match.group(2):
            return True
        text = text[match.end() :]


def _char(text: str, index: int) -> str:
    return text[index] if 0 <= index < len(text) else ""


def _find(text: str, sub: str, start: int) -> int:
    return text.find(sub, max(start, 0))


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` has glob syntax, exactly as npm ``is-glob`` (strict mode).

    True for ``*``, a ``?`` after ``]``/``.``/``+``/``)``, a ``[...]`` class, a ``{a,b}``
    brace set, ``(a|b)``, extglobs such as ``!(x)``/``@(x)``/``+(x)``, a leading ``!``
    and ``(?!...)`` groups; escaped characters (``\\*``) do not count. Note that a lone
    ``?`` as in ``file?.yaml`` is not a glob in strict mode.
    """
    if not isinstance(pattern, str) or not pattern:
        return False
    if _is_extglob(pattern):
        return True
    s = pattern
    if s[0] == "!":
        return True
    index = 0
    pipe = close_square = close_curly = close_paren = backslash = -2
    while index < len(s):
        c, nxt = s[index], _char(s, index + 1)
        if c == "*":
            return True
        if nxt == "?" and c in "].+)":
            return True
        if close_square != -1 and c == "[" and nxt != "]":
            if close_square < index:
                close_square = _find(s, "]", index)
            if close_square > index:
                if backslash == -1 or backslash > close_square:
                    return True
                backslash = _find(s, "\\", index)
                if backslash == -1 or backslash > close_square:
                    return True
        if close_curly != -1 and c == "{" and nxt != "}":
            close_curly = _find(s, "}", index)
            if close_curly > index:
                backslash = _find(s, "\\", index)
                if backslash == -1 or backslash > close_curly:
                    return True
        if (
            close_paren != -1
            and c == "("
            and nxt == "?"
            and _char(s, index + 2) in (":", "!", "=")
            and _char(s, index + 3) != ")"
        ):
            close_paren = _find(s, ")", index)
            if close_paren > index:
                backslash = _find(s, "\\", index)
                if backslash == -1 or backslash > close_paren:
                    return True
        if pipe != -1 and c == "(" and nxt != "|":
            if pipe < index:
                pipe = _find(s, "|", index)
            if pipe != -1 and _char(s, pipe + 1) != ")":
                close_paren = _find(s, ")", pipe)
                if close_paren > pipe:
                    backslash = _find(s, "\\", pipe)
                    if backslash == -1 or backslash > close_paren:
                        return True
        if c == "\\":
            opener = nxt
            index += 2
            closer = _BRACKET_PAIRS.get(opener)
            if closer:
                at = _find(s, closer, index)
                if at != -1:
                    index = at + 1
            if _char(s, index) == "!":
                return True
        else:
            index += 1
    return False


_GLOB_CHARS_RE = re.compile(r"(?<!\\)[*?\[\]{}()]")
_UNESCAPE_RE = re.compile(r"\\([!*?|\[\](){}])")


def glob_static_prefix(pattern: str) -> str:
    """The directory part of ``pattern`` before the first segment with glob syntax.

    ``catalog/foo/*.yaml`` -> ``catalog/foo``, ``docs/**/index.*`` -> ``docs``,
    ``a/{b,c}/d`` -> ``a``, ``**/index.*`` -> ''. The last segment never counts (it names
    files), ``.`` and empty segments are skipped, ``..`` or a leading ``!`` ends the
    prefix, and escapes are removed. Any unescaped ``*?[]{}()`` makes a segment dynamic,
    which is broader than :func:`is_glob` on purpose: a prefix that is too short only reads
    more, one that is too long would miss files.
    """
    if pattern.startswith("!"):
        return ""
    kept: list[str] = []
    for segment in pattern.split("/")[:-1]:
        if segment in ("", "."):
            continue
        if segment == ".." or _GLOB_CHARS_RE.search(segment) or is_glob(segment):
            break
        kept.append(_UNESCAPE_RE.sub(r"\1", segment))
    return "/".join(kept)


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate matching ``/``-separated repository paths the way minimatch does.

    ``*`` and ``?`` stay within a segment, ``**`` spans segments (also none, so ``**/*``
    matches root files), ``{a,b}`` braces and extglobs expand, matching is case-sensitive,
    and names starting with ``.`` are only matched by a pattern segment that starts with
    ``.``. A leading ``!`` negates (an even number cancels out); a leading ``#`` is a
    comment that matches nothing. A pattern too large to expand is an InvalidUrlError.
    """
    from wcmatch import glob as wc

    negate = False
    while pattern.startswith("!"):
        negate, pattern = not negate, pattern[1:]
    if pattern.startswith("#"):
        return lambda path: negate
    try:
        compiled = wc.compile(pattern, flags=wc.GLOBSTAR | wc.BRACE | wc.EXTGLOB)
    except Exception as exc:  # wcmatch's PatternLimitException is not public
        raise InvalidUrlError(
            f"The glob pattern cannot be used ({type(exc).__name__}); simplify it (fewer "
            "brace expansions)."
        ) from None

    def match(path: str) -> bool:
        return bool(compiled.match(path)) != negate

    return match
