"""Benchmark: stream a repository tar.gz over HTTP into a folder, against ``curl | tar -xz``.

    /work/venv/bin/python benchmarks/tree_extract.py [--rounds 5] [--sizes 20000:150,40000:300]

For each size (files:MB) it builds once, and caches under /dev/shm (or /tmp), a git
repository of that many files (at least a third of the bytes from ``os.urandom``, the
rest word-like text), makes its tar.gz with ``git archive``, serves it from a separate
process (``python -m scmreader.testing serve``), and then times, round by round and in
alternating order, both into tmpfs:

- the reference: ``curl -s URL | tar -xz -C DIR`` (curl, tar and gzip processes);
- scmreader: ``TreeResponseFactory().from_tar_archive(body, etag="x").dir(DIR)`` with the
  body streamed by ``scmreader.http`` (``HttpClient`` + ``body_stream``), in a child
  process so that its peak RSS (``ru_maxrss``) is its own.

Both are wall-clock times of the whole pipeline measured by this parent; scmreader's
includes starting a Python interpreter and importing requests (reported separately, as
"in-process", without it). It prints the medians, the ratio and scmreader's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE_ROOT = Path("/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir())
CACHE = CACHE_ROOT / "scmreader-bench-tree"
_WORD_TEXT = (
    "the of and to in is for on that with as are this be by from it at or an was which config "
    "service catalog entity backend frontend plugin reader tree archive stream return import "
    "def class self value error path file folder commit branch token github gitlab bitbucket "
    "gerrit azure gitea harness bucket object json yaml markdown"
)
WORDS = _WORD_TEXT.split()


def _text(rng: random.Random, size: int) -> bytes:
    out: list[str] = []
    n = 0
    while n < size:
        line = " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))
        line += f" {rng.randint(0, 99999)}\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


def build_repo(files: int, megabytes: int) -> Path:
    """The tar.gz of a git repository of ``files`` files and about ``megabytes`` MB."""
    base = CACHE / f"repo-{files}-{megabytes}"
    archive = base / "archive.tar.gz"
    if archive.exists():
        return archive
    shutil.rmtree(base, ignore_errors=True)
    repo = base / "repo"
    repo.mkdir(parents=True)
    rng = random.Random(files * 1000 + megabytes)
    average = megabytes * 1_000_000 // files
    pool = _text(rng, 4_000_000)
    for i in range(files):
        folder = repo / f"pkg{i % 97:02d}" / f"mod{i % 13}"
        folder.mkdir(parents=True, exist_ok=True)
        size = max(1, int(rng.expovariate(1 / average)))
        if i % 3 == 0:
            data = os.urandom(size)  # incompressible third
        else:
            start = rng.randrange(0, len(pool) - 1)
            data = (pool[start:] + pool)[:size]
        name = f"file_{i:05d}" + (".bin" if i % 3 == 0 else ".txt")
        (folder / name).write_bytes(data)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@example.com",
    }
    run = {"cwd": repo, "env": env, "check": True}
    subprocess.run(["git", "init", "-q"], **run)  # type: ignore[call-overload]
    subprocess.run(["git", "add", "-A"], **run)  # type: ignore[call-overload]
    subprocess.run(["git", "commit", "-q", "-m", "bench"], **run)  # type: ignore[call-overload]
    subprocess.run(  # type: ignore[call-overload]
        ["git", "archive", "--format=tar.gz", "--prefix=repo/", "-o", str(archive), "HEAD"],
        **run,
    )
    return archive


def child(url: str, target: str) -> None:
    """Our side, run in its own process: prints elapsed seconds and peak RSS as JSON."""
    from scmreader.http import HttpClient, body_stream
    from scmreader.readers.tree import TreeResponseFactory

    start = time.perf_counter()
    client = HttpClient()
    response = client.get(url)
    response.raise_for_status()
    TreeResponseFactory().from_tar_archive(body_stream(response, client), etag="x").dir(target)
    elapsed = time.perf_counter() - start
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "maxrss_kib": rss_kib}))


def _fresh(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def _count(path: Path) -> tuple[int, int]:
    files = size = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(root, name)).st_size
    return files, size


def _variants() -> dict[str, dict[str, str]]:
    """Our configurations to time: the default inflater, and plain zlib when python-isal
    (the ``fast`` extra) is installed and would otherwise be used."""
    try:
        import isal  # noqa: F401
    except ImportError:
        return {"scmreader": {}}
    return {"scmreader (isal)": {}, "scmreader (zlib)": {"SCMREADER_INFLATE": "zlib"}}


def _run_reference(url: str, target: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(f"curl -sf '{url}' | tar -xz -C '{target}'", shell=True, check=True)
    return time.perf_counter() - t0


def _run_ours(url: str, target: Path, env: dict[str, str]) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "_child", url, str(target)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    ).stdout
    wall = time.perf_counter() - t0
    result = json.loads(out)
    return wall, result["seconds"], result["maxrss_kib"]


def measure(url: str, rounds: int, workdir: Path) -> dict[str, dict[str, float]]:
    """Per side: median wall time (and for ours in-process time and peak RSS)."""
    sides = ["curl|tar", *_variants()]
    env = _variants()
    walls: dict[str, list[float]] = {side: [] for side in sides}
    inner: dict[str, list[float]] = {side: [] for side in sides}
    rss: dict[str, list[int]] = {side: [] for side in sides}
    trees: dict[str, tuple[int, int]] = {}
    for i in range(rounds):
        for side in sides[i % len(sides) :] + sides[: i % len(sides)]:
            target = workdir / "out"
            _fresh(target)
            if side == "curl|tar":
                walls[side].append(_run_reference(url, target))
                trees[side] = _count(target / "repo")
            else:
                wall, seconds, kib = _run_ours(url, target, env[side])
                walls[side].append(wall)
                inner[side].append(seconds)
                rss[side].append(kib)
                trees[side] = _count(target)
            shutil.rmtree(target)
    if len(set(trees.values())) != 1:
        raise SystemExit(f"the trees differ: {trees}")
    files, size = trees["curl|tar"]
    result: dict[str, dict[str, float]] = {}
    for side in sides:
        result[side] = {"files": files, "bytes": size, "wall": statistics.median(walls[side])}
        if inner[side]:
            result[side]["inner"] = statistics.median(inner[side])
            result[side]["rss_mib"] = max(rss[side]) / 1024
    return result


def serve(archive: Path) -> tuple[subprocess.Popen[str], str]:
    """Start the file server in its own process; return it and the archive URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scmreader.testing",
            "serve",
            "--file",
            f"/archive.tar.gz={archive}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base = proc.stdout.readline().strip()
    if not base:
        proc.kill()
        raise SystemExit("the file server did not start")
    return proc, base.rstrip("/") + "/archive.tar.gz"


def main() -> None:
    """Parse arguments, run each size, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="20000:150,40000:300", help="files:MB,...")
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split(":")) for s in args.sizes.split(",")]
    print(
        f"{'archive':<32} {'side':<18} {'wall':>7} {'ratio':>6} {'in-proc':>8} "
        f"{'ratio':>6} {'peak RSS':>9}"
    )
    for files, megabytes in sizes:
        archive = build_repo(files, megabytes)
        proc, url = serve(archive)
        try:
            with tempfile.TemporaryDirectory(dir=CACHE_ROOT, prefix="scmreader-bench-") as d:
                result = measure(url, args.rounds, Path(d))
        finally:
            proc.terminate()
            proc.wait(10)
        ref = result["curl|tar"]["wall"]
        for side, r in result.items():
            label = (
                f"{r['files']:.0f} files, {r['bytes'] / 1e6:.0f} MB, "
                f"{archive.stat().st_size / 2**20:.0f} MiB gz"
            )
            line = f"{label:<32} {side:<18} {r['wall']:6.3f}s {r['wall'] / ref:5.2f}x"
            if "inner" in r:
                line += f" {r['inner']:7.3f}s {r['inner'] / ref:5.2f}x {r['rss_mib']:7.1f}MiB"
            print(line, flush=True)
    print(
        f"(medians of {args.rounds} rounds, sides interleaved; ratio = side / curl|tar wall "
        "clock; 'wall' of scmreader includes starting Python and importing requests, "
        "'in-proc' is request + extraction only; peak RSS = max ru_maxrss of the child)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
