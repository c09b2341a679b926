"""GithubUrlReader against api.github.com answers mocked with `responses` and the payloads in
fixtures/payloads/github/, the glob matcher table, and a check that FakeScmHost's GitHub
answers have the same shapes as those payloads."""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from scmreader.errors import NotFoundError, NotModifiedError, RateLimitedError
from scmreader.http import HttpClient
from scmreader.readers import UrlReaders
from scmreader.readers._git import longest_ref as _longest_ref
from scmreader.testing import FakeScmHost
from scmreader.testing.routes.github import github, integration_config
from scmreader.urls import glob_matcher

PAYLOADS = Path(__file__).parents[2] / "fixtures" / "payloads" / "github"
API = "https://api.github.com/repos/backstage/mock"
SHA = "7911bbf080089e7a36f407e65304eec9c0991d7d"
TREE = "8f176c54d847042086b27471db0b5e9b96f321a1"
DOCS = "71668a4e1d1c774fadfc533c73b8c45bd60c29b4"
MKDOCS = "7470c0e8a37cc036ef8beadee88e30c1185c4cd0"
INDEX = "8ae056963b8b4664c9059e30bc8b834151e03950"
TOKEN = "ghp_payload_token_0042"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("mkdocs.yml", b"site_name: Test\n"), ("docs/index.md", b"# Test\n")):
            info = tarfile.TarInfo(f"backstage-mock-{SHA[:7]}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def readers() -> UrlReaders:
    config = {"integrations": {"github": [{"host": "github.com", "token": TOKEN}]}}
    return UrlReaders.default(config, http=HttpClient(sleep=lambda s: None))


def commit(api: responses.RequestsMock, ref: str = "main") -> None:
    api.get(f"{API}/commits/{ref}", body=SHA, content_type="application/vnd.github.sha")


# --- read_tree -----------------------------------------------------------------------


def test_read_tree_follows_codeload_without_the_token(
    api: responses.RequestsMock, readers: UrlReaders
) -> None:
    commit(api)
    codeload = f"https://codeload.github.com/backstage/mock/legacy.tar.gz/{SHA}"
    api.get(f"{API}/tarball/{SHA}", status=302, headers={"Location": codeload})
    api.get(codeload, body=tarball(), content_type="application/x-gzip")
    tree = readers.read_tree("https://github.com/backstage/mock/tree/main/docs")
    assert tree.etag == SHA
    assert [(f.path, f.content()) for f in tree.files()] == [("index.md", b"# Test\n")]
    sent = {str(c.request.url): c.request.headers.get("Authorization") for c in api.calls}
    assert sent[f"{API}/commits/main"] == f"Bearer {TOKEN}"
    assert sent[f"{API}/tarball/{SHA}"] == f"Bearer {TOKEN}"
    assert sent[codeload] is None


def test_read_tree_not_modified_from_a_304(
    api: responses.RequestsMock, readers: UrlReaders
) -> None:
    api.get(f"{API}/commits/main", status=304, headers={"ETag": f'"{SHA}"'})
    with pytest.raises(NotModifiedError):
        readers.read_tree("https://github.com/backstage/mock/tree/main", etag=SHA)
    assert len(api.calls) == 1


def test_read_tree_not_modified_when_the_api_ignores_if_none_match(
    api: responses.RequestsMock, readers: UrlReaders
) -> None:
    commit(api)  # answers 200 with the sha although the etag matches
    url = "https://github.com/backstage/mock/tree/main/docs"
    with pytest.raises(NotModifiedError) as info:
        readers.read_tree(url, etag=SHA)
    assert info.value.etag == SHA
    assert str(info.value).startswith(f"{url} has not changed (etag {SHA})")
    assert [c.request.headers.get("If-None-Match") for c in api.calls] == [f'"{SHA}"']
    with pytest.raises(NotModifiedError) as info:
        readers.search("https://github.com/backstage/mock/tree/main/**/*.md", etag=SHA)
    assert info.value.etag == SHA
    assert len(api.calls) == 2  # one commit lookup each, no tarball, no tree listing


def test_read_tree_unknown_ref_from_a_422(api: responses.RequestsMock, readers: UrlReaders) -> None:
    api.get(f"{API}/commits/nope", json=payload("commit-not-found-422.json"), status=422)
    with pytest.raises(NotFoundError, match="'nope'"):
        readers.read_tree("https://github.com/backstage/mock/tree/nope")


def test_read_tree_refuses_api_redirects_off_the_api_host(
    api: responses.RequestsMock, readers: UrlReaders
) -> None:
    from scmreader.errors import NotAllowedError

    api.get(f"{API}/commits/main", status=301, headers={"Location": "https://evil.example/x"})
    with pytest.raises(NotAllowedError, match="API"):
        readers.read_tree("https://github.com/backstage/mock/tree/main")


# --- search --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("**/*", ["mkdocs.yml", "docs/index.md"]),
        ("*docs*", ["mkdocs.yml"]),
        ("*/index.*", ["docs/index.md"]),
        ("{M,m}kdocs.yml", ["mkdocs.yml"]),
    ],
)
def test_search_via_the_repository_listing(
    api: responses.RequestsMock, readers: UrlReaders, pattern: str, expected: list[str]
) -> None:
    commit(api)
    api.get(f"{API}/git/trees/{SHA}?recursive=true", json=payload("tree-recursive.json"))
    api.get(f"{API}/contents/mkdocs.yml?ref={SHA}", body=b"site_name: Test\n")
    api.get(f"{API}/contents/docs/index.md?ref={SHA}", body=b"# Test\n")
    result = readers.search(f"https://github.com/backstage/mock/tree/main/{pattern}")
    assert result.etag == SHA
    base = "https://github.com/backstage/mock/tree/main/"
    assert sorted(f.url for f in result.files) == sorted(base + p for p in expected)
    contents = {f.url.removeprefix(base): f.content() for f in result.files}
    assert contents.get("mkdocs.yml", b"site_name: Test\n") == b"site_name: Test\n"
    assert contents.get("docs/index.md", b"# Test\n") == b"# Test\n"


def test_truncated_listing_walks_the_static_prefix(
    api: responses.RequestsMock, readers: UrlReaders
) -> None:
    commit(api)
    api.get(f"{API}/git/trees/{SHA}?recursive=true", json=payload("tree-truncated.json"))
    api.get(f"{API}/git/trees/{TREE}", json=payload("tree-root.json"))
    api.get(f"{API}/git/trees/{DOCS}?recursive=true", json=payload("tree-docs.json"))
    api.get(f"{API}/contents/docs/index.md?ref={SHA}", body=b"# Test\n")
    result = readers.search("https://github.com/backstage/mock/tree/main/docs/*.md")
    assert [(f.url, f.content()) for f in result.files] == [
        ("https://github.com/backstage/mock/tree/main/docs/index.md", b"# Test\n")
    ]
    assert not [c for c in api.calls if "tarball" in str(c.request.url)]


def test_slash_branch_is_resolved_with_matching_refs(
    api: responses.RequestsMock, readers: UrlReaders
) -> None:
    api.get(f"{API}/commits/feature", json=payload("commit-not-found-422.json"), status=422)
    api.get(
        f"{API}/git/matching-refs/heads/feature", json=payload("matching-refs-heads-feature.json")
    )
    api.get(f"{API}/git/matching-refs/tags/feature", json=payload("matching-refs-empty.json"))
    commit(api, "feature%2Fx")
    api.get(f"{API}/git/trees/{SHA}?recursive=true", json=payload("tree-recursive.json"))
    result = readers.search("https://github.com/backstage/mock/blob/feature/x/docs/*")
    assert [f.url for f in result.files] == [
        "https://github.com/backstage/mock/blob/feature/x/docs/index.md"
    ]


# --- read_url ------------------------------------------------------------------------


def test_read_url_rate_limited_403(api: responses.RequestsMock, readers: UrlReaders) -> None:
    reset = int(time.time()) + 1800
    api.get(
        f"{API}/contents/mkdocs.yml?ref=main",
        json=payload("rate-limited-403.json"),
        status=403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    with pytest.raises(RateLimitedError, match="answered 403: rate limit exceeded") as info:
        readers.read_url("https://github.com/backstage/mock/blob/main/mkdocs.yml")
    assert info.value.reset_at is not None and int(info.value.reset_at.timestamp()) == reset
    assert "a GitHub App installation (integrations.github[].apps)" in str(info.value)


def test_read_url_404(api: responses.RequestsMock, readers: UrlReaders) -> None:
    api.get(f"{API}/contents/x.yml?ref=main", json=payload("not-found.json"), status=404)
    api.get(f"{API}/git/matching-refs/heads/main", json=[])
    api.get(f"{API}/git/matching-refs/tags/main", json=[])
    with pytest.raises(NotFoundError, match=r"x\.yml"):
        readers.read_url("https://github.com/backstage/mock/blob/main/x.yml")


# --- helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*", "a.yaml", True),
        ("*", "a/b.yaml", False),
        ("**", "a/b.yaml", True),
        ("**/*", "a.yaml", True),
        ("**/*.yaml", ".github/ci.yaml", False),
        ("**/*.yaml", "a/.b.yaml", False),
        (".github/*.yaml", ".github/ci.yaml", True),
        ("**/.b.yaml", "a/.b.yaml", True),
        ("*", ".env", False),
        (".*", ".env", True),
        ("a/{b,c}/d", "a/c/d", True),
        ("a/{b,c}/d", "a/e/d", False),
        ("{M,m}kdocs.yml", "Mkdocs.yml", True),
        ("MKDOCS.yml", "mkdocs.yml", False),
        ("docs/?.md", "docs/a.md", True),
        ("docs/?.md", "docs/ab.md", False),
        ("[ab].md", "b.md", True),
        ("+(a|b).md", "aab.md", True),
        ("!*.md", "a.yaml", True),
        ("!*.md", "a.md", False),
        ("!!*.md", "a.md", True),
        ("#comment", "#comment", False),
    ],
)
def test_glob_matcher_follows_minimatch(pattern: str, path: str, matches: bool) -> None:
    assert glob_matcher(pattern)(path) is matches


@pytest.mark.parametrize(
    ("names", "segments", "expected"),
    [
        ((), ["main", "a.yaml"], ("main", "a.yaml")),
        (("feature", "feature/x"), ["feature", "x", "c.yaml"], ("feature/x", "c.yaml")),
        (("feature/x", "feature/x/y"), ["feature", "x", "y", "z"], ("feature/x/y", "z")),
        (("feature/x/y",), ["feature", "x"], ("feature", "x")),
        (("feature-a",), ["feature", "a"], ("feature", "a")),
        (("feature/x",), ["feature", "x"], ("feature/x", "")),
    ],
)
def test_longest_ref(
    names: tuple[str, ...], segments: list[str], expected: tuple[str, str]
) -> None:
    assert _longest_ref(names, segments) == expected


# --- the fake host answers like the payloads -----------------------------------------


def keys(value: Any) -> set[str]:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), {})
    return set(value)


def test_fake_host_answers_have_the_documented_shapes(fake_scm_host: FakeScmHost) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    host = fake_scm_host
    files = {"mkdocs.yml": "site_name: Test\n", "docs/index.md": "# Test\n"}
    repo = host.add_repo("backstage/mock", files, branches={"feature/x": "main"})
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    state = github(host)
    state.add_app(1, public.decode())
    state.add_installation(1, "backstage", repositories=["mock"])
    api = integration_config(host)["apiBaseUrl"]
    sha = repo.sha("main")
    import jwt

    now = int(time.time())
    app_jwt = jwt.encode({"iat": now - 60, "exp": now + 500, "iss": "1"}, key, algorithm="RS256")
    session = requests.Session()

    def get(path: str, **headers: str) -> Any:
        response = session.get(f"{api}{path}", headers=headers)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["x-ratelimit-remaining"].isdigit()
        return response.json()

    unknown_installation = session.post(
        f"{api}/app/installations/999999/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt}"},
    )
    assert unknown_installation.status_code == 404
    no_jwt = session.get(f"{api}/app/installations", headers={"Authorization": "Bearer x.y.z"})
    assert no_jwt.status_code == 401
    [installation] = get("/app/installations", Authorization=f"Bearer {app_jwt}")
    minted = session.post(
        f"{api}/app/installations/{installation['id']}/access_tokens",
        headers={"Authorization": f"Bearer {app_jwt}"},
    )
    assert minted.status_code == 201
    pairs = [
        ("repo.json", get("/repos/backstage/mock")),
        ("commit-status.json", get(f"/repos/backstage/mock/commits/{sha}/status")),
        ("tree-recursive.json", get(f"/repos/backstage/mock/git/trees/{sha}?recursive=1")),
        ("blob-mkdocs.json", get(f"/repos/backstage/mock/git/blobs/{MKDOCS}")),
        ("contents-file.json", get("/repos/backstage/mock/contents/mkdocs.yml")),
        (
            "matching-refs-heads-feature.json",
            get("/repos/backstage/mock/git/matching-refs/heads/f"),
        ),
        ("app-installations.json", [installation]),
        ("installation-access-token-selected.json", minted.json()),
        (
            "installation-repositories.json",
            get("/installation/repositories", Authorization=f"Bearer {minted.json()['token']}"),
        ),
    ]
    for name, answer in pairs:
        assert keys(payload(name)) <= keys(answer), name
    tree = get(f"/repos/backstage/mock/git/trees/{sha}?recursive=1")
    assert {e["path"]: e["sha"] for e in tree["tree"] if e["type"] == "blob"} == {
        "mkdocs.yml": MKDOCS,
        "docs/index.md": INDEX,
    }
    assert keys(payload("tree-recursive.json")["tree"]) <= keys(tree["tree"])
    missing = session.get(f"{api}/repos/backstage/nothing")
    assert missing.status_code == 404 and keys(payload("not-found.json")) <= keys(missing.json())
    unknown = session.get(f"{api}/repos/backstage/mock/commits/nope")
    assert unknown.status_code == 422
    assert keys(payload("commit-not-found-422.json")) <= keys(unknown.json())
