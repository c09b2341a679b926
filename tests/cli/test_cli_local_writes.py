"""Local writes of read -o, tree --out and search --out (issue 12, surprises 1, 4 and 8).

Device nodes and FIFOs are made in a temporary folder, never under /dev.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cli_helpers import SERVICE_FILES, Cli, GithubSite, Result

from scmreader.errors import TargetWriteError

MKDOCS = SERVICE_FILES["mkdocs.yml"].encode()


def read_to(cli: Cli, site: GithubSite, output: Path | str, *args: str) -> Result:
    """``scmreader read <mkdocs.yml> -o OUTPUT``."""
    return cli("read", site.blob("mkdocs.yml"), "-c", site.config, "-o", str(output), *args)


def test_a_character_device_is_written_into_not_replaced(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    # A node with /dev/null's numbers (1, 3), made in the test's own folder.
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = read_to(cli, github_site, null)
    assert result.code == 0, result.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert os.lstat(null).st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_fifo_is_written_into_not_replaced(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def drain() -> None:
        with open(fifo, "rb") as reader:
            received.append(reader.read())

    reader = threading.Thread(target=drain)
    reader.start()
    result = read_to(cli, github_site, fifo)
    reader.join(timeout=30)
    assert result.code == 0, result.stderr
    assert received == [MKDOCS]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_is_followed_and_stays_a_link(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    real = tmp_path / "real.yml"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.yml"
    link.symlink_to(real)
    result = read_to(cli, github_site, link)
    assert result.code == 0, result.stderr
    assert link.is_symlink()
    assert real.read_bytes() == MKDOCS


def test_a_dangling_symlink_creates_its_target(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    link = tmp_path / "link.yml"
    link.symlink_to(tmp_path / "made.yml")
    result = read_to(cli, github_site, link)
    assert result.code == 0, result.stderr
    assert link.is_symlink() and (tmp_path / "made.yml").read_bytes() == MKDOCS


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o755])
def test_an_existing_file_keeps_its_mode(
    cli: Cli, github_site: GithubSite, tmp_path: Path, mode: int
) -> None:
    target = tmp_path / "out.yml"
    target.write_bytes(b"old\n")
    target.chmod(mode)
    result = read_to(cli, github_site, target)
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.read_bytes() == MKDOCS


def test_an_existing_file_keeps_its_owner_when_root_writes_it(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    target = tmp_path / "theirs.yml"
    target.write_bytes(b"old\n")
    os.chown(target, 12345, 23456)  # the tests run as root (mknod needs it too)
    result = read_to(cli, github_site, target)
    assert result.code == 0, result.stderr
    assert (target.stat().st_uid, target.stat().st_gid) == (12345, 23456)


def test_a_hard_linked_file_is_written_in_place(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    target = tmp_path / "a.yml"
    target.write_bytes(b"old\n")
    other = tmp_path / "b.yml"
    os.link(target, other)
    result = read_to(cli, github_site, target)
    assert result.code == 0, result.stderr
    assert other.read_bytes() == MKDOCS
    assert os.stat(target).st_ino == os.stat(other).st_ino


def test_a_new_file_gets_the_umask_mode(cli: Cli, github_site: GithubSite, tmp_path: Path) -> None:
    target = tmp_path / "new.yml"
    old = os.umask(0o027)
    try:
        result = read_to(cli, github_site, target)
    finally:
        os.umask(old)
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_folder_as_output_is_a_target_write_error(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    result = read_to(cli, github_site, tmp_path, "--json")
    assert result.code == 12
    error = result.error_json()["error"]
    assert error["type"] == "TargetWriteError" and str(tmp_path) in error["message"]


@pytest.mark.parametrize("command", ["read", "tree", "search"])
def test_an_empty_output_path_is_a_usage_error(
    cli: Cli, github_site: GithubSite, command: str, tmp_path: Path
) -> None:
    flag = "-o" if command == "read" else "--out"
    url = github_site.blob("mkdocs.yml") if command == "read" else github_site.tree("docs")
    if command == "search":
        url = github_site.blob("**/*.md")
    result = cli(command, url, "-c", github_site.config, flag, "", "--json")
    assert result.code == 2
    assert result.stdout == b""
    assert result.error_json()["error"]["type"] == "InputError"
    assert list((tmp_path / "cwd").iterdir()) == []


def test_tree_into_a_file_is_a_target_write_error(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = cli("tree", github_site.tree("docs"), "-c", github_site.config, "--out", str(target))
    assert result.code == 12
    assert f"'{target}'" in result.stderr
    assert "target_dir" not in result.stderr


def test_tree_into_a_non_empty_folder_needs_force_or_merge(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "stale.md").write_text("old")
    refused = cli("tree", github_site.tree("docs"), "-c", github_site.config, "--out", str(out))
    assert refused.code == 12
    assert "--force" in refused.stderr and "--merge" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == ["stale.md"]

    merged = cli(
        "tree", github_site.tree("docs"), "-c", github_site.config, "--out", str(out), "--merge"
    )
    assert merged.code == 0, merged.stderr
    assert (out / "stale.md").exists() and (out / "index.md").exists()

    forced = cli(
        "tree", github_site.tree("docs"), "-c", github_site.config, "--out", str(out), "--force"
    )
    assert forced.code == 0, forced.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["api/catalog-info.yaml", "guide/setup.md", "index.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app-config.yaml", "cwd", "site"]


def test_force_keeps_the_old_folder_when_the_tree_fails(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "keep.md").write_text("old")
    result = cli(
        "tree",
        github_site.tree("nosuchdir"),
        "-c",
        github_site.config,
        "--out",
        str(out),
        "--force",
    )
    assert result.code == 6
    assert sorted(p.name for p in out.iterdir()) == ["keep.md"]
    assert not any(p.name.startswith(".site.") for p in tmp_path.iterdir())


def test_search_out_follows_the_same_rules(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    out = tmp_path / "found"
    out.mkdir()
    (out / "stale.yaml").write_text("old")
    url = github_site.blob("**/catalog-info.yaml")
    refused = cli("search", url, "-c", github_site.config, "--out", str(out), "--json")
    assert refused.code == 12 and refused.stdout == b""
    assert refused.error_json()["error"]["type"] == "TargetWriteError"
    forced = cli("search", url, "-c", github_site.config, "--out", str(out), "--force")
    assert forced.code == 0, forced.stderr
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["catalog-info.yaml", "docs/api/catalog-info.yaml"]


def test_search_out_into_a_file_is_a_target_write_error(
    cli: Cli, github_site: GithubSite, tmp_path: Path
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = cli(
        "search", github_site.blob("**/*.md"), "-c", github_site.config, "--out", str(target)
    )
    assert result.code == 12
    assert f"'{target}'" in result.stderr


def test_a_new_search_folder_is_removed_when_a_write_fails(
    cli: Cli, github_site: GithubSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scmreader.cli._search as search

    real = search._write_below
    calls: list[str] = []

    def second_fails(root: Path, relative: str, content: bytes, label: str | None = None) -> Path:
        calls.append(relative)
        if len(calls) == 2:
            raise TargetWriteError(f"Cannot write {relative!r} below {label!r} (disk full)")
        return real(root, relative, content, label)

    monkeypatch.setattr(search, "_write_below", second_fails)
    out = tmp_path / "new" / "found"
    url = github_site.blob("**/catalog-info.yaml")
    result = cli("search", url, "-c", github_site.config, "--out", str(out))
    assert result.code == 12 and result.stdout == b""
    assert len(calls) == 2
    assert not out.exists()
