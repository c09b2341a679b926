"""The discovery helpers: URL splitting, wildcards, skipped kinds, state files."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.errors import InputError, InvalidUrlError
from scmreader.readers._discover import load_state
from scmreader.readers._listing import (
    DiscoveryTarget,
    Kinds,
    Repository,
    literal_prefix,
    matches,
    repository_from_api,
    split_browse,
)

FORM = "<owner>/<repo>/blob/<ref>/<path>"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/acme/*/blob/-/catalog-info.yaml",
            DiscoveryTarget("acme", "*", "-", "catalog-info.yaml", "https://github.com"),
        ),
        (
            "https://gitlab.example.com/g/sub/svc-*/-/blob/main/docs/**/*.md",
            DiscoveryTarget("g/sub", "svc-*", "main", "docs/**/*.md", "https://gitlab.example.com"),
        ),
        (
            "http://127.0.0.1:8080/a/b%20c/blob/-/x.yaml",
            DiscoveryTarget("a", "b c", "-", "x.yaml", "http://127.0.0.1:8080"),
        ),
    ],
)
def test_split_browse(url, expected):
    assert split_browse(url, ("blob",), form=FORM) == expected


@pytest.mark.parametrize(
    "url", ["https://github.com/acme", "https://github.com/acme/*/tree", "https://github.com/blob"]
)
def test_split_browse_rejects(url):
    with pytest.raises(InvalidUrlError, match="expected <owner>"):
        split_browse(url, ("blob",), form=FORM)


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.*?", min_size=1, max_size=12)


@given(owner=segment, repo=segment, ref=segment, path=st.lists(segment, min_size=1, max_size=3))
def test_split_browse_reads_back_what_it_is_given(owner, repo, ref, path):
    if "blob" in (owner, repo) or "-" in (owner, repo) or {".", ".."} & {owner, repo, ref, *path}:
        return
    # a literal "?" wildcard is written %3F in a URL (else it starts the query)
    parts = [quote(p, safe="*") for p in (owner, repo, "blob", ref, *path)]
    url = "https://h.example/" + "/".join(parts)
    target = split_browse(url, ("blob",), form=FORM)
    assert (target.owner, target.repo, target.ref, target.path) == (
        owner,
        repo,
        ref,
        "/".join(path),
    )


@pytest.mark.parametrize(
    ("name", "pattern", "hit"),
    [
        ("Service-A", "service-*", True),
        ("web", "service-*", False),
        ("svc-1", "svc-[0-2]", True),
        ("svc-7", "svc-[0-2]", False),
        ("g/sub/deep", "g/*", True),
        ("api", "a?i", True),
    ],
)
def test_matches(name, pattern, hit):
    assert matches(name, pattern) is hit


@pytest.mark.parametrize(
    ("owner", "prefix"), [("g/sub/*", "g/sub"), ("g/s*/x", "g"), ("*", ""), ("g", "g")]
)
def test_literal_prefix(owner, prefix):
    assert literal_prefix(owner) == prefix


@pytest.mark.parametrize(
    ("repo", "kinds", "kept"),
    [
        (Repository("o", "r"), Kinds(), True),
        (Repository("o", "r", archived=True), Kinds(), False),
        (Repository("o", "r", archived=True), Kinds(archived=True), True),
        (Repository("o", "r", fork=True), Kinds(archived=True), False),
        (Repository("o", "r", empty=True), Kinds(forks=True), False),
        (Repository("o", "r", disabled=True), Kinds(disabled=True), True),
    ],
)
def test_kinds(repo, kinds, kept):
    assert kinds.keeps(repo) is kept


def test_repository_from_api_reads_github_and_gitea_shapes():
    github = {"name": "api", "full_name": "acme/api", "default_branch": "main", "size": 0}
    gitea = {"name": "web", "full_name": "acme/web", "empty": False, "size": 0, "fork": True}
    assert repository_from_api(github, "acme") == Repository("acme", "api", "main", empty=True)
    assert repository_from_api(gitea, "acme") == Repository("acme", "web", fork=True)
    assert repository_from_api({"id": 1}, "acme") is None


def test_state_files(tmp_path):
    assert load_state(tmp_path / "none.json") == {}
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="delete it to start afresh"):
        load_state(bad)
    bad.write_text(json.dumps({"version": 9}))
    with pytest.raises(InputError, match="not a discovery state file"):
        load_state(bad)
