"""Mutation check: weaken each guard in a scratch copy and show that the suite fails.

    python tests/security/mutate.py            # every mutation (a few minutes)
    python tests/security/mutate.py body-cap   # only the named ones
    python tests/security/mutate.py --list

For each mutation the repository's ``scmreader``, ``tests`` and ``fixtures`` are copied to
a scratch folder once, one guard is weakened there by a literal text replacement, and the
tests that cover it run against the scratch copy (``PYTHONPATH`` puts it first, and the
script checks that the copy is what gets imported, and that the tests pass on the copy
before any mutation). A mutation is *caught* when those tests fail. The exit status is 1
when a mutation survives (or no longer applies because the guarded code changed: update
its text here), else 0.

Not part of the default pytest run: it runs the suite once per mutation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEC = "tests/security"


@dataclass(frozen=True)
class Mutation:
    """One weakened guard: in ``file`` replace ``old`` by ``new``; ``tests`` must fail."""

    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation(
        "archive-path-check",
        "scmreader/readers/tree/_names.py",
        'if ".." in _SEPARATORS.split(candidate):',
        "if False:",
        ("tests/readers/test_tree_hostile.py",),
    ),
    Mutation(
        "archive-invisible-names",
        "scmreader/readers/tree/_names.py",
        "hidden = _invisible(raw)",
        "hidden = None",
        (f"{SEC}/test_archives.py",),
    ),
    Mutation(
        "zip-entry-count",
        "scmreader/readers/tree/_zip.py",
        "self._count_directory(spool)",
        "pass",
        (f"{SEC}/test_archives.py",),
    ),
    Mutation(
        "tar-volume-entries",
        "scmreader/readers/tree/_tar.py",
        "and record.\n                meta_records += 1",
        "and record.\n                meta_records += 0",
        (f"{SEC}/test_archives.py",),
    ),
    Mutation(
        "archive-ratio-on-wire-bytes",
        "scmreader/readers/tree/_chunks.py",
        'return max(int(getattr(wire, "wire_bytes", 0)), 1)',
        "return max(self.compressed, 1)",
        (f"{SEC}/test_archives.py",),
    ),
    Mutation(
        "redirect-recheck",
        "scmreader/http/_client.py",
        "                check_redirect(nxt)",
        "                pass",
        ("tests/test_http.py", "tests/readers/test_fetch.py"),
    ),
    Mutation(
        "https-downgrade",
        "scmreader/http/_client.py",
        'if current.scheme == "https" and nxt.scheme == "http":',
        "if False:",
        ("tests/test_http.py",),
    ),
    Mutation(
        "credentials-per-origin",
        "scmreader/http/_client.py",
        "if len(origins_seen) == 1:",
        "if True:",
        ("tests/test_http.py",),
    ),
    Mutation(
        "redaction",
        "scmreader/redact.py",
        "text = text.replace(secret, MASK)",
        "pass",
        ("tests/test_redact.py",),
    ),
    Mutation(
        "configured-secrets-pinned",
        "scmreader/redact.py",
        "_pinned.update(forms)",
        "_secrets.update(dict.fromkeys(forms))",
        (f"{SEC}/test_secrets_and_paths.py",),
    ),
    Mutation(
        "body-cap",
        "scmreader/http/_body.py",
        "if self.decoded > self._max:",
        "if False:",
        (f"{SEC}/test_bodies.py",),
    ),
    Mutation(
        "decoded-ratio",
        "scmreader/http/_body.py",
        "and self.decoded > s.max_decoded_ratio * max(self._received, 1)",
        "and False",
        (f"{SEC}/test_bodies.py",),
    ),
    Mutation(
        "end-of-stream-check",
        "scmreader/http/_body.py",
        "if not d.eof and self._received:",
        "if False:",
        (f"{SEC}/test_bodies.py",),
    ),
    Mutation(
        "deadline",
        "scmreader/http/_client.py",
        "deadline=time.monotonic() + remaining,",
        "deadline=time.monotonic() + 1e9,",
        (f"{SEC}/test_deadlines.py",),
    ),
    Mutation(
        "low-speed-limit",
        "scmreader/http/_exchange.py",
        "if self._window_bytes < self.low_speed_limit * self._blocked:",
        "if False:",
        (f"{SEC}/test_deadlines.py",),
    ),
    Mutation(
        "strict-retry-after",
        "scmreader/http/_status.py",
        "if _DIGITS.fullmatch(value):",
        "if value.isdigit():",
        (f"{SEC}/test_headers.py",),
    ),
    Mutation(
        "secondary-rate-limit",
        "scmreader/http/_retry.py",
        'return b"secondary rate limit" in data.lower()',
        "return False",
        (f"{SEC}/test_headers.py",),
    ),
    Mutation(
        "allow-list-hidden-dots",
        "scmreader/readers/fetch.py",
        "if _hides_dots(url.path):",
        "if False:",
        (f"{SEC}/test_secrets_and_paths.py",),
    ),
    Mutation(
        "traversal-params",
        "scmreader/urls/_paths.py",
        'segment.split(";", 1)[0] in (".", "..")',
        'segment in (".", "..")',
        (f"{SEC}/test_secrets_and_paths.py",),
    ),
    Mutation(
        "private-address-check",
        "scmreader/http/_addresses.py",
        "if kind is not None:",
        "if False:",
        (f"{SEC}/test_private_addresses.py",),
    ),
    Mutation(
        "dns-rebinding-pin",
        "scmreader/http/_exchange.py",
        "self._dns_host = address  # a literal: no second lookup",
        "pass",
        (f"{SEC}/test_private_addresses.py",),
    ),
]


def _copy(scratch: Path) -> None:
    for name in ("scmreader", "tests", "fixtures"):
        shutil.copytree(
            ROOT / name, scratch / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for name in ("pyproject.toml", "setup.cfg"):
        shutil.copy2(ROOT / name, scratch / name)


def _env(scratch: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(scratch), "PYTHONDONTWRITEBYTECODE": "1"}


def _check_import(scratch: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import scmreader; print(scmreader.__file__)"],
        cwd=scratch,
        env=_env(scratch),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not out.startswith(str(scratch)):
        raise SystemExit(f"the scratch copy is not what gets imported ({out}); aborting")


def _pytest(scratch: Path, tests: tuple[str, ...]) -> int:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", *tests],
        cwd=scratch,
        env=_env(scratch),
        capture_output=True,
        text=True,
    ).returncode


def _check_control(scratch: Path, chosen: list[Mutation]) -> None:
    """The chosen tests must pass on the unmutated copy, or a 'caught' would mean nothing."""
    tests = tuple(sorted({t for m in chosen for t in m.tests}))
    if _pytest(scratch, tests) != 0:
        raise SystemExit(f"the tests fail without any mutation ({' '.join(tests)}); fix them first")


def run(mutation: Mutation, scratch: Path) -> str:
    """'caught', 'SURVIVED' or 'stale' (the guarded text is gone)."""
    target = scratch / mutation.file
    original = target.read_text()
    if original.count(mutation.old) != 1:
        return "stale"
    target.write_text(original.replace(mutation.old, mutation.new))
    try:
        returncode = _pytest(scratch, mutation.tests)
    finally:
        target.write_text(original)
    return "caught" if returncode != 0 else "SURVIVED"


def main() -> int:
    """Run the selected mutations; print one line each and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args()
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:<28} {m.file}")
        return 0
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        raise SystemExit(f"unknown mutations: {', '.join(sorted(unknown))} (see --list)")
    with tempfile.TemporaryDirectory(prefix="scmreader-mutate-") as tmp:
        scratch = Path(tmp)
        _copy(scratch)
        _check_import(scratch)
        _check_control(scratch, chosen)
        results = []
        for m in chosen:
            start = time.monotonic()
            outcome = run(m, scratch)
            results.append(outcome)
            print(f"{m.name:<28} {outcome:<9} {time.monotonic() - start:5.1f}s", flush=True)
    caught = results.count("caught")
    print(f"{caught}/{len(results)} weakened guards caught by the suite")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
