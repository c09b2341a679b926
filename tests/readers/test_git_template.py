"""The git-host template's pure helpers, as tables of real-looking examples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.errors import InvalidUrlError
from scmreader.readers._git import browse_parts, longest_ref, rebase_link

API = "http://gitlab.internal:8080/gitlab/api/v4"


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        # GitLab behind a TLS proxy builds links from its external URL
        (
            "https://gitlab.example.com/gitlab/api/v4/projects/1/repository/tree?page_token=x",
            "http://gitlab.internal:8080/gitlab/api/v4/projects/1/repository/tree?page_token=x",
        ),
        (
            "http://gitlab.internal:8080/gitlab/api/v4/projects/1/repository/tree?page=2",
            "http://gitlab.internal:8080/gitlab/api/v4/projects/1/repository/tree?page=2",
        ),
        (
            "https://evil.example/gitlab/api/v4/projects/1",
            "http://gitlab.internal:8080/gitlab/api/v4/projects/1",
        ),
        ("https://gitlab.example.com/other/projects/1?page=2", None),  # not the API's path
        ("https://gitlab.example.com/gitlab/api/v4x/projects", None),  # a prefix, not a folder
        ("https://gitlab.example.com/", None),
    ],
)
def test_rebase_link(link: str, expected: str | None) -> None:
    assert rebase_link(link, API) == expected


@given(st.lists(st.sampled_from(["feature", "x", "y", "docs", "a.md"]), min_size=1, max_size=5))
def test_longest_ref_splits_into_a_known_ref_and_the_rest(segments: list[str]) -> None:
    names = ["feature", "feature/x", "feature/x/y"]
    ref, rest = longest_ref(names, segments)
    assert "/".join(p for p in (ref, rest) if p) == "/".join(segments)
    assert ref == segments[0] or ref in names


@pytest.mark.parametrize(
    ("url", "need_path", "ok"),
    [
        ("https://bitbucket.org/ws/repo/src/main/docs/index.md", True, True),
        ("https://bitbucket.org/ws/repo/src/main", False, True),
        ("https://bitbucket.org/ws/repo", False, True),
        ("https://bitbucket.org/ws/repo", True, False),  # no file
        ("https://bitbucket.org/ws/repo/src/main", True, False),  # a ref but no path
        ("https://bitbucket.org/ws/repo/raw/main/a.yaml", True, True),
        ("https://bitbucket.org/ws", False, False),  # no repository
    ],
)
def test_browse_parts(url: str, need_path: bool, ok: bool) -> None:
    form = "https://bitbucket.org/<workspace>/<repo>/src/<branch>/<path>"
    if ok:
        git = browse_parts(url, kinds=("src", "raw"), need_path=need_path, form=form)
        assert (git.owner, git.name) == ("ws", "repo")
    else:
        with pytest.raises(InvalidUrlError, match=r"expected https://bitbucket\.org/<workspace>"):
            browse_parts(url, kinds=("src", "raw"), need_path=need_path, form=form)
