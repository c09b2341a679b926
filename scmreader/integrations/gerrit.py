"""Gerrit (``integrations.gerrit[]``): config, Gitiles URL parsing and API URL builders.

Gerrit serves files through its REST API (``/projects/...``) and trees through Gitiles
(``+archive``), so an integration knows two base URLs: ``baseUrl`` (Gerrit) and the
mandatory ``gitilesBaseUrl`` (Backstage 1.28 made it required and dropped the
``DISABLE_GERRIT_GITILES_REQUIREMENT`` escape hatch; so does scmreader). A configured
``password`` switches every URL to Gerrit's authenticated ``/a/`` form.

Browse URLs are Gitiles URLs::

    {gitilesBaseUrl}/{project}/+/refs/heads/{branch}/{path}
    {gitilesBaseUrl}/{project}/+/refs/tags/{tag}/{path}
    {gitilesBaseUrl}/{project}/+/{full commit sha}/{path}
    {gitilesBaseUrl}/{project}/+/HEAD/{path}

A branch or tag is one path segment (as in Backstage): ``refs/heads/feature/x/a.md`` is
branch ``feature`` and path ``x/a.md``. Unlike Backstage, path segments are
percent-decoded once (and encoded again when an API URL is built), and ``.``/``..``
segments are refused however often they were encoded (:func:`scmreader.urls.reject_traversal`).
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from scmreader.errors import ConfigError, InvalidUrlError, UpstreamError
from scmreader.integrations.base import (
    IntegrationType,
    ScmIntegration,
    read_host,
    read_secret,
    read_url_key,
)
from scmreader.redact import Secret, redact, redact_url, register_config_secret
from scmreader.urls import (
    encode_path,
    encode_uri_component,
    is_commit_sha,
    join_url,
    parse_url,
    reject_traversal,
)

if TYPE_CHECKING:
    import requests

    from scmreader.config import Config

__all__ = [
    "INTEGRATION",
    "KNOWN_KEYS",
    "GerritIntegration",
    "GerritIntegrationConfig",
    "GitilesRefType",
    "GitilesUrlRef",
    "build_gerrit_branch_api_url",
    "build_gerrit_edit_url",
    "build_gerrit_file_content_api_url",
    "build_gerrit_gitiles_archive_url",
    "build_gerrit_gitiles_archive_url_from_location",
    "build_gerrit_gitiles_url",
    "get_authentication_prefix",
    "get_gerrit_branch_api_url",
    "get_gerrit_clone_repo_url",
    "get_gerrit_file_contents_api_url",
    "get_gerrit_head_api_url",
    "get_gerrit_projects_api_url",
    "get_gerrit_request_options",
    "get_gerrit_tag_api_url",
    "get_gitiles_authentication_url",
    "get_gitiles_tree_json_url",
    "parse_gerrit_json_response",
    "parse_gitiles_url_ref",
    "read_gerrit_integration_config",
    "read_gerrit_integration_configs",
]

#: The old environment variable that once waived ``gitilesBaseUrl``; it has no effect now.
LEGACY_GITILES_WAIVER_ENV = "DISABLE_GERRIT_GITILES_REQUIREMENT"

#: Gerrit (and Gitiles) prefix JSON bodies with this line against cross-site script inclusion.
XSSI_PREFIX = ")]}'"

GitilesRefType = Literal["sha", "branch", "tag", "head"]

_REF_RE = re.compile(r"^refs/(heads|tags)/(.*?)(?:/|$)")


# --- config ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GerritIntegrationConfig:
    """One ``integrations.gerrit[]`` entry, normalised (Backstage's GerritIntegrationConfig).

    ``base_url`` defaults to ``https://{host}``, ``clone_url`` to ``base_url``; URLs have no
    trailing ``/``. ``password`` (a Gerrit HTTP password or token) turns on basic auth and
    the ``/a/`` URL prefix.
    """

    host: str
    gitiles_base_url: str
    base_url: str = ""
    clone_url: str = ""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    commit_signing_key: str | None = field(default=None, repr=False)
    disable_edit_url: bool = False

    def __post_init__(self) -> None:
        if not self.base_url:
            object.__setattr__(self, "base_url", f"https://{self.host}")
        if not self.clone_url:
            object.__setattr__(self, "clone_url", self.base_url)

    @property
    def gitiles_host(self) -> str:
        """The host (with ``:port``) of ``gitiles_base_url``: the host readers answer for."""
        return parse_url(self.gitiles_base_url).host


#: Every key :func:`read_gerrit_integration_config` reads; ``config validate`` warns about
#: others (notation: :func:`scmreader.validate.known_keys`).
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "host",
        "baseUrl",
        "cloneUrl",
        "gitilesBaseUrl",
        "disableEditUrl",
        "username",
        "password",
        "commitSigningKey",
    }
)


def read_gerrit_integration_config(entry: Config) -> GerritIntegrationConfig:
    """Read and check one ``integrations.gerrit[]`` entry; ConfigError names the bad key.

    ``gitilesBaseUrl`` is required whatever ``DISABLE_GERRIT_GITILES_REQUIREMENT`` says.
    """
    host = read_host(entry, provider="Gerrit")
    base_url = read_url_key(entry, "baseUrl", provider="Gerrit")
    clone_url = read_url_key(entry, "cloneUrl", provider="Gerrit")
    if not entry.has("gitilesBaseUrl"):
        waiver = ""
        if os.environ.get(LEGACY_GITILES_WAIVER_ENV) is not None:
            waiver = (
                f" The {LEGACY_GITILES_WAIVER_ENV} environment variable no longer waives it "
                "(removed in Backstage 1.28)."
            )
        raise entry.error(
            "gitilesBaseUrl",
            "Missing required config value: a Gerrit integration needs gitilesBaseUrl, the "
            "URL of its Gitiles web UI (for example https://<gerrit host>/plugins/gitiles, "
            f"or the URL of a separate Gitiles host); trees are read through it.{waiver}",
        )
    gitiles_base_url = read_url_key(entry, "gitilesBaseUrl", provider="Gerrit")
    assert gitiles_base_url is not None  # present, checked above
    username = entry.get_optional_string("username")
    password = read_secret(entry, "password")
    if password is not None:
        if not username:
            raise entry.error(
                "username",
                "a Gerrit password is configured but no username; Gerrit's HTTP basic "
                "authentication needs both, so set username to the account the password "
                "belongs to.",
            )
        register_config_secret(password, username=username)
    signing_key = entry.get_optional_string("commitSigningKey")
    if signing_key is not None:
        register_config_secret(signing_key)
        signing_key = Secret(signing_key)
    return GerritIntegrationConfig(
        host=host,
        gitiles_base_url=gitiles_base_url,
        base_url=base_url or "",
        clone_url=clone_url or "",
        username=username,
        password=password,
        commit_signing_key=signing_key,
        disable_edit_url=bool(entry.get_optional_boolean("disableEditUrl")),
    )


def read_gerrit_integration_configs(entries: list[Config] | None) -> list[GerritIntegrationConfig]:
    """Read every entry in order. Gerrit has no default host: no entries, no integrations."""
    return [read_gerrit_integration_config(entry) for entry in entries or []]


# --- Gitiles URLs ------------------------------------------------------------------------


@dataclass(frozen=True)
class GitilesUrlRef:
    """What a Gitiles browse URL names (Backstage's ``parseGitilesUrlRef`` result).

    ``project`` may contain ``/``; ``path`` is relative to the repository root without a
    leading ``/`` (``"/"`` for the root); ``ref`` is the branch or tag name, the sha, or
    ``HEAD``; ``base_path`` is the URL up to and including the ref.
    """

    project: str
    path: str
    ref: str
    ref_type: GitilesRefType
    base_path: str

    @property
    def is_root(self) -> bool:
        """Whether the URL names the repository root."""
        return self.path in ("", "/")

    @property
    def revision(self) -> str:
        """The ref as Gitiles names it: ``refs/heads/x``, ``refs/tags/x``, a sha or ``HEAD``."""
        if self.ref_type == "branch":
            return f"refs/heads/{self.ref}"
        if self.ref_type == "tag":
            return f"refs/tags/{self.ref}"
        return self.ref


def _segments(path: str, url: str) -> list[str]:
    """The ``/``-separated segments of ``path``, each percent-decoded once."""
    parts = [unquote(p) for p in path.split("/") if p]
    if any("/" in p or "\0" in p for p in parts):
        raise InvalidUrlError(
            f"The URL {redact_url(url)} has an encoded '/' (%2F) or NUL (%00) inside a path "
            "segment; Gitiles URLs separate project, ref and path with plain '/'."
        )
    return parts


def _gitiles_base_path(config: GerritIntegrationConfig) -> str:
    return parse_url(config.gitiles_base_url).path.rstrip("/")


def _split_project(raw_path: str, base_path: str) -> tuple[list[str], list[str]] | None:
    """(raw project segments, raw segments after ``+``) when ``raw_path`` is under base."""
    if base_path and not (raw_path == base_path or raw_path.startswith(base_path + "/")):
        return None
    parts = [p for p in raw_path[len(base_path) :].split("/") if p]
    if "+" not in parts:
        return None
    plus = parts.index("+")
    if plus == 0:
        return None
    return parts[:plus], parts[plus + 1 :]


def parse_gitiles_url_ref(config: GerritIntegrationConfig, url: str) -> GitilesUrlRef:
    """Parse a Gitiles browse URL of this integration into project, ref and path.

    Accepts the authenticated ``/a/`` form too. Raises InvalidUrlError for anything else,
    with the shape that was expected.
    """
    parsed = parse_url(url)
    base = _gitiles_base_path(config)
    raw = parsed.path
    reject_traversal(raw, what=f"the URL {redact_url(url)}")
    attempts = [raw[2:], raw] if raw.startswith("/a/") else [raw]
    split = None
    for candidate in attempts:
        split = _split_project(candidate, base)
        if split is not None:
            break
    expected = (
        f"expected {config.gitiles_base_url}/<project>/+/refs/heads/<branch>/<path> "
        "(or refs/tags/<tag>, HEAD or a full commit sha instead of refs/heads/<branch>)"
    )
    if split is None:
        raise InvalidUrlError(f"Unable to parse gitiles url: {redact_url(url)}; {expected}.")
    raw_project, raw_rest = split
    project = "/".join(_segments("/".join(raw_project), url))
    rest = _segments("/".join(raw_rest), url)
    if not rest:
        raise InvalidUrlError(f"Unable to parse gitiles : {redact_url(url)}; {expected}.")
    raw_ref: list[str]
    ref_type: GitilesRefType
    if rest[0] == "HEAD":
        ref, ref_type, path_parts, raw_ref = "HEAD", "head", rest[1:], raw_rest[:1]
    elif is_commit_sha(rest[0]):
        ref, ref_type, path_parts, raw_ref = rest[0].lower(), "sha", rest[1:], raw_rest[:1]
    else:
        match = _REF_RE.match("/".join(rest))
        if match is None or not match.group(2):
            raise InvalidUrlError(f"Unable to parse gitiles : {redact_url(url)}; {expected}.")
        ref = match.group(2)
        ref_type = "branch" if match.group(1) == "heads" else "tag"
        path_parts, raw_ref = rest[3:], raw_rest[:3]
    path = "/".join(path_parts) or "/"
    head = raw.split("/+/", 1)[0]
    base_path = f"{parsed.origin}{head}/+/{'/'.join(raw_ref)}"
    return GitilesUrlRef(
        project=project, path=path, ref=ref, ref_type=ref_type, base_path=base_path
    )


def get_authentication_prefix(config: GerritIntegrationConfig) -> str:
    """``/a/`` when a password is configured (Gerrit's authenticated URLs), else ``/``."""
    return "/a/" if config.password else "/"


def get_gitiles_authentication_url(config: GerritIntegrationConfig) -> str:
    """The Gitiles base URL to request, with ``/a`` inserted when authenticating.

    Gitiles under ``baseUrl`` (``https://g.example.com/plugins/gitiles``) becomes
    ``https://g.example.com/a/plugins/gitiles`` with a password. Gitiles on another host is
    used as it is anonymously; with a password that is a ConfigError, because the
    credentials belong to Gerrit and cannot be sent to the other host.
    """
    base, gitiles = config.base_url, config.gitiles_base_url
    if gitiles == base or gitiles.startswith(base + "/"):
        return base + get_authentication_prefix(config).rstrip("/") + gitiles[len(base) :]
    if config.password:
        raise ConfigError(
            f"Since the baseUrl (Gerrit) is not part of the gitilesBaseUrl, an authentication "
            f"URL could not be constructed for the Gerrit integration of {config.host}: "
            "either serve Gitiles under baseUrl (e.g. <baseUrl>/plugins/gitiles) or remove the "
            "password to read Gitiles anonymously."
        )
    return gitiles


def build_gerrit_gitiles_archive_url(
    config: GerritIntegrationConfig, project: str, revision: str, path: str = "/"
) -> str:
    """``{gitiles}/{project}/+archive/{revision}[/{path}].tar.gz``.

    ``revision`` is anything Gitiles resolves: ``refs/heads/main``, ``refs/tags/v1``, a sha
    or ``HEAD``. The archive holds the tree at ``path`` with no top-level folder.
    """
    suffix = ".tar.gz" if path in ("", "/") else f"/{encode_path(path.strip('/'))}.tar.gz"
    return (
        f"{get_gitiles_authentication_url(config)}/{encode_path(project)}"
        f"/+archive/{encode_path(revision)}{suffix}"
    )


def build_gerrit_gitiles_archive_url_from_location(
    config: GerritIntegrationConfig, url: str, *, revision: str | None = None
) -> str:
    """The Gitiles archive URL for the tree a browse URL names.

    ``revision`` (a resolved commit sha) replaces the URL's ref; without it branches, tags,
    shas and ``HEAD`` all go to Gitiles by name (Backstage supports branches and shas).
    """
    ref = parse_gitiles_url_ref(config, url)
    return build_gerrit_gitiles_archive_url(config, ref.project, revision or ref.revision, ref.path)


def _projects_url(config: GerritIntegrationConfig, project: str) -> str:
    return (
        f"{config.base_url}{get_authentication_prefix(config)}projects/"
        f"{encode_uri_component(project)}"
    )


def _unsupported(ref: GitilesUrlRef, what: str) -> InvalidUrlError:
    return InvalidUrlError(
        f"Unsupported gitiles ref type: {ref.ref_type}; the Gerrit {what} API needs a branch "
        "or a commit sha. Resolve the tag or HEAD to a commit first (GerritUrlReader does)."
    )


def build_gerrit_file_content_api_url(
    config: GerritIntegrationConfig,
    project: str,
    path: str,
    *,
    branch: str | None = None,
    commit: str | None = None,
) -> str:
    """Gerrit's REST URL for the base64 content of ``path`` on ``branch`` or at ``commit``."""
    if (branch is None) == (commit is None):
        raise ValueError("pass exactly one of branch= and commit=")
    where = (
        f"branches/{encode_uri_component(branch)}"
        if branch is not None
        else f"commits/{encode_uri_component(commit or '')}"
    )
    file_id = encode_uri_component(path.strip("/"))
    return f"{_projects_url(config, project)}/{where}/files/{file_id}/content"


def get_gerrit_file_contents_api_url(
    config: GerritIntegrationConfig, url: str, *, revision: str | None = None
) -> str:
    """The Gerrit REST URL that returns the base64 content of the file a browse URL names.

    Branch URLs use ``/branches/{branch}/files/...``, sha URLs (or a given ``revision``)
    ``/commits/{sha}/files/...``; tags and ``HEAD`` need a ``revision``.
    """
    ref = parse_gitiles_url_ref(config, url)
    if revision is not None:
        return build_gerrit_file_content_api_url(config, ref.project, ref.path, commit=revision)
    if ref.ref_type == "branch":
        return build_gerrit_file_content_api_url(config, ref.project, ref.path, branch=ref.ref)
    if ref.ref_type == "sha":
        return build_gerrit_file_content_api_url(config, ref.project, ref.path, commit=ref.ref)
    raise _unsupported(ref, "file content")


def build_gerrit_branch_api_url(config: GerritIntegrationConfig, project: str, branch: str) -> str:
    """Gerrit's REST URL of a branch (``BranchInfo``: ``ref`` and ``revision``)."""
    return f"{_projects_url(config, project)}/branches/{encode_uri_component(branch)}"


def get_gerrit_branch_api_url(config: GerritIntegrationConfig, url: str) -> str:
    """The Gerrit REST URL of the branch a branch browse URL names (its ``revision``)."""
    ref = parse_gitiles_url_ref(config, url)
    if ref.ref_type != "branch":
        raise _unsupported(ref, "branch")
    return build_gerrit_branch_api_url(config, ref.project, ref.ref)


def get_gerrit_tag_api_url(config: GerritIntegrationConfig, project: str, tag: str) -> str:
    """The Gerrit REST URL of a tag (``TagInfo``: ``revision``, and ``object`` when annotated)."""
    return f"{_projects_url(config, project)}/tags/{encode_uri_component(tag)}"


def get_gerrit_head_api_url(config: GerritIntegrationConfig, project: str) -> str:
    """The Gerrit REST URL answering the ref ``HEAD`` points to (``"refs/heads/main"``)."""
    return f"{_projects_url(config, project)}/HEAD"


def get_gerrit_projects_api_url(config: GerritIntegrationConfig) -> str:
    """``{baseUrl}{/a/|/}projects/``."""
    return f"{config.base_url}{get_authentication_prefix(config)}projects/"


def get_gerrit_clone_repo_url(config: GerritIntegrationConfig, url: str) -> str:
    """``{cloneUrl}{/a/|/}{project}`` for the project of a browse URL (for git clients)."""
    ref = parse_gitiles_url_ref(config, url)
    return f"{config.clone_url}{get_authentication_prefix(config)}{encode_path(ref.project)}"


def get_gitiles_tree_json_url(
    config: GerritIntegrationConfig,
    project: str,
    revision: str,
    path: str = "",
    *,
    recursive: bool = False,
) -> str:
    """Gitiles' JSON listing of the tree at ``path``: ``{id, entries: [{mode, type, id, name}]}``.

    With ``recursive`` every file below is listed, named relative to ``path``. The root
    needs the trailing slash (``+/{rev}`` alone is the commit, not its tree).
    """
    where = encode_path(path.strip("/")) if path.strip("/") else ""
    query = "?format=JSON&recursive=1" if recursive else "?format=JSON"
    return (
        f"{get_gitiles_authentication_url(config)}/{encode_path(project)}"
        f"/+/{encode_path(revision)}/{where}{query}"
    )


def build_gerrit_gitiles_url(
    config: GerritIntegrationConfig, project: str, branch: str, file_path: str
) -> str:
    """The Gitiles browse URL of a file on a branch."""
    return (
        f"{config.gitiles_base_url}/{encode_path(project)}/+/refs/heads/"
        f"{encode_path(branch)}/{encode_path(file_path.lstrip('/'))}"
    )


def build_gerrit_edit_url(
    config: GerritIntegrationConfig, project: str, branch: str, file_path: str
) -> str:
    """The Gerrit web editor URL of a file on a branch (Gerrit 3.9+)."""
    return (
        f"{config.base_url}/admin/repos/edit/repo/{encode_path(project)}/branch/refs/heads/"
        f"{encode_path(branch)}/file/{encode_path(file_path.lstrip('/'))}"
    )


def get_gerrit_request_options(config: GerritIntegrationConfig) -> dict[str, dict[str, str]]:
    """``{"headers": {"Authorization": "Basic ..."}}`` with a password, else ``{}``."""
    if not config.password:
        return {}
    pair = f"{config.username or ''}:{config.password}".encode()
    token = Secret(base64.b64encode(pair).decode("ascii"))
    return {"headers": {"Authorization": Secret(f"Basic {token}")}}


def parse_gerrit_json_response(
    body: str | bytes | requests.Response, *, url: str | None = None
) -> Any:
    """Parse a Gerrit (or Gitiles) JSON answer, which starts with the ``)]}'`` guard line.

    Raises UpstreamError when the guard is missing (the answer did not come from Gerrit:
    a login page, a proxy, a wrong ``baseUrl``) or the rest is not JSON.
    """
    status: int | None = None
    if isinstance(body, str | bytes):
        raw = body
    else:
        from scmreader.http import read_body

        raw, url, status = read_body(body), url or body.url, body.status_code
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    where = f" from {redact_url(url)}" if url else ""
    shown = redact(text[:10])
    if not text.startswith(XSSI_PREFIX):
        raise UpstreamError(
            f"Gerrit JSON body prefix missing. Found: {shown!r}{where}; Gerrit starts every JSON "
            "answer with )]}' - check that baseUrl/gitilesBaseUrl point at Gerrit and no login "
            "page or proxy answered instead.",
            status=status,
            url=redact_url(url) if url else None,
        )
    try:
        return json.loads(text[len(XSSI_PREFIX) :])
    except json.JSONDecodeError as exc:
        raise UpstreamError(
            f"Invalid response from Gerrit{where}: {shown!r} - {exc.msg}; the answer was cut "
            "off or is not JSON.",
            status=status,
            url=redact_url(url) if url else None,
        ) from None


# --- the integration ---------------------------------------------------------------------


class GerritIntegration(ScmIntegration):
    """A configured Gerrit host (Backstage's ``GerritIntegration``)."""

    type = "gerrit"
    config: GerritIntegrationConfig

    def __init__(self, config: GerritIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_url(self, *, url: str, base: str, line_number: int | None = None) -> str:
        """Resolve ``url`` against the Gitiles URL ``base``; ``/x`` is repository-absolute.

        The line number becomes the fragment ``#<n>`` (Gitiles' anchor form, no ``L``),
        also for repository-absolute links (Backstage drops it there).
        """
        if url.startswith("/"):
            result = parse_gitiles_url_ref(self.config, base).base_path + url
        elif url:
            result = join_url(base, url)
        else:
            result = base
        if line_number:
            result = f"{result.split('#', 1)[0]}#{line_number}"
        return result

    def resolve_edit_url(self, url: str) -> str:
        """The Gerrit web editor URL for a file on a branch; the URL itself otherwise.

        ``disableEditUrl`` (Gerrit before 3.9), tags, shas, ``HEAD`` (only branches can be
        edited), folders and URLs that are not Gitiles URLs all return ``url`` unchanged.
        """
        if self.config.disable_edit_url:
            return url
        try:
            ref = parse_gitiles_url_ref(self.config, url)
        except InvalidUrlError:
            return url
        if ref.ref_type != "branch" or ref.is_root:
            return url
        return build_gerrit_edit_url(self.config, ref.project, ref.ref, ref.path)


def _read_configs(entries: list[Config] | None) -> list[ScmIntegration]:
    return [GerritIntegration(c) for c in read_gerrit_integration_configs(entries)]


INTEGRATION = IntegrationType(key="gerrit", order=70, read_configs=_read_configs)
