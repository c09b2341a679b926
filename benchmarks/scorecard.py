"""Reliability scorecard: hostile inputs, injected faults, leaks, writes outside, bomb memory.

    python benchmarks/scorecard.py [--skip-bombs] [--bomb-mib 1024]

Runs the security catalogue (``tests/security`` plus the hostile-archive, redirect,
allow-list and URL suites) in a child pytest with a JUnit report, and prints:

- hostile inputs tried / rejected safely (a case passes only with the expected typed
  error or documented safe result, nothing written outside its target and no secret in
  any log record or error text);
- faults injected / survived per reader (``tests/security/test_reader_faults.py``:
  survived = the right result or the right typed error, no half-written folder);
- secrets leaked (cases failed by the leak fixture) and writes outside the target (cases
  failed by an outside-the-target snapshot check): both must be 0;
- peak RSS of a fresh interpreter reading each bomb over loopback, and what it raised.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ROOT / "tests" / "security"
HOSTILE_SUITES = [
    "tests/security/test_bodies.py",
    "tests/security/test_deadlines.py",
    "tests/security/test_archives.py",
    "tests/security/test_headers.py",
    "tests/security/test_secrets_and_paths.py",
    "tests/readers/test_tree_hostile.py",
    "tests/readers/test_fetch.py",
    "tests/test_urls.py",
]
FAULT_SUITE = "tests/security/test_reader_faults.py"


def run_suites(report: Path) -> list[tuple[str, str, str, str]]:
    """(file, class, name, outcome, message) of every case; outcome passed/failed."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            f"--junitxml={report}",
            *HOSTILE_SUITES,
            FAULT_SUITE,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    cases = []
    for case in ET.parse(report).getroot().iter("testcase"):
        classname = case.get("classname", "")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped") is not None
        outcome = "skipped" if skipped else ("failed" if problem is not None else "passed")
        message = "" if problem is None else (problem.get("message", "") + (problem.text or ""))
        cases.append((classname, case.get("name", ""), outcome, message))
    return cases


def bombs(mib: int) -> list[tuple[str, dict[str, object]]]:
    """Read each bomb in a fresh interpreter; return (description, result)."""
    sys.path.insert(0, str(SECURITY))
    import hostile

    size = mib * hostile.MIB
    results = []
    with tempfile.TemporaryDirectory(prefix="scmreader-bombs-") as tmp:
        folder = Path(tmp)
        listing = folder / "listing.gz"
        listing.write_bytes(hostile.gzip_json_listing(size))
        zeros = folder / "zeros.gz"
        zeros.write_bytes(hostile.gzip_zeros(size))
        tar_gz = folder / "bomb.tar.gz"
        hostile.write_tar_gz_of_zeros(tar_gz, size)
        zip_count = folder / "entries.zip"
        zip_count.write_bytes(hostile.zip_declaring(2_000_000))
        cases = [
            (f"JSON listing, gzip -> {mib} MiB", listing, "json", "gzip"),
            (f"file body, gzip -> {mib} MiB", zeros, "file", "gzip"),
            (f"tar.gz archive -> {mib} MiB", tar_gz, "archive", ""),
            (f"tar.gz + Content-Encoding gzip -> {mib} MiB", tar_gz, "archive", "gzip"),
            ("zip declaring 2,000,000 entries", zip_count, "archive", ""),
        ]
        for label, path, how, encoding in cases:
            wire = path.stat().st_size
            result = hostile.bomb_in_subprocess(path, how, encoding)
            result["wire"] = wire
            results.append((label, result))
    return results


def main() -> None:
    """Run everything and print the scorecard."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--skip-bombs", action="store_true")
    parser.add_argument("--bomb-mib", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = run_suites(Path(tmp) / "report.xml")
    hostile_cases = [c for c in cases if "test_reader_faults" not in c[0]]
    fault_cases = [c for c in cases if "test_reader_faults" in c[0]]
    passed = sum(1 for c in hostile_cases if c[2] == "passed")
    print("scmreader reliability scorecard")
    print(f"  hostile inputs tried / rejected safely: {len(hostile_cases)} / {passed}")
    per_module = Counter(c[0].split(".")[-1] for c in hostile_cases)
    for module, count in sorted(per_module.items()):
        ok = sum(1 for c in hostile_cases if c[0].split(".")[-1] == module and c[2] == "passed")
        print(f"    {module:<34} {count:>4} / {ok}")
    print("  faults injected / survived per reader:")
    readers: dict[str, list[str]] = {}
    for classname, _name, outcome, _msg in fault_cases:
        match = re.search(r"Test(\w+)Faults", classname)
        readers.setdefault(match.group(1) if match else classname, []).append(outcome)
    for reader, outcomes in sorted(readers.items()):
        print(f"    {reader:<34} {len(outcomes):>4} / {outcomes.count('passed')}")
    leaked = sum(1 for c in cases if "configured secrets leaked" in c[3])
    outside = sum(1 for c in cases if c[2] != "passed" and "outside_state" in c[3])
    failed = [f"{c[0]}::{c[1]}" for c in cases if c[2] != "passed"]
    print(f"  secrets leaked: {leaked}")
    print(f"  writes outside the target: {outside}")
    if failed:
        print(f"  cases not passing ({len(failed)}):")
        for name in failed:
            print(f"    {name}")
    if args.skip_bombs:
        return
    print("  peak RSS of a fresh interpreter under each bomb (loopback):")
    for label, result in bombs(args.bomb_mib):
        print(
            f"    {label:<44} wire {int(str(result['wire'])) / 1e6:6.2f} MB -> "
            f"{result['outcome']}, peak RSS {float(str(result['peak_mib'])):6.1f} MiB "
            f"(baseline {float(str(result['before_mib'])):5.1f}), "
            f"left on disk {result['left_on_disk']} B"
        )


if __name__ == "__main__":
    main()
