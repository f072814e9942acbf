"""Profile ours under load: ``python -m bench.profile [--seconds 20] [--gil] [--header K:V]``.

Starts the mock and ``aigw-console --headless`` pinned as in the benchmark, drives it with wrk
(c=64, 0 ms upstream) and records it with py-spy (``pip install py-spy``; non-blocking sampling,
so the target is not paused): a raw collapsed-stack file for the summary below and a speedscope
file for https://www.speedscope.app, both in ``bench/results/``. The summary prints the share of
samples per bucket (the log writer's SQLite thread, the log pipeline, the request path and its parts,
aiohttp's server and client plumbing, the native event loop), the top functions by self and by
inclusive samples, and the throughput/CPU measured meanwhile. ``--gil`` samples only the thread
holding the GIL (on-CPU Python), which separates real work from time spent waiting for the GIL.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import procstat
from bench.load import ensure_wrk, run_wrk
from bench.targets import BENCH_DIR, AttachedConsoleTarget, ConsoleTarget, Mock, OursTarget

# bucket name → frame substring that puts a sample in it (first match wins, in this order)
BUCKETS: list[tuple[str, str]] = [
    ("log writer thread (SqliteLogStore: prepared executemany)", "SqliteLogStore."),
    ("SQLite through aiosqlite (SQLAlchemy path, other store users)", "_connection_worker_thread"),
    ("log pipeline on the event loop (LogPipe._run: build rows)", "LogPipe._run"),
    ("SQLAlchemy Core execute, stack truncated by py-spy (bind processors per row)", "sqlalchemy/"),
    ("request path: new_ulid", "new_ulid ("),
    ("request path: parse_policy", "parse_policy ("),
    ("request path: _forward_headers", "_forward_headers ("),
    ("request path: read_body", "Proxy.read_body"),
    ("request path: upstream call (aiohttp ClientSession._request)", "ClientSession._request"),
    ("request path: relay response (read + write)", "relay_upstream ("),
    ("request path: other Proxy code", "Proxy."),
    ("aiohttp server: routing (UrlDispatcher.resolve)", "UrlDispatcher.resolve"),
    ("aiohttp server: protocol, parsing, request objects", "RequestHandler."),
    ("aiohttp client: protocol / response parsing", "ResponseHandler."),
    ("aiohttp: response writing, stack truncated (StreamResponse/StreamWriter)", "http_writer.py"),
    ("native event loop (uvloop, I/O syscalls)", "Runner.run (asyncio/runners.py"),
]


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread (TID) of ``pid``; the main thread's TID is ``pid``."""
    out: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / procstat.CLK_TCK
    return out


def summarize(raw: Path, top: int = 25) -> str:
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n_s = line.rpartition(" ")
        if not stack or not n_s.isdigit():
            continue
        n = int(n_s)
        total += n
        frames = stack.split(";")
        self_c[frames[-1]] += n
        seen = set()
        for f in frames:
            key = f.rsplit(":", 1)[0] + ")" if " (" in f else f
            if key not in seen:
                seen.add(key)
                incl[key] += n
        for name, needle in BUCKETS:
            if any(needle in f for f in frames):
                buckets[name] += n
                break
        else:
            buckets["other"] += n
    if not total:
        return "no samples"
    out = [f"{total} samples\n", "| bucket | share of samples |", "|---|---|"]
    for name, _ in [*BUCKETS, ("other", "")]:
        if buckets[name]:
            out.append(f"| {name} | {buckets[name] / total * 100:.1f}% |")
    out += ["", f"Top {top} by self samples:", "", "| self | frame |", "|---|---|"]
    out += [f"| {n / total * 100:.1f}% | `{f}` |" for f, n in self_c.most_common(top)]
    out += ["", f"Top {top} by inclusive samples (proxy_core and aiohttp frames):", "", "| incl. | function |", "|---|---|"]
    shown = 0
    for f, n in incl.most_common():
        if ("proxy_core/" in f or "aiohttp/" in f or "sqlalchemy/" in f) and shown < top:
            out.append(f"| {n / total * 100:.1f}% | `{f}` |")
            shown += 1
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--gil", action="store_true", help="only sample the thread holding the GIL")
    p.add_argument("--header", action="append", default=[], metavar="K:V", help="extra request header, e.g. cf-aig-collect-log:false")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    p.add_argument("--launcher", help="command replacing aigw-console (A/B experiments: a script that patches, then runs the CLI)")
    p.add_argument("--tag", help="suffix of the output files (default: all or gil)")
    p.add_argument("--console", action="store_true", help="profile aigw-console with its console showing Live (in tmux), not --headless")
    p.add_argument("--attached", action="store_true", help="profile a headless gateway and a second aigw-console attached to it (in tmux), each process on its own")
    p.add_argument("--probe", action="store_true", help="with --console: run the bench's key and view-switch probe during the recording")
    args = p.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists() and not shutil.which("py-spy"):
        print("bench.profile: py-spy not found: `.venv/bin/pip install py-spy`", file=sys.stderr)
        return 2
    ensure_wrk()
    cpus = sorted(os.sched_getaffinity(0))
    target_cpu, load_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    args.out.mkdir(parents=True, exist_ok=True)
    tag = args.tag or ("gil" if args.gil else "all")
    raw = args.out / f"profile-ours-{tag}.raw"
    speedscope = args.out / f"profile-ours-{tag}.speedscope.json"
    extra = dict(h.split(":", 1) for h in args.header)
    with tempfile.TemporaryDirectory(prefix="aigw-profile-") as tmp:
        workdir = Path(tmp)
        mock = Mock(workdir, load_cpu)
        kind = AttachedConsoleTarget if args.attached else ConsoleTarget if args.console else OursTarget
        target = kind(name="ours", label="ours", workdir=workdir, cpu=target_cpu, latencies=(0,))
        if args.launcher:
            import shlex

            target.launcher = shlex.split(args.launcher)
        try:
            target.start(mock)
            target.wait_ready(60)
            url, body, headers = target.url(0), target.body(0), {**target.headers(0), **extra}
            run_wrk(url, body, headers, connections=args.connections, duration=2, cpu=load_cpu)
            cpu0 = procstat.tree_cpu_seconds(target.pid)
            console_pid = target.tmux.pid if args.attached and target.tmux is not None else None
            console_cpu0 = procstat.tree_cpu_seconds(console_pid) if console_pid else 0.0
            threads0 = thread_cpu(target.pid)
            import threading

            box: dict = {}
            load = threading.Thread(
                target=lambda: box.setdefault(
                    "wrk", run_wrk(url, body, headers, connections=args.connections, duration=args.seconds + 2, cpu=load_cpu)
                )
            )
            load.start()
            time.sleep(1)
            probes: list[dict] = []
            prober = None
            if args.probe and isinstance(target, ConsoleTarget):
                until = time.monotonic() + args.seconds
                prober = threading.Thread(target=lambda: probes.extend(target.probe_cycles("profile", until)))
                prober.start()
            common = [spy, "record", "--pid", str(target.pid), "--duration", str(int(args.seconds)), "--rate", str(args.rate), "--nonblocking"]
            if args.gil:
                common.append("--gil")
            procs = [
                subprocess.Popen([*common, "--format", "raw", "-o", str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
                subprocess.Popen([*common, "--format", "speedscope", "-o", str(speedscope)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
            ]
            console_raw = args.out / f"profile-ours-{tag}-console.raw"
            if console_pid:
                procs.append(subprocess.Popen([*common[:3], str(console_pid), *common[4:], "--format", "raw", "-o", str(console_raw)],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))  # fmt: skip
            for proc in procs:
                proc.wait()
            load.join()
            if prober is not None:
                prober.join()
            cpu = procstat.tree_cpu_seconds(target.pid) - cpu0
            console_cpu = procstat.tree_cpu_seconds(console_pid) - console_cpu0 if console_pid else 0.0
            threads = {t: c - threads0.get(t, 0.0) for t, c in thread_cpu(target.pid).items()}
        finally:
            facts = target.stop()
            mock.stop()
    w = box.get("wrk")
    head = f"# ours under load, py-spy ({'GIL holder only' if args.gil else 'all active threads'}), c={args.connections}, 0 ms upstream\n"
    if w:
        head += f"\nwrk: {w.rps:,.0f} req/s, p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms; CPU {cpu / w.requests * 1e6:,.0f} µs/req (incl. py-spy's own pauses: none, non-blocking)\n"
        main_cpu = threads.get(target.pid, 0.0)
        others = sorted(((c, t) for t, c in threads.items() if t != target.pid and c > 0.05), reverse=True)
        head += (
            f"\nCPU by thread during the load: event loop (main) {main_cpu / w.requests * 1e6:,.0f} µs/req ({main_cpu / cpu * 100:.0f}%)"
            + "".join(f"; thread {t} {c / w.requests * 1e6:,.0f} µs/req ({c / cpu * 100:.0f}%)" for c, t in others)
            + " — non-main threads are the log writer's SQLite thread and aiosqlite's; they share the pinned core with the event loop.\n"
        )
    head += f"\nheaders: {extra or 'none'}; logs stored {facts.get('rows')}\n"
    if args.probe:
        timed = sorted(q["ms"] for q in probes if q.get("ms") is not None)
        views = sorted(q["ms"] for q in probes if q.get("ms") is not None and q["kind"] == "view")
        if timed:
            head += (f"\nprobe: {len(timed)} key → screen measurements, median {timed[len(timed) // 2]:.0f} ms, "
                     f"slowest {timed[-1]:.0f} ms; view switches {len(views)}, slowest {views[-1] if views else 0:.0f} ms\n")  # fmt: skip
    head += "\n"
    md = head + summarize(raw)
    if args.attached and w:
        md += (f"\n\n## The attached console's process\n\nCPU {console_cpu / w.requests * 1e6:,.0f} µs per proxied request "
               f"(the gateway's: {cpu / w.requests * 1e6:,.0f}).\n\n" + summarize(console_raw))  # fmt: skip
    (args.out / f"profile-ours-{tag}.md").write_text(md)
    print(md)
    print(f"\nbench.profile: wrote {raw}, {speedscope} and profile-ours-{tag}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
