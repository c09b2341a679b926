"""``python -m scmreader.testing serve``: run a FakeScmHost in its own process.

Prints the base URL as the first line of stdout, then an app-config snippet for the
enabled providers and the browse URLs of the repositories (see :func:`describe`), and
serves until SIGTERM or SIGINT. Without ``--repo``/``--file`` it serves a sample
repository on a fake GitHub. Benchmarks use it so the host's memory does not count against
the client's.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from scmreader.errors import ScmReaderError
from scmreader.testing.server import FakeScmHost, available_providers

#: Sample repository served when neither --repo nor --file is given.
SAMPLE_REPO = "octo/service"

#: provider -> browse URL of a repository's default branch root ({base}, {repo}).
BROWSE_URLS = {
    "github": "{base}/{repo}/tree/main",
    "gitlab": "{base}/{repo}/-/tree/main",
    "gitea": "{base}/{repo}/src/branch/main",
}

#: provider -> its key under ``integrations``.
INTEGRATION_KEYS = {"github": "github", "gitlab": "gitlab", "gitea": "gitea"}


def describe(host: FakeScmHost, repos: Sequence[str]) -> tuple[str, str]:
    """(an app-config YAML snippet for ``host``'s providers, lines with the browse URLs of
    ``repos``): what a user pastes into app-config.yaml and opens with ``scmreader``."""
    import importlib

    import yaml

    integrations: dict[str, list[dict[str, object]]] = {}
    lines: list[str] = []
    for provider in sorted(host.enabled):
        key = INTEGRATION_KEYS.get(provider)
        if key is None:
            lines.append(f"# {provider}: enabled; configure it from Python (see the docs)")
            continue
        routes = importlib.import_module(f"scmreader.testing.routes.{provider}")
        integrations[key] = [routes.integration_config(host)]
        for repo in repos:
            url = BROWSE_URLS[provider].format(base=host.base_url, repo=repo)
            lines.append(f"# {provider} {repo}: {url}")
    config: dict[str, object] = {"backend": {"reading": {"allow": [{"host": host.host}]}}}
    if integrations:
        config = {"integrations": integrations, **config}
    return yaml.safe_dump(config, sort_keys=False), "\n".join(lines)


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m scmreader.testing")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve repositories and files until killed")
    serve.add_argument(
        "--repo",
        action="append",
        default=[],
        type=_pair,
        metavar="NAME=DIR",
        help="serve folder DIR as git repository NAME (e.g. octo/docs=./docs)",
    )
    serve.add_argument(
        "--file",
        action="append",
        default=[],
        type=_pair,
        metavar="URLPATH=FILE",
        help="serve FILE (streamed from disk) at URLPATH (e.g. /big.tar.gz=./big.tar.gz)",
    )
    serve.add_argument(
        "--enable",
        action="append",
        default=[],
        metavar="PROVIDER",
        help="enable a provider emulation; repeatable. One of: " + ", ".join(available_providers()),
    )
    serve.add_argument(
        "--config-out",
        metavar="FILE",
        help="also write the app-config snippet to FILE (use it with scmreader -c FILE)",
    )
    serve.add_argument("--bind", default="127.0.0.1", help="loopback address (127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="TCP port (0: pick a free one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    stop = threading.Event()
    sample = not args.repo and not args.file

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        host = FakeScmHost(args.bind, args.port, providers=args.enable or ["github"] * sample)
    except ScmReaderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        if sample:
            from scmreader.demo import FILES

            host.add_repo(SAMPLE_REPO, FILES)
        for name, folder in args.repo:
            host.add_repo(name, path=Path(folder))
        for url_path, file in args.file:
            host.serve_file(url_path, Path(file))
        host.start()
    except ScmReaderError as exc:
        host.close()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    with host:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        repos = [SAMPLE_REPO] * sample + [name for name, _ in args.repo]
        snippet, browse = describe(host, repos)
        if args.config_out:
            Path(args.config_out).write_text(snippet, encoding="utf-8")
        print(host.base_url, flush=True)
        print(f"# app-config for this host:\n{snippet}{browse}", flush=True)
        while not stop.wait(3600):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
