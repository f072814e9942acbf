"""Run test suites again and again with every core kept busy: a test that flakes under load is broken.

``python -m bench.flake_hunt [--runs 5] [--hogs N] [PYTEST_ARGS…]`` starts ``N`` busy-looping
processes (default: one per core), then runs ``pytest -q`` on the given paths (default: the console
and integration suites, the ones that start servers and drive the UI) ``--runs`` times in a row,
and prints one line per run (passed, failed, seconds) and the failing test ids. Exit status 1 if any
run failed. CI runs on a shared machine; this is how to see what it will see. Not part of the suite.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = ["tests/console", "tests/integration"]
_SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|skipped)")


def _hog() -> None:  # pragma: no cover - runs in a child process
    while True:
        pass


def _summary(output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    tail = output.strip().splitlines()[-1] if output.strip() else ""
    for n, what in _SUMMARY.findall(tail):
        counts[what.rstrip("s") if what.startswith("error") else what] = int(n)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.flake_hunt", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy-looping processes (default: one per core)")
    args, pytest_args = p.parse_known_args(argv)
    pytest_args = pytest_args or DEFAULT_PATHS
    hogs = [multiprocessing.Process(target=_hog, daemon=True) for _ in range(args.hogs)]
    for hog in hogs:
        hog.start()
    failures: list[str] = []
    try:
        print(f"flake_hunt: {args.runs} runs of pytest {' '.join(pytest_args)} with {args.hogs} CPU hogs", flush=True)
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", *pytest_args],
                cwd=ROOT, capture_output=True, text=True,
            )  # fmt: skip
            counts = _summary(done.stdout)
            failed = [line.split(" ", 1)[1].split(" - ")[0] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
            failed += [line.split(" ", 1)[1].split(" - ")[0] for line in done.stdout.splitlines() if line.startswith("ERROR ")]
            failures += failed
            print(
                f"run {run}: exit {done.returncode}, {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
                f"{counts.get('error', 0)} errors, {time.monotonic() - started:.0f} s"
                + "".join(f"\n  {test}" for test in failed),
                flush=True,
            )
            if done.returncode not in (0, 1) and not failed:
                print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
                failures.append(f"run {run}: pytest exit {done.returncode}")
    finally:
        for hog in hogs:
            hog.terminate()
    print(f"flake_hunt: {len(failures)} failures in {args.runs} runs")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
