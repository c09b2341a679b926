"""The documentation stays true: the generated CLI reference matches the parser, the
FakeScmHost examples run, install lines work from a checkout, and links resolve."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from cli_helpers import REPO_ROOT

from scmreader.cli._reference import render
from scmreader.testing import FakeScmHost

DOCS = REPO_ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))


def test_cli_reference_is_generated_from_the_parser() -> None:
    committed = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/cli-reference.md is stale: run python -m scmreader.cli._reference "
        "docs/cli-reference.md"
    )


def test_cli_reference_lists_every_command_and_flag() -> None:
    page = render()
    for command in (
        "read",
        "tree",
        "search",
        "resolve",
        "url edit",
        "url fetch",
        "config validate",
        "demo",
    ):
        assert f"## `scmreader {command}`" in page
    for flag in ("--force", "--merge", "--fail-if-none", "--timeout", "--strict", "--json"):
        assert f"`{flag}`" in page


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def test_the_fakescmhost_examples_run(
    fake_scm_host: FakeScmHost, capsys: pytest.CaptureFixture[str]
) -> None:
    in_pytest, standalone = _python_blocks(DOCS / "testing.md")
    exec(compile(standalone, "docs/testing.md", "exec"), {})
    assert capsys.readouterr().out == "['index.md']\n"
    namespace: dict[str, object] = {}
    exec(compile(in_pytest, "docs/testing.md", "exec"), namespace)
    test = namespace["test_reads_the_catalog"]
    assert callable(test)
    test(fake_scm_host)


def _extras() -> set[str]:
    parser = configparser.ConfigParser()
    parser.read(REPO_ROOT / "setup.cfg")
    return set(parser["options.extras_require"])


@pytest.mark.parametrize("page", [REPO_ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_install_lines_work_from_a_checkout(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert "pip install 'scmreader[" not in text, "the package is installed from a checkout"
    for extras in re.findall(r"pip install (?:-e )?'\.\[([a-z0-9,-]+)\]'", text):
        assert set(extras.split(",")) <= _extras(), extras


@pytest.mark.parametrize("page", [REPO_ROOT / "README.md", *PAGES], ids=lambda p: p.name)
def test_relative_links_point_at_files(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#:\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
        assert (page.parent / target).is_file(), f"{page.name} links to missing {target}"


def test_mkdocs_nav_lists_every_page() -> None:
    nav = (REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in PAGES:
        assert str(page.relative_to(DOCS)) in nav, page


def test_the_cli_reads_the_same_default_files_as_load_config() -> None:
    from scmreader.cli import DEFAULT_CONFIG_FILES as CLI_DEFAULTS
    from scmreader.config import DEFAULT_CONFIG_FILES

    assert CLI_DEFAULTS == DEFAULT_CONFIG_FILES  # the parser keeps its own copy: --help is light
