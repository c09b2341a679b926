"""``python -m scmreader.testing serve``: run a FakeScmHost in its own process.

Prints the base URL as the first line of stdout, then serves until SIGTERM or SIGINT.
Benchmarks use it so the host's memory does not count against the client's.
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
        help="enable a provider emulation (e.g. github); repeatable",
    )
    serve.add_argument("--bind", default="127.0.0.1", help="loopback address (127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="TCP port (0: pick a free one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    from scmreader.testing.server import FakeScmHost

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        host = FakeScmHost(args.bind, args.port, providers=args.enable)
    except ScmReaderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
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
        print(host.base_url, flush=True)
        while not stop.wait(3600):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
