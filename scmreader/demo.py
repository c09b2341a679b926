"""``scmreader demo``: the main job, offline, against a built-in fake GitHub.

It starts a :class:`~scmreader.testing.FakeScmHost` on 127.0.0.1 in this process, puts a
small service repository on it (``catalog-info.yaml``, ``mkdocs.yml``, ``docs/``...),
points a GitHub integration at it, and runs what a catalog pipeline runs: read a file,
read it again with its etag, read the docs tree into a folder, search for globs, resolve a
relative link. Each step prints its URLs, etags, files and the requests it cost. Needs the
``testing`` extra (gitpython) and the git binary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from scmreader.errors import InputError, NotModifiedError

if TYPE_CHECKING:
    from scmreader.testing import FakeScmHost

T = TypeVar("T")

REPO = "acme/payments-service"

#: The sample repository.
FILES: dict[str, str] = {
    "catalog-info.yaml": (
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: Component\n"
        "metadata:\n"
        "  name: payments-service\n"
        "  annotations:\n"
        "    backstage.io/techdocs-ref: dir:.\n"
        "spec:\n"
        "  type: service\n"
        "  lifecycle: production\n"
        "  owner: team-payments\n"
    ),
    "mkdocs.yml": "site_name: Payments service\nnav:\n  - Home: index.md\n  - Setup: setup.md\n",
    "docs/index.md": "# Payments service\n\nTakes money. See [setup](setup.md).\n",
    "docs/setup.md": "# Setup\n\n```sh\nmake run\n```\n",
    "docs/api/catalog-info.yaml": (
        "apiVersion: backstage.io/v1alpha1\n"
        "kind: API\n"
        "metadata:\n"
        "  name: payments-api\n"
        "spec:\n"
        "  type: openapi\n"
        "  lifecycle: production\n"
        "  owner: team-payments\n"
        "  definition: openapi: 3.0.0\n"
    ),
    "README.md": "# payments-service\n",
    "src/main.py": "print('payments')\n",
}


class _Demo:
    """Runs the steps and keeps what they did, for text or JSON output."""

    def __init__(self, host: FakeScmHost, emit: Callable[[str], None]) -> None:
        self.host = host
        self.emit = emit
        self.steps: list[dict[str, Any]] = []

    @contextmanager
    def step(self, title: str, **facts: Any) -> Iterator[dict[str, Any]]:
        before = len(self.host.requests)
        record: dict[str, Any] = {"step": title, **facts}
        self.emit(f"\n== {title}")
        yield record
        requests = self.host.requests[before:]
        record["requests"] = [f"{r.method} {r.path}" for r in requests]
        self.emit(f"   requests: {len(requests)}")
        for r in requests:
            self.emit(f"     {r.method} {r.path}{'?' + r.raw_query if r.raw_query else ''}")
        self.steps.append(record)


def _start_host() -> FakeScmHost:
    import shutil

    if not shutil.which(os.environ.get("GIT_PYTHON_GIT_EXECUTABLE") or "git"):
        raise InputError(
            "The demo needs the git binary to build its sample repository, and no 'git' is "
            "on PATH; install git (e.g. apt-get install git) and run it again."
        )
    try:
        import git  # noqa: F401  (gitpython builds the sample repository)
    except ImportError:
        raise InputError(
            "The demo needs the 'testing' extra (gitpython); install it with "
            "pip install '.[testing]' from a checkout of scmreader."
        ) from None
    from scmreader.testing import FakeScmHost

    host = FakeScmHost(providers=["github"])
    try:
        host.add_repo(REPO, FILES)
        host.start()
    except BaseException:
        host.close()
        raise
    return host


def run_demo(emit: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the demo, printing through ``emit``; returns a summary of every step."""
    from scmreader.readers import UrlReaders
    from scmreader.testing.routes.github import integration_config

    host = _start_host()
    try:
        entry = integration_config(host)
        config = {"integrations": {"github": [entry]}}
        readers = UrlReaders.default(config)
        demo = _Demo(host, emit)
        base = f"{host.base_url}/{REPO}"
        emit(f"FakeScmHost (GitHub emulation) on {host.base_url}, repository {REPO}")
        emit("config:")
        emit("  integrations:\n    github:")
        emit(f"      - host: {entry['host']}")
        emit(f"        apiBaseUrl: {entry['apiBaseUrl']}")
        emit(f"        rawBaseUrl: {entry['rawBaseUrl']}")

        url = f"{base}/blob/main/catalog-info.yaml"
        with demo.step("read_url", url=url) as record:
            response = readers.read_url(url)
            content = response.buffer()
            record.update(etag=response.etag, size=len(content))
            emit(f"   {url}\n   etag {response.etag}, {len(content)} bytes:")
            for line in content.decode().splitlines()[:4]:
                emit(f"   | {line}")
            emit("   | ...")

        with demo.step("read_url again with the etag", url=url) as record:
            try:
                readers.read_url(url, etag=response.etag)
                record["not_modified"] = False
            except NotModifiedError:
                record["not_modified"] = True
                emit("   not modified: same version, content not read (the CLI exits 10)")

        tree_url = f"{base}/tree/main/docs"
        with (
            demo.step("read_tree", url=tree_url) as record,
            tempfile.TemporaryDirectory(prefix="scmreader-demo-") as tmp,
        ):
            tree = readers.read_tree(tree_url)
            folder = tree.dir(Path(tmp) / "docs")
            files = sorted(
                p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
            )
            record.update(etag=tree.etag, files=files)
            emit(f"   {tree_url}\n   etag {tree.etag}; written to a folder:")
            for name in files:
                emit(f"     {name} ({(folder / name).stat().st_size} bytes)")

        with demo.step("read_tree again with the etag", url=tree_url) as record:
            try:
                readers.read_tree(tree_url, etag=tree.etag)
                record["not_modified"] = False
            except NotModifiedError:
                record["not_modified"] = True
                emit("   not modified: no archive downloaded")

        for pattern in ("**/catalog-info.yaml", "docs/*.md"):
            glob_url = f"{base}/blob/main/{pattern}"
            with demo.step(f"search {pattern}", url=glob_url) as record:
                found = readers.search(glob_url)
                record.update(etag=found.etag, files=[f.url for f in found.files])
                emit(f"   {glob_url}\n   etag {found.etag}; {len(found.files)} matches:")
                for f in found.files:
                    emit(f"     {f.url} ({len(f.content())} bytes)")

        with demo.step("resolve a relative link") as record:
            integrations = readers.context.integrations
            doc = integrations.resolve_url(url="./docs/index.md", base=url)
            edit = integrations.resolve_edit_url(url)
            record.update(resolved=doc, edit_url=edit)
            emit(f"   ./docs/index.md from catalog-info.yaml -> {doc}")
            emit(f"   edit URL of catalog-info.yaml -> {edit}")

        total = sum(len(s["requests"]) for s in demo.steps)
        emit(f"\ndone: {len(demo.steps)} steps, {total} requests, all against {host.base_url}")
        return {"host": host.base_url, "repository": REPO, "steps": demo.steps, "requests": total}
    finally:
        host.close()


def cmd_demo(args: argparse.Namespace) -> int:
    """``scmreader demo [--json]``."""
    if args.json:
        summary = run_demo(lambda line: None)
        print(json.dumps(summary, default=str))
    else:
        run_demo(lambda line: print(line, file=sys.stdout))
    return 0
