"""FakeScmHost: a real HTTP/1.1 server on loopback that emulates source-code hosts.

Routes are checked newest first: a test can override one endpoint of an enabled provider
by registering its own route afterwards. A route's pattern must match the whole raw
(still percent-encoded) path, without the query string. A handler may return None to let
older routes try; when none answers, the host sends a 404.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import re
import shutil
import socket
import tempfile
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, overload

from scmreader.testing.exceptions import FakeHostError
from scmreader.testing.faults import Faults
from scmreader.testing.messages import (
    AUTH_HEADER_NAMES,
    FakeRequest,
    FakeResponse,
    HeaderInput,
    RecordedRequest,
)

if TYPE_CHECKING:
    from scmreader.testing._handler import _Server
    from scmreader.testing.repo import FakeRepo, FileContent

Handler = Callable[[FakeRequest], "FakeResponse | None"]


@dataclasses.dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler

    def accepts(self, method: str) -> bool:
        return self.method in ("*", method) or (self.method == "GET" and method == "HEAD")


class FakeScmHost:
    """A local HTTP server playing one source-code host, with real git repositories.

    Use it as a context manager (or :meth:`start` / :meth:`close`). ``bind`` must be a
    loopback address; ``127.0.0.2`` etc. make a second, really different host for
    cross-origin tests. Everything a test registers (routes, repos, faults) may be added
    before or after starting.
    """

    #: Lower-case names of headers recorded in ``RecordedRequest.auth_headers``.
    auth_header_names: ClassVar[frozenset[str]] = AUTH_HEADER_NAMES

    def __init__(
        self, bind: str = "127.0.0.1", port: int = 0, *, providers: Iterable[str] = ()
    ) -> None:
        self.bind = _check_bind(bind)
        self.faults = Faults()
        #: Exceptions raised by route handlers (each also answered with a 500).
        self.errors: list[BaseException] = []
        #: Per-provider state, keyed by the provider's name (e.g. ``state["plain"]``).
        self.state: dict[str, Any] = {}
        self._port = port
        self._lock = threading.RLock()
        self._routes: list[_Route] = []
        self._enabled: dict[str, dict[str, Any]] = {}
        self._repos: dict[str, FakeRepo] = {}
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._workdir: Path | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None
        for name in providers:
            self.enable(name)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeScmHost:
        """Start listening (no-op when running); returns self."""
        from scmreader.testing._handler import _Server

        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        self._stopping.clear()
        try:
            server = _Server((self.bind, self._port), family, self)
        except OSError as exc:
            raise FakeHostError(
                f"FakeScmHost cannot listen on {self.bind} port {self._port}: {exc.strerror}; "
                "pick another port or loopback address"
            ) from None
        self._server = server
        self._port = int(server.server_address[1])
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeScmHost {self.host}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open connections; repositories are kept."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def close(self) -> None:
        """Stop, and delete the repositories and every temporary file."""
        self.stop()
        with self._lock:
            repos = list(self._repos.values())
        for repo in repos:
            repo.close()
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> FakeScmHost:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The TCP port (known once started; kept after stop)."""
        if not self._port:
            raise FakeHostError("FakeScmHost has no port yet: call start() first")
        return self._port

    @property
    def host(self) -> str:
        """``address:port`` as a URL authority (``[::1]:port`` for IPv6)."""
        address = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"{address}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://address:port`` without a trailing slash."""
        return f"http://{self.host}"

    def url(self, path: str = "/") -> str:
        """``base_url`` joined with ``path`` (which should start with ``/``)."""
        return self.base_url + (path if path.startswith("/") else f"/{path}")

    @property
    def workdir(self) -> Path:
        """Temporary folder holding this host's repositories and archives."""
        with self._lock:
            if self._workdir is None:
                self._workdir = Path(tempfile.mkdtemp(prefix="scmreader-fakehost-"))
                self._cleanup = weakref.finalize(
                    self, shutil.rmtree, str(self._workdir), ignore_errors=True
                )
            return self._workdir

    def __repr__(self) -> str:
        where = self.base_url if self._port else f"{self.bind} (not started)"
        return f"<FakeScmHost {where} providers={sorted(self._enabled)}>"

    # --- routes and providers ----------------------------------------------------------

    @overload
    def route(self, method: str, path_regex: str, handler: Handler) -> Handler: ...

    @overload
    def route(
        self, method: str, path_regex: str, handler: None = None
    ) -> Callable[[Handler], Handler]: ...

    def route(
        self, method: str, path_regex: str, handler: Handler | None = None
    ) -> Handler | Callable[[Handler], Handler]:
        """Answer ``method`` requests whose raw path fully matches ``path_regex``.

        ``method`` ``"*"`` matches any method; a ``GET`` route also answers ``HEAD`` (the
        host sends the headers only). Without ``handler``, returns a decorator.
        """
        try:
            pattern = re.compile(path_regex)
        except re.error as exc:
            raise FakeHostError(f"invalid route pattern {path_regex!r}: {exc}") from None

        def register(func: Handler) -> Handler:
            with self._lock:
                self._routes.append(_Route(method.upper(), pattern, func))
            return func

        return register if handler is None else register(handler)

    def enable(self, name: str, **options: Any) -> None:
        """Install a provider emulation: ``scmreader.testing.routes.<name>.install(host)``.

        A dotted ``name`` is imported as a full module path, so projects can ship their own
        emulations. Enabling a provider twice does nothing the second time.
        """
        import importlib

        with self._lock:
            if name in self._enabled:
                return
            module_name = name if "." in name else f"scmreader.testing.routes.{name}"
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name is None or not module_name.startswith(exc.name):
                    raise
                raise FakeHostError(
                    f"no FakeScmHost emulation named {name!r}; "
                    f"available: {', '.join(available_providers())}"
                ) from None
            install = getattr(module, "install", None)
            if not callable(install):
                raise FakeHostError(f"module {module_name} has no install(host, **options)")
            self._enabled[name] = dict(options)
            try:
                install(self, **options)
            except BaseException:
                del self._enabled[name]
                raise

    @property
    def enabled(self) -> dict[str, dict[str, Any]]:
        """Enabled provider names and the options they were enabled with."""
        with self._lock:
            return dict(self._enabled)

    def serve_file(
        self,
        path: str,
        content: bytes | str | Path,
        *,
        etag: str | bool | None = None,
        last_modified: datetime | str | bool | None = None,
        content_type: str | None = None,
        headers: HeaderInput = None,
    ) -> None:
        """Serve a plain file at ``path`` (enables ``plain``); see ``routes.plain.serve_file``."""
        from scmreader.testing.routes import plain

        self.enable("plain")
        plain.serve_file(
            self,
            path,
            content,
            etag=etag,
            last_modified=last_modified,
            content_type=content_type,
            headers=headers,
        )

    def serve_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Redirect requests for ``path`` to ``location`` (enables ``plain``)."""
        from scmreader.testing.routes import plain

        self.enable("plain")
        plain.serve_redirect(self, path, location, status)

    # --- repositories ------------------------------------------------------------------

    def add_repo(
        self,
        full_name: str,
        files: Mapping[str, FileContent] | None = None,
        *,
        path: str | Path | None = None,
        default_branch: str = "main",
        branches: Mapping[str, Mapping[str, FileContent] | str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> FakeRepo:
        """Create a real git repository ``full_name`` (``owner/repo``, ``group/sub/repo``...).

        ``files`` maps paths to contents (default: a README); ``path`` copies a folder's
        files first (``.git`` skipped). ``branches`` maps names (slashes allowed) to files
        committed on top of the default branch, or to a ref to point at. ``tags`` maps tag
        names to refs.
        """
        from scmreader.testing.repo import FakeRepo

        with self._lock:
            if self.get_repo(full_name) is not None:
                raise FakeHostError(f"FakeScmHost already has a repository {full_name!r}")
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", full_name)
            git_dir = self.workdir / "repos" / f"{len(self._repos)}-{safe}.git"
            repo = FakeRepo.create(
                full_name,
                git_dir,
                files,
                path=path,
                default_branch=default_branch,
                branches=branches,
                tags=tags,
            )
            self._repos[full_name] = repo
            return repo

    def get_repo(self, full_name: str) -> FakeRepo | None:
        """The repository named ``full_name`` (exact, else case-insensitive), or None."""
        with self._lock:
            if full_name in self._repos:
                return self._repos[full_name]
            folded = full_name.casefold()
            for name, repo in self._repos.items():
                if name.casefold() == folded:
                    return repo
            return None

    def repo(self, full_name: str) -> FakeRepo:
        """The repository named ``full_name``; FakeHostError when there is none."""
        repo = self.get_repo(full_name)
        if repo is None:
            raise FakeHostError(f"FakeScmHost has no repository {full_name!r}; add_repo() it")
        return repo

    @property
    def repos(self) -> dict[str, FakeRepo]:
        """All repositories by full name."""
        with self._lock:
            return dict(self._repos)

    # --- request log -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._requests.clear()

    def requests_to(self, path_regex: str, method: str | None = None) -> list[RecordedRequest]:
        """Requests whose raw path contains a match of ``path_regex`` (``re.search``)."""
        pattern = re.compile(path_regex)
        return [
            r
            for r in self.requests
            if pattern.search(r.path) and (method is None or r.method == method.upper())
        ]

    # --- used by the request handler ---------------------------------------------------

    def _record(self, request: FakeRequest) -> None:
        names = frozenset(n.lower() for n in request.headers if n.lower() in self.auth_header_names)
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            raw_query=request.raw_query,
            headers=request.headers,
            body=request.body,
            server_address=request.server_address,
            client_address=request.client_address,
            auth_headers=names,
            time=time.time(),
            monotonic=time.monotonic(),
        )
        with self._lock:
            self._requests.append(recorded)

    def _respond(self, request: FakeRequest) -> FakeResponse:
        with self._lock:
            routes = list(reversed(self._routes))
        for route in routes:
            if not route.accepts(request.method):
                continue
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            try:
                response = route.handler(dataclasses.replace(request, match=match))
            except Exception as exc:
                self.errors.append(exc)
                detail = "".join(traceback.format_exception(exc))
                return FakeResponse.text(f"FakeScmHost route handler failed:\n{detail}", 500)
            if response is not None:
                return response
        if "json" in request.headers.get("Accept", ""):
            return FakeResponse.json({"message": "Not Found", "path": request.path}, 404)
        return FakeResponse.text(f"Not Found: {request.path}\n", 404)

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class FakeScmHostFactory(Protocol):
    """The ``fake_scm_host_factory`` fixture: makes extra started hosts."""

    def __call__(
        self, bind: str = "127.0.0.1", port: int = 0, *, providers: Iterable[str] = ()
    ) -> FakeScmHost: ...


def available_providers() -> list[str]:
    """Names of the emulations shipped in ``scmreader.testing.routes``."""
    import pkgutil

    from scmreader.testing import routes

    return sorted(
        m.name for m in pkgutil.iter_modules(routes.__path__) if not m.name.startswith("_")
    )


def _check_bind(bind: str) -> str:
    if bind == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(bind.strip("[]"))
    except ValueError:
        raise FakeHostError(
            f"FakeScmHost bind must be a loopback IP address such as 127.0.0.2, got {bind!r}"
        ) from None
    if not address.is_loopback:
        raise FakeHostError(
            f"FakeScmHost only listens on loopback addresses (127.0.0.0/8, ::1), got {bind!r}"
        )
    return str(address)
