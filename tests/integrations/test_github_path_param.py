"""GitHub's ``?path=`` URL form: the path names the ref, the parameter names the file."""

from __future__ import annotations

import pytest

from scmreader.errors import InvalidUrlError
from scmreader.integrations.github import (
    GithubIntegrationConfig,
    get_github_file_fetch_url,
    parse_github_url,
)
from scmreader.testing import FakeScmHost


@pytest.mark.parametrize(
    ("url", "ref", "path"),
    [
        (
            "https://github.com/o/r/blob/feature/x?path=catalog-info.yaml",
            "feature/x",
            "catalog-info.yaml",
        ),
        ("https://github.com/o/r/blob/main?path=/docs/index.md", "main", "docs/index.md"),
        ("https://github.com/o/r/blob/a/b/c?path=d%2Fe.md", "a/b/c", "d/e.md"),
        ("https://github.com/o/r/blob/main/docs/index.md", "main", "docs/index.md"),
    ],
)
def test_path_parameter_splits_ref_and_file(url: str, ref: str, path: str) -> None:
    git = parse_github_url(url)
    assert (git.ref, git.filepath) == (ref, path)


def test_fetch_url_uses_the_whole_ref() -> None:
    config = GithubIntegrationConfig(
        host="github.com",
        api_base_url="https://api.github.com",
        raw_base_url="https://raw.githubusercontent.com",
    )
    url = "https://github.com/o/r/blob/feature/x?path=catalog-info.yaml"
    assert get_github_file_fetch_url(url, config) == (
        "https://raw.githubusercontent.com/o/r/feature/x/catalog-info.yaml"
    )


@pytest.mark.parametrize("param", ["..%2F..%2Fetc", "%252e%252e/x", "a/../b"])
def test_traversal_in_the_path_parameter_is_rejected(param: str) -> None:
    with pytest.raises(InvalidUrlError, match="path traversal"):
        parse_github_url(f"https://github.com/o/r/blob/main?path={param}")


def test_reader_reads_a_slash_branch_named_by_the_path_parameter(
    fake_scm_host: FakeScmHost,
) -> None:
    from scmreader.http import HttpClient
    from scmreader.readers import UrlReaders
    from scmreader.testing.routes import github as github_routes

    fake_scm_host.enable("github")
    fake_scm_host.add_repo(
        "o/r", {"README.md": "main\n"}, branches={"feature/x": {"catalog-info.yaml": "x\n"}}
    )
    entry = github_routes.integration_config(fake_scm_host, token="tok-1234")
    github_routes.github(fake_scm_host).add_token("tok-1234")
    readers = UrlReaders.default(
        {"integrations": {"github": [entry]}}, http=HttpClient(sleep=lambda _: None)
    )
    fake_scm_host.clear_requests()
    url = f"{fake_scm_host.base_url}/o/r/blob/feature/x?path=catalog-info.yaml"
    assert readers.read(url) == b"x\n"
    assert len(fake_scm_host.requests) == 1  # the ref is explicit: no ref listing needed
