"""GitHub credentials: a configured token, or tokens minted by GitHub Apps.

For a URL ``https://<host>/<owner>/<repo>/...`` the provider asks every configured app
for an installation token for ``owner`` (the first app that has one wins), then falls
back to an app with ``publicAccess``, then to the configured ``token``. A bare host URL
gets the app's own JWT. Installation lists are cached for 10 minutes; installation
tokens are cached per owner until 10 minutes before they expire, and refreshed by one
thread at a time while the others wait for the result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from urllib.parse import urljoin

from scmreader.errors import (
    AuthenticationError,
    NotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    ScmReaderError,
)
from scmreader.redact import Secret, redact_url, register_secret
from scmreader.urls import parse_git_url, parse_url

if TYPE_CHECKING:
    import requests

    from scmreader.http import HttpClient
    from scmreader.integrations import ScmIntegrations
    from scmreader.integrations.github.config import GithubAppConfig, GithubIntegrationConfig
    from scmreader.integrations.github.core import GithubIntegration

GithubCredentialType = Literal["app", "token"]

#: How long the list of an app's installations is reused.
INSTALLATIONS_TTL = 600.0
#: An owner missing from the cached list forces a new list at most this often.
MISS_REFRESH_INTERVAL = 60.0
#: Installation tokens are replaced this long before GitHub says they expire.
TOKEN_EXPIRY_MARGIN = 600.0
#: Lifetime of the app JWT (GitHub allows at most 10 minutes).
JWT_LIFETIME = 540.0

_API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
_INSTALL_HINT = "pip install 'scmreader[github-app]'"


@dataclass(frozen=True)
class GithubCredentials:
    """What to send to GitHub: ``headers`` carries ``Authorization: Bearer <token>``."""

    type: GithubCredentialType = "token"
    token: str | None = field(default=None, repr=False)

    @property
    def headers(self) -> dict[str, str] | None:
        """``{"Authorization": "Bearer <token>"}``, or None without a token."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else None

    def __repr__(self) -> str:
        return f"GithubCredentials(type={self.type!r}, authed={bool(self.token)})"


@runtime_checkable
class GithubCredentialsProvider(Protocol):
    """Anything that can say which credentials to use for a GitHub URL."""

    def get_credentials(self, *, url: str) -> GithubCredentials:
        """Credentials for ``url`` (``type='token'`` without a token when anonymous)."""
        ...


class InstallationNotFoundError(NotFoundError):
    """The app has no installation for the owner (other apps or the token may still work)."""


def _import_jwt(app: GithubAppConfig) -> Any:
    try:
        import jwt
        from jwt.algorithms import has_crypto
    except ImportError:
        raise app.source.error(
            f"GitHub App {app.app_id} needs PyJWT to sign its tokens, and it is not "
            f"installed; install it with {_INSTALL_HINT}."
        ) from None
    if not has_crypto:
        raise app.source.error(
            f"GitHub App {app.app_id} signs its tokens with RS256, which needs the "
            f"'cryptography' package; install it with {_INSTALL_HINT}."
        )
    return jwt


class _InstallationGone(PermissionDeniedError):
    """Token creation answered 404/410: the cached installation id is stale."""


@dataclass
class _Token:
    """An installation token, when to renew it, and the repositories it covers."""

    token: str
    refresh_at: float
    repositories: frozenset[str] | None


def _parse_expiry(value: Any, now: float) -> float:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return now + 3600.0  # GitHub's documented lifetime, should the field be unusable


class GithubAppManager:
    """Mints JWTs and installation tokens for one GitHub App on one host."""

    def __init__(
        self,
        app: GithubAppConfig,
        api_base_url: str,
        *,
        http: HttpClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self._api = api_base_url.rstrip("/")
        self._origin = parse_url(self._api).origin
        self._http = http
        self._clock = clock
        self._jwt_module = _import_jwt(app)
        self._lock = threading.Lock()
        self._jwt: tuple[str, float] | None = None
        self._installations: list[dict[str, Any]] | None = None
        self._installations_at = 0.0
        self._refresh_attempt_at = 0.0
        self._installations_lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._token_locks: dict[str, threading.Lock] = {}

    def __repr__(self) -> str:
        return f"GithubAppManager(app_id={self.app.app_id}, api={self._api!r})"

    # --- the app's own JWT -------------------------------------------------------------

    def app_jwt(self) -> str:
        """A signed RS256 JWT for the app, reused until one minute before it expires."""
        now = self._clock()
        with self._lock:
            if self._jwt is not None and now < self._jwt[1] - 60:
                return self._jwt[0]
            payload = {
                "iat": int(now) - 60,
                "exp": int(now + JWT_LIFETIME),
                "iss": str(self.app.app_id),
            }
            try:
                token = self._jwt_module.encode(payload, self.app.private_key, algorithm="RS256")
            except (ValueError, TypeError, self._jwt_module.PyJWTError) as exc:
                raise self.app.source.error(
                    f"The privateKey of GitHub App {self.app.app_id} cannot sign a token "
                    f"({type(exc).__name__}); paste the RSA key generated in the app's "
                    "settings.",
                    "privateKey",
                ) from None
            register_secret(token)
            self._jwt = (token, now + JWT_LIFETIME)
            return str(token)

    # --- installations -----------------------------------------------------------------

    def installations(self, *, force: bool = False) -> list[dict[str, Any]]:
        """The app's installations (cached for 10 minutes; one fetch at a time)."""
        with self._installations_lock:
            now = self._clock()
            fresh = now - self._installations_at < INSTALLATIONS_TTL
            if self._installations is not None and fresh and not force:
                return list(self._installations)
            self._refresh_attempt_at = now
            items = [
                item
                for item in self._paginate(
                    f"{self._api}/app/installations?per_page=100", self.app_jwt(), None
                )
                if isinstance(item, dict)
            ]
            self._installations = items
            self._installations_at = self._clock()
            return list(items)

    def _find_installation(self, owner: str) -> dict[str, Any]:
        wanted = owner.lower()

        def lookup(items: list[dict[str, Any]]) -> dict[str, Any] | None:
            for item in items:
                account = item.get("account")
                login = account.get("login") if isinstance(account, dict) else None
                if isinstance(login, str) and login.lower() == wanted:
                    return item
            return None

        found = lookup(self.installations())
        if found is None and self._clock() - self._refresh_attempt_at >= MISS_REFRESH_INTERVAL:
            found = lookup(self.installations(force=True))
        if found is None:
            raise InstallationNotFoundError(
                f"GitHub App {self.app.app_id} is not installed for '{owner}'; install it on "
                "that account or organisation, or configure a token for this host."
            )
        if found.get("suspended_by") or found.get("suspended_at"):
            raise PermissionDeniedError(
                f"The installation of GitHub App {self.app.app_id} for '{owner}' is "
                "suspended; an owner of the account must unsuspend it."
            )
        return found

    # --- installation tokens -----------------------------------------------------------

    def installation_token(self, owner: str, repo: str | None = None) -> str | None:
        """A token of the installation for ``owner``; None when the owner is not allowed.

        Raises InstallationNotFoundError when the app is not installed for ``owner`` and
        PermissionDeniedError when the installation cannot see ``repo`` or is suspended.
        """
        allowed = self.app.allowed_installation_owners
        if allowed is not None and owner.lower() not in allowed:
            return None
        # Logins are case-insensitive on GitHub, so one token serves every spelling.
        cached = self._cached_token(owner.lower())
        self._check_repository(cached, owner, repo)
        return cached.token

    def public_token(self) -> str | None:
        """A token of the app's first installation, for reading public repositories."""
        items = self.installations()
        if not items:
            raise InstallationNotFoundError(
                f"GitHub App {self.app.app_id} has publicAccess but no installation at all."
            )
        return self._cached_token(f"public:{items[0].get('id')}", items[0]).token

    def _lock_for(self, key: str) -> threading.Lock:
        with self._lock:
            return self._token_locks.setdefault(key, threading.Lock())

    def _cached_token(self, key: str, installation: dict[str, Any] | None = None) -> _Token:
        with self._lock_for(key):
            cached = self._tokens.get(key)
            if cached is not None and self._clock() < cached.refresh_at:
                return cached
            found = installation if installation is not None else self._find_installation(key)
            try:
                cached = self._create_token(found, key)
            except _InstallationGone:
                if installation is not None:
                    raise
                # Reinstalled apps get a new id: look the owner up once more.
                cached = self._create_token(self._find_installation(key), key)
            self._tokens[key] = cached
            return cached

    def _create_token(self, installation: dict[str, Any], owner: str) -> _Token:
        url = f"{self._api}/app/installations/{installation.get('id')}/access_tokens"
        response = self._http.request(
            "POST", url, headers=_API_HEADERS, credentials=self._creds(self.app_jwt())
        )
        if response.status_code in (404, 410):
            response.close()
            with self._installations_lock:
                self._installations = None
                self._refresh_attempt_at = 0.0
            raise _InstallationGone(
                f"GitHub App {self.app.app_id} has no installation {installation.get('id')} "
                f"for '{owner}' any more (answer {response.status_code}); reinstall the app "
                "or try again later.",
                status=response.status_code,
            )
        body = self._json(response, f"creating a token of GitHub App {self.app.app_id}")
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            from scmreader.http import unexpected_answer

            raise unexpected_answer(response, "has no installation token")
        register_secret(token)
        now = self._clock()
        refresh_at = _parse_expiry(body.get("expires_at"), now) - TOKEN_EXPIRY_MARGIN
        repositories = None
        if body.get("repository_selection") == "selected":
            repositories = frozenset(
                str(r.get("name", "")).lower()
                for r in self._paginate(
                    f"{self._api}/installation/repositories?per_page=100", token, "repositories"
                )
                if isinstance(r, dict)
            )
        return _Token(Secret(token), refresh_at, repositories)

    def _check_repository(self, cached: _Token, owner: str, repo: str | None) -> None:
        if repo and cached.repositories is not None and repo.lower() not in cached.repositories:
            raise PermissionDeniedError(
                f"GitHub App {self.app.app_id} is installed for '{owner}' but has not been "
                f"given access to the repository '{repo}'; add it to the installation's "
                "selected repositories."
            )

    # --- HTTP --------------------------------------------------------------------------

    def _creds(self, token: str) -> list[Any]:
        from scmreader.http import OriginCredentials

        return [OriginCredentials(self._origin, {"Authorization": f"Bearer {token}"})]

    def _json(self, response: requests.Response, what: str) -> Any:
        from scmreader.http import parse_json, raise_for_status

        if response.status_code == 401:
            response.close()
            raise AuthenticationError(
                f"GitHub rejected GitHub App {self.app.app_id} while {what} (401); check its "
                "appId and privateKey, and the clock of this machine.",
                status=401,
                url=redact_url(response.url),
            )
        raise_for_status(response, what=what)
        return parse_json(response)

    def _paginate(self, url: str, token: str, key: str | None) -> Iterator[Any]:
        next_url: str | None = url
        pages = 0
        while next_url and pages < 100:
            pages += 1
            response = self._http.get(
                next_url, headers=_API_HEADERS, credentials=self._creds(token)
            )
            body = self._json(response, "listing GitHub App installations")
            items = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(items, list):
                from scmreader.http import unexpected_answer

                raise unexpected_answer(response, "is not a list")
            yield from items
            link = response.links.get("next", {}).get("url")
            next_url = urljoin(next_url, link) if link else None
            if next_url and parse_url(next_url).origin != self._origin:
                next_url = None  # never follow pagination off the API host


class GithubAppCredentialsMux:
    """Asks every configured app (optionally only ``app_ids``) for a token."""

    def __init__(
        self,
        config: GithubIntegrationConfig,
        app_ids: Sequence[int] = (),
        *,
        http: HttpClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        apps = [a for a in config.apps if not app_ids or a.app_id in app_ids]
        if apps and not config.api_base_url:
            raise config.source.error(
                f"GitHub integration '{config.host}' has apps but no apiBaseUrl; GitHub Apps "
                "need the API, so add apiBaseUrl.",
            )
        if apps and http is None:
            from scmreader.http import HttpClient

            http = HttpClient()
        self.managers = [
            GithubAppManager(app, config.api_base_url or "", http=http, clock=clock)
            for app in apps
            if http is not None
        ]

    def get_all_installations(self) -> list[dict[str, Any]]:
        """Every installation of every app."""
        return [item for m in self.managers for item in m.installations()]

    def get_app_token(self, owner: str | None, repo: str | None = None) -> str | None:
        """The first app token for ``owner``/``repo``; None when no app has one.

        A missing installation only moves on to the next app; any other failure is raised
        when no app (and no public-access app) produced a token.
        """
        if not self.managers:
            return None
        if not owner:
            return self.managers[0].app_jwt()
        errors: list[ScmReaderError] = []
        for manager in self.managers:
            try:
                token = manager.installation_token(owner, repo)
            except InstallationNotFoundError:
                continue
            except ScmReaderError as exc:
                errors.append(exc)
                continue
            if token:
                return token
        for manager in self.managers:
            if manager.app.public_access:
                try:
                    token = manager.public_token()
                except ScmReaderError:
                    continue
                if token:
                    return token
        if errors:
            raise errors[0]
        return None


class SingleInstanceGithubCredentialsProvider:
    """Credentials for one GitHub host: app installation tokens, else the token."""

    def __init__(
        self,
        config: GithubIntegrationConfig,
        *,
        http: HttpClient | None = None,
        app_ids: Sequence[int] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.mux = GithubAppCredentialsMux(config, app_ids, http=http, clock=clock)

    @classmethod
    def create(
        cls, config: GithubIntegrationConfig, *, http: HttpClient | None = None
    ) -> SingleInstanceGithubCredentialsProvider:
        """A provider for ``config`` (Backstage's ``create``)."""
        return cls(config, http=http)

    def get_credentials(self, *, url: str) -> GithubCredentials:
        """Credentials for ``url``: the owner's app token, else the configured token."""
        git = parse_git_url(url)
        owner = git.owner or git.name
        repo = git.name if git.owner else None
        token = self.mux.get_app_token(owner, repo)
        if token:
            return GithubCredentials("app", token)
        return GithubCredentials("token", self.config.token)

    def __repr__(self) -> str:
        return (
            f"SingleInstanceGithubCredentialsProvider(host={self.config.host!r}, "
            f"apps={len(self.mux.managers)}, token={bool(self.config.token)})"
        )


class DefaultGithubCredentialsProvider:
    """Picks the single-instance provider of the URL's host."""

    def __init__(self, providers: dict[str, GithubCredentialsProvider]) -> None:
        self._providers = dict(providers)

    @classmethod
    def from_integrations(
        cls,
        integrations: ScmIntegrations | Iterable[GithubIntegration],
        *,
        http: HttpClient | None = None,
    ) -> DefaultGithubCredentialsProvider:
        """One provider per configured GitHub host."""
        items: Iterable[Any]
        if hasattr(integrations, "group"):
            items = integrations.group("github").list()
        else:
            items = integrations
        return cls(
            {
                i.config.host: SingleInstanceGithubCredentialsProvider(i.config, http=http)
                for i in items
            }
        )

    def get_credentials(self, *, url: str) -> GithubCredentials:
        """Credentials from the provider of ``url``'s host; NotAllowedError when none."""
        host = parse_url(url).host
        provider = self._providers.get(host)
        if provider is None:
            raise NotAllowedError(
                f"There is no GitHub integration for the host of {redact_url(url)}; add one "
                f"under integrations.github with host: {host}."
            )
        return provider.get_credentials(url=url)


__all__ = [
    "DefaultGithubCredentialsProvider",
    "GithubAppCredentialsMux",
    "GithubAppManager",
    "GithubCredentialType",
    "GithubCredentials",
    "GithubCredentialsProvider",
    "InstallationNotFoundError",
    "SingleInstanceGithubCredentialsProvider",
]
