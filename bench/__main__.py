"""``python -m bench`` (``make bench``): the side-by-side benchmark, or ``--soak N``.

Runs every target against one fast mock upstream, pinned (target on one core, mock + wrk on the
other; ``ours-unpinned`` on every core), prints progress and the Markdown report, and writes ``bench/results/latest.md`` and
``latest.json`` (soak: ``soak-latest.md``/``.json``). Exit status 0 even when goals are missed
(the report says by how much); 2 on bad arguments or a missing prerequisite.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.load import ensure_wrk, wrk_version
from bench.suite import Plan, machine_facts, measure_target, preflight_noise, run_soak, write_json
from bench.targets import BENCH_DIR, REPO_DIR, AttachedConsoleTarget, BareTarget, ConsoleTarget, DirectTarget, Mock, OursTarget

ALL_TARGETS = (
    "direct", "bare", "ours", "ours-unpinned", "ours-pg", "ours-pg-2w", "console", "attached", "litellm", "portkey",
)  # fmt: skip
UNPINNED = report.UNPINNED
"""Targets run on every core (not pinned), as on a real server: they share cores with the mock and wrk."""
PEERS = ("litellm", "portkey")
LABELS = {
    "direct": "direct (client → mock)",
    "bare": "bare aiohttp passthrough",
    "ours": "ours, headless, full logging",
    "ours-unpinned": "ours, headless, unpinned (both cores)",
    "ours-pg": "ours, headless, PostgreSQL (its CPU counted)",
    "ours-pg-2w": "ours, --workers 2, PostgreSQL, unpinned",
    "console": "ours + console attached (one process, tmux)",
    "attached": "ours headless + a 2nd aigw-console attached (tmux)",
    "litellm": "LiteLLM proxy",
    "portkey": "Portkey gateway (OSS)",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description="aigw-console benchmark (issue 3); not part of the tests.")
    p.add_argument(
        "--quick", action="store_true", help="2 s points, 1 s warm-up, 60 TTFB requests, 3 s log drain (iteration, not for the record)"
    )
    p.add_argument(
        "--only",
        metavar="LIST",
        help=f"comma-separated subset of {','.join(ALL_TARGETS)} (direct is always run)",
    )
    p.add_argument("--skip-peers", action="store_true", help="skip LiteLLM and Portkey (no installs)")
    p.add_argument("--duration", type=float, help="seconds per load point (default 15)")
    p.add_argument("--latencies", default="0,50", help="upstream latencies in ms (default 0,50)")
    p.add_argument("--concurrency", default="1,16,64", help="wrk connections per point (default 1,16,64)")
    p.add_argument("--ttfb-requests", type=int, help="streaming requests for TTFB (default 200)")
    p.add_argument("--soak", type=int, metavar="N", help="soak mode: send about N requests to ours at c=64, report RSS start/middle/end")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="results directory (default bench/results)")
    p.add_argument("--no-pin", action="store_true", help="do not pin with taskset (numbers are then much noisier)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (configs, target logs, ours' database)")
    p.add_argument(
        "--renice",
        type=int,
        metavar="N",
        help="run the bench, mock, wrk and targets at nice N (e.g. -10, root only) to shield them from other load",
    )
    return p


def _versions(results: list | None = None) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    v = {"python": sys.version.split()[0]}
    for pkg in ("aigw-console", "aiohttp", "uvloop", "sqlalchemy", "aiosqlite", "orjson"):
        try:
            v[pkg] = version(pkg)
        except PackageNotFoundError:
            v[pkg] = "missing"
    try:
        commit = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(REPO_DIR), "status", "--porcelain", "--", "proxy_core"], capture_output=True, text=True, timeout=5)
        if commit.returncode == 0:
            v["aigw-console commit"] = commit.stdout.strip() + (" (+ uncommitted proxy_core changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    v["wrk"] = wrk_version()
    for r in results or []:
        if r.version and r.name in PEERS:
            v[r.name] = r.version
    return v


def _meta(results: list | None = None) -> dict:
    return {
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine_facts(),
        "versions": _versions(results),
        "command": "python -m bench " + shlex.join(sys.argv[1:]),
    }


def _cpus(no_pin: bool) -> tuple[int | None, int | None]:
    cpus = sorted(os.sched_getaffinity(0))
    if no_pin or len(cpus) < 2:
        if len(cpus) < 2:
            print("bench: WARNING: fewer than 2 CPUs available: not pinning; the generator competes with the target", flush=True)
        return None, None
    return cpus[0], cpus[1]


def _make_targets(names: list[str], workdir: Path, target_cpu: int | None, latencies: tuple[int, ...], all_cpus: str) -> list:
    """``all_cpus``: the ``taskset -c`` list an unpinned target gets (the bench itself is pinned to
    the load core and its children would inherit that)."""
    from bench.peers import LiteLLMTarget, PortkeyTarget
    from bench.postgres_targets import OursPostgresTarget, OursPostgresWorkersTarget

    classes = {
        "direct": DirectTarget,
        "bare": BareTarget,
        "ours": OursTarget,
        "ours-unpinned": OursTarget,
        "ours-pg": OursPostgresTarget,
        "ours-pg-2w": OursPostgresWorkersTarget,
        "console": ConsoleTarget,
        "attached": AttachedConsoleTarget,
        "litellm": LiteLLMTarget,
        "portkey": PortkeyTarget,
    }
    return [
        classes[n](name=n, label=LABELS[n], workdir=workdir, cpu=all_cpus if n in UNPINNED else target_cpu, latencies=latencies)
        for n in names
    ]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        latencies = tuple(int(x) for x in args.latencies.split(","))
        concurrencies = tuple(int(x) for x in args.concurrency.split(","))
    except ValueError:
        print("bench: --latencies and --concurrency take comma-separated integers", file=sys.stderr)
        return 2
    names = list(ALL_TARGETS)
    if args.only:
        wanted = {n.strip() for n in args.only.split(",") if n.strip()}
        unknown = wanted - set(ALL_TARGETS)
        if unknown:
            print(f"bench: unknown target(s) {', '.join(sorted(unknown))}; known: {', '.join(ALL_TARGETS)}", file=sys.stderr)
            return 2
        names = [n for n in ALL_TARGETS if n in wanted or n == "direct"]
    if args.skip_peers:
        names = [n for n in names if n not in PEERS]
    plan = Plan(latencies=latencies, concurrencies=concurrencies)
    if args.quick:
        plan.duration, plan.warmup, plan.ttfb_requests, plan.drain_timeout = 2.0, 1.0, 60, 3.0
    if args.duration:
        plan.duration = args.duration
    if args.ttfb_requests:
        plan.ttfb_requests = args.ttfb_requests
    all_cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
    plan.target_cpu, plan.load_cpu = _cpus(args.no_pin)
    if plan.load_cpu is not None:
        os.sched_setaffinity(0, {plan.load_cpu})  # the bench itself stays off the target's core
    try:
        ensure_wrk()
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    idle = preflight_noise()
    busy = ", ".join(f"core {c}: {b * 100:.0f}%" for c, b in sorted(idle.items()))
    print(f"bench: machine load before starting: {busy}", flush=True)
    if max(idle.values(), default=0) > 0.15:
        print("bench: WARNING: the machine is not idle; numbers will be noisy (see the noise column)", flush=True)
    if args.renice is not None:
        os.setpriority(os.PRIO_PROCESS, 0, args.renice)  # inherited by every process we start
        print(f"bench: running at nice {args.renice}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aigw-bench-") as tmp:
        workdir = Path(tmp)
        if args.keep:
            workdir = Path(tempfile.mkdtemp(prefix="aigw-bench-kept-"))
            print(f"bench: keeping the work directory {workdir}", flush=True)
        mock = Mock(workdir, plan.load_cpu)
        try:
            if args.soak:
                return _soak(args, plan, workdir, mock)
            results = []
            targets = _make_targets(names, workdir, plan.target_cpu, latencies, all_cpus)
            for target in targets:
                try:
                    target.prepare()
                except Exception as exc:  # noqa: BLE001 - an install problem becomes a skipped row
                    target.skip_reason = f"setup failed: {type(exc).__name__}: {exc}"[:300]
            for target in targets:
                results.append(measure_target(target, mock, plan, log=lambda m: print(m, flush=True)))
        finally:
            mock.stop()
    plan_d = {**plan.__dict__}
    rep = report.build_report(results, _meta(results), plan_d)
    rep["meta"]["elapsed_s"] = round(time.monotonic() - started, 1)
    md = report.render_markdown(rep)
    (args.out / "latest.md").write_text(md)
    write_json(args.out / "latest.json", rep)
    print("\n" + md)
    print(f"bench: done in {rep['meta']['elapsed_s']:.0f}s; wrote {args.out / 'latest.md'} and latest.json", flush=True)
    return 0


def _soak(args: argparse.Namespace, plan: Plan, workdir: Path, mock: Mock) -> int:
    target = OursTarget(name="ours", label=LABELS["ours"], workdir=workdir, cpu=plan.target_cpu, latencies=(0,))
    soak = run_soak(target, mock, plan, args.soak, log=lambda m: print(m, flush=True))
    meta = _meta()
    data = {"meta": meta, "soak": soak.to_dict()}
    md = report.render_soak(soak.to_dict(), meta)
    (args.out / "soak-latest.md").write_text(md)
    write_json(args.out / "soak-latest.json", data)
    print("\n" + md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
