"""FakeRepo: real git repositories built for FakeScmHost."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scmreader.errors import InputError
from scmreader.testing import (
    FakeHostError,
    FakeRepo,
    FakeScmHost,
    FileContent,
    UnknownPathError,
    UnknownRefError,
    executable,
    submodule,
    symlink,
)

FILES: dict[str, FileContent] = {
    "README.md": "# docs\n",
    "docs/index.md": "# Index\n",
    "docs/guide/setup.md": "Run it.\n",
    "bin/run.sh": executable("#!/bin/sh\necho hi\n"),
    "latest": symlink("docs/index.md"),
    "logo.png": b"\x89PNG\r\n\x1a\n\x00\xff",
}


@pytest.fixture
def host() -> Iterator[FakeScmHost]:
    h = FakeScmHost()  # repositories only: no need to listen
    yield h
    h.close()


@pytest.fixture
def repo(host: FakeScmHost) -> FakeRepo:
    return host.add_repo(
        "octo/docs",
        FILES,
        branches={"feature/new-docs": {"docs/new.md": "new\n"}, "release/2024/q1": "main"},
        tags={"v1.0.0": "main"},
    )


def _fsck(repo: FakeRepo) -> None:
    result = subprocess.run(
        ["git", "--git-dir", str(repo.git_dir), "fsck", "--strict", "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_CONFIG_GLOBAL": os.devnull},
    )
    assert result.returncode == 0, result.stderr


def test_branches_with_slashes_tags_and_a_valid_git_repository(repo: FakeRepo) -> None:
    main = repo.sha("main")
    assert len(main) == 40 and int(main, 16) >= 0
    assert repo.branches() == {
        "feature/new-docs": repo.sha("feature/new-docs"),
        "main": main,
        "release/2024/q1": main,
    }
    assert repo.tags() == {"v1.0.0": main}
    assert repo.sha("feature/new-docs") != main
    assert repo.commit_info("feature/new-docs").parents == (main,)
    assert repo.blob("feature/new-docs", "docs/new.md") == b"new\n"
    assert repo.entry("main", "docs/new.md") is None
    _fsck(repo)
    refs = subprocess.run(
        [
            "git",
            "--git-dir",
            str(repo.git_dir),
            "for-each-ref",
            "--format=%(refname) %(objectname)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert sorted(refs) == sorted(f"{name} {sha}" for name, sha in repo.refs().items())


def test_several_commits_history_dates_and_last_commit(repo: FakeRepo) -> None:
    first = repo.sha()
    second = repo.commit({"docs/index.md": "# Index v2\n"}, message="Edit index")
    third = repo.commit({"CHANGELOG.md": "1.1\n"}, delete=["docs/guide"])
    assert repo.sha("main") == third
    assert repo.commit_info(third).parents == (second,)
    assert repo.commit_info(second).parents == (first,)
    assert repo.commit_info(second).message == "Edit index\n"
    times = [repo.commit_info(sha).committed_at.timestamp() for sha in (first, second, third)]
    assert times[1] > times[0] and times[2] > times[1]
    assert repo.last_commit("main", "docs/index.md") == second
    assert repo.last_commit("main", "README.md") == first
    assert repo.last_commit("main", "CHANGELOG.md") == third
    assert repo.last_commit(first, "docs/index.md") == first
    assert repo.entry("main", "docs/guide/setup.md") is None
    assert repo.blob(first, "docs/guide/setup.md") == b"Run it.\n"
    assert repo.blob("v1.0.0", "docs/index.md") == b"# Index\n"  # the tag did not move
    with pytest.raises(UnknownPathError):
        repo.commit({}, delete=["no/such/file"])
    with pytest.raises(UnknownPathError):
        repo.last_commit("main", "never-existed.txt")
    _fsck(repo)


def test_commit_on_a_new_branch_starts_from_the_default_branch(repo: FakeRepo) -> None:
    sha = repo.commit({"x.txt": "x"}, branch="topic/x")
    assert repo.commit_info(sha).parents == (repo.sha("main"),)
    assert repo.blob("topic/x", "README.md") == b"# docs\n"


def test_annotated_tag_is_peeled(repo: FakeRepo) -> None:
    commit = repo.tag("v2", "feature/new-docs", message="Release 2")
    assert commit == repo.sha("feature/new-docs") == repo.sha("v2")
    tag_object = repo.tag_object("v2")
    assert tag_object is not None and tag_object != commit
    assert repo.tag_object("v1.0.0") is None
    _fsck(repo)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("main", "main"),
        ("refs/heads/main", "main"),
        ("HEAD", "main"),
        (None, "main"),
        ("", "main"),
        ("v1.0.0", "main"),
        ("refs/tags/v1.0.0", "main"),
        ("feature/new-docs", "feature/new-docs"),
        ("refs/heads/feature/new-docs", "feature/new-docs"),
        ("release/2024/q1", "main"),
        ("nope", None),
        ("refs/heads/nope", None),
        ("feature", None),
        ("0000000", None),
    ],
)
def test_resolve_ref(repo: FakeRepo, ref: str | None, expected: str | None) -> None:
    want = None if expected is None else repo.sha(expected)
    assert repo.resolve_ref(ref) == want


def test_resolve_abbreviated_and_full_commit_ids(repo: FakeRepo) -> None:
    sha = repo.sha("feature/new-docs")
    assert repo.resolve_ref(sha) == sha
    assert repo.resolve_ref(sha[:7]) == sha
    assert repo.resolve_ref(sha.upper()) is None  # hosts use lower-case ids


def test_unknown_ref_is_a_typed_lookup_error(repo: FakeRepo) -> None:
    with pytest.raises(UnknownRefError, match="no branch, tag or commit 'gone'") as info:
        repo.sha("gone")
    assert isinstance(info.value, InputError) and isinstance(info.value, LookupError)


@pytest.mark.parametrize(
    ("text", "ref", "path"),
    [
        ("main/docs/index.md", "main", "docs/index.md"),
        ("feature/new-docs/docs/new.md", "feature/new-docs", "docs/new.md"),
        ("release/2024/q1/README.md", "release/2024/q1", "README.md"),
        ("refs/heads/feature/new-docs/docs", "refs/heads/feature/new-docs", "docs"),
        ("v1.0.0", "v1.0.0", ""),
        ("/main/", "main", ""),
    ],
)
def test_split_ref_path(repo: FakeRepo, text: str, ref: str, path: str) -> None:
    assert repo.split_ref_path(text) == (ref, repo.sha(ref), path)


def test_split_ref_path_without_a_ref(repo: FakeRepo) -> None:
    assert repo.split_ref_path("nope/docs/index.md") is None


def test_tree_entries_modes_types_and_sizes(repo: FakeRepo) -> None:
    entries = {e.path: e for e in repo.tree("main")}
    assert list(entries) == [
        "README.md",
        "bin",
        "bin/run.sh",
        "docs",
        "docs/guide",
        "docs/guide/setup.md",
        "docs/index.md",
        "latest",
        "logo.png",
    ]
    assert (entries["README.md"].type, entries["README.md"].mode) == ("blob", "100644")
    assert entries["README.md"].size == 7
    assert entries["bin/run.sh"].mode == "100755"
    assert (entries["latest"].mode, entries["latest"].size) == ("120000", len("docs/index.md"))
    assert (entries["docs"].type, entries["docs"].mode, entries["docs"].size) == (
        "tree",
        "040000",
        None,
    )
    assert entries["docs/guide/setup.md"].name == "setup.md"
    top = [e.path for e in repo.tree("main", "docs", recursive=False)]
    assert top == ["docs/guide", "docs/index.md"]
    assert repo.blob_by_sha(entries["logo.png"].sha) == FILES["logo.png"]
    root = repo.entry("main", "")
    assert root is not None and root.sha == repo.commit_info().tree
    with pytest.raises(UnknownPathError):
        repo.tree("main", "README.md")
    with pytest.raises(UnknownPathError):
        repo.tree("main", "missing")


def test_blobs_symlinks_and_submodules(host: FakeScmHost) -> None:
    pinned = "a" * 40
    repo = host.add_repo("o/mods", {"vendor/lib": submodule(pinned), "a.txt": "a"})
    (lib,) = [e for e in repo.tree("main") if e.path == "vendor/lib"]
    assert (lib.type, lib.mode, lib.sha, lib.size) == ("commit", "160000", pinned, None)
    assert repo.files() == {"a.txt": b"a"}
    with pytest.raises(UnknownPathError):
        repo.blob("main", "vendor")
    with pytest.raises(UnknownPathError):
        repo.blob_by_sha("b" * 40)


def _tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def _tar_files(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                out[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
            elif member.issym():
                out[member.name] = member.linkname.encode()
    return out


def _zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


@pytest.mark.parametrize("fmt", ["tar.gz", "tar", "zip"])
def test_archives_are_reproducible_for_the_same_content(fmt: str) -> None:
    with FakeScmHost() as one, FakeScmHost() as two:
        a = one.add_repo("octo/docs", FILES, branches={"b": {"x": "1"}})
        b = two.add_repo("other/name", FILES, branches={"b": {"x": "1"}})
        assert a.sha("b") == b.sha("b")
        assert a.archive("b", fmt=fmt) == b.archive("b", fmt=fmt)  # type: ignore[arg-type]
        assert a.archive("b", fmt=fmt) == a.archive("b", fmt=fmt)  # type: ignore[arg-type]
        assert a.archive("main", fmt=fmt) != a.archive("b", fmt=fmt)  # type: ignore[arg-type]


def test_tar_gz_is_gzip_and_carries_the_commit_id_like_github(repo: FakeRepo) -> None:
    data = repo.archive("main", fmt="tar.gz")
    assert data[:2] == b"\x1f\x8b"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.pax_headers.get("comment") == repo.sha("main")
    assert repo.archive("main", fmt="tar")[257:262] == b"ustar"
    assert repo.archive("main", fmt="tgz") == data


def test_archive_prefixes_of_each_host(repo: FakeRepo) -> None:
    sha = repo.sha("main")
    styles = {
        "github": f"octo-docs-{sha[:7]}/",
        "gitlab": f"docs-main-{sha}/",
        "bitbucket": "docs/",
    }
    for prefix in styles.values():
        names = _tar_members(repo.archive("main", prefix=prefix))
        assert names and all(n.startswith(prefix.rstrip("/")) for n in names)
        assert f"{prefix}docs/index.md" in names
    assert f"{styles['github']}README.md" in _tar_members(
        repo.archive("main", prefix=styles["github"].rstrip("/"))
    )
    gitiles = _tar_members(repo.archive("main"))
    assert "README.md" in gitiles and "docs/index.md" in gitiles


def test_zip_and_tar_gz_hold_the_same_files_and_modes(repo: FakeRepo) -> None:
    tar_data = repo.archive("main", fmt="tar.gz", prefix="p")
    zip_data = repo.archive("main", fmt="zip", prefix="p")
    assert _tar_files(tar_data) == _zip_files(zip_data)
    assert _tar_files(tar_data)["p/docs/guide/setup.md"] == b"Run it.\n"
    members = _tar_members(tar_data)
    assert members["p/latest"].issym() and members["p/latest"].linkname == "docs/index.md"
    assert members["p/bin/run.sh"].mode & 0o111
    assert not members["p/README.md"].mode & 0o111
    assert members["p/README.md"].mtime == repo.commit_info().committed_at.timestamp()


def test_archive_paths_and_subdir(repo: FakeRepo) -> None:
    only_docs = _tar_files(repo.archive("main", prefix="r", paths=["docs/guide", "README.md"]))
    assert sorted(only_docs) == ["r/README.md", "r/docs/guide/setup.md"]
    subdir = _tar_files(repo.archive("main", subdir="docs"))
    assert subdir == {"guide/setup.md": b"Run it.\n", "index.md": b"# Index\n"}
    zipped = _zip_files(repo.archive("main", fmt="zip", prefix="docs", subdir="docs"))
    assert sorted(zipped) == ["docs/guide/setup.md", "docs/index.md"]
    assert repo.archive("main", subdir="docs") == repo.archive("main", subdir="docs/")
    with pytest.raises(UnknownPathError):
        repo.archive("main", paths=["nope"])
    with pytest.raises(UnknownPathError):
        repo.archive("main", subdir="README.md")
    with pytest.raises(FakeHostError, match="unknown archive format"):
        repo.archive("main", fmt="rar")  # type: ignore[arg-type]
    with pytest.raises(UnknownRefError):
        repo.archive("nope")


def test_archive_to_file_and_iter_archive_match_archive(repo: FakeRepo) -> None:
    expected = repo.archive("feature/new-docs", fmt="zip", prefix="x")
    path = repo.archive_to_file("feature/new-docs", fmt="zip", prefix="x")
    assert path.read_bytes() == expected
    assert repo.archive_to_file("feature/new-docs", fmt="zip", prefix="x") == path
    assert repo.archive_to_file("main", fmt="zip", prefix="x") != path
    assert b"".join(repo.iter_archive("feature/new-docs", fmt="zip", prefix="x")) == expected
    stream = repo.iter_archive("main", fmt="tar", chunk_size=512)
    assert len(next(stream)) <= 512
    stream.close()  # stops git archive early without error


def test_repo_from_a_folder_copies_files_modes_and_links(tmp_path: Path, host: FakeScmHost) -> None:
    src = tmp_path / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "a.md").write_text("A\n")
    (src / "tool.sh").write_text("#!/bin/sh\n")
    (src / "tool.sh").chmod(0o755)
    (src / "link.md").symlink_to("docs/a.md")
    (src / ".git").mkdir()
    (src / ".git" / "config").write_text("[core]\n")
    repo = host.add_repo("team/from-folder", {"extra.txt": "e"}, path=src)
    assert repo.files() == {
        "docs/a.md": b"A\n",
        "extra.txt": b"e",
        "link.md": b"docs/a.md",
        "tool.sh": b"#!/bin/sh\n",
    }
    modes = {e.path: e.mode for e in repo.tree("main")}
    assert (modes["tool.sh"], modes["link.md"], modes["docs/a.md"]) == (
        "100755",
        "120000",
        "100644",
    )
    _fsck(repo)
    with pytest.raises(FakeHostError, match="no such folder"):
        host.add_repo("team/missing", path=tmp_path / "missing")


def test_default_readme_empty_repository_and_names(host: FakeScmHost) -> None:
    repo = host.add_repo("group/sub/project")
    assert (repo.name, repo.owner) == ("project", "group/sub")
    assert repo.files() == {"README.md": b"# project\n"}
    empty = host.add_repo("o/empty", {}, default_branch="trunk")
    assert empty.refs() == {} and empty.resolve_ref("trunk") is None
    first = empty.commit({"a": "a"})
    assert empty.branches() == {"trunk": first}
    assert host.get_repo("GROUP/Sub/Project") is repo
    assert host.repo("o/empty") is empty
    with pytest.raises(FakeHostError, match="already has"):
        host.add_repo("O/EMPTY")
    with pytest.raises(FakeHostError, match="no repository"):
        host.repo("o/none")


@pytest.mark.parametrize("bad", ["../x", "a/../b", "/", "a//b", ".git/config", "a/./b", "nul\0l"])
def test_invalid_paths_are_rejected(host: FakeScmHost, bad: str) -> None:
    with pytest.raises(FakeHostError, match="invalid repository path"):
        host.add_repo("o/r", {bad: "x"})


def test_file_and_folder_conflict_and_bad_ref_names(host: FakeScmHost) -> None:
    with pytest.raises(FakeHostError, match="folder"):
        host.add_repo("o/conflict", {"a": "file", "a/b": "nested"})
    repo = host.add_repo("o/r", branches={"feature": "main"})
    with pytest.raises(FakeHostError, match="cannot set"):
        repo.create_branch("feature/x")  # git cannot have both feature and feature/x
    with pytest.raises(FakeHostError, match="cannot set"):
        repo.create_branch("bad..name")
    with pytest.raises(FakeHostError, match="already exists"):
        repo.create_branch("feature")
    repo.tag("v1", message="x")
    with pytest.raises(FakeHostError, match="already exists"):
        repo.tag("v1")
    with pytest.raises(FakeHostError, match="40-hex"):
        submodule("abc")


def test_close_removes_the_repositories() -> None:
    host = FakeScmHost()
    repo = host.add_repo("o/r")
    assert repo.git_dir.is_dir()
    host.close()
    assert not repo.git_dir.exists()
