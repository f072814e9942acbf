"""The bench's *sustained* verdict (log writer vs requests) and how the report uses and shows it."""

from __future__ import annotations

import math

from bench import report
from bench.load import WrkResult
from bench.suite import Point, TargetResult, judge_sustained

PLAN = {
    "latencies": (0,),
    "concurrencies": (1, 64),
    "duration": 15.0,
    "warmup": 3.0,
    "drain_timeout": 15.0,
    "target_cpu": 0,
    "load_cpu": 1,
}
META = {
    "date": "today",
    "machine": {"nproc": 2, "cpu_model": "test", "kernel": "6"},
    "versions": {},
    "command": "python -m bench",
}


def test_a_writer_that_keeps_up_is_sustained() -> None:
    # 15 s at 2,000 req/s; the last ~0.1 s of rows still in flight when /healthz is read
    assert judge_sustained(29_800, 30_000, 200, 0, 15.0) == (True, "")


def test_a_slow_writer_is_not_sustained_and_says_by_how_much() -> None:
    ok, why = judge_sustained(6_180, 37_200, 31_020, 0, 15.0)
    assert not ok
    assert "writer 412 rows/s vs 2,480 req/s" in why
    assert "31,020 logs queued at the end (12.5 s of traffic)" in why


def test_tolerance_is_two_percent_or_a_quarter_second_of_traffic() -> None:
    # 2% of 30,000 = 600 rows short is allowed, 601 is not
    assert judge_sustained(29_400, 30_000, 0, 0, 15.0)[0]
    assert not judge_sustained(29_399, 30_000, 0, 0, 15.0)[0]
    # a 2 s point: 0.25 s of 2,500 req/s = 625 rows outweighs 2% (100)
    assert judge_sustained(4_400, 5_000, 600, 0, 2.0)[0]


def test_a_queue_left_over_two_seconds_or_a_drop_is_not_sustained() -> None:
    ok, why = judge_sustained(30_000, 30_000, 4_100, 0, 15.0)  # 2 s = 4,000 entries at 2,000 req/s
    assert not ok and "queued at the end" in why
    ok, why = judge_sustained(30_000, 30_000, 0, 3, 15.0)
    assert not ok and why == "3 logs dropped"


def _point(c: int, rps: float, **writer: object) -> Point:
    dur = 15.0
    wrk = WrkResult("u", c, dur, int(rps * dur), rps, 1.0, 1.5, 2.0, 1.1, 3.0, 0)
    return Point(0, c, wrk, 1.0, 250.0, {0: 0.9, 1: 0.5}, 0.0, **writer)


def _ours(name: str, rps64: float, sustained: bool) -> TargetResult:
    answered = int(rps64 * 15)
    written = answered if sustained else 6_180
    ok, why = judge_sustained(written, answered, 0 if sustained else answered - written, 0, 15.0)
    writer = {"rows_written": written, "answered": answered, "queue_start": 0, "queue_end": 0 if sustained else answered - written}
    writer |= {"dropped_delta": 0, "writer_rps": round(written / 15, 1), "sustained": ok, "not_sustained": why}
    c1 = {"rows_written": 15_000, "answered": 15_000, "queue_start": 0, "queue_end": 0, "dropped_delta": 0}
    c1 |= {"writer_rps": 1000.0, "sustained": True, "not_sustained": ""}
    return TargetResult(name, name, points=[_point(1, 1000, **c1), _point(64, rps64, **writer)])


def _report(ours_sustained: bool) -> dict:
    bare = TargetResult("bare", "bare", points=[_point(1, 1100), _point(64, 3000)])
    ours = _ours("ours", 2480, ours_sustained)
    unpinned = _ours("ours-unpinned", 2900, True)
    return report.build_report([bare, ours, unpinned], META, PLAN)


def test_a_sustained_point_counts_in_the_ratios() -> None:
    rep = _report(True)
    assert math.isclose(rep["ratios"]["ours/bare sustained req/s 0ms c=64"], 2480 / 3000, abs_tol=1e-3)
    goal = next(g for g in rep["goals"] if g["name"].startswith("ours: load points"))
    assert goal["met"] is True


def test_a_point_not_sustained_never_counts_as_a_win() -> None:
    rep = _report(False)
    key = "ours/bare sustained req/s 0ms c=64"
    assert rep["ratios"][key] is None
    assert "writer 412 rows/s vs 2,480 req/s" in rep["ratio_notes"][key]
    goal = next(g for g in rep["goals"] if g["name"] == "ours / bare req/s, c=64, 0 ms")
    assert goal["met"] is False and goal["verdict"].startswith("MISSED: ours 0 ms c=64 not sustained")
    count = next(g for g in rep["goals"] if g["name"].startswith("ours: load points"))
    assert count["value"] == 1 and count["met"] is False
    md = report.render_markdown(rep)
    assert "2,480 (not sustained)" in md
    assert "**not sustained**: writer 412 rows/s vs 2,480 req/s" in md
    assert f"| {key} | n/a: ours 0 ms c=64 not sustained: writer 412 rows/s vs 2,480 req/s" in md


def test_the_unpinned_row_is_in_no_ratio_but_in_the_sustained_table() -> None:
    rep = _report(True)
    assert not [k for k in rep["ratios"] if "unpinned" in k]
    md = report.render_markdown(rep)
    assert "| ours-unpinned | 0 ms | 64 | 2,900 | 43,500 | 43,500 | 2,900 | 0 → 0 | 0 | sustained |" in md
    assert "not comparable with bare's" in md


def test_the_noise_warning_is_at_the_top() -> None:
    rep = _report(True)
    rep["noisy_points"] = [("bare", 0, 64, 0.4)]
    md = report.render_markdown(rep)
    assert md.index("Noise warning") < md.index("## Upstream latency 0 ms")
