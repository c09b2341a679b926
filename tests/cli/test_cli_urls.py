"""``scmreader resolve`` and ``scmreader url edit|fetch``: the integrations' URL helpers.

Expected values are Backstage's (run against @backstage/integration, see the spec).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cli_helpers import Cli

CONFIG = {
    "integrations": {
        "gerrit": [
            {
                "host": "gerrit.example.com",
                "gitilesBaseUrl": "https://gerrit.example.com/plugins/gitiles",
            }
        ],
        "bitbucketServer": [{"host": "bitbucket.company.com"}],
        "gitea": [{"host": "gitea.example.com"}],
        "harness": [{"host": "app.harness.io"}],
        "awsS3": [{"endpoint": "http://localhost:4566"}],
    }
}
GERRIT_FILE = "https://gerrit.example.com/plugins/gitiles/web/project/+/refs/heads/master/README.md"


@pytest.fixture
def config(write_config: Callable[..., str]) -> str:
    return write_config(CONFIG)


@pytest.mark.parametrize(
    ("url", "base", "line", "expected"),
    [
        (
            "./b.yaml",
            "https://github.com/a/b/blob/main/folder/a.yaml",
            "14",
            "https://github.com/a/b/tree/main/folder/b.yaml#L14",
        ),
        (
            "../c/d.yaml",
            "https://github.com/a/b/blob/main/folder/sub/a.yaml",
            None,
            "https://github.com/a/b/tree/main/folder/c/d.yaml",
        ),
        (
            "c.yaml",
            "https://unknown.example.com/a/b/blob/main/folder/a.yaml?x=1",
            "3",
            "https://unknown.example.com/a/b/blob/main/folder/c.yaml?x=1#L3",
        ),
        ("docs/x.md", GERRIT_FILE, "5", GERRIT_FILE.replace("README.md", "docs/x.md") + "#5"),
        (
            "./b.yaml",
            "https://bitbucket.org/o/r/src/main/a/c.yaml",
            "42",
            "https://bitbucket.org/o/r/src/main/a/b.yaml#lines-42",
        ),
        ("https://x.com/y", "https://github.com/a/b/blob/main/a.yaml", None, "https://x.com/y"),
    ],
)
def test_resolve(
    cli: Cli, config: str, url: str, base: str, line: str | None, expected: str
) -> None:
    args = ["resolve", url, "--base", base, "-c", config] + (["--line", line] if line else [])
    result = cli(*args)
    assert result.code == 0
    assert result.out == expected + "\n"
    data = cli(*args, "--json").json()
    assert data == {
        "url": url,
        "base": base,
        "line": int(line) if line else None,
        "resolved": expected,
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/a/b/blob/main/folder/a.yaml",
            "https://github.com/a/b/edit/main/folder/a.yaml",
        ),
        ("https://gitlab.com/g/r/-/blob/main/a.yaml", "https://gitlab.com/g/r/-/edit/main/a.yaml"),
        (
            GERRIT_FILE,
            "https://gerrit.example.com/admin/repos/edit/repo/web/project/branch/refs/heads/"
            "master/file/README.md",
        ),
        (
            "https://bitbucket.org/o/r/src/main/a/c.yaml",
            "https://bitbucket.org/o/r/src/main/a/c.yaml?mode=edit&at=main",
        ),
        ("https://unknown.example.com/x", "https://unknown.example.com/x"),
    ],
)
def test_url_edit(cli: Cli, config: str, url: str, expected: str) -> None:
    assert cli("url", "edit", url, "-c", config).out == expected + "\n"
    assert cli("url", "edit", url, "-c", config, "--json").json() == {
        "url": url,
        "edit_url": expected,
    }


@pytest.mark.parametrize(
    ("url", "token", "expected"),
    [
        (
            "https://github.com/a/b/blob/main/path/to/c.yaml",
            None,
            "https://raw.githubusercontent.com/a/b/main/path/to/c.yaml",
        ),
        (
            "https://github.com/a/b/blob/main/path/to/c.yaml",
            "ghp_some_token_value",
            "https://api.github.com/repos/a/b/contents/path/to/c.yaml?ref=main",
        ),
        (
            "https://gitlab.com/group/repo/-/blob/main/path/to/file.yaml",
            None,
            "https://gitlab.com/api/v4/projects/group%2Frepo/repository/files/path%2Fto%2F"
            "file.yaml/raw?ref=main",
        ),
        (
            GERRIT_FILE,
            None,
            "https://gerrit.example.com/projects/web%2Fproject/branches/master/files/"
            "README.md/content",
        ),
        (
            "https://bitbucket.org/orgname/reponame/src/master/file.yaml",
            None,
            "https://api.bitbucket.org/2.0/repositories/orgname/reponame/src/master/file.yaml",
        ),
        (
            "https://bitbucket.company.com/projects/PROJ/repos/repo/browse/docs/index.md?at=main",
            None,
            "https://bitbucket.company.com/rest/api/1.0/projects/PROJ/repos/repo/raw/docs/"
            "index.md?at=main",
        ),
        (
            "https://dev.azure.com/org/project/_git/repo?path=%2Ffolder%2Fcatalog-info.yaml"
            "&version=GBmain&_a=contents",
            None,
            "https://dev.azure.com/org/project/_apis/git/repositories/repo/items?api-version=6.0"
            "&path=%2Ffolder%2Fcatalog-info.yaml&versionDescriptor.version=main"
            "&versionDescriptor.versionType=branch",
        ),
        (
            "https://gitea.example.com/owner/repo/src/branch/main/path/to/c.yaml",
            None,
            "https://gitea.example.com/api/v1/repos/owner/repo/contents/path/to/c.yaml?ref=main",
        ),
        (
            "https://app.harness.io/ng/account/acc1/module/code/orgs/org1/projects/proj1/repos/"
            "repo1/files/main/~/docs/catalog.yaml",
            None,
            "https://app.harness.io/gateway/code/api/v1/repos/acc1/org1/proj1/repo1/+/raw/docs/"
            "catalog.yaml?routingId=acc1&git_ref=refs/heads/main",
        ),
    ],
)
def test_url_fetch(cli: Cli, config: str, url: str, token: str | None, expected: str) -> None:
    args = ["url", "fetch", url, "-c", config] + (["--token", token] if token else [])
    result = cli(*args)
    assert result.code == 0, result.stderr
    assert result.out == expected + "\n"
    data = cli(*args, "--json").json()
    assert data["fetch_url"] == expected
    assert data["url"] == url


def test_url_fetch_uses_the_configured_token(cli: Cli, write_config: Callable[..., str]) -> None:
    path = write_config({"integrations": {"github": [{"host": "github.com", "token": "ghp_x1"}]}})
    out = cli("url", "fetch", "https://github.com/a/b/blob/main/c.yaml", "-c", path).out
    assert out == "https://api.github.com/repos/a/b/contents/c.yaml?ref=main\n"


@pytest.mark.parametrize(
    ("url", "code", "error"),
    [
        ("https://unknown.example.com/x", 4, "NotAllowedError"),
        ("http://localhost:4566/bucket/key.yaml", 2, "NotImplementedByReaderError"),
        ("https://github.com/a/b", 2, "InvalidUrlError"),
        ("https://github.com/a/b/blob/main/%2e%2e%2f%2e%2e%2fuser/repos", 2, "InvalidUrlError"),
    ],
)
def test_url_fetch_failures(cli: Cli, config: str, url: str, code: int, error: str) -> None:
    result = cli("url", "fetch", url, "-c", config, "--json")
    assert result.code == code
    assert result.error_json()["error"]["type"] == error
