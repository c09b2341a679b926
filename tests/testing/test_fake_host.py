"""FakeScmHost as an HTTP server: routing, framing, keep-alive, request log, hosts."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from scmreader.testing import FakeHostError, FakeRequest, FakeResponse, FakeScmHost
from scmreader.testing.server import FakeScmHostFactory


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        yield s


def test_routes_match_the_raw_path_and_decode_named_groups(
    fake_scm_host: FakeScmHost, session: requests.Session
) -> None:
    seen: list[FakeRequest] = []

    def handler(request: FakeRequest) -> FakeResponse:
        seen.append(request)
        return FakeResponse.json({"project": request.params["project"], "q": request.query})

    fake_scm_host.route("GET", r"/api/v4/projects/(?P<project>[^/]+)/repository/tree", handler)
    url = fake_scm_host.url("/api/v4/projects/group%2Fsub%2Frepo/repository/tree")
    response = session.get(url, params=[("ref", "main"), ("ref", "dev"), ("path", "a b")])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"project": "group/sub/repo", "q": {"ref": "main", "path": "a b"}}
    (request,) = seen
    assert request.path == "/api/v4/projects/group%2Fsub%2Frepo/repository/tree"
    assert request.match is not None and request.match.group(1) == "group%2Fsub%2Frepo"
    assert request.query_all == {"ref": ["main", "dev"], "path": ["a b"]}
    assert request.base_url == fake_scm_host.base_url
    assert request.url == f"{fake_scm_host.base_url}{request.path}?{request.raw_query}"
    # the pattern must match the whole path
    assert session.get(url + "/extra").status_code == 404


def test_newest_route_wins_and_none_falls_through(
    fake_scm_host: FakeScmHost, session: requests.Session
) -> None:
    fake_scm_host.route("GET", r"/x/.*", lambda r: FakeResponse.text("old"))

    @fake_scm_host.route("GET", r"/x/(?P<name>.*)")
    def newer(request: FakeRequest) -> FakeResponse | None:
        return FakeResponse.text("new") if request.params["name"] == "mine" else None

    assert session.get(fake_scm_host.url("/x/mine")).text == "new"
    assert session.get(fake_scm_host.url("/x/other")).text == "old"


def test_methods_head_and_request_bodies(
    fake_scm_host: FakeScmHost, session: requests.Session
) -> None:
    fake_scm_host.route("POST", r"/graphql", lambda r: FakeResponse.json({"got": r.json()}, 201))
    fake_scm_host.route("*", r"/any", lambda r: FakeResponse.text(r.method))
    fake_scm_host.route("GET", r"/file", lambda r: FakeResponse(200, b"0123456789"))
    posted = session.post(fake_scm_host.url("/graphql"), json={"query": "{ viewer }"})
    assert (posted.status_code, posted.json()) == (201, {"got": {"query": "{ viewer }"}})
    chunked_post = session.post(fake_scm_host.url("/graphql"), data=iter([b'{"a":', b"1}"]))
    assert chunked_post.json() == {"got": {"a": 1}}
    assert session.delete(fake_scm_host.url("/any")).text == "DELETE"
    assert session.get(fake_scm_host.url("/graphql")).status_code == 404
    head = session.head(fake_scm_host.url("/file"))
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "10", b"")
    assert session.get(fake_scm_host.url("/file")).content == b"0123456789"  # same connection


def test_keep_alive_reuses_one_connection(
    fake_scm_host: FakeScmHost, session: requests.Session
) -> None:
    fake_scm_host.route("GET", r"/n/\d+", lambda r: FakeResponse.text(r.path))
    for i in range(5):
        assert session.get(fake_scm_host.url(f"/n/{i}")).text == f"/n/{i}"
    ports = {r.client_address for r in fake_scm_host.requests}
    assert len(ports) == 1


def test_chunked_bodies_from_iterators_and_files(
    fake_scm_host: FakeScmHost, session: requests.Session, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 40_000)  # ~10 MB
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    fake_scm_host.route(
        "GET", r"/gen", lambda r: FakeResponse(200, (b"part%d," % i for i in range(3)))
    )
    fake_scm_host.route("GET", r"/file", lambda r: FakeResponse(200, big))
    fake_scm_host.route("GET", r"/file-chunked", lambda r: FakeResponse(200, big, chunked=True))
    gen = session.get(fake_scm_host.url("/gen"))
    assert gen.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in gen.headers
    assert gen.content == b"part0,part1,part2,"
    whole = session.get(fake_scm_host.url("/file"))
    assert whole.headers["Content-Length"] == str(big.stat().st_size)
    assert whole.headers["Content-Type"] == "application/octet-stream"
    assert hashlib.sha256(whole.content).hexdigest() == digest
    streamed = session.get(fake_scm_host.url("/file-chunked"), stream=True)
    assert streamed.headers["Transfer-Encoding"] == "chunked"
    hasher = hashlib.sha256()
    for block in streamed.iter_content(65536):
        hasher.update(block)
    assert hasher.hexdigest() == digest
    assert len({r.client_address for r in fake_scm_host.requests}) == 1  # all kept alive


def test_declared_length_is_sent_as_given(
    fake_scm_host: FakeScmHost, session: requests.Session
) -> None:
    fake_scm_host.route(
        "GET", r"/liar", lambda r: FakeResponse(200, b"short", {"Content-Length": "100"})
    )
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(fake_scm_host.url("/liar"))


def test_handler_errors_become_500_and_are_kept(
    fake_scm_host: FakeScmHost, session: requests.Session
) -> None:
    def broken(request: FakeRequest) -> FakeResponse:
        raise KeyError("missing fixture")

    fake_scm_host.route("GET", r"/broken", broken)
    response = session.get(fake_scm_host.url("/broken"))
    assert response.status_code == 500 and "KeyError: 'missing fixture'" in response.text
    assert [type(e) for e in fake_scm_host.errors] == [KeyError]
    fake_scm_host.errors.clear()  # provoked on purpose: keep the fixture's teardown check quiet


@pytest.mark.parametrize(
    ("accept", "content_type", "body"),
    [
        (
            "application/json",
            "application/json; charset=utf-8",
            '{"message": "Not Found", "path": "/a%20b"}',
        ),
        (
            "application/vnd.github+json",
            "application/json; charset=utf-8",
            '{"message": "Not Found", "path": "/a%20b"}',
        ),
        ("*/*", "text/plain; charset=utf-8", "Not Found: /a%20b\n"),
    ],
)
def test_not_found_body(
    fake_scm_host: FakeScmHost, session: requests.Session, accept: str, content_type: str, body: str
) -> None:
    response = session.get(fake_scm_host.url("/a%20b"), headers={"Accept": accept})
    assert (response.status_code, response.headers["Content-Type"], response.text) == (
        404,
        content_type,
        body,
    )


def test_request_log_records_credential_header_names(
    fake_scm_host: FakeScmHost, session: requests.Session
) -> None:
    cases = [
        {"Authorization": "Bearer t0ken"},
        {"PRIVATE-TOKEN": "glpat-x"},
        {"x-api-key": "k", "Cookie": "session=1"},
        {"X-Other": "not a credential"},
    ]
    for i, headers in enumerate(cases):
        session.get(fake_scm_host.url(f"/r/{i}"), params={"i": i}, headers=headers)
    log = fake_scm_host.requests
    assert [r.auth_headers for r in log] == [
        frozenset({"authorization"}),
        frozenset({"private-token"}),
        frozenset({"x-api-key", "cookie"}),
        frozenset(),
    ]
    assert log[0].headers["authorization"] == "Bearer t0ken"
    assert "t0ken" not in repr(log[0]) and "glpat" not in repr(log[1])
    assert [r.query for r in log] == [{"i": str(i)} for i in range(4)]
    assert log[0].server_address == ("127.0.0.1", fake_scm_host.port)
    assert log[0].headers["Host"] == fake_scm_host.host
    assert log[0].time <= log[-1].time and log[0].monotonic <= log[-1].monotonic
    assert [r.path for r in fake_scm_host.requests_to(r"^/r/[12]$")] == ["/r/1", "/r/2"]
    assert fake_scm_host.requests_to(r"/r/", method="post") == []
    fake_scm_host.clear_requests()
    assert fake_scm_host.requests == []


def test_request_log_is_thread_safe(fake_scm_host: FakeScmHost) -> None:
    fake_scm_host.route("GET", r"/t/\d+", lambda r: FakeResponse.text("ok"))

    def worker(n: int) -> None:
        with requests.Session() as s:
            for i in range(5):
                assert s.get(fake_scm_host.url(f"/t/{n * 10 + i}")).text == "ok"

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    paths = sorted(r.path for r in fake_scm_host.requests)
    assert paths == sorted(f"/t/{n * 10 + i}" for n in range(8) for i in range(5))


def test_two_hosts_on_different_loopback_addresses(
    fake_scm_host: FakeScmHost, fake_scm_host_factory: FakeScmHostFactory, session: requests.Session
) -> None:
    other = fake_scm_host_factory("127.0.0.2")
    assert (
        other.base_url.startswith("http://127.0.0.2:") and other.host == f"127.0.0.2:{other.port}"
    )
    other.serve_file("/target", "landed")
    fake_scm_host.serve_redirect("/start", other.url("/target"))
    response = session.get(fake_scm_host.url("/start"), headers={"Authorization": "token secret"})
    assert response.text == "landed"
    assert [r.path for r in fake_scm_host.requests] == ["/start"]
    (hop,) = other.requests
    assert hop.server_address[0] == "127.0.0.2"
    assert hop.auth_headers == frozenset()  # requests drops Authorization across hosts


@pytest.mark.parametrize("bind", ["10.0.0.1", "0.0.0.0", "example.com", "::", "169.254.169.254"])
def test_only_loopback_addresses_are_accepted(bind: str) -> None:
    with pytest.raises(FakeHostError, match="loopback"):
        FakeScmHost(bind)


def test_localhost_and_ipv6_loopback(session: requests.Session) -> None:
    with FakeScmHost("localhost") as host:
        assert host.bind == "127.0.0.1"
    probe = socket.socket(socket.AF_INET6) if socket.has_ipv6 else None
    try:
        if probe is None:
            pytest.skip("no IPv6")
        probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 not available")
    finally:
        if probe is not None:
            probe.close()
    with FakeScmHost("::1") as host:
        host.serve_file("/v6", "six")
        assert host.base_url == f"http://[::1]:{host.port}"
        assert session.get(host.url("/v6")).text == "six"


def test_lifecycle_and_stop_drops_idle_keep_alive_connections(session: requests.Session) -> None:
    host = FakeScmHost()
    with pytest.raises(FakeHostError, match="start"):
        _ = host.base_url
    host.serve_file("/x", "x")
    assert repr(host).endswith("(not started) providers=['plain']>")
    host.start()
    assert host.start() is host
    assert session.get(host.url("/x")).text == "x"
    host.stop()
    assert not host.running
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(host.url("/x"))
    host.start()  # same port again, same files
    assert session.get(host.url("/x")).text == "x"
    host.close()


def test_port_in_use_is_a_typed_error() -> None:
    with FakeScmHost() as host, pytest.raises(FakeHostError, match="cannot listen"):
        FakeScmHost(port=host.port).start()


def test_enable_unknown_and_custom_providers(
    fake_scm_host: FakeScmHost,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    session: requests.Session,
) -> None:
    with pytest.raises(
        FakeHostError, match=r"no FakeScmHost emulation named 'nope'; available: (.*, )?plain"
    ):
        fake_scm_host.enable("nope")
    package = tmp_path / "acme_fakes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "forge.py").write_text(
        "from scmreader.testing import FakeResponse\n"
        "def install(host, greeting='hi'):\n"
        "    host.route('GET', '/hello', lambda r: FakeResponse.text(greeting))\n"
    )
    (package / "noinstall.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake_scm_host.enable("acme_fakes.forge", greeting="hey")
    fake_scm_host.enable("acme_fakes.forge", greeting="ignored")  # second time: no-op
    assert session.get(fake_scm_host.url("/hello")).text == "hey"
    assert fake_scm_host.enabled == {"acme_fakes.forge": {"greeting": "hey"}}
    with pytest.raises(FakeHostError, match="has no install"):
        fake_scm_host.enable("acme_fakes.noinstall")
    with pytest.raises(FakeHostError, match="takes no options"):
        fake_scm_host.enable("plain", color="red")


def test_invalid_route_pattern(fake_scm_host: FakeScmHost) -> None:
    with pytest.raises(FakeHostError, match="invalid route pattern"):
        fake_scm_host.route("GET", r"/(", lambda r: None)


@pytest.mark.parametrize("retry_after", [None, 61])
def test_github_secondary_rate_limit_switch(
    fake_scm_host: FakeScmHost, retry_after: int | None
) -> None:
    """The fake answers as GitHub documents a secondary limit: 403, the body saying so,
    remaining requests left in the primary limit, retry-after only when GitHub sends it."""
    import requests

    from scmreader.testing.routes.github import github

    fake_scm_host.add_repo("octo/docs", {"a.md": "a\n"})
    github(fake_scm_host).trip_secondary_limit(2, retry_after=retry_after)
    url = f"{fake_scm_host.base_url}/api/v3/repos/octo/docs"
    answers = [requests.get(url, timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [403, 403, 200]
    assert "secondary rate limit" in answers[0].json()["message"]
    assert int(answers[0].headers["x-ratelimit-remaining"]) > 0
    assert answers[0].headers.get("retry-after") == (None if retry_after is None else "61")
