"""scm:// through fsspec, end to end against FakeScmHost's GitHub emulation."""

from __future__ import annotations

import csv
import pickle
from collections.abc import Iterator
from typing import Any

import fsspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scmreader.config import load_config
from scmreader.errors import (
    InputError,
    InvalidUrlError,
    NotFoundError,
    NotImplementedByReaderError,
    PathNotFoundError,
)
from scmreader.fsspec import ScmFileSystem
from scmreader.testing import FakeScmHost
from scmreader.testing.routes import github as github_routes

TOKEN = "ghp_fsspecReaderToken0000000000000001"
REPO = "octo/payments"
FILES = {
    "catalog-info.yaml": "kind: Component\nmetadata:\n  name: payments\n",
    "mkdocs.yml": "site_name: Payments\n",
    ".github/workflows/ci.yml": "on: push\n",
    "docs/index.md": "# Payments\n",
    "docs/guide/setup.md": "## Setup\n",
    "docs/release notes.md": "## 1.0\n",
    "components/api/catalog-info.yaml": "kind: API\n",
    "components/worker/catalog-info.yaml": "kind: Component\n",
    "data/rates.csv": "currency,rate\nEUR,1.0\nUSD,1.08\n",
}


@pytest.fixture(scope="module")
def github() -> Iterator[FakeScmHost]:
    with FakeScmHost(providers=["github"]) as host:
        host.add_repo(REPO, FILES)
        state = github_routes.github(host)
        state.add_token(TOKEN)
        state.make_private(REPO)
        yield host


def config(host: FakeScmHost, **extra: Any) -> dict[str, Any]:
    entry = github_routes.integration_config(host, **extra)
    return {"integrations": {"github": [entry]}}


@pytest.fixture
def fs(github: FakeScmHost) -> ScmFileSystem:
    return ScmFileSystem(config(github, token=TOKEN), scheme="http", skip_instance_cache=True)


@pytest.fixture
def root(github: FakeScmHost) -> str:
    return f"{github.host}/{REPO}/blob/main"


def test_the_entry_point_registers_the_scm_protocol() -> None:
    assert fsspec.get_filesystem_class("scm") is ScmFileSystem


def test_fsspec_open_reads_text_with_the_config_and_its_credentials(
    github: FakeScmHost, root: str
) -> None:
    options = {"config": config(github, token=TOKEN), "scheme": "http"}
    with fsspec.open(f"scm://{root}/catalog-info.yaml", "rt", **options) as f:
        assert f.read() == FILES["catalog-info.yaml"]
    with fsspec.open(f"scm://{root}/data/rates.csv", "rt", **options) as f:
        assert list(csv.DictReader(f)) == [
            {"currency": "EUR", "rate": "1.0"},
            {"currency": "USD", "rate": "1.08"},
        ]
    assert all(TOKEN not in r.url for r in github.requests)
    assert {"authorization"} <= github.requests[-1].auth_headers


def test_ls_lists_files_and_folders_of_one_folder(fs: ScmFileSystem, root: str) -> None:
    listing = fs.ls(f"scm://{root}")
    assert [(e["name"].removeprefix(root + "/"), e["type"]) for e in listing] == [
        (".github", "directory"),
        ("catalog-info.yaml", "file"),
        ("components", "directory"),
        ("data", "directory"),
        ("docs", "directory"),
        ("mkdocs.yml", "file"),
    ]
    assert fs.ls(f"{root}/docs", detail=False) == [
        f"{root}/docs/guide",
        f"{root}/docs/index.md",
        f"{root}/docs/release notes.md",
    ]
    assert fs.ls(f"{root}/docs/index.md", detail=False) == [f"{root}/docs/index.md"]


def test_one_listing_serves_ls_find_glob_and_walk(
    fs: ScmFileSystem, root: str, github: FakeScmHost
) -> None:
    github.clear_requests()
    fs.ls(root)
    fs.ls(f"{root}/docs/guide")
    fs.find(f"{root}/components")
    fs.glob(f"{root}/**/*.md")
    list(fs.walk(f"{root}/docs"))
    assert not fs.exists(f"{root}/docs/guide/missing/deeper.md")
    assert fs.isdir(f"{root}/components/api") and not fs.isdir(f"{root}/mkdocs.yml")
    assert fs.isfile(f"{root}/mkdocs.yml") and not fs.isfile(f"{root}/docs")
    assert len(github.requests_to("/git/trees/")) == 1
    assert github.requests_to("/contents/") == []  # nothing was read to answer those
    fs.invalidate_cache(f"{root}/docs")
    fs.ls(f"{root}/docs/guide")
    assert len(github.requests_to("/git/trees/")) == 2


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("**/catalog-info.yaml", [
            "catalog-info.yaml",
            "components/api/catalog-info.yaml",
            "components/worker/catalog-info.yaml",
        ]),
        ("*.y*ml", ["catalog-info.yaml", "mkdocs.yml"]),
        ("docs/**/*.md", ["docs/guide/setup.md", "docs/index.md", "docs/release notes.md"]),
        ("components/*/catalog-info.yaml", [
            "components/api/catalog-info.yaml",
            "components/worker/catalog-info.yaml",
        ]),
        (".github/workflows/*.yml", [".github/workflows/ci.yml"]),
        ("**/*.toml", []),
    ],
)  # fmt: skip
def test_glob(fs: ScmFileSystem, root: str, pattern: str, expected: list[str]) -> None:
    found = fs.glob(f"scm://{root}/{pattern}")
    assert [p.removeprefix(root + "/") for p in found] == expected


def test_find_with_depth_and_folders(fs: ScmFileSystem, root: str) -> None:
    assert [p.removeprefix(root + "/") for p in fs.find(f"{root}/docs")] == [
        "docs/guide/setup.md",
        "docs/index.md",
        "docs/release notes.md",
    ]
    shallow = fs.find(f"{root}/docs", maxdepth=1, withdirs=True, detail=True)
    assert {p.removeprefix(root + "/"): e["type"] for p, e in shallow.items()} == {
        "docs": "directory",  # fsspec: with withdirs, find includes the folder itself
        "docs/guide": "directory",
        "docs/index.md": "file",
        "docs/release notes.md": "file",
    }


def test_info_of_files_and_folders(fs: ScmFileSystem, root: str) -> None:
    file = fs.info(f"scm://{root}/docs/release notes.md")
    assert (file["name"], file["type"], file["size"]) == (
        f"{root}/docs/release notes.md",
        "file",
        len(FILES["docs/release notes.md"]),
    )
    assert file["etag"]
    assert fs.info(f"{root}/docs")["type"] == "directory"
    assert fs.info(root)["type"] == "directory"
    assert fs.isfile(f"{root}/mkdocs.yml") and fs.isdir(f"{root}/docs/guide")
    assert fs.size(f"{root}/data/rates.csv") == len(FILES["data/rates.csv"])
    assert fs.modified(f"{root}/mkdocs.yml") == fs.info(f"{root}/mkdocs.yml")["last_modified"]


@pytest.mark.parametrize(
    "missing", ["docs/missing.md", "nothing-here/at-all.md", "docs/index.md/below-a-file"]
)
def test_missing_paths_are_file_not_found_errors(
    fs: ScmFileSystem, root: str, missing: str
) -> None:
    for call in (fs.info, fs.ls, fs.cat_file):
        with pytest.raises(PathNotFoundError) as info:
            call(f"{root}/{missing}")
        assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, NotFoundError)
        assert info.value.status == 404
    assert not fs.exists(f"{root}/{missing}")


def test_a_missing_branch_or_repository(fs: ScmFileSystem, github: FakeScmHost) -> None:
    for path in (f"{REPO}/blob/no-such-branch/a.md", "octo/no-such-repo/blob/main/a.md"):
        with pytest.raises(FileNotFoundError):
            fs.cat_file(f"{github.host}/{path}")
        assert not fs.exists(f"{github.host}/{path}")


def test_paths_above_the_branch_say_which_form_to_use(
    fs: ScmFileSystem, github: FakeScmHost
) -> None:
    with pytest.raises(InvalidUrlError, match=r"cannot be listed: .*<owner>/<repo>/") as info:
        fs.ls(f"scm://{github.host}/{REPO}")
    assert "**" not in str(info.value)
    assert not fs.exists(f"scm://{github.host}/{REPO}")


def test_cat_open_and_streaming(fs: ScmFileSystem, root: str) -> None:
    data = FILES["data/rates.csv"].encode()
    assert fs.cat(f"scm://{root}/data/rates.csv") == data
    assert fs.cat_file(f"{root}/data/rates.csv", start=9, end=13) == data[9:13]
    with fs.open(f"{root}/data/rates.csv") as f:
        f.seek(14)
        assert f.read() == data[14:]
    with fs.open(f"{root}/data/rates.csv", block_size=0) as f:
        assert not f.seekable()
        assert f.read(8) + f.read() == data
    many = fs.cat([f"{root}/mkdocs.yml", f"{root}/docs/index.md"])
    assert many == {
        f"{root}/mkdocs.yml": FILES["mkdocs.yml"].encode(),
        f"{root}/docs/index.md": FILES["docs/index.md"].encode(),
    }


def test_read_only(fs: ScmFileSystem, root: str) -> None:
    with pytest.raises(NotImplementedByReaderError, match="read-only"):
        fs.open(f"{root}/new.yaml", "wb")


def test_token_option_and_a_configured_response_cache(github: FakeScmHost, root: str) -> None:
    cached = {**config(github), "scmreader": {"cache": {"store": "memory"}}}
    anonymous = ScmFileSystem(cached, scheme="http", skip_instance_cache=True)
    with pytest.raises(FileNotFoundError):  # private: GitHub answers 404 to strangers
        anonymous.cat_file(f"{root}/mkdocs.yml")
    fs = ScmFileSystem(cached, scheme="http", token=TOKEN, skip_instance_cache=True)
    github.clear_requests()
    assert fs.cat_file(f"{root}/mkdocs.yml") == fs.cat_file(f"{root}/mkdocs.yml")
    sent = [r.headers.get("If-None-Match") for r in github.requests_to("mkdocs")]
    assert sent[0] is None and sent[1]  # the second read revalidated the cached answer
    assert TOKEN not in repr(fs)


def test_instances_are_shared_only_for_plain_arguments(github: FakeScmHost) -> None:
    plain = config(github, token=TOKEN)
    assert ScmFileSystem(plain, scheme="http") is ScmFileSystem(plain, scheme="http")
    loaded = load_config(plain)
    assert ScmFileSystem(loaded, scheme="http") is not ScmFileSystem(loaded, scheme="http")


def test_a_pickled_filesystem_reads_again(fs: ScmFileSystem, root: str) -> None:
    copy = pickle.loads(pickle.dumps(fs))
    assert copy.cat_file(f"{root}/docs/index.md") == FILES["docs/index.md"].encode()


def test_dask_reads_through_scm_urls(github: FakeScmHost, root: str) -> None:
    import dask.bag

    lines = dask.bag.read_text(
        f"scm://{root}/components/*/catalog-info.yaml",
        storage_options={"config": config(github, token=TOKEN), "scheme": "http"},
    )
    assert sorted(lines.compute(scheduler="sync")) == ["kind: API\n", "kind: Component\n"]


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("scm://github.com/o/r/blob/main/a.md", "https://github.com/o/r/blob/main/a.md"),
        ("github.com/o/r/blob/main/docs/", "https://github.com/o/r/blob/main/docs"),
        ("scm://github.com/o/r/blob/main/my file#1?.md",
         "https://github.com/o/r/blob/main/my%20file%231%3F.md"),
        ("scm://gitlab.com/g/sub/p/-/blob/main/a.md", "https://gitlab.com/g/sub/p/-/blob/main/a.md"),
        ("scm://ghe.example.com:8443/o/r/blob/v1.0/100%.md",
         "https://ghe.example.com:8443/o/r/blob/v1.0/100%25.md"),
    ],
)  # fmt: skip
def test_url_of_a_path(path: str, url: str) -> None:
    fs = ScmFileSystem({}, skip_instance_cache=True)
    assert fs.url(path) == url


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1).filter(
            lambda s: "/" not in s and s.strip("/")
        ),
        min_size=1,
        max_size=4,
    )
)
def test_path_url_round_trip(segments: list[str]) -> None:
    fs = ScmFileSystem({}, skip_instance_cache=True)
    path = "github.com/o/r/blob/main/" + "/".join(segments)
    assert fs._path(fs.url(path)) == path


def test_bad_scheme_and_missing_host() -> None:
    with pytest.raises(InputError, match="scheme must be 'https' or 'http'"):
        ScmFileSystem({}, scheme="ftp", skip_instance_cache=True)
    with pytest.raises(InputError, match="has no host"):
        ScmFileSystem({}, skip_instance_cache=True).url("scm://")


def test_without_fsspec_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import sys

    from scmreader.errors import ConfigError

    monkeypatch.setitem(sys.modules, "fsspec.spec", None)
    monkeypatch.delitem(sys.modules, "scmreader.fsspec")
    with pytest.raises(ConfigError, match=r"pip install 'scmreader\[fsspec\]'"):
        importlib.import_module("scmreader.fsspec")


def test_config_from_an_app_config_file(
    github: FakeScmHost, root: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    entry = github_routes.integration_config(github, token="${GITHUB_TOKEN}")
    path = tmp_path / "app-config.yaml"
    path.write_text(yaml.safe_dump({"integrations": {"github": [entry]}}))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with fsspec.open(f"scm://{root}/mkdocs.yml", "rb", config=str(path), scheme="http") as f:
        assert f.read() == FILES["mkdocs.yml"].encode()


def test_refused_credentials_are_not_hidden_as_missing_files(
    github: FakeScmHost, root: str
) -> None:
    from scmreader.errors import AuthenticationError

    fs = ScmFileSystem(config(github), scheme="http", token="ghp_revoked", skip_instance_cache=True)
    for call in (fs.ls, fs.exists, fs.info, fs.cat_file):
        with pytest.raises(AuthenticationError) as info:
            call(f"{root}/mkdocs.yml")
        assert "ghp_revoked" not in str(info.value)


def test_get_copies_a_folder_to_disk(fs: ScmFileSystem, root: str, tmp_path: Any) -> None:
    fs.get(f"scm://{root}/docs", str(tmp_path / "docs"), recursive=True)
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md"))
    assert written == ["docs/guide/setup.md", "docs/index.md", "docs/release notes.md"]
    assert (tmp_path / "docs/guide/setup.md").read_text() == FILES["docs/guide/setup.md"]


@pytest.mark.parametrize(
    ("provider", "key", "ref_path"),
    [
        ("gitlab", "gitlab", "-/blob/main"),
        ("gitea", "gitea", "src/branch/main"),
    ],
)
def test_other_hosts_url_forms_work_the_same(
    fake_scm_host: FakeScmHost, provider: str, key: str, ref_path: str
) -> None:
    import importlib

    host = fake_scm_host
    host.enable(provider)
    host.add_repo(REPO, FILES)
    routes = importlib.import_module(f"scmreader.testing.routes.{provider}")
    entry = routes.integration_config(host)
    fs = ScmFileSystem({"integrations": {key: [entry]}}, scheme="http", skip_instance_cache=True)
    root = f"{host.host}/{REPO}/{ref_path}"
    assert [p.removeprefix(root + "/") for p in fs.glob(f"scm://{root}/**/catalog-info.yaml")] == [
        "catalog-info.yaml",
        "components/api/catalog-info.yaml",
        "components/worker/catalog-info.yaml",
    ]
    assert fs.ls(f"{root}/docs/guide", detail=False) == [f"{root}/docs/guide/setup.md"]
    assert fs.cat_file(f"{root}/docs/release notes.md") == FILES["docs/release notes.md"].encode()
    assert fs.info(f"{root}/docs")["type"] == "directory"
    assert not fs.exists(f"{root}/docs/missing.md")


def test_hosts_that_cannot_list_have_files_only(fake_scm_host: FakeScmHost) -> None:
    """Plain HTTP hosts (backend.reading.allow): their reader searches exact URLs only."""
    from datetime import datetime

    host = fake_scm_host
    host.serve_file("/docs/catalog-info.yaml", "kind: Component\n", etag='"p1"', last_modified=True)
    allow = {"backend": {"reading": {"allow": [{"host": host.host}]}}}
    fs = ScmFileSystem(allow, scheme="http", skip_instance_cache=True)
    path = f"scm://{host.host}/docs/catalog-info.yaml"
    info = fs.info(path)
    assert (info["type"], info["size"], info["etag"]) == ("file", 16, '"p1"')
    assert isinstance(fs.modified(path), datetime)
    assert fs.exists(path) and fs.isfile(path) and not fs.isdir(path)
    assert fs.ls(path, detail=False) == [f"{host.host}/docs/catalog-info.yaml"]
    assert not fs.exists(f"{host.host}/docs/other.yaml")
    with pytest.raises(PathNotFoundError):
        fs.ls(f"{host.host}/docs")
    with fsspec.open(path, "rt", **{"config": allow, "scheme": "http"}) as f:
        assert f.read() == "kind: Component\n"


def test_modified_when_the_host_sends_no_date(fake_scm_host: FakeScmHost) -> None:
    host = fake_scm_host
    host.enable("github")
    host.add_repo("octo/public", {"a.md": "# a\n"})
    fs = ScmFileSystem(config(host), scheme="http", skip_instance_cache=True)
    with pytest.raises(NotImplementedByReaderError, match="does not say when"):
        fs.modified(f"{host.host}/octo/public/blob/main/a.md")  # raw files carry no date
