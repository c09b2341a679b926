"""GitHub emulation: GitHub Apps (installations, installation tokens), ``/user`` and
``/rate_limit``. See :mod:`.github`.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scmreader.testing.messages import FakeRequest, FakeResponse

if TYPE_CHECKING:
    from scmreader.testing.server import FakeScmHost

from scmreader.testing.routes._github_common import (
    FakeInstallation,
    GithubState,
    _api_base,
    _error,
    _identify,
    _json,
    _not_found,
    _owner_json,
    _paged,
    _repo_json,
    _stable_id,
)

# --- GitHub Apps -----------------------------------------------------------------------


def _installation_json(
    state: GithubState, request: FakeRequest, installation: FakeInstallation
) -> dict[str, Any]:
    api = _api_base(state, request)
    app = state.apps[installation.app_id]
    suspended = installation.suspended
    return {
        "id": installation.id,
        "account": _owner_json(request.base_url, api, installation.account),
        "repository_selection": "all" if installation.repositories is None else "selected",
        "access_tokens_url": f"{api}/app/installations/{installation.id}/access_tokens",
        "repositories_url": f"{api}/installation/repositories",
        "html_url": f"{request.base_url}/organizations/{installation.account}/settings/"
        f"installations/{installation.id}",
        "app_id": installation.app_id,
        "app_slug": app.slug,
        "target_id": _stable_id(installation.account),
        "target_type": "Organization",
        "permissions": {"contents": "read", "metadata": "read"},
        "events": [],
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "single_file_name": None,
        "suspended_by": {"login": "octo-admin", "id": 1} if suspended else None,
        "suspended_at": "2024-02-01T00:00:00Z" if suspended else None,
    }


def _jwt_error() -> FakeResponse:
    return _error(401, "A JSON web token could not be decoded", "/apps")


# https://docs.github.com/en/rest/apps/apps#list-installations-for-the-authenticated-app
def _list_installations(
    host: FakeScmHost, state: GithubState, request: FakeRequest
) -> FakeResponse:
    identity = _identify(state, request)
    if identity.app is None:
        return _jwt_error()
    with state._lock:
        mine = [i for i in state.installations.values() if i.app_id == identity.app.app_id]
    items = [_installation_json(state, request, i) for i in mine]
    chunk, headers = _paged(request, items, f"{_api_base(state, request)}/app/installations")
    return _json(chunk, headers=headers)


# https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app
def _create_token(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    identity = _identify(state, request)
    if identity.app is None:
        return _jwt_error()
    with state._lock:
        installation = state.installations.get(int(request.params["id"]))
    if installation is None or installation.app_id != identity.app.app_id:
        return _not_found("/apps/apps#create-an-installation-access-token-for-an-app")
    if installation.suspended:
        return _error(403, "This installation has been suspended", "/apps")
    token, expires = state.mint(installation.id)
    return _json(
        {
            "token": token,
            "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {"contents": "read", "metadata": "read"},
            "repository_selection": "all" if installation.repositories is None else "selected",
        },
        201,
    )


# https://docs.github.com/en/rest/apps/installations#list-repositories-accessible-to-the-app-installation
def _installation_repos(
    host: FakeScmHost, state: GithubState, request: FakeRequest
) -> FakeResponse:
    identity = _identify(state, request)
    installation = identity.installation
    if installation is None:
        return _error(401, "Requires authentication", "/apps/installations")
    owned = [
        r
        for r in host.repos.values()
        if r.owner.lower() == installation.account.lower()
        and (
            installation.repositories is None
            or r.name.lower() in {n.lower() for n in installation.repositories}
        )
    ]
    repos = [_repo_json(state, request, r) for r in owned]
    chunk, headers = _paged(
        request, repos, f"{_api_base(state, request)}/installation/repositories"
    )
    selection = "all" if installation.repositories is None else "selected"
    return _json(
        {"total_count": len(repos), "repository_selection": selection, "repositories": chunk},
        headers=headers,
    )


# --- the authenticated user and the rate limit ------------------------------------------


def _user_json(
    host: FakeScmHost, state: GithubState, request: FakeRequest, login: str
) -> dict[str, Any]:
    """The private profile ``GET /user`` gives the owner of a personal token."""
    user = _owner_json(request.base_url, _api_base(state, request), login)
    url = user["url"]
    owned = [r for r in host.repos.values() if r.owner.lower() == login.lower()]
    private = sum(r.full_name.lower() in state.private for r in owned)
    user.update(
        {
            "gravatar_id": "",
            "followers_url": f"{url}/followers",
            "following_url": url + "/following{/other_user}",
            "gists_url": url + "/gists{/gist_id}",
            "starred_url": url + "/starred{/owner}{/repo}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": url + "/events{/privacy}",
            "received_events_url": f"{url}/received_events",
            "type": "User",
            "user_view_type": "private",
            "name": None,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": len(owned) - private,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "private_gists": 0,
            "total_private_repos": private,
            "owned_private_repos": private,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {
                "name": "free",
                "space": 976562499,
                "collaborators": 0,
                "private_repos": 10000,
            },
        }
    )
    return user


# https://docs.github.com/en/rest/users/users#get-the-authenticated-user
def _get_user(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    doc = "/users/users#get-the-authenticated-user"
    identity = _identify(state, request)
    if identity.kind == "pat" and identity.login:
        return _json(_user_json(host, state, request, identity.login))
    if identity.kind in ("installation", "app"):
        return _error(403, "Resource not accessible by integration", doc)
    if request.headers.get("Authorization"):
        return _error(401, "Bad credentials")  # a token the host does not know
    return _error(401, "Requires authentication", doc)


# https://docs.github.com/en/rest/rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user
def _rate_limit(host: FakeScmHost, state: GithubState, request: FakeRequest) -> FakeResponse:
    """``GET /rate_limit``: not counted, and answered even once the limit is spent."""
    if _identify(state, request).kind == "unknown":
        response = _error(401, "Bad credentials")
    else:
        now = int(time.time())
        with state._lock:
            remaining = max(state.rate_remaining, 0)
            core = {
                "limit": state.rate_limit,
                "used": state.rate_limit - remaining,
                "remaining": remaining,
                "reset": state.rate_reset,
            }

        def fresh(limit: int, seconds: int) -> dict[str, int]:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": now + seconds}

        response = _json(
            {
                "resources": {
                    "core": core,
                    "search": fresh(30, 60),
                    "code_search": fresh(10, 60),
                    "graphql": fresh(5000, 3600),
                    "integration_manifest": fresh(5000, 3600),
                    "source_import": fresh(100, 60),
                    "code_scanning_upload": fresh(1000, 3600),
                    "actions_runner_registration": fresh(10000, 3600),
                    "scim": fresh(15000, 3600),
                    "dependency_snapshots": fresh(100, 60),
                },
                "rate": dict(core),
            }
        )
    for name, value in state.rate_headers():
        response.set_header(name, value)
    response.set_header("X-GitHub-Media-Type", "github.v3; format=json")
    response.set_header("X-GitHub-Request-Id", secrets.token_hex(8).upper())
    return response
