"""Chaos scenarios about the log pipeline under stress: kill -9, SIGTERM, a held write lock, a full
disk and sustained saturation. Each function takes the :class:`~bench.chaos_common.Context` and
returns its rows; raw figures go to ``ctx.details[name]``.

*Loss* always means: log ids the client received with a 2xx answer (``cf-aig-log-id``) that are
not in the ``logs`` table once the gateway (restarted, if it was killed) reports an empty queue.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench.chaos_common import Context, Row, fmt_ms, flush_interval, p99_between, verdict
from bench.chaos_gateway import Gateway, db_path, integrity_check, row_count, stored_ids, write_config
from bench.load import chat_body, run_wrk

__all__ = ["kill9", "sigterm", "write_lock", "full_disk", "saturation"]

LOSS_TOLERANCE_S = 0.25
"""Slack on the kill -9 bound: the spool copies rows every flush_interval/2, plus scheduling on 2 busy cores."""


def _fresh_gateway(ctx: Context, name: str, *, data_dir: Path | None = None, cpu: int | None = None) -> Gateway:
    out = ctx.scenario_dir(name)
    config = write_config(out / "config.toml", {"openai": ctx.mock.base + "/v1"})
    gw = Gateway(out, data_dir or out / "data", config, name="gw", cpu=cpu).start()
    if not gw.answers(20):
        raise RuntimeError(f"gateway does not answer: {gw.tail()}")
    return gw


def _missing(gw: Gateway, answered: list[list[Any]]) -> tuple[int, int]:
    """(answered ids, of which missing from the store)."""
    ids = [a[0] for a in answered]
    return len(ids), len(set(ids) - stored_ids(db_path(gw.data_dir), ids))


def _answered_rate(load: dict[str, Any], until: float) -> float:
    """2xx answers per second between the start of the load and ``until``."""
    n = sum(1 for _, t in load["answered"] if t <= until)
    span = until - load["started"]
    return n / span if span > 0 else 0.0


# -- 1. kill -9 under load -------------------------------------------------------------------------


def kill9(ctx: Context) -> list[Row]:
    """SIGKILL the gateway N times under load; check the file, restart, count the loss per kill."""
    kills = 3 if ctx.quick else 10
    bound = flush_interval()
    gw = _fresh_gateway(ctx, "kill9")
    out = gw.out_dir
    db = db_path(gw.data_dir)
    per_kill: list[dict[str, Any]] = []
    try:
        for i in range(kills):
            at = ctx.rng.uniform(1.0, 4.0)
            load = ctx.load(out, gw.url(), at + 1.0, name=f"load-{i + 1}")
            load.sleep_until(at)
            t_kill = time.monotonic()
            rc = gw.kill9()
            tally = load.result()
            integrity = integrity_check(db)
            clean = True
            try:
                gw.start(30)
                clean = gw.answers(20)
            except RuntimeError:
                clean = False
            emptied, health = gw.wait_queue_empty(30) if clean else (False, None)
            answered, missing = _missing(gw, tally["answered"])
            rate = _answered_rate(tally, t_kill)
            recovered = re.search(r"recovered (\d+) log rows", gw.proc.stdout() + gw.proc.stderr()) if gw.proc else None
            per_kill.append({
                "kill_at_s": round(at, 2), "exit": rc, "answered": answered, "missing": missing,
                "answered_per_s": round(rate, 1), "loss_s": round(missing / rate, 3) if rate else None,
                "integrity": integrity, "clean_restart": clean, "queue_emptied": emptied,
                "restart_s": round(gw.start_seconds, 2), "recovered_from_spool": int(recovered.group(1)) if recovered else 0,
                "healthz_after": health,
            })  # fmt: skip
            if not clean:
                break
    finally:
        gw.stop()
    ctx.details["kill9"] = {"flush_interval_s": bound, "kills": per_kill}
    losses = [k["missing"] for k in per_kill]
    loss_s = [k["loss_s"] or 0.0 for k in per_kill]
    n = len(per_kill)
    ok_integrity = sum(k["integrity"] == "ok" for k in per_kill)
    ok_restart = sum(bool(k["clean_restart"] and k["queue_emptied"]) for k in per_kill)
    rate = statistics.median(k["answered_per_s"] for k in per_kill) if per_kill else 0
    return [
        Row(f"kill -9 ×{n}: answered logs lost per kill", f"median {statistics.median(losses):g}, max {max(losses)} rows (at ~{rate:.0f} answered/s)"),
        Row(f"kill -9 ×{n}: loss in seconds of traffic", f"median {statistics.median(loss_s):.3f} s, max {max(loss_s):.3f} s",
            f"max ≤ flush_interval {bound:g} s (+{LOSS_TOLERANCE_S:g} s)", verdict(max(loss_s) <= bound + LOSS_TOLERANCE_S)),
        Row(f"kill -9 ×{n}: PRAGMA integrity_check ok", f"{ok_integrity}/{n}", f"{kills}/{kills}", verdict(ok_integrity == kills)),
        Row(f"kill -9 ×{n}: clean restarts (listens, answers, queue empties)", f"{ok_restart}/{n}", f"{kills}/{kills}", verdict(ok_restart == kills)),
    ]  # fmt: skip


# -- 2. SIGTERM under load -------------------------------------------------------------------------


def sigterm(ctx: Context) -> list[Row]:
    """SIGTERM under load: the process must exit 0 with every answered log stored."""
    gw = _fresh_gateway(ctx, "sigterm")
    at = ctx.rng.uniform(1.0, 2.0 if ctx.quick else 4.0)
    try:
        load = ctx.load(gw.out_dir, gw.url(), at + 1.5)
        load.sleep_until(at)
        t0 = time.monotonic()
        rc = gw.terminate(60)
        exit_s = time.monotonic() - t0
        tally = load.result()
    finally:
        gw.stop()
    answered, missing = _missing(gw, tally["answered"])
    ctx.details["sigterm"] = {"term_at_s": round(at, 2), "exit": rc, "exit_s": round(exit_s, 2), "answered": answered, "missing": missing}
    return [
        Row("SIGTERM under load: exit code", f"{rc} (after {exit_s:.2f} s)", "0", verdict(rc == 0)),
        Row("SIGTERM under load: answered logs missing after exit", f"{missing} of {answered}", "0", verdict(missing == 0)),
    ]


# -- 3 and 4. a held write lock, a full disk ---------------------------------------------------------


def _poll_health(gw: Gateway, until: float, every: float, seen: list[dict[str, Any]]) -> None:
    while time.monotonic() < until:
        h = gw.healthz(timeout=2)
        if h is not None:
            seen.append({"t": time.monotonic(), **h})
        time.sleep(every)


def _health_summary(seen: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    during = [h for h in seen if start <= h["t"] <= end]
    logs = [h.get("logs", {}) for h in seen]
    statuses = sorted({str(h.get("status")) for h in during})
    reasons = sorted({str(r) for h in during for r in (h.get("reasons") or [])})
    return {
        "max_queued": max((l.get("queued", 0) for l in logs), default=0),
        "max_waiting": max((l.get("waiting", 0) for l in logs), default=0),
        "max_dropped": max((l.get("dropped", 0) for l in logs), default=0),
        "max_write_failures": max((l.get("write_failures", 0) for l in logs), default=0),
        "statuses_during": statuses,
        "reasons_during": reasons,
        "last_error_during": next((h["logs"].get("last_error") for h in reversed(during) if h.get("logs", {}).get("last_error")), None),
        "polls": len(seen),
    }


def _stress_rows(label: str, tally: dict[str, Any], summary: dict[str, Any], hold: tuple[float, float], missing: int, answered: int, emptied: bool) -> list[Row]:
    start, end = hold
    rate = _answered_rate(tally, start)
    before = p99_between(tally["samples"], tally["started"], start)
    during = p99_between(tally["samples"], start, end)
    held = [s for s in tally["samples"] if start <= s[0] <= end]
    non2xx = sum(1 for s in held if not 200 <= s[2] < 300)
    q = summary["max_queued"]
    said = f"status {'/'.join(summary['statuses_during']) or 'n/a'}"
    codes = sorted({r.split(":", 1)[0] for r in summary["reasons_during"]})  # full texts are in the JSON
    if codes:
        said += f", reasons {', '.join(codes)}"
    if summary["max_waiting"]:
        said += f", up to {summary['max_waiting']} requests held"
    if summary["last_error_during"]:
        said += f", last_error “{str(summary['last_error_during'])[:60]}”"
    return [
        Row(f"{label}: max queue depth (/healthz logs.queued)", f"{q} rows (≈ {q / rate:.1f} s of traffic at {rate:.0f}/s)" if rate else f"{q} rows"),
        Row(f"{label}: what /healthz said during it", said),
        Row(f"{label}: logs dropped", str(summary["max_dropped"]), "0", verdict(summary["max_dropped"] == 0)),
        Row(f"{label}: answered logs missing afterwards", f"{missing} of {answered}" + ("" if emptied else " (queue never emptied)"), "0", verdict(missing == 0 and emptied)),
        Row(f"{label}: latency p99 during / before", f"{fmt_ms(during)} / {fmt_ms(before)}; {non2xx} of {len(held)} requests not 2xx"),
    ]


def _stress(ctx: Context, gw: Gateway, label: str, hold_s: float, begin: Any, end: Any) -> tuple[list[Row], dict[str, Any]]:
    """Load for 2 s, ``begin()``, hold ``hold_s`` s, ``end()``, load 4 s more; then wait for the queue."""
    pre, post = 2.0, 4.0
    seen: list[dict[str, Any]] = []
    load = ctx.load(gw.out_dir, gw.url(), pre + hold_s + post, request_timeout=30.0)
    poller = threading.Thread(target=_poll_health, args=(gw, load.started + pre + hold_s + post + 1, 0.5, seen), daemon=True)
    poller.start()
    load.sleep_until(pre)
    t_start = time.monotonic()
    began = begin()
    try:
        time.sleep(max(0.0, t_start + hold_s - time.monotonic()))
    finally:
        end(began)
    t_end = time.monotonic()
    tally = load.result()
    poller.join(10)
    emptied, health = gw.wait_queue_empty(60)
    answered, missing = _missing(gw, tally["answered"])
    summary = _health_summary(seen, t_start, t_end)
    facts = {"hold_s": round(t_end - t_start, 2), "answered": answered, "missing": missing, "queue_emptied": emptied,
             "healthz_after": health, "statuses": tally["statuses"], "errors": tally["errors"], **summary}  # fmt: skip
    return _stress_rows(label, tally, summary, (t_start, t_end), missing, answered, emptied), facts


def write_lock(ctx: Context) -> list[Row]:
    """A second sqlite3 connection holds ``BEGIN IMMEDIATE`` for 30 s (8 s quick) under load."""
    hold = 8.0 if ctx.quick else 30.0
    gw = _fresh_gateway(ctx, "write-lock")
    db = db_path(gw.data_dir)

    def begin() -> sqlite3.Connection:
        conn = sqlite3.connect(db, timeout=15, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        return conn

    def end(conn: sqlite3.Connection) -> None:
        conn.execute("ROLLBACK")
        conn.close()

    try:
        rows, facts = _stress(ctx, gw, f"write lock {hold:g} s", hold, begin, end)
    finally:
        gw.stop()
    ctx.details["write-lock"] = facts
    return rows


def full_disk(ctx: Context) -> list[Row]:
    """The data dir on a small tmpfs, filled for 30 s (8 s quick) under load, then freed."""
    hold = 8.0 if ctx.quick else 30.0
    label = f"full disk {hold:g} s"
    out = ctx.scenario_dir("full-disk")
    mnt = out / "tmpfs"
    mnt.mkdir(exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m,mode=0700", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        reason = (proc.stderr or proc.stdout).strip()[:120] or f"mount exited {proc.returncode}"
        ctx.details["full-disk"] = {"skipped": reason}
        return [Row(label, f"skipped: tmpfs mount failed ({reason})", "—", "SKIP")]
    gw = None
    try:
        gw = _fresh_gateway(ctx, "full-disk", data_dir=mnt / "data")
        filler = mnt / "filler"
        rows, facts = _stress(ctx, gw, label, hold, lambda: _fill(filler), lambda _: filler.unlink(missing_ok=True))
        rc = gw.terminate(60)
        integrity = integrity_check(db_path(gw.data_dir))
        facts.update({"exit": rc, "integrity": integrity, "tmpfs": "512m"})
        rows.append(Row(f"{label}: PRAGMA integrity_check after", integrity, "ok", verdict(integrity == "ok")))
        ctx.details["full-disk"] = facts
        return rows
    finally:
        if gw is not None:
            gw.stop()
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(path: Path) -> int:
    """Write zeros into ``path`` until the file system is full; returns the bytes written."""
    written = 0
    with open(path, "wb", buffering=0) as f:
        for size in (4 << 20, 64 << 10, 4 << 10, 512):
            block = bytes(size)
            for _ in range(100_000):
                try:
                    written += f.write(block)
                except OSError:
                    break
    return written


# -- 5. sustained saturation -------------------------------------------------------------------------


def saturation(ctx: Context) -> list[Row]:
    """wrk -c64 for 120 s (20 s quick) at 0 ms, unpinned then pinned to core 0 (load on core 1)."""
    duration = 20.0 if ctx.quick else 120.0
    rows: list[Row] = []
    ctx.details["saturation"] = {}
    for mode, gw_cpu, load_cpu in (("unpinned", None, None), ("pinned core 0", 0, 1)):
        facts = _saturate(ctx, mode, duration, gw_cpu, load_cpu)
        ctx.details["saturation"][mode] = facts
        label = f"saturation {duration:g} s wrk -c64, {mode}"
        rows += [
            Row(f"{label}: answered vs rows written /s", f"{facts['answered_per_s']:.0f} vs {facts['written_per_s']:.0f} /s ({facts['written_per_s'] / max(facts['answered_per_s'], 1e-9):.0%}); {facts['wrk_errors']} wrk errors"),
            Row(f"{label}: queue at the end", f"{facts['queued_end']} rows = {facts['queue_s']:.2f} s of traffic", "≤ 2 s", verdict(facts["queue_s"] <= 2.0)),
            Row(f"{label}: logs dropped", str(facts["dropped"]), "0", verdict(facts["dropped"] == 0)),
        ]  # fmt: skip
    return rows


def _saturate(ctx: Context, mode: str, duration: float, gw_cpu: int | None, load_cpu: int | None) -> dict[str, Any]:
    name = "saturation-" + mode.split()[0]
    all_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(ctx.mock.proc.pid, {load_cpu} if load_cpu is not None else all_cpus)
    gw = _fresh_gateway(ctx, name, cpu=gw_cpu)
    seen: list[dict[str, Any]] = []
    try:
        poller = threading.Thread(target=_poll_health, args=(gw, time.monotonic() + duration + 3, 1.0, seen), daemon=True)
        poller.start()
        t0 = time.monotonic()
        wrk = run_wrk(gw.url(), chat_body("chaos-saturation"), {"Authorization": "Bearer sk-chaos"}, connections=64, duration=duration, cpu=load_cpu)
        t1 = time.monotonic()
        end = gw.healthz() or {}
        poller.join(10)
        rc = gw.terminate(60)
        stored = row_count(db_path(gw.data_dir))
    finally:
        gw.stop()
        os.sched_setaffinity(ctx.mock.proc.pid, all_cpus)
    window = [h for h in seen if t0 <= h["t"] <= t1]
    first, last = (window[0], window[-1]) if len(window) >= 2 else ({"t": t0, "logs": {"written": 0}}, {"t": t1, **end})
    written_rate = (last["logs"]["written"] - first["logs"]["written"]) / max(last["t"] - first["t"], 1e-9)
    queued = int(end.get("logs", {}).get("queued", 0))
    return {
        "answered_per_s": wrk.rps, "requests": wrk.requests, "wrk_errors": wrk.errors, "p99_ms": wrk.p99_ms,
        "written_per_s": written_rate, "queued_end": queued, "queue_s": queued / wrk.rps if wrk.rps else float("inf"),
        "dropped": int(end.get("logs", {}).get("dropped", 0)), "exit": rc, "rows_after_sigterm": stored,
        "healthz_end": end, "queued_series": [h["logs"].get("queued") for h in window],
    }  # fmt: skip
