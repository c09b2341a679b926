"""Resolving references against a base URL: links found in files and ``Location`` headers.

:func:`default_scm_resolve_url` is Backstage's default ``resolveUrl`` for SCM integrations;
:func:`join_url` is WHATWG ``new URL(reference, base)`` for redirects. Both start from a
base that passed :func:`scmreader.urls.parse_url` and produce canonical URLs.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from scmreader.errors import InvalidUrlError
from scmreader.urls._git import _decode_strict, _parse_git
from scmreader.urls._parse import (
    _ESCAPE_RE,
    _PATH_SAFE,
    _QUERY_SAFE,
    _SCHEME_RE,
    ParsedUrl,
    parse_url,
    remove_dot_segments,
)

_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})


def default_scm_resolve_url(*, url: str, base: str, line_number: int | None = None) -> str:
    """Resolve ``url`` (found in the file at ``base``) the way Backstage's default does.

    An absolute ``url`` is returned unchanged. One starting with ``/`` is relative to the
    repository root of ``base`` (the path before its ``filepath``). Anything else is
    resolved like WHATWG ``new URL(url, base)``: the last segment of ``base`` is a file.
    The result always carries ``base``'s query; a truthy ``line_number`` sets ``#L<n>``.
    Unlike WHATWG, ``\\\\host`` never switches host: backslashes are read as ``/`` first.
    """
    reference = _preprocess_reference(url)
    if _is_absolute(reference):
        return url
    if _SCHEME_RE.match(reference):
        raise InvalidUrlError(
            "The link starts like an absolute URL but has no host; write it in full "
            "(https://host/path) or as a relative path."
        )
    parsed = parse_url(base)
    path_part, _, _, has_fragment, ref_fragment = _split_reference(reference)
    if path_part.startswith("/"):
        git = _parse_git(parsed)
        path = _whatwg_path(_repo_root(parsed.path, git.filepath) + path_part)
        fragment = parsed.fragment  # Backstage starts from base's href, fragment included
    elif path_part:
        base_path = remove_dot_segments(parsed.path)
        path = _whatwg_path(base_path[: base_path.rfind("/") + 1] + path_part)
        fragment = ""
    else:
        path, fragment = remove_dot_segments(parsed.path), ""
    if has_fragment:
        fragment = _encode_loose(ref_fragment, _QUERY_SAFE)
    if line_number:
        fragment = f"L{line_number}"
    result = ParsedUrl(parsed.scheme, parsed.hostname, parsed.port, path, parsed.query, fragment)
    return str(result)


def join_url(base: str | ParsedUrl, reference: str) -> str:
    """Resolve ``reference`` against ``base`` like WHATWG ``new URL(reference, base)``.

    For HTTP ``Location`` headers and similar. Absolute and scheme-relative (``//host``)
    references replace the base; the result still has to pass :func:`parse_url`.
    """
    parsed = base if isinstance(base, ParsedUrl) else parse_url(base)
    reference = _preprocess_reference(reference)
    if _is_absolute(reference):
        return reference
    path_part, sep_q, query, sep_f, fragment = _split_reference(reference)
    if path_part.startswith("//"):
        return f"{parsed.scheme}:{path_part}{reference[len(path_part) :]}"
    base_path = remove_dot_segments(parsed.path)
    if path_part.startswith("/"):
        path = _whatwg_path(path_part)
    elif path_part:
        path = _whatwg_path(base_path[: base_path.rfind("/") + 1] + path_part)
    else:
        path = base_path
    if path_part or sep_q:
        query = _encode_loose(query, _QUERY_SAFE) if sep_q else ""
    else:
        query = parsed.query
    fragment = _encode_loose(fragment, _QUERY_SAFE) if sep_f else ""
    return str(ParsedUrl(parsed.scheme, parsed.hostname, parsed.port, path, query, fragment))


def _preprocess_reference(reference: str) -> str:
    # WHATWG: strip leading/trailing C0 controls and spaces, drop every tab and newline.
    reference = reference.strip("".join(chr(c) for c in range(0x21)))
    return re.sub(r"[\t\n\r]", "", reference)


def _is_absolute(reference: str) -> bool:
    match = _SCHEME_RE.match(reference)
    if not match:
        return False
    if match.group()[:-1].lower() not in _SPECIAL_SCHEMES:
        return True
    rest = reference[match.end() :].lstrip("/\\")
    authority = re.split(r"[/\\?#]", rest, maxsplit=1)[0]
    return bool(authority.rpartition("@")[2].partition(":")[0])


def _split_reference(reference: str) -> tuple[str, bool, str, bool, str]:
    head, sep_f, fragment = reference.partition("#")
    path, sep_q, query = head.partition("?")
    return path.replace("\\", "/"), bool(sep_q), query, bool(sep_f), fragment


def _repo_root(path: str, filepath: str) -> str:
    body = path[1:]
    if body.endswith("/"):
        body = body[:-1]
    if not filepath:
        return ("/" + body).rstrip("/")
    count = len(filepath.split("/"))
    raw = body.split("/")
    if sum(len(_decode_strict(s).split("/")) for s in raw) == len(raw):
        kept = raw[:-count]
    else:  # encoded slashes: count decoded segments and encode them again
        kept = [quote(s, safe=_PATH_SAFE.replace("/", "")) for s in _decode_strict(body).split("/")]
        kept = kept[:-count]
    return ("/" + "/".join(kept)).rstrip("/")


def _encode_loose(text: str, safe: str) -> str:
    # Links in files are written loosely: a stray '%' means a literal percent sign.
    text = _ESCAPE_RE.sub("%25", text)
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidUrlError("The link is not valid Unicode text.") from None


def _whatwg_path(path: str) -> str:
    return remove_dot_segments(_encode_loose(path.replace("\\", "/"), _PATH_SAFE))
