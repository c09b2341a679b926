"""Whatever a caller passes, the public API raises only scmreader's typed errors.

Arbitrary text and URL-shaped junk go through ``UrlReaders.read_url``, ``read_tree`` and
``search`` with GitHub, Gerrit and allow-list configs that point at a closed loopback
port. Nothing from requests, urllib3, json, KeyError, UnicodeError ... may escape.
"""

from __future__ import annotations

import string
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scmreader.errors import ScmReaderError
from scmreader.http import HttpClient, HttpSettings
from scmreader.readers import UrlReaders
from scmreader.testing import FakeRequest, FakeResponse, FakeScmHost

CLOSED = "127.0.0.1:9"  # discard port: nothing listens, connections are refused at once
CONFIG = {
    "integrations": {
        "github": [
            {
                "host": CLOSED,
                "apiBaseUrl": f"http://{CLOSED}/api/v3",
                "rawBaseUrl": f"http://{CLOSED}/raw",
                "token": "ghp_publicApiErrorsCanary01",
            }
        ],
        "gerrit": [
            {
                "host": "localhost:9",
                "baseUrl": "http://localhost:9",
                "gitilesBaseUrl": "http://localhost:9/plugins/gitiles",
                "username": "robot",
                "password": "gerrit-canary-password",
            }
        ],
    },
    "backend": {"reading": {"allow": [{"host": "127.0.0.1:1-65535"}]}},
}


@pytest.fixture(scope="module")
def readers() -> UrlReaders:
    http = HttpClient(HttpSettings(max_attempts=1, connect_timeout=1), sleep=lambda _: None)
    return UrlReaders.default(CONFIG, http=http)


SEGMENT = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~%*?{}[],!@:/\\ #&=+é\x00\n",
    max_size=12,
)
URLS = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, host, parts: f"{scheme}://{host}/" + "/".join(parts),
        st.sampled_from(["http", "https", "HTTP", "ftp", "file", ""]),
        st.sampled_from(
            [
                CLOSED,
                "localhost:9",
                "127.0.0.1",
                "user:pw@127.0.0.1:9",
                "[::1]:9",
                "example.invalid",
                "127.0.0.1:99999",
                "%31.0.0.1",
            ]
        ),
        st.lists(
            st.one_of(
                SEGMENT,
                st.sampled_from(
                    [
                        "o",
                        "r",
                        "blob",
                        "tree",
                        "raw",
                        "main",
                        "+",
                        "refs",
                        "heads",
                        "..",
                        "%2e%2e",
                        "plugins",
                        "gitiles",
                        "**",
                        "*.yaml",
                    ]
                ),
            ),
            max_size=8,
        ),
    ),
)

NAME = st.text(alphabet=string.ascii_lowercase + string.digits + "-_.", min_size=1, max_size=8)
PATH = st.lists(
    st.one_of(NAME, st.sampled_from(["*.yaml", "**", "{a,b}.md", "docs", "a b", "x%20y"])),
    min_size=0,
    max_size=4,
).map("/".join)


def shaped_urls(github: str, gerrit: str) -> st.SearchStrategy[str]:
    """URLs shaped like the providers' browse URLs, so requests really go out."""
    return st.one_of(
        st.builds(
            lambda o, r, kind, ref, path: f"{github}/{o}/{r}/{kind}/{ref}/{path}".rstrip("/"),
            NAME,
            NAME,
            st.sampled_from(["blob", "tree", "raw"]),
            NAME,
            PATH,
        ),
        st.builds(lambda o, r: f"{github}/{o}/{r}", NAME, NAME),
        st.builds(
            lambda project, ref, path: f"{gerrit}/plugins/gitiles/{project}/+/{ref}/{path}",
            NAME,
            st.one_of(
                st.builds("refs/heads/{}".format, NAME),
                st.just("HEAD"),
                st.builds("refs/tags/{}".format, NAME),
                st.just("a" * 40),
            ),
            PATH,
        ),
    )


CANARIES = ("ghp_publicApiErrorsCanary01", "gerrit-canary-password")


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    url=st.one_of(URLS, shaped_urls(f"http://{CLOSED}", "http://localhost:9")),
    operation=st.sampled_from(["read_url", "read_tree", "search"]),
)
def test_only_typed_errors_escape(readers: UrlReaders, url: str, operation: str) -> None:
    try:
        result = getattr(readers, operation)(url)
    except ScmReaderError as exc:
        text = f"{exc} {exc!r}"
        assert not any(canary in text for canary in CANARIES)
        return
    pytest.fail(f"{operation}({url!r}) returned {result!r} against a closed port")


# --- a host that answers everything with junk --------------------------------------------

JUNK_BODIES = [
    b"",
    b"<html><body>Sign in</body></html>",
    b"[]",
    b"{}",
    b'{"sha": 5, "tree": "x", "truncated": "yes"}',
    b'{"default_branch": null, "commit": {"sha": []}}',
    b")]}'\n[]",
    b')]}\'\n{"revision": 7}',
    b"\x1f\x8b\x08\x00garbage",
    b"PK\x03\x04junk",
    bytes(range(256)),
]


@pytest.fixture(scope="module")
def junk_host() -> Iterator[tuple[FakeScmHost, dict[str, object]]]:
    script: dict[str, object] = {"status": 200, "body": b"", "headers": {}}
    with FakeScmHost() as host:

        def answer(request: FakeRequest) -> FakeResponse:
            return FakeResponse(
                int(str(script["status"])),
                bytes(script["body"]),  # type: ignore[call-overload]
                dict(script["headers"]),  # type: ignore[call-overload]
            )

        host.route("GET", r".*", answer)
        yield host, script


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    operation=st.sampled_from(["read_url", "read_tree", "search"]),
    status=st.sampled_from([200, 200, 200, 201, 204, 301, 302, 400, 404, 409, 422, 500, 503]),
    body=st.sampled_from(JUNK_BODIES),
    headers=st.sampled_from(
        [
            {},
            {"Content-Type": "application/json"},
            {"ETag": '"e"'},
            {"Location": ""},
            {"Retry-After": "abc"},
        ]
    ),
)
def test_junk_answers_give_typed_errors(
    junk_host: tuple[FakeScmHost, dict[str, object]],
    data: st.DataObject,
    operation: str,
    status: int,
    body: bytes,
    headers: dict[str, str],
) -> None:
    host, script = junk_host
    script.update(status=status, body=body, headers=headers)
    base = host.base_url
    config = {
        "integrations": {
            "github": [
                {
                    "host": host.host,
                    "apiBaseUrl": f"{base}/api/v3",
                    "rawBaseUrl": f"{base}/raw",
                    "token": CANARIES[0],
                }
            ],
            "gerrit": [
                {
                    "host": f"localhost:{host.port}",
                    "baseUrl": f"http://localhost:{host.port}",
                    "gitilesBaseUrl": f"http://localhost:{host.port}/plugins/gitiles",
                    "username": "robot",
                    "password": CANARIES[1],
                }
            ],
        }
    }
    readers = UrlReaders.default(
        config, http=HttpClient(HttpSettings(max_attempts=1), sleep=lambda _: None)
    )
    url = data.draw(shaped_urls(base, f"http://localhost:{host.port}"))
    try:
        result = getattr(readers, operation)(url)
        if operation == "read_url":
            result.buffer()
        elif operation == "read_tree":
            for f in result.files():
                f.content()
        else:
            for f in result.files:
                f.content()
    except ScmReaderError as exc:
        text = f"{exc} {exc!r}"
        assert not any(canary in text for canary in CANARIES)
