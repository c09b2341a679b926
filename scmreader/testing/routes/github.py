"""GitHub / GitHub Enterprise: REST API, raw host and codeload over FakeScmHost repositories.

Layout, as GitHub Enterprise Server lays it out on one host:

- browse URLs at the root: ``{base_url}/{owner}/{repo}/blob/{ref}/{path}``;
- the REST API under ``/api/v3`` (``api_prefix``);
- raw files under ``/raw`` (``raw_prefix``): ``/raw/{owner}/{repo}/{ref}/{path}``;
- archives: ``GET /api/v3/repos/{o}/{r}/tarball/{ref}`` answers ``302`` to codeload, which
  is this same server addressed as ``localhost`` (another origin, so clients must drop
  credentials on the hop; hosts bound elsewhere than 127.0.0.1 redirect to their own
  origin) unless ``codeload=<another FakeScmHost>`` is given.

So a reader is configured with :func:`integration_config`. Answers carry GitHub's shapes,
statuses and headers: ``ETag`` (``If-None-Match`` gives 304), ``x-ratelimit-*``, 404 bodies
``{"message": "Not Found", "documentation_url": ...}``, 422 for unknown commits, recursive
tree listings that are ``truncated`` past ``tree_limit`` entries, GitHub Apps
(``/app/installations``, installation access tokens, ``/installation/repositories``),
``/user`` (the owner of a personal token; 403 for app and installation tokens, as GitHub
answers) and ``/rate_limit`` (free of charge, and answered even when the limit is spent).

Authentication is only checked where it matters: app endpoints need the app's RS256 JWT
(verified with the public key given to :meth:`GithubState.add_app`, so PyJWT is needed
for them); private repositories (:meth:`GithubState.make_private`) answer 404 unless the
token is a registered personal token or an installation token that covers them. Once any
token or app is registered, unknown tokens get ``401 Bad credentials``.

The code is split by concern: :mod:`._github_common` (state, the API wrapper, common
answers), :mod:`._github_repos` (repository endpoints, the raw host) and
:mod:`._github_apps` (GitHub Apps, ``/user``, ``/rate_limit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.messages import FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.server import FakeScmHost

from scmreader.testing.routes._github_apps import (
    _create_token,
    _get_user,
    _installation_repos,
    _list_installations,
    _rate_limit,
)
from scmreader.testing.routes._github_common import (
    _OWNER,
    _REPO,
    NAME,
    FakeApp,
    FakeInstallation,
    GithubState,
    _api,
    codeload_base_url,
    github,
)
from scmreader.testing.routes._github_repos import (
    _branches,
    _codeload,
    _get_archive,
    _get_blob,
    _get_commit,
    _get_contents,
    _get_repo,
    _get_tree,
    _matching_refs,
    _raw,
)

# --- installing ------------------------------------------------------------------------


def install(
    host: FakeScmHost,
    *,
    api_prefix: str = "/api/v3",
    raw_prefix: str = "/raw",
    codeload: FakeScmHost | None = None,
    tree_limit: int | None = None,
    token_ttl: float = 3600.0,
) -> None:
    """Register the GitHub routes on ``host`` (see the module docstring for the options)."""
    for name, prefix in (("api_prefix", api_prefix), ("raw_prefix", raw_prefix)):
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise FakeHostError(f"{name} must start with '/' and not end with '/', got {prefix!r}")
    state = GithubState(api_prefix, raw_prefix, tree_limit, token_ttl, codeload)
    host.state[NAME] = state
    api = api_prefix
    repo = f"{api}/repos/{_OWNER}/{_REPO}"

    def add(method: str, pattern: str, handler: Callable[..., FakeResponse]) -> None:
        host.route(method, pattern, lambda request: handler(host, state, request))

    # https://docs.github.com/en/rest/repos/repos, .../commits, .../repos/contents,
    # .../git/trees, .../git/blobs, .../git/refs, .../apps, .../rate-limit
    add("GET", repo, _api(_get_repo))
    add("GET", f"{repo}/commits/(?P<rest>.+)", _api(_get_commit))
    add("GET", f"{repo}/contents(?:/(?P<path>.*))?", _api(_get_contents))
    add("GET", f"{repo}/(?P<format>tarball|zipball)(?:/(?P<ref>.+))?", _api(_get_archive))
    add("GET", f"{repo}/git/trees/(?P<sha>.+)", _api(_get_tree))
    add("GET", f"{repo}/git/blobs/(?P<sha>[0-9a-fA-F]{{40}})", _api(_get_blob))
    add("GET", f"{repo}/git/matching-refs(?:/(?P<ref>.*))?", _api(_matching_refs))
    add("GET", f"{repo}/branches", _api(_branches))
    add("GET", f"{api}/app/installations", _api(_list_installations))
    add("POST", f"{api}/app/installations/(?P<id>[0-9]+)/access_tokens", _api(_create_token))
    add("GET", f"{api}/installation/repositories", _api(_installation_repos))
    add("GET", f"{api}/user", _api(_get_user))
    add("GET", f"{api}/rate_limit", _rate_limit)
    add("GET", f"{raw_prefix}/{_OWNER}/{_REPO}/(?P<rest>.+)", _raw)
    codeload_pattern = rf"/{_OWNER}/{_REPO}/legacy\.(?P<fmt>tar\.gz|zip)/(?P<ref>.+)"
    if codeload is None:
        add("GET", "/_codeload" + codeload_pattern, _codeload)
    else:
        codeload.route("GET", codeload_pattern, lambda request: _codeload(host, state, request))


def integration_config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    """The ``integrations.github[]`` entry that points a reader at ``host``."""
    state = github(host)
    entry: dict[str, Any] = {
        "host": host.host,
        "apiBaseUrl": host.base_url + state.api_prefix,
        "rawBaseUrl": host.base_url + state.raw_prefix,
    }
    entry.update(extra)
    return entry


__all__ = [
    "NAME",
    "FakeApp",
    "FakeInstallation",
    "GithubState",
    "codeload_base_url",
    "github",
    "install",
    "integration_config",
]
