"""Gerrit integration: config reading, Gitiles URL parsing and the URL builders."""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.config import Config, load_config
from scmreader.errors import ConfigError, InvalidUrlError, UpstreamError
from scmreader.integrations import ScmIntegrations
from scmreader.integrations.gerrit import (
    INTEGRATION,
    GerritIntegration,
    GerritIntegrationConfig,
    build_gerrit_branch_api_url,
    build_gerrit_edit_url,
    build_gerrit_file_content_api_url,
    build_gerrit_gitiles_archive_url,
    build_gerrit_gitiles_archive_url_from_location,
    build_gerrit_gitiles_url,
    get_authentication_prefix,
    get_gerrit_branch_api_url,
    get_gerrit_clone_repo_url,
    get_gerrit_file_contents_api_url,
    get_gerrit_head_api_url,
    get_gerrit_projects_api_url,
    get_gerrit_request_options,
    get_gerrit_tag_api_url,
    get_gitiles_authentication_url,
    get_gitiles_tree_json_url,
    parse_gerrit_json_response,
    parse_gitiles_url_ref,
    read_gerrit_integration_config,
    read_gerrit_integration_configs,
)

PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "payloads" / "gerrit"
SHA = "4f0f5f4d1b2a3c4d5e6f708192a3b4c5d6e7f809"
G = "https://gerrit.example.com/plugins/gitiles"
ANON = GerritIntegrationConfig(host="gerrit.example.com", gitiles_base_url=G)
AUTH = dataclasses.replace(ANON, username="u", password="p")
OTHER = GerritIntegrationConfig(
    host="gerrit.example.com", gitiles_base_url="https://gitiles.example.com"
)
README = f"{G}/web/project/+/refs/heads/master/README.md"


def entry(**values: Any) -> Config:
    data = {"integrations": {"gerrit": [{"host": "gerrit.example.com", **values}]}}
    return load_config(data).get_config_array("integrations.gerrit")[0]


# --- config --------------------------------------------------------------------------------


def test_minimal_config_gets_defaults_and_trimmed_urls() -> None:
    config = read_gerrit_integration_config(entry(gitilesBaseUrl=f"{G}/"))
    assert config == GerritIntegrationConfig(
        host="gerrit.example.com",
        base_url="https://gerrit.example.com",
        clone_url="https://gerrit.example.com",
        gitiles_base_url=G,
    )
    assert config.gitiles_host == "gerrit.example.com"


def test_full_config_is_read_and_secrets_stay_out_of_repr() -> None:
    config = read_gerrit_integration_config(
        entry(
            baseUrl="https://review.example.com/gerrit//",
            cloneUrl="https://git.example.com/",
            gitilesBaseUrl="https://gitiles.example.com:8443",
            username="robot",
            password="  s3cret-http-password \n",
            commitSigningKey="-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc\n-----END",
            disableEditUrl=True,
        )
    )
    assert config.base_url == "https://review.example.com/gerrit"
    assert config.clone_url == "https://git.example.com"
    assert config.gitiles_host == "gitiles.example.com:8443"
    assert config.password == "s3cret-http-password"
    assert config.commit_signing_key is not None and "PGP" in config.commit_signing_key
    assert config.disable_edit_url is True
    text = repr(config) + repr(GerritIntegration(config))
    assert "s3cret" not in text and "PGP" not in text


@pytest.mark.parametrize("waiver", [None, "true", "1", ""])
def test_gitiles_base_url_is_mandatory_whatever_the_old_env_var_says(
    monkeypatch: pytest.MonkeyPatch, waiver: str | None
) -> None:
    if waiver is None:
        monkeypatch.delenv("DISABLE_GERRIT_GITILES_REQUIREMENT", raising=False)
    else:
        monkeypatch.setenv("DISABLE_GERRIT_GITILES_REQUIREMENT", waiver)
    with pytest.raises(ConfigError) as info:
        read_gerrit_integration_config(entry())
    assert info.value.key_path == "integrations.gerrit[0].gitilesBaseUrl"
    assert "gitilesBaseUrl" in str(info.value)
    assert ("DISABLE_GERRIT_GITILES_REQUIREMENT" in str(info.value)) == (waiver is not None)


def test_missing_gitiles_base_url_error_points_at_the_yaml_line(tmp_path: Path) -> None:
    app_config = tmp_path / "app-config.yaml"
    app_config.write_text("integrations:\n  gerrit:\n    - host: gerrit.example.com\n")
    with pytest.raises(ConfigError) as info:
        ScmIntegrations.from_config(load_config(app_config))
    assert info.value.key_path == "integrations.gerrit[0].gitilesBaseUrl"
    assert info.value.file is not None and info.value.file.endswith("app-config.yaml")
    assert info.value.line == 3


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"host": "https://gerrit.example.com", "gitilesBaseUrl": G}, "host"),
        ({"host": "Gerrit.example.com", "gitilesBaseUrl": G}, "host"),
        ({"host": "gerrit.example.com/x", "gitilesBaseUrl": G}, "host"),
        ({"baseUrl": "gerrit.example.com", "gitilesBaseUrl": G}, "baseUrl"),
        ({"cloneUrl": "ssh://gerrit.example.com:29418", "gitilesBaseUrl": G}, "cloneUrl"),
        ({"gitilesBaseUrl": "not a url"}, "gitilesBaseUrl"),
        ({"gitilesBaseUrl": "/plugins/gitiles"}, "gitilesBaseUrl"),
        ({"gitilesBaseUrl": 42}, "gitilesBaseUrl"),
        ({"gitilesBaseUrl": G, "password": "p"}, "username"),
        ({"gitilesBaseUrl": G, "username": "u", "password": "line\nbreak"}, "password"),
    ],
)
def test_invalid_values_name_their_key(values: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        read_gerrit_integration_config(entry(**values))
    assert info.value.key_path == f"integrations.gerrit[0].{key}"


def test_validation_order_is_host_then_base_url_then_clone_url_then_gitiles() -> None:
    bad = {"baseUrl": "x", "cloneUrl": "y", "gitilesBaseUrl": "z"}
    with pytest.raises(ConfigError, match="baseUrl"):
        read_gerrit_integration_config(entry(**bad))
    with pytest.raises(ConfigError, match="cloneUrl"):
        read_gerrit_integration_config(entry(cloneUrl="y", gitilesBaseUrl="z"))


def test_no_default_host_and_registry_wiring() -> None:
    assert read_gerrit_integration_configs(None) == []
    assert read_gerrit_integration_configs([]) == []
    assert (INTEGRATION.key, INTEGRATION.order) == ("gerrit", 70)
    assert ScmIntegrations.from_config({}).gerrit.list() == []
    integrations = ScmIntegrations.from_config(
        {"integrations": {"gerrit": [{"host": "gerrit.example.com", "gitilesBaseUrl": G}]}}
    )
    found = integrations.by_url(README)
    assert isinstance(found, GerritIntegration)
    assert (found.type, found.title) == ("gerrit", "gerrit.example.com")


# --- Gitiles URL parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "project", "ref", "ref_type", "path", "base_path"),
    [
        (README, "web/project", "master", "branch", "README.md",
         f"{G}/web/project/+/refs/heads/master"),
        ("https://gerrit.example.com/a/plugins/gitiles/web/project/+/refs/heads/master/docs/",
         "web/project", "master", "branch", "docs",
         "https://gerrit.example.com/a/plugins/gitiles/web/project/+/refs/heads/master"),
        (f"{G}/proj/+/refs/tags/v1.0/src/a.ts", "proj", "v1.0", "tag", "src/a.ts",
         f"{G}/proj/+/refs/tags/v1.0"),
        (f"{G}/proj/+/HEAD/src/a.ts", "proj", "HEAD", "head", "src/a.ts", f"{G}/proj/+/HEAD"),
        (f"{G}/proj/+/{SHA}/src", "proj", SHA, "sha", "src", f"{G}/proj/+/{SHA}"),
        (f"{G}/proj/+/{SHA.upper()}", "proj", SHA, "sha", "/", f"{G}/proj/+/{SHA.upper()}"),
        (f"{G}/proj/+/{'ab' * 32}/a", "proj", "ab" * 32, "sha", "a",
         f"{G}/proj/+/{'ab' * 32}"),  # SHA-256 repositories
        (f"{G}/proj/+/refs/heads/main", "proj", "main", "branch", "/",
         f"{G}/proj/+/refs/heads/main"),
        (f"{G}/a/b/c/+/refs/heads/feature/x/y.md", "a/b/c", "feature", "branch", "x/y.md",
         f"{G}/a/b/c/+/refs/heads/feature"),
        (f"{G}/proj/+/refs/heads/main/my%20docs/a%2Bb.md?x=1#L3", "proj", "main", "branch",
         "my docs/a+b.md", f"{G}/proj/+/refs/heads/main"),
        ("https://gitiles.example.com/team/repo/+/refs/heads/main/x.yaml", "team/repo", "main",
         "branch", "x.yaml", "https://gitiles.example.com/team/repo/+/refs/heads/main"),
        ("https://gitiles.example.com/a/team/repo/+/refs/heads/main/x.yaml", "team/repo", "main",
         "branch", "x.yaml", "https://gitiles.example.com/a/team/repo/+/refs/heads/main"),
        ("https://gitiles.example.com/a/+/refs/heads/main/x.yaml", "a", "main", "branch",
         "x.yaml", "https://gitiles.example.com/a/+/refs/heads/main"),
    ],
)  # fmt: skip
def test_parse_gitiles_url_ref(
    url: str, project: str, ref: str, ref_type: str, path: str, base_path: str
) -> None:
    config = OTHER if "gitiles.example.com" in url else ANON
    parsed = parse_gitiles_url_ref(config, url)
    assert (parsed.project, parsed.ref, parsed.ref_type, parsed.path, parsed.base_path) == (
        project,
        ref,
        ref_type,
        path,
        base_path,
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"{G}/proj/+/main/x", "Unable to parse gitiles : "),
        (f"{G}/+/refs/heads/main/x", "Unable to parse gitiles url: "),
        (f"{G}/proj/refs/heads/main/x", "Unable to parse gitiles url: "),
        (f"{G}/proj/+/", "Unable to parse gitiles : "),
        (f"{G}/proj/+/refs/heads/", "Unable to parse gitiles : "),
        (f"{G}/proj/+/{'g' * 40}/x", "Unable to parse gitiles : "),
        (
            "https://gerrit.example.com/other/proj/+/refs/heads/main/x",
            "Unable to parse gitiles url",
        ),
        (f"{G}/proj/+/refs/heads/main/%2e%2e/%2e%2e/etc/passwd", "path traversal"),
        (f"{G}/proj/+/refs/heads/main/a%2F..%2Fb", "path traversal"),
        (f"{G}/proj/+/refs/heads/main/%252e%252e/x", "path traversal"),
        (f"{G}/%2E%2E/+/refs/heads/main/x", "path traversal"),
        (f"{G}/proj/+/refs/heads/main/%{'25' * 12}2e/x", "levels deep"),
        (f"{G}/proj/+/refs/heads/main/a%2Fb", "encoded '/' (%2F)"),
        (f"{G}/proj/+/refs/heads/main/a%00b", "NUL (%00)"),
        ("gerrit.example.com/plugins/gitiles/p/+/HEAD/x", "not absolute"),
    ],
)
def test_parse_gitiles_url_ref_errors(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=re.escape(message)) as info:
        parse_gitiles_url_ref(ANON, url)
    if "gitiles" in message:
        assert "refs/heads/<branch>" in str(info.value)


@given(st.lists(st.text(min_size=1, max_size=8), max_size=8))
def test_parse_gitiles_url_ref_only_raises_invalid_url(segments: list[str]) -> None:
    from urllib.parse import quote

    url = f"{G}/" + "/".join(quote(s, safe="+") for s in segments)
    try:
        parsed = parse_gitiles_url_ref(ANON, url)
    except InvalidUrlError:
        return
    assert parsed.project and ".." not in parsed.path.split("/")
    assert parsed.ref_type in ("sha", "branch", "tag", "head")


# --- URL builders --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (ANON, G),
        (AUTH, "https://gerrit.example.com/a/plugins/gitiles"),
        (OTHER, "https://gitiles.example.com"),
        (dataclasses.replace(ANON, gitiles_base_url="https://gerrit.example.com"),
         "https://gerrit.example.com"),
        (dataclasses.replace(AUTH, gitiles_base_url="https://gerrit.example.com"),
         "https://gerrit.example.com/a"),
        (dataclasses.replace(ANON, base_url="https://gerrit.example.com/r",
                             gitiles_base_url="https://gerrit.example.com/r/plugins/gitiles"),
         "https://gerrit.example.com/r/plugins/gitiles"),
        (dataclasses.replace(AUTH, base_url="https://gerrit.example.com/r",
                             gitiles_base_url="https://gerrit.example.com/r/plugins/gitiles"),
         "https://gerrit.example.com/r/a/plugins/gitiles"),
    ],
)  # fmt: skip
def test_gitiles_authentication_url(config: GerritIntegrationConfig, expected: str) -> None:
    assert get_gitiles_authentication_url(config) == expected


@pytest.mark.parametrize(
    "gitiles",
    ["https://gitiles.example.com", "https://gerrit.example.com.evil.test/plugins/gitiles"],
)
def test_gitiles_authentication_url_refuses_other_hosts_with_a_password(gitiles: str) -> None:
    config = dataclasses.replace(AUTH, gitiles_base_url=gitiles)
    with pytest.raises(ConfigError, match="not part of the gitilesBaseUrl") as info:
        get_gitiles_authentication_url(config)
    assert "p" not in info.value.message.replace("password", "").split()


@pytest.mark.parametrize(
    ("config", "url", "expected"),
    [
        (ANON, README, f"{G}/web/project/+archive/refs/heads/master/README.md.tar.gz"),
        (AUTH, README, "https://gerrit.example.com/a/plugins/gitiles/web/project/+archive/refs/heads/master/README.md.tar.gz"),
        (ANON, f"{G}/proj/+/{SHA}/src", f"{G}/proj/+archive/{SHA}/src.tar.gz"),
        (ANON, f"{G}/proj/+/refs/heads/main", f"{G}/proj/+archive/refs/heads/main.tar.gz"),
        (ANON, f"{G}/proj/+/refs/heads/main/", f"{G}/proj/+archive/refs/heads/main.tar.gz"),
        (ANON, f"{G}/proj/+/refs/tags/v1/docs", f"{G}/proj/+archive/refs/tags/v1/docs.tar.gz"),
        (ANON, f"{G}/proj/+/HEAD/docs/api", f"{G}/proj/+archive/HEAD/docs/api.tar.gz"),
        (ANON, f"{G}/proj/+/refs/heads/main/my%20docs",
         f"{G}/proj/+archive/refs/heads/main/my%20docs.tar.gz"),
        (OTHER, "https://gitiles.example.com/team/repo/+/refs/heads/main",
         "https://gitiles.example.com/team/repo/+archive/refs/heads/main.tar.gz"),
    ],
)  # fmt: skip
def test_archive_url_from_location(
    config: GerritIntegrationConfig, url: str, expected: str
) -> None:
    assert build_gerrit_gitiles_archive_url_from_location(config, url) == expected


def test_archive_url_with_a_resolved_revision() -> None:
    url = f"{G}/proj/+/refs/tags/v1/docs"
    assert build_gerrit_gitiles_archive_url_from_location(ANON, url, revision=SHA) == (
        f"{G}/proj/+archive/{SHA}/docs.tar.gz"
    )
    assert build_gerrit_gitiles_archive_url(ANON, "a/b", SHA) == f"{G}/a/b/+archive/{SHA}.tar.gz"


@pytest.mark.parametrize(
    ("config", "url", "expected"),
    [
        (ANON, README, "https://gerrit.example.com/projects/web%2Fproject/branches/master/files/README.md/content"),
        (AUTH, README, "https://gerrit.example.com/a/projects/web%2Fproject/branches/master/files/README.md/content"),
        (ANON, f"{G}/web/project/+/{SHA}/LICENSE", f"https://gerrit.example.com/projects/web%2Fproject/commits/{SHA}/files/LICENSE/content"),
        (ANON, f"{G}/p/+/refs/heads/main/docs/a%20b.md", "https://gerrit.example.com/projects/p/branches/main/files/docs%2Fa%20b.md/content"),
    ],
)  # fmt: skip
def test_file_contents_api_url(config: GerritIntegrationConfig, url: str, expected: str) -> None:
    assert get_gerrit_file_contents_api_url(config, url) == expected


@pytest.mark.parametrize("url", [f"{G}/p/+/refs/tags/v1/a.md", f"{G}/p/+/HEAD/a.md"])
def test_file_contents_api_url_needs_a_revision_for_tags_and_head(url: str) -> None:
    with pytest.raises(InvalidUrlError, match="Unsupported gitiles ref type"):
        get_gerrit_file_contents_api_url(ANON, url)
    assert get_gerrit_file_contents_api_url(ANON, url, revision=SHA).endswith(
        f"/projects/p/commits/{SHA}/files/a.md/content"
    )


def test_file_content_api_url_needs_exactly_one_of_branch_and_commit() -> None:
    with pytest.raises(ValueError):
        build_gerrit_file_content_api_url(ANON, "p", "a.md")
    with pytest.raises(ValueError):
        build_gerrit_file_content_api_url(ANON, "p", "a.md", branch="b", commit=SHA)
    assert build_gerrit_file_content_api_url(ANON, "p", "/a.md", branch="release/1.x") == (
        "https://gerrit.example.com/projects/p/branches/release%2F1.x/files/a.md/content"
    )


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (lambda c: get_gerrit_branch_api_url(c, README), "https://gerrit.example.com/a/projects/web%2Fproject/branches/master"),
        (lambda c: build_gerrit_branch_api_url(c, "web/project", "release/1.x"), "https://gerrit.example.com/a/projects/web%2Fproject/branches/release%2F1.x"),
        (lambda c: get_gerrit_tag_api_url(c, "web/project", "v1.0"), "https://gerrit.example.com/a/projects/web%2Fproject/tags/v1.0"),
        (lambda c: get_gerrit_head_api_url(c, "web/project"), "https://gerrit.example.com/a/projects/web%2Fproject/HEAD"),
        (lambda c: get_gerrit_projects_api_url(c), "https://gerrit.example.com/a/projects/"),
        (lambda c: get_gerrit_clone_repo_url(c, README), "https://gerrit.example.com/a/web/project"),
        (lambda c: get_authentication_prefix(c), "/a/"),
    ],
)  # fmt: skip
def test_authenticated_api_urls(function: Any, expected: str) -> None:
    assert function(AUTH) == expected
    assert function(ANON) == expected.replace("/a/", "/")


def test_branch_api_url_only_for_branches() -> None:
    with pytest.raises(InvalidUrlError, match="Unsupported gitiles ref type: sha"):
        get_gerrit_branch_api_url(ANON, f"{G}/p/+/{SHA}/x")


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("web/project", "refs/heads/main", ""), {},
         f"{G}/web/project/+/refs/heads/main/?format=JSON"),
        (("web/project", SHA, "docs/api"), {}, f"{G}/web/project/+/{SHA}/docs/api?format=JSON"),
        (("p", SHA, "/"), {"recursive": True}, f"{G}/p/+/{SHA}/?format=JSON&recursive=1"),
        (("p", SHA, "my docs"), {"recursive": True},
         f"{G}/p/+/{SHA}/my%20docs?format=JSON&recursive=1"),
    ],
)  # fmt: skip
def test_gitiles_tree_json_url(
    args: tuple[str, ...], kwargs: dict[str, Any], expected: str
) -> None:
    assert get_gitiles_tree_json_url(ANON, *args, **kwargs) == expected


def test_browse_and_edit_url_builders() -> None:
    assert build_gerrit_gitiles_url(ANON, "web/project", "master", "/docs/a.md") == (
        f"{G}/web/project/+/refs/heads/master/docs/a.md"
    )
    assert build_gerrit_edit_url(ANON, "web/project", "master", "/docs/a.md") == (
        "https://gerrit.example.com/admin/repos/edit/repo/web/project/branch/refs/heads/master/"
        "file/docs/a.md"
    )


def test_request_options() -> None:
    assert get_gerrit_request_options(ANON) == {}
    header = get_gerrit_request_options(AUTH)["headers"]["Authorization"]
    assert header == "Basic dTpw"
    assert base64.b64decode(header.split()[1]) == b"u:p"
    assert "dTpw" not in repr(get_gerrit_request_options(AUTH))


# --- JSON answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "check"),
    [
        ("branch-info.txt", lambda d: d["revision"] == "67ebf73496383c6777035e374d2d664009e2aa5c"),
        ("tag-info-annotated.txt", lambda d: d["object"] != d["revision"]),
        ("tag-info-lightweight.txt", lambda d: "object" not in d),
        ("head.txt", lambda d: d == "refs/heads/master"),
        ("gitiles-tree.txt",
         lambda d: [e["name"] for e in d["entries"]][:2] == ["README.md", "docs"]),
        ("gitiles-tree-recursive.txt",
         lambda d: {e["type"] for e in d["entries"]} == {"blob", "commit"}),
        ("gitiles-commit.txt", lambda d: d["tree"] and d["parents"]),
    ],
)  # fmt: skip
def test_parse_gerrit_json_response_on_recorded_answers(fixture: str, check: Any) -> None:
    body = (PAYLOADS / fixture).read_bytes()
    assert check(parse_gerrit_json_response(body))
    assert parse_gerrit_json_response(body.decode()) == parse_gerrit_json_response(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            (PAYLOADS / "no-xssi-prefix.txt").read_bytes(),
            r"prefix missing\. Found: '\{\"message\"'",
        ),
        (b"<html><body>Sign in</body></html>", r"prefix missing\. Found: '<html><bod'"),
        (b"", r"prefix missing\. Found: ''"),
        ((PAYLOADS / "truncated-json.txt").read_bytes(), r"^Invalid response from Gerrit"),
        (b")]}'\nnot json", r"^Invalid response from Gerrit"),
    ],
)
def test_parse_gerrit_json_response_errors(body: bytes, message: str) -> None:
    with pytest.raises(UpstreamError, match=message):
        parse_gerrit_json_response(body, url="https://gerrit.example.com/projects/p")


def _response(url: str, body: bytes) -> Any:
    """A requests.Response over ``body`` (its body is read through scmreader.http)."""
    import io

    import requests
    from urllib3.response import HTTPResponse

    response = requests.Response()
    response.url, response.status_code = url, 200
    response.raw = HTTPResponse(body=io.BytesIO(body), preload_content=False)
    return response


def test_parse_gerrit_json_response_from_a_response_names_its_url() -> None:
    url = "https://gerrit.example.com/projects/p/HEAD"
    with pytest.raises(UpstreamError) as info:
        parse_gerrit_json_response(_response(url, b'{"a": 1}'))
    assert info.value.url == url
    assert url in str(info.value)


# --- GerritIntegration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        ("/docs/x.md", README, None, f"{G}/web/project/+/refs/heads/master/docs/x.md"),
        ("/docs/x.md", README, 7, f"{G}/web/project/+/refs/heads/master/docs/x.md#7"),
        ("docs/x.md", README, 5, f"{G}/web/project/+/refs/heads/master/docs/x.md#5"),
        ("../y.md", f"{G}/p/+/refs/heads/main/a/b.md", None, f"{G}/p/+/refs/heads/main/y.md"),
        ("", README, 5, f"{README}#5"),
        ("https://elsewhere.example.com/x", README, None, "https://elsewhere.example.com/x"),
        ("/x.md", "https://gerrit.example.com/a/plugins/gitiles/p/+/HEAD/docs/a.md", None,
         "https://gerrit.example.com/a/plugins/gitiles/p/+/HEAD/x.md"),
    ],
)  # fmt: skip
def test_resolve_url(url: str, base: str, line: int | None, expected: str) -> None:
    assert GerritIntegration(ANON).resolve_url(url=url, base=base, line_number=line) == expected


@pytest.mark.parametrize(
    ("config", "url", "expected"),
    [
        (ANON, README, "https://gerrit.example.com/admin/repos/edit/repo/web/project/branch/refs/heads/master/file/README.md"),
        (dataclasses.replace(ANON, disable_edit_url=True), README, README),
        (ANON, f"{G}/p/+/refs/tags/v1/a.md", f"{G}/p/+/refs/tags/v1/a.md"),
        (ANON, f"{G}/p/+/{SHA}/a.md", f"{G}/p/+/{SHA}/a.md"),
        (ANON, f"{G}/p/+/refs/heads/main", f"{G}/p/+/refs/heads/main"),
        (ANON, "https://gerrit.example.com/c/p/+/1234", "https://gerrit.example.com/c/p/+/1234"),
    ],
)  # fmt: skip
def test_resolve_edit_url(config: GerritIntegrationConfig, url: str, expected: str) -> None:
    assert GerritIntegration(config).resolve_edit_url(url) == expected
