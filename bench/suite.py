"""The measurement plan: one mock, each target in turn, the same points for all.

For every target: start it pinned to the *target core* (or on every core: ``ours-unpinned``),
wait until a real request answers 200, warm up, then for each upstream latency and concurrency run
``wrk`` (pinned, with the mock, to the *load core*) and record req/s, latency percentiles, the
target's CPU seconds (its process tree from ``/proc``), the busy fraction of each core and the
machine's *noise* (busy CPU not explained by the target, the mock, wrk or this process: someone
else using the machine). Then stream TTFB with the Python client, read the peak RSS, stop it and
collect what it reports at shutdown.

*Sustained* (ours and its console variants): a point only counts if the log writer kept up with
it. Before the point the log queue is given up to ``Plan.drain_timeout`` s to drain (the previous
point's backlog must not be this one's), ``/healthz`` is read right before and right after the wrk
run, and :func:`judge_sustained` compares the rows written during the point with the requests
answered during it, looks at the queue left at the end and at the logs dropped. The SIGTERM flush
at the end writes any backlog, so the stored/forwarded count alone says nothing about a rate.

:func:`run_suite` returns plain data (:class:`TargetResult` list) for :mod:`bench.report`;
:func:`run_soak` is the long-running memory check.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import procstat
from bench.load import TtfbResult, WrkResult, run_wrk, stream_ttfb
from bench.targets import Mock, OursTarget, Target

__all__ = [
    "Plan",
    "Point",
    "TargetResult",
    "measure_target",
    "run_soak",
    "SoakResult",
    "preflight_noise",
    "judge_sustained",
    "SUSTAIN_ROWS",
    "SUSTAIN_SLACK_S",
    "SUSTAIN_QUEUE_S",
]

SUSTAIN_ROWS = 0.98
"""Rows written during a point must be at least this share of the requests answered during it..."""
SUSTAIN_SLACK_S = 0.25
"""...or fall short by no more than this many seconds of the point's traffic, whichever is more
lenient: the rows of the last requests are still in the queue or in the batch being written when
``/healthz`` is read (the writer lingers 50 ms for a batch to fill, then writes up to 800 rows)."""
SUSTAIN_QUEUE_S = 2.0
"""The log queue left at the end of a point may hold at most this many seconds of its traffic."""


@dataclass
class Plan:
    duration: float = 15.0
    """Seconds per load point (c=1 too: at 0 ms one connection already sends thousands of req/s).
    Long against the writer's own time scales (50 ms linger, 1 s spool interval) so the 2% rows
    tolerance is 0.3 s of traffic, more than the batch in flight; a writer short by more than that
    shows, and one well behind fills its queue (then backpressure holds requests) within the point."""
    warmup: float = 3.0
    """Seconds of c=16 per upstream latency before the first point."""
    latencies: tuple[int, ...] = (0, 50)
    concurrencies: tuple[int, ...] = (1, 16, 64)
    ttfb_requests: int = 200
    target_cpu: int | None = 0
    load_cpu: int | None = 1
    ready_timeout: float = 120.0
    drain_timeout: float = 15.0
    """Most seconds to wait before a point for the log queue left by the previous one to drain."""


def judge_sustained(
    rows_written: int, answered: int, queue_end: int, dropped: int, duration_s: float
) -> tuple[bool, str]:
    """Did the log writer keep up with a point? ``(verdict, why not)`` (``why`` is "" when it did).

    Sustained when all three hold: the rows written during the point are at least
    :data:`SUSTAIN_ROWS` × the requests answered during it (or short by at most
    :data:`SUSTAIN_SLACK_S` s of traffic: the batch in flight), the queue at the end holds at most
    :data:`SUSTAIN_QUEUE_S` s of traffic, and no log was dropped.
    """
    span = max(duration_s, 0.001)
    rate = answered / span
    allowed = max((1 - SUSTAIN_ROWS) * answered, SUSTAIN_SLACK_S * rate)
    why: list[str] = []
    if answered - rows_written > allowed:
        why.append(f"writer {rows_written / span:,.0f} rows/s vs {rate:,.0f} req/s")
    if queue_end > SUSTAIN_QUEUE_S * rate:
        why.append(f"{queue_end:,} logs queued at the end ({queue_end / rate if rate else float('inf'):,.1f} s of traffic)")
    if dropped:
        why.append(f"{dropped:,} logs dropped")
    return not why, "; ".join(why)


@dataclass
class Point:
    latency_ms: int
    connections: int
    wrk: WrkResult
    target_cpu_s: float
    cpu_us_per_req: float
    core_busy: dict[int, float]
    noise_cores: float
    """Busy CPU (in cores) during the point not used by the target, the mock, wrk or the bench."""
    probe: Any = None
    """What the target measured meanwhile (the console: key → screen latencies), if anything."""
    side_cpu_s: float = 0.0
    """CPU of the harness's helpers (tmux for the console), not counted as the target's."""
    # -- the log writer during the point (ours and its console variants; None for the others) --
    rows_written: int | None = None
    """``logs.written`` after the wrk run minus before it."""
    answered: int | None = None
    """Requests wrk got an answer to during the point (any status)."""
    queue_start: int | None = None
    """``logs.queued`` right before the wrk run (after waiting up to ``drain_timeout`` for it to drain)."""
    queue_end: int | None = None
    dropped_delta: int | None = None
    drain_wait_s: float | None = None
    """Seconds waited before the point for the previous backlog to drain."""
    writer_rps: float | None = None
    """``rows_written`` per second of the wrk run."""
    sustained: bool | None = None
    """Whether the writer kept up (:func:`judge_sustained`); None when not known (not ours, /healthz failed)."""
    not_sustained: str = ""
    """Why not, e.g. ``writer 412 rows/s vs 2,480 req/s``."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["wrk"] = self.wrk.to_dict()
        return d


@dataclass
class TargetResult:
    name: str
    label: str
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    version: str = ""
    start_s: float | None = None
    points: list[Point] = field(default_factory=list)
    ttfb: TtfbResult | None = None
    peak_rss_bytes: int | None = None
    logs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)
    """The console's key → screen measurements (``ConsoleTarget.probes``)."""
    probe_point: Point | None = None
    """The heaviest point run once more while the probe switches views (its own work): kept out of
    :attr:`points`, so the ratios compare the console showing Live, as an operator watches it."""

    def point(self, latency_ms: int, connections: int) -> Point | None:
        for p in self.points:
            if p.latency_ms == latency_ms and p.connections == connections:
                return p
        return None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["points"] = [p.to_dict() for p in self.points]
        d["ttfb"] = self.ttfb.to_dict() if self.ttfb else None
        d["probe_point"] = self.probe_point.to_dict() if self.probe_point else None
        return d


def preflight_noise(seconds: float = 1.0) -> dict[int, float]:
    """Per-core busy fraction while nothing of ours runs: other load on the machine."""
    before = procstat.read_cores()
    time.sleep(seconds)
    return procstat.core_busy(before, procstat.read_cores())


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _tree_cpu(pids: list[int]) -> float:
    return sum(procstat.tree_cpu_seconds(pid) for pid in pids)


def _logs(target: Target) -> dict[str, Any] | None:
    """``/healthz``'s ``logs`` (ours and its variants), None for other targets or when it fails."""
    if not isinstance(target, OursTarget):
        return None
    try:
        logs = target.healthz().get("logs")
    except (OSError, ValueError):
        return None
    return logs if isinstance(logs, dict) and isinstance(logs.get("written"), int) else None


def _drain(target: Target, timeout: float) -> float:
    """Wait (up to ``timeout`` s) until ours' log queue is empty; seconds waited (0: it was empty)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        logs = _logs(target)
        if logs is None or not logs.get("queued"):
            break
        time.sleep(0.1)
    else:
        return round(time.monotonic() - started, 2)
    waited = time.monotonic() - started
    return round(waited, 2) if waited > 0.1 else 0.0


def _point(target: Target, mock: Mock, plan: Plan, latency: int, conns: int, *, probing: bool = False) -> Point:
    """One measured point; ``probing``: the console's key and view-switch probe runs meanwhile."""
    duration = plan.duration
    drain_wait = _drain(target, plan.drain_timeout) if isinstance(target, OursTarget) else None
    mock_pid = mock.proc.pid
    is_mock = target.pid == mock_pid
    pids = target.pids()
    cpu0 = _tree_cpu(pids)
    mock0 = 0.0 if is_mock else procstat.proc_cpu_seconds(mock_pid)
    side_pids = target.side_pids()
    side0 = sum(procstat.proc_cpu_seconds(p) for p in side_pids)
    self0 = _self_cpu()
    cores0 = procstat.read_cores()
    collect = target.during_point(latency, conns, duration) if probing else None
    logs0 = _logs(target)
    result = run_wrk(
        target.url(latency), target.body(latency), target.headers(latency), connections=conns, duration=duration, cpu=plan.load_cpu
    )
    logs1 = _logs(target) if logs0 is not None else None
    cores1 = procstat.read_cores()
    cpu = _tree_cpu(pids) - cpu0
    mock_cpu = 0.0 if is_mock else procstat.proc_cpu_seconds(mock_pid) - mock0
    side_cpu = sum(procstat.proc_cpu_seconds(p) for p in side_pids) - side0
    own = _self_cpu() - self0
    probe = collect() if collect is not None else None
    busy = procstat.busy_seconds(cores0, cores1)
    span = max(result.duration_s, 0.001)
    noise = max(0.0, busy - cpu - mock_cpu - side_cpu - result.wrk_cpu_s - own) / span
    per_req = cpu / result.requests * 1e6 if result.requests else float("nan")
    writer: dict[str, Any] = {}
    if logs0 is not None and logs1 is not None:
        written = logs1["written"] - logs0["written"]
        dropped = int(logs1.get("dropped") or 0) - int(logs0.get("dropped") or 0)
        queue_end = int(logs1.get("queued") or 0)
        ok, why = judge_sustained(written, result.requests, queue_end, dropped, span)
        writer = {
            "rows_written": written,
            "answered": result.requests,
            "queue_start": int(logs0.get("queued") or 0),
            "queue_end": queue_end,
            "dropped_delta": dropped,
            "drain_wait_s": drain_wait,
            "writer_rps": round(written / span, 1),
            "sustained": ok,
            "not_sustained": why,
        }
    return Point(
        latency_ms=latency,
        connections=conns,
        wrk=result,
        target_cpu_s=round(cpu, 3),
        cpu_us_per_req=round(per_req, 1),
        core_busy={k: round(v, 3) for k, v in procstat.core_busy(cores0, cores1).items()},
        noise_cores=round(noise, 3),
        probe=probe,
        side_cpu_s=round(side_cpu, 3),
        **writer,
    )


def measure_target(target: Target, mock: Mock, plan: Plan, *, log: Any = print) -> TargetResult:
    """Start, measure and stop one target; failures become a ``failed``/``skipped`` result."""
    res = TargetResult(target.name, target.label)
    if target.skip_reason:
        res.status, res.reason = "skipped", target.skip_reason
        log(f"bench: {target.label}: skipped: {target.skip_reason}")
        return res
    upstream0 = mock.requests()
    client_requests = 0
    started = time.monotonic()
    try:
        log(f"bench: {target.label}: starting…")
        target.start(mock)
        target.wait_ready(plan.ready_timeout)
        client_requests += 1
        res.start_s = round(time.monotonic() - started, 2)
        res.version = target.version
        log(f"bench: {target.label}: ready in {res.start_s:.1f}s ({target.version}); warming up {plan.warmup:g}s")
        for lat in plan.latencies:
            warm = run_wrk(
                target.url(lat), target.body(lat), target.headers(lat), connections=16, duration=plan.warmup, cpu=plan.load_cpu
            )
            client_requests += warm.requests
        target.before_points()
        idle = [f"{q['key']}→{q['ms']:.0f} ms" for q in getattr(target, "probes", []) if q.get("ms") is not None]
        if idle:
            log(f"bench: {target.label}: console key → screen, idle: {', '.join(idle)}")
        for lat in plan.latencies:
            for conns in plan.concurrencies:
                p = _point(target, mock, plan, lat, conns)
                client_requests += p.wrk.requests
                res.points.append(p)
                err = f" errors={p.wrk.errors} {p.wrk.error_detail}" if p.wrk.errors else ""
                noisy = f" noise={p.noise_cores:.2f} cores" if p.noise_cores > 0.1 else ""
                writer = ""
                if p.sustained is not None:
                    writer = f"  writer {p.writer_rps:,.0f} rows/s queue {p.queue_start}→{p.queue_end}"
                    writer += "  sustained" if p.sustained else f"  NOT SUSTAINED ({p.not_sustained})"
                log(
                    f"bench: {target.label}: {lat:>2} ms c={conns:<2} {p.wrk.rps:9.1f} req/s  p50 {p.wrk.p50_ms:7.2f} ms"
                    f"  p99 {p.wrk.p99_ms:7.2f} ms  cpu {p.cpu_us_per_req:6.0f} µs/req{err}{noisy}{writer}"
                )
        if hasattr(target, "probe_cycles"):  # a console: probe keys and view switches on a point of their own
            lat, conns = plan.latencies[0], max(plan.concurrencies)
            p = res.probe_point = _point(target, mock, plan, lat, conns, probing=True)
            client_requests += p.wrk.requests
            keys = [f"{q['key']}→{q['ms']:.0f} ms" if q.get("ms") is not None else f"{q['key']}→timeout" for q in p.probe or [] if "key" in q]
            log(f"bench: {target.label}: {lat:>2} ms c={conns:<2} while probing: {p.wrk.rps:9.1f} req/s  p99 {p.wrk.p99_ms:7.2f} ms;"
                f" console key → screen: {', '.join(keys) or 'none'}")  # fmt: skip
        res.ttfb = stream_ttfb(target.url(0), target.body(0, stream=True), target.headers(0), n=plan.ttfb_requests)
        client_requests += plan.ttfb_requests + 5
        t = res.ttfb
        extra = f" errors: {t.errors}" if t.errors else ""
        log(f"bench: {target.label}: stream TTFB p50 {t.ttfb_p50_ms:.2f} ms p99 {t.ttfb_p99_ms:.2f} ms ({t.ok}/{t.requests} ok){extra}")
        res.peak_rss_bytes = sum(procstat.tree_peak_rss(pid) for pid in target.pids())
        if isinstance(target, OursTarget):
            res.logs["healthz_before_stop"] = target.healthz().get("logs", {})
    except Exception as exc:  # noqa: BLE001 - one broken target must not sink the run
        res.status = "failed" if res.start_s is not None else "skipped"
        res.reason = f"{type(exc).__name__}: {exc}"[:400]
        log(f"bench: {target.label}: {res.status}: {res.reason}")
        res.version = res.version or target.version
    finally:
        try:
            facts = target.stop()
        except Exception as exc:  # noqa: BLE001
            facts = {"stop_error": f"{type(exc).__name__}: {exc}"}
        res.notes.extend(target.notes)
        res.probes = list(getattr(target, "probes", []))
    if isinstance(target, OursTarget) and res.start_s is not None:
        res.logs.update(facts)
        res.logs["client_requests"] = client_requests
        res.logs["upstream_requests"] = mock.requests() - upstream0
        rows = facts.get("rows")
        if rows is not None:
            res.logs["lost"] = max(0, res.logs["upstream_requests"] - rows)
        log(
            f"bench: {target.label}: logs: {rows} rows stored, {res.logs['upstream_requests']} requests forwarded upstream, "
            f"{client_requests} answered to clients, reported dropped={facts.get('reported_dropped')}"
        )
    return res


# -- soak ---------------------------------------------------------------------------------------


@dataclass
class SoakResult:
    requested: int
    sent: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    """One per segment: cumulative requests, elapsed s, segment req/s, RSS MB, queued logs."""
    rss_start_mb: float = 0.0
    rss_middle_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_after_drain_mb: float = 0.0
    growth_pct: float = 0.0
    peak_rss_mb: float = 0.0
    errors: int = 0
    logs: dict[str, Any] = field(default_factory=dict)
    version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def run_soak(target: OursTarget, mock: Mock, plan: Plan, n: int, *, connections: int = 64, log: Any = print) -> SoakResult:
    """Send about ``n`` requests at c=``connections`` (0 ms upstream) in segments, sampling RSS.

    The first ~5% (at least 2,000 requests) is the warm-up: growth is measured from the RSS after
    it to the RSS at the end. *Middle* is the sample nearest n/2.
    """
    res = SoakResult(requested=n)
    upstream0 = mock.requests()
    target.start(mock)
    target.wait_ready(plan.ready_timeout)
    res.version = target.version
    url, body, headers = target.url(0), target.body(0), target.headers(0)
    try:
        warm_n = max(2000, n // 20)
        probe = run_wrk(url, body, headers, connections=connections, duration=2, cpu=plan.load_cpu)
        rate = max(probe.rps, 50.0)
        sent = probe.requests
        if sent < warm_n:
            w = run_wrk(url, body, headers, connections=connections, duration=max(1.0, (warm_n - sent) / rate), cpu=plan.load_cpu)
            sent += w.requests
        rss0 = procstat.tree_rss(target.pid)
        res.samples.append({"requests": sent, "elapsed_s": 0.0, "rps": round(rate, 1), "rss_mb": rss0 / 2**20, "queued": _queued(target)})
        log(f"bench: soak: warm-up done at {sent} requests, RSS {rss0 / 2**20:.1f} MB; sending {n} more at c={connections}")
        seg = min(10.0, max(1.0, n / rate / 20))
        t0 = time.monotonic()
        done = 0
        while done < n:
            cores0, cpu0 = procstat.read_cores(), procstat.tree_cpu_seconds(target.pid)
            mock0, self0 = procstat.proc_cpu_seconds(mock.proc.pid), _self_cpu()
            r = run_wrk(url, body, headers, connections=connections, duration=min(seg, max(1.0, (n - done) / rate)), cpu=plan.load_cpu)
            busy = procstat.busy_seconds(cores0, procstat.read_cores())
            ours_cpu = procstat.tree_cpu_seconds(target.pid) - cpu0
            mock_cpu = procstat.proc_cpu_seconds(mock.proc.pid) - mock0
            noise = max(0.0, busy - ours_cpu - mock_cpu - r.wrk_cpu_s - (_self_cpu() - self0)) / max(r.duration_s, 0.001)
            done += r.requests
            res.errors += r.errors
            rate = max(r.rps, 50.0)
            rss = procstat.tree_rss(target.pid)
            res.samples.append(
                {
                    "requests": done,
                    "elapsed_s": round(time.monotonic() - t0, 1),
                    "rps": round(r.rps, 1),
                    "rss_mb": round(rss / 2**20, 2),
                    "queued": _queued(target),
                    "noise_cores": round(noise, 2),
                }
            )
            log(f"bench: soak: {done:>8} requests  {r.rps:8.1f} req/s  RSS {rss / 2**20:6.1f} MB  log queue {res.samples[-1]['queued']}")
        res.sent = done
        res.rss_start_mb = round(rss0 / 2**20, 2)
        res.rss_end_mb = res.samples[-1]["rss_mb"]
        middle = min(res.samples[1:], key=lambda s: abs(s["requests"] - n / 2))
        res.rss_middle_mb = middle["rss_mb"]
        res.growth_pct = round((res.rss_end_mb - res.rss_start_mb) / res.rss_start_mb * 100, 2)
        deadline = time.monotonic() + 60
        while _queued(target) and time.monotonic() < deadline:
            time.sleep(0.2)
        res.rss_after_drain_mb = round(procstat.tree_rss(target.pid) / 2**20, 2)
        res.peak_rss_mb = round(procstat.tree_peak_rss(target.pid) / 2**20, 2)
    finally:
        facts = target.stop()
    res.logs = {**facts, "upstream_requests": mock.requests() - upstream0}
    if "rows" in facts:
        res.logs["lost"] = max(0, res.logs["upstream_requests"] - facts["rows"])
    return res


def _queued(target: OursTarget) -> int | None:
    try:
        return target.healthz().get("logs", {}).get("queued")
    except OSError:
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def machine_facts() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "cpu_model": cpu_model(), "kernel": os.uname().release}


def write_json(path: Path, data: Any) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str))
