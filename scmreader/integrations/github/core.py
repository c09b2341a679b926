"""GitHub URL helpers: the integration object, URL-type rewriting and file fetch URLs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from scmreader.errors import InputError, InvalidUrlError
from scmreader.integrations.base import ScmIntegration
from scmreader.redact import redact_url
from scmreader.urls import (
    GitUrl,
    default_scm_resolve_url,
    encode_path,
    parse_git_url,
    reject_traversal,
)

if TYPE_CHECKING:
    from scmreader.integrations.github.config import GithubIntegrationConfig
    from scmreader.integrations.github.credentials import GithubCredentials

GithubUrlType = Literal["blob", "tree", "edit"]

_URL_TYPE_RE = re.compile(r"//([^/]+)/([^/]+)/([^/]+)/(blob|tree|edit)/")
# A query value: '/' stays readable, '&', '=', '+', '#' and ';' are escaped.
_QUERY_VALUE_SAFE = "/!$'()*,:@"

#: What ``encode_path(..., keep=GITHUB_PATH_KEEP)`` leaves literal in GitHub path segments
#: beyond ``encodeURIComponent``'s set: RFC 3986 sub-delimiters, ``:`` and ``@``. GitHub's
#: own URL templates (``contents/{+path}``) keep them and Backstage, which inserts paths
#: unencoded, sends them literally. GitHub decodes either form; this keeps our URLs as close
#: to Backstage's as safe encoding allows.
GITHUB_PATH_KEEP = "$&+,;=:@"


def encode_query_value(value: str) -> str:
    """Percent-encode a decoded value for a query string (``/`` kept)."""
    return quote(value, safe=_QUERY_VALUE_SAFE)


def replace_github_url_type(url: str, type: GithubUrlType) -> str:
    """Rewrite the first ``//host/owner/repo/(blob|tree|edit)/`` of ``url`` to ``type``.

    ``https://github.com/a/b/blob/main/c.yaml`` with ``tree`` gives
    ``https://github.com/a/b/tree/main/c.yaml``; URLs of another shape (``raw`` among
    them) come back unchanged.
    """
    if type not in ("blob", "tree", "edit"):
        raise InputError(f"GitHub URL type must be 'blob', 'tree' or 'edit', not {type!r}.")
    return _URL_TYPE_RE.sub(
        lambda m: f"//{m.group(1)}/{m.group(2)}/{m.group(3)}/{type}/", url, count=1
    )


@dataclass(frozen=True)
class RateLimitInfo:
    """Whether a GitHub answer says the rate limit is exhausted."""

    is_rate_limited: bool


class ResponseLike(Protocol):
    """The part of an HTTP response that rate-limit parsing reads."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def parse_rate_limit_info(response: ResponseLike) -> RateLimitInfo:
    """429, or 403 with ``x-ratelimit-remaining: 0``, means rate limited."""
    status = response.status_code
    remaining = (response.headers.get("x-ratelimit-remaining") or "").strip()
    return RateLimitInfo(status == 429 or (status == 403 and remaining == "0"))


def github_file_fetch_url(
    config: GithubIntegrationConfig,
    *,
    owner: str,
    name: str,
    ref: str,
    path: str,
    has_token: bool,
) -> str:
    """The URL that serves one file: the contents API or the raw host.

    The API is used when an API base URL is configured and either a token is at hand or
    no raw base URL exists; otherwise the raw host. Arguments are decoded text; they
    are percent-encoded here.
    """
    path = path.lstrip("/")
    repo = encode_path(f"{owner}/{name}", keep=GITHUB_PATH_KEEP)
    path = encode_path(path, keep=GITHUB_PATH_KEEP)
    if config.api_base_url and (has_token or not config.raw_base_url):
        return f"{config.api_base_url}/repos/{repo}/contents/{path}?ref={encode_query_value(ref)}"
    if config.raw_base_url:
        return f"{config.raw_base_url}/{repo}/{encode_path(ref, keep=GITHUB_PATH_KEEP)}/{path}"
    raise InputError(
        f"GitHub integration '{config.host}' has neither apiBaseUrl nor rawBaseUrl; "
        "configure one of them to read files."
    )


def parse_github_url(url: str) -> GitUrl:
    """Parse a GitHub browse URL; ``?path=`` names the file and makes the whole path the ref.

    ``https://github.com/o/r/blob/feature/x?path=catalog-info.yaml`` reads
    ``catalog-info.yaml`` at branch ``feature/x`` (Backstage's form for branch names with
    slashes). Encoded traversal in the ``path`` parameter is rejected like in the path.
    """
    git = parse_git_url(url)
    values = parse_qs(urlsplit(url).query).get("path")
    if not values or not git.ref:
        return git
    ref = "/".join(part for part in (git.ref, git.filepath.strip("/")) if part)
    return replace(git, ref=ref, filepath=reject_traversal(values[0]).lstrip("/"))


def get_github_file_fetch_url(
    url: str,
    config: GithubIntegrationConfig,
    credentials: GithubCredentials | None = None,
) -> str:
    """Translate a browse URL (``/owner/repo/blob|tree|raw/ref/path``) into a fetch URL.

    ``ref`` is the first segment after the type, as in Backstage (the reader resolves
    branches with ``/`` itself). Raises InvalidUrlError ``Incorrect URL: <url>, ...`` for
    other shapes and for paths that hide ``..`` behind percent-encoding.
    """
    try:
        git = parse_github_url(url)
        if (
            not git.owner
            or not git.name
            or not git.ref
            or git.filepathtype not in ("blob", "raw", "tree")
        ):
            raise InvalidUrlError(
                "Invalid GitHub URL or file path; expected "
                "https://<host>/<owner>/<repo>/blob/<ref>/<path>"
            )
    except InvalidUrlError as exc:
        raise InvalidUrlError(f"Incorrect URL: {redact_url(url)}, {exc}") from None
    return github_file_fetch_url(
        config,
        owner=git.owner,
        name=git.name,
        ref=git.ref,
        path=git.filepath,
        has_token=bool(credentials is not None and credentials.token),
    )


class GithubIntegration(ScmIntegration):
    """A configured GitHub or GitHub Enterprise host."""

    type: ClassVar[str] = "github"
    config: GithubIntegrationConfig

    def __init__(self, config: GithubIntegrationConfig) -> None:
        super().__init__(config)

    def resolve_url(self, *, url: str, base: str, line_number: int | None = None) -> str:
        """Resolve like the default, then use ``tree`` (GitHub redirects it for files)."""
        resolved = default_scm_resolve_url(url=url, base=base, line_number=line_number)
        return replace_github_url_type(resolved, "tree")

    def resolve_edit_url(self, url: str) -> str:
        """The ``/edit/`` URL of a ``blob``/``tree`` URL."""
        return replace_github_url_type(url, "edit")

    def parse_rate_limit_info(self, response: ResponseLike) -> RateLimitInfo:
        """See :func:`parse_rate_limit_info`."""
        return parse_rate_limit_info(response)
