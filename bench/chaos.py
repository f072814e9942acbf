"""``python -m bench.chaos``: the chaos suite (issue 11) — what the gateway does when things break.

Each scenario runs against a fresh ``aigw-console --headless --data-dir TMP --config FILE``
subprocess whose upstream is a local mock at 0 ms; all traffic stays on 127.0.0.1 (the redirect
target of the fault matrix is 127.0.0.2, also loopback):

=============  =====================================================================================
``kill9``      SIGKILL ×10 (×3 quick) under load at a seeded random 1–4 s; integrity_check, restart,
               answered logs missing once the queue is empty, as rows and as seconds of traffic
``sigterm``    SIGTERM under load: exit code 0 and no answered log missing
``lock``       another connection holds ``BEGIN IMMEDIATE`` 30 s (8 s) under load
``disk``       the data dir on a 512 MB tmpfs, filled 30 s (8 s) under load, then freed
``saturation`` wrk -c64 for 120 s (20 s), unpinned, then pinned to core 0 with the load on core 1
``faults``     the upstream fault matrix (refused, resets, late byte, 429/5xx, malformed JSON, SSE
               without [DONE], a 1 GiB gzip bomb ×1 and ×3, a cross-host redirect)
``canary``     unique canaries in every credential header, query name, WebSocket subprotocol and
               error path plus 10,000 malformed raw requests; then grep the DB, WAL, output, exports
=============  =====================================================================================

Every scenario has a hard time limit (SIGALRM in the main thread; cleanup runs in ``finally``),
every loop is bounded, and every process started is killed by pid when the suite ends. The suite
prints one Markdown table ``scenario | measured | target | verdict`` and writes
``bench/results/chaos-latest.md`` and ``.json``. Exit 0 even when targets are missed; 2 when a
prerequisite is missing (Linux ``/proc``, ``aigw-console``, ``wrk``, ``taskset``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

from bench.chaos_common import Context, Row, ScenarioTimeout
from bench.chaos_gateway import STARTED, kill_started
from bench.targets import BENCH_DIR, Mock

__all__ = ["SCENARIOS", "main", "render"]


_TABLE: dict[str, tuple[str, str, float, float]] = {
    "kill9": ("chaos_crash", "kill9", 150, 60),
    "sigterm": ("chaos_crash", "sigterm", 60, 40),
    "lock": ("chaos_crash", "write_lock", 120, 60),
    "disk": ("chaos_crash", "full_disk", 120, 60),
    "saturation": ("chaos_crash", "saturation", 330, 90),
    "faults": ("chaos_faults", "faults", 150, 120),
    "canary": ("chaos_canary", "canary", 150, 120),
}
"""name → (module in ``bench``, function, hard time limit in s, the same with ``--quick``)."""


def _function(name: str) -> Callable[[Context], list[Row]]:
    import importlib

    module, func, _, _ = _TABLE[name]
    return getattr(importlib.import_module(f"bench.{module}"), func)


SCENARIOS = tuple(_TABLE)


def _on_alarm(signum: int, frame: object) -> None:
    raise ScenarioTimeout("hard time limit reached")


def run_scenario(ctx: Context, name: str, limit: float) -> tuple[list[Row], float]:
    """Run one scenario under a hard ``limit`` (s); a failure or timeout becomes a MISS row."""
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        rows = _function(name)(ctx)
    except ScenarioTimeout:
        rows = [Row(name, f"aborted: hard time limit {limit:g} s reached", f"finishes within {limit:g} s", "MISS")]
    except Exception as exc:  # noqa: BLE001 - one broken scenario must not stop the others
        ctx.details.setdefault(name, {})["error"] = traceback.format_exc()[-2000:]
        rows = [Row(name, f"error: {type(exc).__name__}: {str(exc)[:160]}", "runs to the end", "MISS")]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _end_leftovers()
    return rows, time.monotonic() - started


def _end_leftovers() -> None:
    """End (by pid) whatever a scenario left running; the shared mock is not among them."""
    for proc in STARTED:
        if proc.alive():
            proc.end(5)


def render(rows: list[Row], meta: dict) -> str:
    """The Markdown report: a header and one table."""
    misses = sum(r.verdict == "MISS" for r in rows)
    passes = sum(r.verdict == "PASS" for r in rows)
    lines = [
        f"# Chaos suite — {meta['date']}",
        "",
        f"`{meta['command']}` on {meta['machine']} · seed {meta['seed']} · {meta['wall_s']:.0f} s · "
        f"{passes} PASS, {misses} MISS",
        "",
        "| scenario | measured | target | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = [c.replace("|", "\\|").replace("\n", " ") for c in (r.scenario, r.measured, r.target, r.verdict)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _prerequisites() -> str | None:
    """Why the suite cannot run here, or ``None``."""
    if not Path("/proc/self/status").exists():
        return "Linux /proc is required"
    if not (Path(sys.executable).with_name("aigw-console").exists() or shutil.which("aigw-console")):
        return "aigw-console is not installed (pip install -e . in the venv)"
    if shutil.which("taskset") is None:
        return "taskset (util-linux) is not installed"
    try:
        from bench.load import ensure_wrk

        ensure_wrk()
    except RuntimeError as exc:
        return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases and fewer kills (~2 minutes)")
    parser.add_argument("--only", default="", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="where chaos-latest.md/.json go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configs, outputs, databases)")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        print(f"chaos: unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    why = _prerequisites()
    if why:
        print(f"chaos: missing prerequisite: {why}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="aigw-chaos-"))
    began = time.monotonic()
    rows: list[Row] = []
    timings: dict[str, float] = {}
    mock = Mock(workdir, None, chunk_delay_ms=0)

    bomb = Path(tempfile.gettempdir()) / "aigw-chaos-cache" / "zeros-1GiB.gz"
    ctx = Context(workdir=workdir, quick=args.quick, seed=args.seed, mock=mock, bomb=bomb)
    try:
        for name in chosen:
            _, _, limit, quick_limit = _TABLE[name]
            print(f"chaos: {name}…", flush=True)
            got, secs = run_scenario(ctx, name, quick_limit if args.quick else limit)
            timings[name] = round(secs, 1)
            rows += got
            print(f"chaos: {name} done in {secs:.0f} s ({sum(r.verdict == 'MISS' for r in got)} MISS)", flush=True)
    finally:
        mock.stop()
        kill_started()
        del STARTED[:]
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    meta = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python -m bench.chaos" + (" --quick" if args.quick else "") + (f" --only {args.only}" if args.only else ""),
        "machine": f"{platform.node()} ({os.cpu_count()} cores, {platform.release()})",
        "seed": args.seed,
        "wall_s": time.monotonic() - began,
        "timings_s": timings,
        "workdir": str(workdir) if args.keep else None,
    }
    report = render(rows, meta)
    print("\n" + report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chaos-latest.md").write_text(report)
    doc = {"meta": meta, "rows": [r.__dict__ for r in rows], "details": ctx.details}
    (args.out / "chaos-latest.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
