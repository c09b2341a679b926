"""Benchmark: how long ``scmreader read URL`` takes from a cold process, against Python itself.

    python benchmarks/startup.py [--runs 30] [--warmup 5] [--instructions]

Serves a small sample repository from FakeScmHost's GitHub emulation in a separate process
(``python -m scmreader.testing serve --enable github``), writes an ``app-config.yaml``
pointing a GitHub integration at it, byte-compiles the package (the figure is "with
bytecode cached", whatever ``PYTHONDONTWRITEBYTECODE`` says), and then runs, round by
round and interleaved, in fresh processes:

- ``python -c pass`` (the floor: the interpreter alone),
- ``python -c "import requests"`` (the HTTP stack every read needs),
- ``scmreader read URL`` (the command, as a user runs it, reading ``catalog-info.yaml``).

It prints the median wall time and CPU time (user + system, from ``getrusage``) of each,
and the ratios to the floor; the item-8 target is a read within 200 ms wall. Nothing is
asserted: the machine's load moves every figure. ``hyperfine -N`` over the same three
commands gives the same wall figures.

With ``--instructions``, each command also runs once under ``valgrind --tool=callgrind``,
which counts the instructions it executes: the same count run after run whatever else the
machine does, so two versions of scmreader compare exactly where wall times drift.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scmreader

REPO = "acme/payments-service"
REQUESTS = "python -c 'import requests'"
FILES = {
    "catalog-info.yaml": "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
    "metadata:\n  name: payments-service\nspec:\n  type: service\n  owner: team-payments\n",
    "docs/index.md": "# Payments\n",
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``argv``; fails when it fails."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return wall, _children_cpu() - cpu


def instructions(argv: list[str], cwd: Path) -> int:
    """Instructions ``argv`` executes (callgrind's count of its own process)."""
    with tempfile.NamedTemporaryFile(dir=cwd, suffix=".callgrind") as out:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out.name}", *argv],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"callgrind failed on {' '.join(argv)}: {done.stderr[-2000:]}")
    return int(found.group(1))


def start_host(repo_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """A FakeScmHost (GitHub emulation) in its own process; (process, base URL)."""
    for name, text in FILES.items():
        path = repo_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    argv = [sys.executable, "-m", "scmreader.testing", "serve", "--enable", "github"]
    argv += ["--repo", f"{REPO}={repo_dir}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the fake host did not start (printed {base_url!r})")
    return proc, base_url


def write_config(folder: Path, base_url: str) -> None:
    """``app-config.yaml`` with one GitHub integration on the fake host."""
    host = base_url.removeprefix("http://")
    folder.joinpath("app-config.yaml").write_text(
        "integrations:\n  github:\n"
        f"    - host: {host}\n      apiBaseUrl: {base_url}/api/v3\n"
        f"      rawBaseUrl: {base_url}/raw\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each command's instructions under valgrind (callgrind)",
    )
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    compileall.compile_dir(str(Path(scmreader.__file__).parent), quiet=1)
    command = shutil.which("scmreader", path=str(Path(sys.executable).parent))
    if command is None:
        raise SystemExit("the scmreader command is not installed next to this Python")
    with tempfile.TemporaryDirectory(prefix="scmreader-startup-") as tmp:
        work = Path(tmp)
        proc, base_url = start_host(work / "repo")
        try:
            write_config(work, base_url)
            url = f"{base_url}/{REPO}/blob/main/catalog-info.yaml"
            cases = {
                "python -c pass": [sys.executable, "-c", "pass"],
                REQUESTS: [sys.executable, "-c", "import requests"],
                "scmreader read URL": [command, "read", url],
            }
            for _ in range(args.warmup):
                for argv in cases.values():
                    time_once(argv, work)
            walls: dict[str, list[float]] = {name: [] for name in cases}
            cpus: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.runs):
                for name, argv in cases.items():
                    wall, cpu = time_once(argv, work)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
            counts = {}
            if args.instructions:
                counts = {name: instructions(argv, work) for name, argv in cases.items()}
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"{args.runs} interleaved runs each (after {args.warmup} warm-up rounds), {url}")
    floor_wall = statistics.median(walls["python -c pass"])
    floor_cpu = statistics.median(cpus["python -c pass"])
    print(f"{'':30} {'wall median':>12} {'wall min':>9} {'cpu median':>11} {'x floor':>8}")
    for name in cases:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"{name:30} {wall * 1e3:9.1f} ms {min(walls[name]) * 1e3:6.1f} ms "
            f"{cpu * 1e3:8.1f} ms {wall / floor_wall:7.1f}x"
        )
    read = statistics.median(walls["scmreader read URL"])
    print(
        f"scmreader read: {read * 1e3:.0f} ms wall median (target <= 200 ms: "
        f"{'met' if read <= 0.2 else 'NOT met'}), "
        f"{statistics.median(cpus['scmreader read URL']) / floor_cpu:.1f}x the CPU of "
        f"'python -c pass', {(read - statistics.median(walls[REQUESTS])) * 1e3:+.0f} ms "
        "over 'import requests'"
    )
    if counts:
        floor = counts["python -c pass"]
        print("instructions (callgrind, one run each; the same from run to run):")
        for name, count in counts.items():
            print(f"  {name:28} {count / 1e6:8.1f} M {count / floor:6.1f}x")
        extra = counts["scmreader read URL"] - counts[REQUESTS]
        print(f"  scmreader read adds {extra / 1e6:.1f} M over 'import requests'")


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
