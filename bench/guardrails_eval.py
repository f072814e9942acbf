"""``python -m bench.guardrails_eval``: precision, recall and added latency of a guardrail evaluator.

Runs every text of ``sample_data/guardrails_eval.jsonl`` through :class:`GuardrailEngine` (every
category on ``flag``, cache off) and prints, per split and per category, precision and recall,
plus the latency ``check`` adds per prompt (p50 / p95).

The set's splits say how far to trust each figure: ``dev`` was written before the built-in
lexicon and the lexicon was then written with it in view, ``holdout1`` was written next and the
lexicon was broadened after seeing its misses (so both are in-sample for ``builtin``), and
``holdout2`` was written after the lexicon was frozen and never tuned on: its figures are the
honest ones for unseen phrasing. Any other evaluator (``--evaluator llama-guard --option
base_url=http://127.0.0.1:8000/v1``) sees all splits as unseen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from proxy_core.guardrails import CATEGORIES, GuardrailEngine, build_evaluator, normalize_policy

DATASET = Path(__file__).resolve().parents[1] / "sample_data" / "guardrails_eval.jsonl"


def load(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row.setdefault("split", "dev")
    return rows


async def judge_all(rows: list[dict[str, Any]], evaluator_name: str, options: dict[str, Any]) -> list[float]:
    """Fills ``row["pred"]`` with the categories found; returns the per-prompt latency (ms)."""
    evaluator = build_evaluator(evaluator_name, options)
    engine = GuardrailEngine(evaluator, cache_seconds=0, timeout=float(options.get("timeout", 30)))
    policy = normalize_policy({"enabled": True})
    latencies: list[float] = []
    try:
        await engine.check(policy, "prompt", ["warm-up"])
        for row in rows:
            started = time.perf_counter()
            outcome = await engine.check(policy, "prompt", [row["text"]])
            latencies.append((time.perf_counter() - started) * 1000)
            if not outcome.evaluated and outcome.error:
                raise SystemExit(f"evaluator unavailable: {outcome.error}")
            row["pred"] = set(outcome.categories)
    finally:
        close = getattr(evaluator, "aclose", None)
        if close is not None:
            await close()
    return latencies


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.3f}" if den else "  -  "


def binary_scores(rows: list[dict[str, Any]]) -> tuple[int, int, int, int, int]:
    """(texts, unsafe, true positives, false positives, false negatives) for unsafe-vs-safe."""
    tp = sum(1 for r in rows if r["label"] == "unsafe" and r["pred"])
    fp = sum(1 for r in rows if r["label"] == "safe" and r["pred"])
    fn = sum(1 for r in rows if r["label"] == "unsafe" and not r["pred"])
    return len(rows), sum(r["label"] == "unsafe" for r in rows), tp, fp, fn


def category_scores(rows: list[dict[str, Any]], code: str) -> tuple[int, int, int, int]:
    """(gold count, true positives, false positives, false negatives) for one category."""
    gold = [code in r["categories"] for r in rows]
    pred = [code in r["pred"] for r in rows]
    tp = sum(g and p for g, p in zip(gold, pred))
    fp = sum(p and not g for g, p in zip(gold, pred))
    fn = sum(g and not p for g, p in zip(gold, pred))
    return sum(gold), tp, fp, fn


def report(rows: list[dict[str, Any]], latencies: list[float], evaluator_name: str, path: Path) -> str:
    splits = sorted({r["split"] for r in rows}, key=lambda s: (s != "dev", s))
    lines = [
        f"Guardrails evaluation: {evaluator_name} on {path.name} ({len(rows)} texts)",
        "",
        f"{'split':<10} {'texts':>5} {'unsafe':>6}  {'precision':>9}  {'recall':>6}  {'false-pos rate':>14}",
    ]
    for name, subset in [*((s, [r for r in rows if r["split"] == s]) for s in splits), ("all", rows)]:
        n, unsafe, tp, fp, fn = binary_scores(subset)
        lines.append(
            f"{name:<10} {n:>5} {unsafe:>6}  {_ratio(tp, tp + fp):>9}  {_ratio(tp, tp + fn):>6}  {_ratio(fp, n - unsafe):>14}"
        )
    last = splits[-1]
    held = [r for r in rows if r["split"] == last]
    lines += ["", f"{'category':<32} {'gold':>4}  {'P(all)':>6}  {'R(all)':>6}  {'R(' + last + ')':>12}"]
    micro = [0, 0, 0]
    for code, category in CATEGORIES.items():
        gold, tp, fp, fn = category_scores(rows, code)
        micro = [micro[0] + tp, micro[1] + fp, micro[2] + fn]
        _, htp, _, hfn = category_scores(held, code)
        label = f"{code} {category.name}"
        lines.append(f"{label:<32} {gold:>4}  {_ratio(tp, tp + fp):>6}  {_ratio(tp, tp + fn):>6}  {_ratio(htp, htp + hfn):>12}")
    tp, fp, fn = micro
    lines.append(f"{'micro average':<32} {'':>4}  {_ratio(tp, tp + fp):>6}  {_ratio(tp, tp + fn):>6}")
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    lines += [
        "",
        f"added latency per prompt (GuardrailEngine.check, cache off, {len(latencies)} prompts of "
        f"{statistics.fmean(len(r['text']) for r in rows):.0f} chars on average): "
        f"p50 {statistics.median(latencies):.3f} ms  p95 {p95:.3f} ms  max {ordered[-1]:.3f} ms",
    ]
    if evaluator_name == "builtin":
        lines += ["", "dev and holdout1 are in-sample for builtin (the lexicon was written or broadened with them in view);",
                  f"{last} was written after the lexicon was frozen: read its row as the expected recall on unseen phrasing."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.guardrails_eval", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, default=DATASET)
    p.add_argument("--evaluator", default="builtin", help="builtin, llama-guard or openai-moderation")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="an evaluator option (repeatable)")
    p.add_argument("--misses", action="store_true", help="also list the texts judged wrongly")
    args = p.parse_args(argv)
    options: dict[str, Any] = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = float(value) if key in ("timeout",) else int(value) if value.isdigit() else value
    rows = load(args.dataset)
    latencies = asyncio.run(judge_all(rows, args.evaluator, options))
    print(report(rows, latencies, args.evaluator, args.dataset))
    if args.misses:
        print()
        for r in rows:
            gold, pred = set(r["categories"]), r["pred"]
            if gold != pred and (r["label"] == "safe" or not gold & pred):
                print(f"[{r['split']}] gold={sorted(gold) or 'safe'} pred={sorted(pred) or 'safe'}  {r['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
