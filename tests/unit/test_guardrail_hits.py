"""The Guardrails view's counters: hits per category and action kept per minute by the log writer
(both log stores), summed over the last hour and 24 hours without reading the logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from proxy_core.services.guardrail_hits import DAY_MS, HOUR_MS, CategoryHits, GuardrailHitService
from proxy_core.store.guardrail_hits import GUARDRAIL_HITS, guardrail_hit_rows
from proxy_core.store.engine import open_store
from tests.unit.log_store_helpers import log_row, open_sqlite_store, write_logs

NOW = 1_800_000_000_000 + 30_000  # half a minute into a minute


def verdict(action: str, **actions: str) -> dict[str, Any]:
    counted = [code for code, applied in actions.items() if applied != "ignore"]
    return {"action": action, "categories": counted, "evaluated": True, "actions": actions}


def rows() -> list[dict[str, Any]]:
    return [
        log_row(1, NOW - 1_000, guardrails=verdict("blocked", S1="block", S10="flag")),
        log_row(2, NOW - 20 * 60_000, guardrails=verdict("flagged", S10="flag")),
        log_row(3, NOW - 2 * HOUR_MS, guardrails=verdict("flagged", S10="flag", S2="ignore")),
        log_row(4, NOW - DAY_MS - 60_000, guardrails=verdict("blocked", S1="block")),  # older than 24 h
        log_row(5, NOW - 5_000, guardrails=verdict("passed")),
        log_row(6, NOW - 5_000),  # guardrails off
        log_row(7, NOW - 5_000, gateway_id="other", guardrails=verdict("blocked", S1="block")),
        log_row(8, NOW - 2_000, guardrails=verdict("blocked", S1="block")),  # row 1's minute, a later batch
    ]


def test_hit_rows_count_each_category_once_per_request_by_its_action() -> None:
    got = {(r["bucket"], r["category"], r["action"]): r["hits"] for r in guardrail_hit_rows(rows()[:2] * 2)}
    minute, earlier = NOW - 30_000, NOW - 30_000 - 20 * 60_000
    assert got == {(minute, "S1", "block"): 2, (minute, "S10", "flag"): 2, (earlier, "S10", "flag"): 2}


async def test_counts_over_the_last_hour_and_day_on_both_log_stores(tmp_path: Path) -> None:
    for store in (await open_sqlite_store(tmp_path / "file.db"), await open_store("sqlite+aiosqlite:///:memory:")):
        try:
            await write_logs(store, rows(), batch=3)
            hits = await GuardrailHitService(store, "local", lambda: NOW).counts("default")
            assert hits == {
                "S1": CategoryHits("S1", hour_blocked=2, day_blocked=2),
                "S10": CategoryHits("S10", hour_flagged=2, day_flagged=3),
                "S2": CategoryHits("S2", day_ignored=1),
            }
            assert (hits["S10"].hour, hits["S10"].day) == (2, 3)
            other = await GuardrailHitService(store, "local", lambda: NOW).counts("other")
            assert other == {"S1": CategoryHits("S1", hour_blocked=1, day_blocked=1)}
            # a minute's rows add to the same bucket instead of repeating it
            async with store.engine.connect() as conn:
                buckets = (await conn.execute(select(func.count()).select_from(GUARDRAIL_HITS))).scalar_one()
            assert buckets == 7
        finally:
            await store.close()
