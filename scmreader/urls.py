"""The one URL parser every provider shares.

:func:`parse_url` is the safety gate: a URL is parsed once, anything a second parser could
read differently (userinfo, ``\\``, ``%`` in the host, whitespace, odd ports, lookalike
hosts) is rejected, and ``str()`` of the result is the canonical string that is then sent.
:func:`parse_git_url` reads the web URLs of git hosts the way Backstage's ``git-url-parse``
does, with Backstage 2.0's traversal check made stricter. :func:`default_scm_resolve_url`
resolves links found in files; :func:`is_glob` and :func:`glob_static_prefix` serve search.
The path helpers every provider shares live here too: :func:`reject_traversal` (with its
bounded :func:`decode_fully`), :func:`encode_path` and :func:`is_commit_sha`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes

from scmreader.errors import InvalidUrlError

__all__ = [
    "DEFAULT_PORTS",
    "MAX_DECODE_ROUNDS",
    "TRAVERSAL_MESSAGE",
    "GitUrl",
    "ParsedUrl",
    "decode_fully",
    "default_scm_resolve_url",
    "encode_path",
    "encode_uri_component",
    "glob_static_prefix",
    "is_commit_sha",
    "is_glob",
    "join_url",
    "parse_git_url",
    "parse_url",
    "reject_traversal",
    "remove_dot_segments",
    "same_origin",
]

#: Ports that are dropped from a URL because they are the scheme's default.
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}

#: Longer URLs are rejected: no SCM URL is this long, and it bounds the decoding work.
MAX_URL_LENGTH = 65536

#: Backstage's exact wording; :func:`reject_traversal` raises it (for its default ``what``).
TRAVERSAL_MESSAGE = "Invalid SCM URL: path traversal is not allowed in the URL"

#: A path still changing after this many percent-decoding passes is refused: no real path
#: is encoded that deeply, and the bound keeps the check linear in the path's length.
MAX_DECODE_ROUNDS = 10

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_WELL_KNOWN_SCHEMES = frozenset(
    {"http", "https", "file", "ftp", "ftps", "sftp", "gopher", "data", "javascript", "mailto"}
    | {"ssh", "git", "git+ssh", "ssh+git", "git+https", "ext", "ws", "wss", "ldap", "dict"}
)
_PORT_RE = re.compile(r"[0-9]+", re.ASCII)
_ASCII_LABEL_RE = re.compile(r"[a-z0-9_-]{1,63}", re.ASCII)
_NUMERIC_LABEL_RE = re.compile(r"[0-9]+|0x[0-9a-f]*", re.ASCII)
_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# RFC 3986 characters that may stay as they are (``%`` only as part of a valid escape).
_PATH_SAFE = "!$&'()*+,;=:@/%"
_QUERY_SAFE = _PATH_SAFE + "?"
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})


# --- the safe parser ------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedUrl:
    """A URL that passed every safety rule of :func:`parse_url`.

    ``scheme`` and ``hostname`` are lower case, ``hostname`` is ASCII (IDNA ``xn--`` form;
    an IPv6 literal keeps its brackets, as WHATWG's ``URL.hostname`` and urllib3 do),
    ``port`` is None when absent or the scheme's default. ``path`` is the percent-encoded
    path as given (at least ``/``); ``query`` and ``fragment`` come without ``?``/``#``.
    ``str()`` rebuilds the canonical URL, the exact string to send.
    """

    scheme: str
    hostname: str
    port: int | None
    path: str
    query: str
    fragment: str

    @property
    def host(self) -> str:
        """``hostname[:port]`` (port only when not the default), like WHATWG ``URL.host``."""
        return self.hostname if self.port is None else f"{self.hostname}:{self.port}"

    @property
    def origin(self) -> str:
        """``scheme://host``: what credentials and redirects are checked against."""
        return f"{self.scheme}://{self.host}"

    @property
    def normalized_path(self) -> str:
        """The path with unreserved escapes decoded and dot segments removed (RFC 3986).

        Use this for allow-list ``paths`` checks: ``/a/%2e%2e/b`` and ``/a/../b`` are ``/b``.
        Escapes of other characters (``%2F`` among them) stay encoded, in upper case.
        """
        return remove_dot_segments(_decode_unreserved(self.path))

    def without_fragment(self) -> ParsedUrl:
        """The same URL without its fragment (readers never send one)."""
        return ParsedUrl(self.scheme, self.hostname, self.port, self.path, self.query, "")

    def __str__(self) -> str:
        url = f"{self.scheme}://{self.host}{self.path}"
        if self.query:
            url += f"?{self.query}"
        if self.fragment:
            url += f"#{self.fragment}"
        return url

    def __repr__(self) -> str:
        # Queries and fragments can carry tokens; repr() ends up in logs.
        hidden = ("?<query>" if self.query else "") + ("#<fragment>" if self.fragment else "")
        return f"ParsedUrl('{self.scheme}://{self.host}{self.path}{hidden}')"


def parse_url(url: str, *, schemes: Collection[str] = ("http", "https")) -> ParsedUrl:
    """Parse an absolute URL, rejecting anything that two parsers could read differently.

    Raises :class:`InvalidUrlError` for: userinfo (``user:pass@``), ``\\`` before the
    query, ``%`` or other non-hostname characters in the host, a trailing dot, hosts that
    are not valid IDNA 2008 (e.g. full-width letters), numeric hosts that are not a
    canonical dotted IPv4 address, ports that are not canonical decimal 1-65535, schemes
    not in ``schemes``, any whitespace or control/format character, and malformed
    percent-escapes. Scheme and host are lower-cased, Unicode hosts IDNA-encoded and the
    default port dropped.
    """
    if not isinstance(url, str):
        raise InvalidUrlError(f"A URL must be a string, not {type(url).__name__}.")
    if not url:
        raise InvalidUrlError("The URL is empty; pass an absolute URL such as https://host/path.")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrlError(
            f"The URL is {len(url)} characters long, more than the limit of {MAX_URL_LENGTH}; "
            "check that the right value was passed."
        )
    _reject_invisible(url, "The URL")
    allowed = sorted({s.lower() for s in schemes})
    match = _SCHEME_RE.match(url)
    if not match:
        raise InvalidUrlError(
            "The URL is not absolute (it has no scheme); write it as "
            f"{allowed[-1] if allowed else 'https'}://host/path."
        )
    scheme = match.group()[:-1].lower()
    if scheme not in allowed:
        shown = f"scheme '{scheme}'" if scheme in _WELL_KNOWN_SCHEMES else "scheme"
        raise InvalidUrlError(
            f"The URL's {shown} is not allowed here; use one of: {', '.join(allowed) or 'none'}."
        )
    before_query = re.split(r"[?#]", url, maxsplit=1)[0]
    if "\\" in before_query:
        raise InvalidUrlError(
            "The URL contains a backslash before its query; parsers disagree on what it "
            "means. Use '/' as separator, or %5C for a literal backslash in the path."
        )
    rest = url[match.end() :]
    if not rest.startswith("//") or rest.startswith("///"):
        raise InvalidUrlError(
            f"The URL must have the form {scheme}://host/path (two slashes, then the host)."
        )
    rest = rest[2:]
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        raise InvalidUrlError(
            "The URL contains a user name or password (the part before '@'); remove it and "
            "put credentials in the integration configuration instead."
        )
    hostname, port = _parse_authority(authority, scheme)
    path, query, fragment = _split_tail(tail)
    return ParsedUrl(
        scheme=scheme,
        hostname=hostname,
        port=port,
        path=_canonical_part(path or "/", _PATH_SAFE, "path"),
        query=_canonical_part(query, _QUERY_SAFE, "query"),
        fragment=_canonical_part(fragment, _QUERY_SAFE, "fragment"),
    )


def same_origin(a: str | ParsedUrl, b: str | ParsedUrl) -> bool:
    """Whether two URLs have the same scheme, host and (effective) port.

    Strings are parsed with :func:`parse_url`, so an unsafe URL raises
    :class:`InvalidUrlError` instead of comparing.
    """
    pa = a if isinstance(a, ParsedUrl) else parse_url(a)
    pb = b if isinstance(b, ParsedUrl) else parse_url(b)
    return pa.origin == pb.origin


def _reject_invisible(text: str, what: str) -> None:
    for index, char in enumerate(text):
        if char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            raise InvalidUrlError(
                f"{what} contains whitespace or an invisible control character "
                f"(U+{ord(char):04X} at position {index}); remove it, or percent-encode it "
                "if it is really part of a path."
            )


def _parse_authority(authority: str, scheme: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise InvalidUrlError("The URL's IPv6 host has no closing ']'.")
        hostname = _parse_ipv6(authority[1:close])
        after = authority[close + 1 :]
        if after and not after.startswith(":"):
            raise InvalidUrlError("Unexpected characters after the URL's IPv6 host.")
        port_text = after[1:] if after else None
    else:
        host_text, sep, port_text_ = authority.partition(":")
        hostname = _parse_hostname(host_text)
        port_text = port_text_ if sep else None
    port = _parse_port(port_text)
    if port is not None and port == DEFAULT_PORTS.get(scheme):
        port = None
    return hostname, port


def _parse_port(text: str | None) -> int | None:
    if not text:
        return None
    # The text is never echoed: 'https://user:password/' reaches here with the password.
    if not _PORT_RE.fullmatch(text):
        raise InvalidUrlError("The URL's port is not a plain decimal number; write e.g. :8443.")
    if len(text) > 1 and text.startswith("0"):
        raise InvalidUrlError("The URL's port has leading zeros; write it without them.")
    port = int(text) if len(text) <= 5 else 0
    if not 1 <= port <= 65535:
        raise InvalidUrlError("The URL's port is out of range; ports are 1 to 65535.")
    return port


def _parse_ipv6(text: str) -> str:
    if "%" in text:
        raise InvalidUrlError("IPv6 zone identifiers ('%') are not supported in URLs.")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise InvalidUrlError("The URL's host is not a valid IPv6 address.") from None
    return f"[{address.compressed}]"


def _parse_hostname(text: str) -> str:
    if not text:
        raise InvalidUrlError("The URL has no host; write it as https://host/path.")
    if "%" in text:
        raise InvalidUrlError(
            "The URL's host contains '%'; percent-encoding is not allowed in host names. "
            "Write the host name plainly."
        )
    host = text.lower()
    if host.endswith("."):
        raise InvalidUrlError(
            f"The URL's host '{host}' ends with a dot; remove the trailing dot so that the "
            "host matches the configured one."
        )
    labels = host.split(".")
    if "" in labels:
        raise InvalidUrlError(
            f"The URL's host '{host}' has an empty label ('..' or a leading dot)."
        )
    if _NUMERIC_LABEL_RE.fullmatch(labels[-1]):
        return _parse_ipv4(host)
    encoded = [_encode_label(label) for label in labels]
    hostname = ".".join(encoded)
    if len(hostname) > 253:
        raise InvalidUrlError("The URL's host name is longer than 253 characters.")
    return hostname


def _parse_ipv4(host: str) -> str:
    parts = host.split(".")
    if len(parts) == 4 and all(
        p.isascii() and p.isdigit() and (p == "0" or not p.startswith("0")) and int(p) <= 255
        for p in parts
    ):
        return host
    raise InvalidUrlError(
        f"The URL's host '{host}' looks numeric but is not a dotted IPv4 address like "
        "192.0.2.1 (no octal, hex, short or zero-padded forms)."
    )


def _encode_label(label: str) -> str:
    if label.isascii():
        if not _ASCII_LABEL_RE.fullmatch(label):
            raise InvalidUrlError(
                f"The URL's host has a label '{label}' with characters not allowed in host "
                "names (letters, digits, '-' and '_' only, at most 63 per label)."
            )
        if label.startswith("xn--"):
            _check_idna(label, decode=True)
        return label
    return _check_idna(label, decode=False)


def _check_idna(label: str, *, decode: bool) -> str:
    import idna  # only for non-ASCII or xn-- hosts; keeps the common path cheap

    try:
        if decode:
            idna.decode(label)
            return label
        return idna.encode(label, strict=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise InvalidUrlError(
            f"The URL's host label '{label}' is not a valid internationalised domain name "
            f"({exc}); write the host in its plain ASCII form."
        ) from None


def _split_tail(tail: str) -> tuple[str, str, str]:
    head, _, fragment = tail.partition("#")
    path, _, query = head.partition("?")
    return path, query, fragment


def _canonical_part(text: str, safe: str, what: str) -> str:
    if _ESCAPE_RE.search(text):
        raise InvalidUrlError(
            f"The URL's {what} has a '%' that is not followed by two hex digits; write a "
            "literal '%' as %25."
        )
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidUrlError(f"The URL's {what} is not valid Unicode text.") from None


def _decode_unreserved(path: str) -> str:
    def repl(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group().upper()

    return _UNRESERVED_ESCAPE_RE.sub(repl, path)


def _is_dot(segment: str, dots: str) -> bool:
    # WHATWG also treats '%2e' (any case) as a dot in dot segments.
    return segment.lower().replace("%2e", ".") == dots


def remove_dot_segments(path: str) -> str:
    """Remove ``.`` and ``..`` segments (also ``%2e`` forms) from an absolute path.

    ``..`` above the root stays at the root, and a trailing dot segment leaves a trailing
    ``/``, as WHATWG URL parsing and RFC 3986 section 5.2.4 do.
    """
    output: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if _is_dot(segment, ".."):
            if output:
                output.pop()
            if last:
                output.append("")
        elif _is_dot(segment, "."):
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


# --- git web URLs ---------------------------------------------------------------------

_FILEPATH_TYPES = ("raw", "src", "blob", "tree", "edit")
_NAME_MARKERS = ("issues", "tree", "commit", "src", "raw", "edit")


@dataclass(frozen=True)
class GitUrl:
    """A git host's web URL read like npm ``git-url-parse`` (v15) reads it.

    ``owner`` holds every segment before the repository name (GitLab subgroups included),
    ``full_name`` is ``owner/name``. ``ref`` is ONLY the first segment after the type
    (``blob``/``tree``/``raw``/``edit``/``src``; Bitbucket Server ``browse``/``raw`` with the
    ref from ``?at=``); branches with ``/`` are resolved later by the readers. All fields
    are percent-decoded exactly once: re-encode them (:func:`encode_uri_component`) when
    building API URLs. ``href`` is the canonical URL, ``resource`` the host name and
    ``host`` the host with a non-default port.
    """

    protocol: str
    resource: str
    host: str
    owner: str
    name: str
    full_name: str
    organization: str
    ref: str
    filepath: str
    filepathtype: str
    href: str = field(repr=False)


def parse_git_url(url: str) -> GitUrl:
    """Parse a git host's web URL (GitHub, GHE, GitLab, Bitbucket, Gitea forms).

    ``https://host/<owner>/<name>/<blob|tree|raw|edit|src>/<ref>/<filepath>``, GitLab's
    ``/group/sub/project/-/blob/ref/path`` (and the unscoped form), Bitbucket Server's
    ``/projects/P/repos/r/browse/path?at=ref`` and bare repository URLs (``.git`` suffix
    and trailing slash allowed; ``ref`` and ``filepath`` are then ''). The URL must pass
    :func:`parse_url`. Any ``.`` or ``..`` segment anywhere in the path, after decoding
    as often as it decodes (``%2e%2e``, ``%252e``, ``%2F`` and ``\\`` separators alike),
    raises ``InvalidUrlError('Invalid SCM URL: path traversal is not allowed in the URL')``.
    """
    return _parse_git(parse_url(url))


def _parse_git(parsed: ParsedUrl) -> GitUrl:
    reject_traversal(parsed.path)
    decoded = _decode_strict(parsed.path)
    _reject_decoded_controls(decoded)
    body = decoded[1:]
    if body.endswith("/"):
        body = body[:-1]
    splits = body.split("/")
    owner, name = "", body
    name_index = len(splits) - 1
    if len(splits) >= 2:
        name_index = _name_index(splits)
        owner, name = "/".join(splits[:name_index]), splits[name_index]
    if name_index == len(splits) - 1 and name.endswith(".git"):
        name = name[:-4]
    ref = filepathtype = filepath = ""
    offset = name_index + 1 if splits[name_index + 1 : name_index + 2] == ["-"] else name_index
    if len(splits) > offset + 2 and splits[offset + 1] in _FILEPATH_TYPES:
        filepathtype, ref = splits[offset + 1], splits[offset + 2]
        filepath = "/".join(splits[offset + 3 :])
    if owner.startswith("scm/"):
        owner = owner[4:]
    type_at = offset + 1 if filepathtype else len(splits)
    bitbucket = _bitbucket_server(splits, type_at, parsed.query)
    if bitbucket is not None:
        owner, name, filepathtype, filepath, ref = bitbucket
    _reject_decoded_controls(ref)
    full_name = f"{owner}/{name}" if owner and name else owner or name
    return GitUrl(
        protocol=parsed.scheme,
        resource=parsed.hostname,
        host=parsed.host,
        owner=owner,
        name=name,
        full_name=full_name,
        organization=owner,
        ref=ref,
        filepath=filepath,
        filepathtype=filepathtype,
        href=str(parsed),
    )


def _name_index(splits: list[str]) -> int:
    def find(token: str) -> int:
        try:
            return splits.index(token, 2)
        except ValueError:
            return -1

    dash, blob, tree = find("-"), find("blob"), find("tree")
    if dash > 0:
        return dash - 1
    if blob > 0:
        # git-url-parse v15 preferred 'blob' even after a 'tree' marker; the earlier one wins.
        return min(blob, tree) - 1 if tree > 0 else blob - 1
    for marker in _NAME_MARKERS:
        at = find(marker)
        if at > 0:
            return at - 1
    return len(splits) - 1


def _bitbucket_server(
    splits: list[str], type_at: int, query: str
) -> tuple[str, str, str, str, str] | None:
    for i, segment in enumerate(splits[:type_at]):
        if segment in ("projects", "users") and splits[i + 2 : i + 3] == ["repos"]:
            if len(splits) <= i + 3:
                return None
            owner = ("~" if segment == "users" else "") + splits[i + 1]
            rest = splits[i + 4 :]
            kind = rest[0] if rest and rest[0] in ("raw", "browse") else ""
            filepath = "/".join(rest[1:]) if kind else ""
            ref = ""
            for key, value in parse_qsl(query, keep_blank_values=True):
                if key == "at":
                    ref = value
            return owner, splits[i + 3], kind, filepath, ref
    return None


def _decode_strict(text: str) -> str:
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidUrlError(
            "The URL's path has percent-escapes that are not UTF-8 text; check the link."
        ) from None


def _reject_decoded_controls(text: str) -> None:
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise InvalidUrlError(
            "The URL's path or ref contains an encoded control character (such as %00 or "
            "%0A); no repository path can contain one. Check the link."
        )


# --- resolving links ------------------------------------------------------------------


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


# --- globs ----------------------------------------------------------------------------

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


_URI_COMPONENT_SAFE = "-_.!~*'()"


def encode_uri_component(s: str) -> str:
    """JavaScript's ``encodeURIComponent``: everything but ``A-Za-z0-9-_.!~*'()`` escaped."""
    return _quote_component(s, _URI_COMPONENT_SAFE)


def encode_path(path: str, *, keep: str = "") -> str:
    """A decoded ``/``-separated path percent-encoded segment by segment, ``/`` kept.

    Each segment is encoded like :func:`encode_uri_component` (``a/b c/d`` ->
    ``a/b%20c/d``), so ``?``, ``#`` and ``%`` in names never change the URL's shape.
    ``keep`` names extra characters to leave literal: GitHub passes RFC 3986's
    sub-delimiters, ``:`` and ``@``, which its own ``{+path}`` URL templates leave as they
    are (and which Backstage, inserting paths unencoded, sends literally too). ``keep``
    must not contain ``%`` or ``/``.
    """
    safe = _URI_COMPONENT_SAFE + keep
    return "/".join(_quote_component(segment, safe) for segment in path.split("/"))


def _quote_component(text: str, safe: str) -> str:
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidUrlError(
            "The text contains an unpaired surrogate and cannot be URL-encoded."
        ) from None


# --- path checks shared by every provider ---------------------------------------------

_SEPARATOR_RE = re.compile(r"[/\\]")
_COMMIT_SHA_RE = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


def decode_fully(text: str) -> str | None:
    """``text`` percent-decoded until it stops changing; None if it still changes after
    :data:`MAX_DECODE_ROUNDS` passes.

    Malformed escapes (``%zz``) stay as they are and decoding goes on past them (Backstage's
    loop stops at the first one, so ``%252e%252e%252fx%25zz`` never shows its ``..``).
    Bytes that are not UTF-8 become lone surrogates (``errors="surrogateescape"``), so
    nothing is lost and nothing raises. The caller decides which error a None deserves.
    """
    for _ in range(MAX_DECODE_ROUNDS + 1):
        if "%" not in text:
            return text
        decoded = unquote(text, errors="surrogateescape")
        if decoded == text:
            return text
        text = decoded
    return None


def reject_traversal(path: str, *, what: str = "the URL") -> str:
    """Refuse a path with a ``.`` or ``..`` segment, however often it was percent-encoded.

    ``path`` is decoded with :func:`decode_fully`, then split on ``/`` and ``\\`` (so
    ``%2F`` and ``%5C`` separate too). Returns the fully decoded path. Raises
    :class:`InvalidUrlError` ``Invalid SCM URL: path traversal is not allowed in <what>``
    (exactly :data:`TRAVERSAL_MESSAGE` for the default ``what``), also when the path is
    encoded more than :data:`MAX_DECODE_ROUNDS` levels deep. Names such as ``..foo`` or
    ``.well-known`` are fine.
    """
    decoded = decode_fully(path)
    if decoded is None:
        raise InvalidUrlError(
            f"Invalid SCM URL: path traversal is not allowed in {what}: it is "
            f"percent-encoded more than {MAX_DECODE_ROUNDS} levels deep, which only serves to "
            "hide '..' segments. Decode the path before building the URL."
        )
    if any(segment in (".", "..") for segment in _SEPARATOR_RE.split(decoded)):
        raise InvalidUrlError(f"Invalid SCM URL: path traversal is not allowed in {what}")
    return decoded


def is_commit_sha(value: str) -> bool:
    """Whether ``value`` is a full git commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.

    Either case is accepted; abbreviated ids are not (they are ambiguous, and a branch may
    be named like one).
    """
    return _COMMIT_SHA_RE.fullmatch(value) is not None


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
