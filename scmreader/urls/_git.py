"""Git hosts' web URLs read the way Backstage's ``git-url-parse`` reads them.

:func:`parse_git_url` splits ``https://host/<owner>/<name>/<type>/<ref>/<filepath>`` (and
the GitLab, Bitbucket Server and bare-repository forms) into a :class:`GitUrl`, with
Backstage 2.0's traversal check made stricter.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote_to_bytes

from scmreader.errors import InvalidUrlError
from scmreader.urls._parse import ParsedUrl, parse_url
from scmreader.urls._paths import reject_traversal

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
