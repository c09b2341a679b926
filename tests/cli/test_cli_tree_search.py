"""``scmreader tree`` and ``scmreader search`` through the GitHub emulation."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import SERVICE_FILES, Cli, GithubSite

from scmreader.cli._search import relative_search_path
from scmreader.errors import InputError


def _files(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()
    }


# --- tree -------------------------------------------------------------------------------


def test_tree_writes_the_sub_folder(cli: Cli, github_site: GithubSite, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    result = cli("tree", github_site.tree("docs"), "--out", str(out), "-c", github_site.config)
    assert result.code == 0
    assert result.stdout == b""
    assert result.stderr == ""  # not a terminal: no progress, no summary
    assert _files(out) == {
        "index.md": SERVICE_FILES["docs/index.md"],
        "guide/setup.md": SERVICE_FILES["docs/guide/setup.md"],
        "api/catalog-info.yaml": SERVICE_FILES["docs/api/catalog-info.yaml"],
    }


def test_tree_json(cli: Cli, github_site: GithubSite, tmp_path: Path) -> None:
    out = tmp_path / "all"
    data = cli("tree", github_site.tree(), "--out", str(out), "--json", "-c", github_site.config)
    report = data.json()
    assert sorted(report["files"]) == sorted(SERVICE_FILES)
    assert report["file_count"] == len(SERVICE_FILES)
    assert report["bytes"] == sum(len(v) for v in SERVICE_FILES.values())
    assert report["dir"] == str(out)
    assert len(report["etag"]) == 40  # the commit sha
    assert _files(out) == SERVICE_FILES


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["*.md"], {"index.md"}),
        (["**/*.md"], {"index.md", "guide/setup.md"}),
        (["**/catalog-info.yaml", "guide/**"], {"api/catalog-info.yaml", "guide/setup.md"}),
        (["{index,nothing}.md"], {"index.md"}),
        (["nothing/**"], set()),
    ],
)
def test_tree_filter(
    cli: Cli, github_site: GithubSite, tmp_path: Path, filters: list[str], expected: set[str]
) -> None:
    out = tmp_path / "filtered"
    args = [arg for f in filters for arg in ("--filter", f)]
    result = cli(
        "tree", github_site.tree("docs"), "--out", str(out), *args, "-c", github_site.config
    )
    assert result.code == 0
    assert set(_files(out)) == expected


def test_tree_etag_unchanged_exits_10_without_writing(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    first = cli("tree", github_site.tree("docs"), "--out", str(tmp_path / "a"), "--json",
                "-c", github_site.config)  # fmt: skip
    etag = first.json()["etag"]
    github_site.host.clear_requests()
    again = cli("tree", github_site.tree("docs"), "--out", str(tmp_path / "b"), "--etag", etag,
                "-c", github_site.config)  # fmt: skip
    assert again.code == 10
    assert not (tmp_path / "b").exists()
    assert len(github_site.host.requests) == 1  # only the commit lookup


def test_tree_of_a_missing_repository_exits_6(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    url = f"{github_site.host.base_url}/octo/nothing/tree/main"
    result = cli("tree", url, "--out", str(tmp_path / "x"), "-c", github_site.config)
    assert result.code == 6
    assert "NotFoundError" in result.stderr


# --- search -----------------------------------------------------------------------------


def test_search_lists_matching_urls(cli: Cli, github_site: GithubSite) -> None:
    result = cli("search", github_site.blob("**/catalog-info.yaml"), "-c", github_site.config)
    assert result.code == 0
    assert result.out.splitlines() == [
        github_site.blob("catalog-info.yaml"),
        github_site.blob("docs/api/catalog-info.yaml"),
    ]


def test_search_json_and_out(cli: Cli, github_site: GithubSite, tmp_path: Path) -> None:
    out = tmp_path / "found"
    result = cli("search", github_site.blob("docs/**/*.md"), "--json", "--out", str(out),
                 "-c", github_site.config)  # fmt: skip
    data = result.json()
    assert [f["path"] for f in data["files"]] == ["guide/setup.md", "index.md"]
    assert [f["url"] for f in data["files"]] == [
        github_site.blob("docs/guide/setup.md"),
        github_site.blob("docs/index.md"),
    ]
    assert len(data["etag"]) == 40
    assert _files(out) == {
        "guide/setup.md": SERVICE_FILES["docs/guide/setup.md"],
        "index.md": SERVICE_FILES["docs/index.md"],
    }


def test_search_without_matches_is_empty_and_ok(cli: Cli, github_site: GithubSite) -> None:
    result = cli("search", github_site.blob("**/*.rst"), "-c", github_site.config)
    assert (result.code, result.stdout) == (0, b"")
    exact_miss = cli("search", github_site.blob("nothing.yaml"), "-c", github_site.config)
    assert (exact_miss.code, exact_miss.stdout) == (0, b"")


def test_search_exact_url(cli: Cli, github_site: GithubSite, tmp_path: Path) -> None:
    url = github_site.blob("docs/index.md")
    result = cli("search", url, "--out", str(tmp_path / "one"), "-c", github_site.config)
    assert result.out.splitlines() == [url]
    assert _files(tmp_path / "one") == {"index.md": SERVICE_FILES["docs/index.md"]}


def test_search_in_a_missing_repository_exits_6(cli: Cli, github_site: GithubSite) -> None:
    url = f"{github_site.host.base_url}/octo/nothing/blob/main/**/*.yaml"
    assert cli("search", url, "-c", github_site.config).code == 6


@pytest.mark.parametrize(
    ("glob_url", "file_url", "expected"),
    [
        (
            "https://github.com/o/r/blob/main/**/catalog-info.yaml",
            "https://github.com/o/r/blob/main/a/b/catalog-info.yaml",
            "a/b/catalog-info.yaml",
        ),
        (
            "https://github.com/o/r/blob/main/docs/*.md",
            "https://github.com/o/r/blob/main/docs/index.md",
            "index.md",
        ),
        (
            "https://github.com/o/r/blob/main/docs/index.md",
            "https://github.com/o/r/blob/main/docs/index.md",
            "index.md",
        ),
        (
            "https://github.com/o/r/blob/main/my%20docs/*.md",
            "https://github.com/o/r/blob/main/my%20docs/a%20b.md",
            "a b.md",
        ),
        (
            "https://dev.azure.com/org/p/_git/r?path=/docs/**/*.md&version=GBmain",
            "https://dev.azure.com/org/p/_git/r?path=/docs/x/y.md&version=GBmain",
            "x/y.md",
        ),
        (
            "https://host.example.com/other/**/*.md",
            "https://mirror.example.com/elsewhere/z.md",
            "z.md",
        ),
    ],
)
def test_relative_search_path(glob_url: str, file_url: str, expected: str) -> None:
    assert relative_search_path(glob_url, file_url) == expected


@pytest.mark.parametrize(
    "file_url",
    [
        "https://github.com/o/r/blob/main/docs/%2e%2e/%2e%2e/etc/passwd",
        "https://github.com/o/r/blob/main/docs/a%5Cb.md",
    ],
)
def test_relative_search_path_refuses_unsafe_paths(file_url: str) -> None:
    with pytest.raises(InputError):
        relative_search_path("https://github.com/o/r/blob/main/docs/**", file_url)
