"""The one URL parser every provider shares, and the URL helpers built on it.

:func:`parse_url` is the safety gate: a URL is parsed once, anything a second parser could
read differently (userinfo, ``\\``, ``%`` in the host, whitespace, odd ports, lookalike
hosts) is rejected, and ``str()`` of the result is the canonical string that is then sent.
:func:`parse_git_url` reads the web URLs of git hosts the way Backstage's ``git-url-parse``
does, with Backstage 2.0's traversal check made stricter. :func:`default_scm_resolve_url`
resolves links found in files; :func:`is_glob`, :func:`glob_static_prefix` and
:func:`glob_matcher` serve search. The path helpers every provider shares live here too:
:func:`reject_traversal` (with its bounded :func:`decode_fully`), :func:`encode_path` and
:func:`is_commit_sha`.

Import everything from this package; the modules behind it are private, one per job:
``_parse`` (the safe parser) with ``_host`` (host names and ports), ``_paths`` (encoding
and traversal checks), ``_git`` (git web URLs), ``_resolve`` (relative references) and
``_globs`` (glob patterns).
"""

from __future__ import annotations

from scmreader.urls._git import GitUrl, parse_git_url
from scmreader.urls._globs import glob_matcher, glob_static_prefix, is_glob
from scmreader.urls._parse import (
    DEFAULT_PORTS,
    MAX_URL_LENGTH,
    ParsedUrl,
    parse_url,
    remove_dot_segments,
    same_origin,
)
from scmreader.urls._paths import (
    MAX_DECODE_ROUNDS,
    TRAVERSAL_MESSAGE,
    decode_fully,
    encode_path,
    encode_uri_component,
    has_dot_segment,
    is_commit_sha,
    reject_traversal,
)
from scmreader.urls._resolve import default_scm_resolve_url, join_url

__all__ = [
    "DEFAULT_PORTS",
    "MAX_DECODE_ROUNDS",
    "MAX_URL_LENGTH",
    "TRAVERSAL_MESSAGE",
    "GitUrl",
    "ParsedUrl",
    "decode_fully",
    "default_scm_resolve_url",
    "encode_path",
    "encode_uri_component",
    "glob_matcher",
    "glob_static_prefix",
    "has_dot_segment",
    "is_commit_sha",
    "is_glob",
    "join_url",
    "parse_git_url",
    "parse_url",
    "reject_traversal",
    "remove_dot_segments",
    "same_origin",
]
