"""The hourly rollups against the raw logs they sum, analytics reading the coarsest table that
serves a bucket size, and migration 0005 backfilling them on a store that already has data."""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from alembic import command
from sqlalchemy import select

from proxy_core.services.analytics import BUCKETS, AnalyticsService
from proxy_core.store.engine import Store, open_store
from proxy_core.store.migrate import alembic_config
from proxy_core.store.models import Base, LogRollupHourly
from proxy_core.store.rollups import HOUR_MS, KEY, MINUTE_MS, coarsen, rollup_rows
from tests.unit.log_store_helpers import before_worker_ids, log_row, open_sqlite_store, write_logs

T0 = 1_800_000_000_000 - 1_800_000_000_000 % HOUR_MS
DAYS = 3
PROVIDERS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude"), ("groq", None)]


def random_logs(count: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        provider, model = rng.choice(PROVIDERS)
        status = rng.choice([200, 200, 200, 429, 500])
        rows.append(log_row(
            n, T0 + rng.randrange(DAYS * 24 * HOUR_MS), provider=provider, model=model, status_code=status,
            success=status == 200, cached=rng.random() < 0.2, tokens_in=rng.choice([None, rng.randint(1, 900)]),
            tokens_out=rng.randint(0, 300), cost=rng.choice([None, rng.random() / 100]), duration=rng.randint(1, 900),
            gateway_id=rng.choice(["default", "default", "other"]),
        ))  # fmt: skip
    return sorted(rows, key=lambda r: r["created_at"])


def expected(rows: list[dict[str, Any]], start: int, end: int, size: int, group: str | None) -> dict[tuple, tuple]:
    """Analytics computed from raw rows: a log counts when its minute starts in ``[start, end)``."""
    out: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0, 0, 0.0, 0])
    for r in rows:
        minute = r["created_at"] - r["created_at"] % MINUTE_MS
        if r["gateway_id"] != "default" or not start <= minute < end:
            continue
        agg = out[(minute - minute % size, (r[group] or "") if group else None)]
        agg[0] += 1
        agg[1] += 0 if r["success"] else 1
        agg[2] += 1 if r["cached"] else 0
        agg[3] += r["tokens_in"] or 0
        agg[4] += r["tokens_out"] or 0
        agg[5] += r["cost"] or 0.0
        agg[6] += r["duration"]
    return {key: (*agg[:5], round(agg[5], 9), agg[6]) for key, agg in out.items()}


def answered(points: list) -> dict[tuple, tuple]:
    return {
        (p.bucket, p.group): (p.requests, p.errors, p.cached, p.tokens_in, p.tokens_out, round(p.cost, 9), p.duration_sum)
        for p in points
    }


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_sqlite_store(tmp_path / "logs.db")
    yield opened
    await opened.close()


def totals(r: Any) -> tuple:
    """A rollup row's (or dict's) sums: requests, errors, tokens_in, tokens_out, duration_sum, cost."""
    return (r["requests"], r["errors"], r["tokens_in"], r["tokens_out"], r["duration_sum"], round(r["cost"], 9))


async def hourly_table(store: Store) -> dict[tuple, tuple]:
    t = LogRollupHourly.__table__
    async with store.engine.connect() as conn:
        found = (await conn.execute(select(t))).mappings().all()
    return {tuple(r[name] for name in KEY): totals(r) for r in found}


def summed_by_hour(rows: list[dict[str, Any]]) -> dict[tuple, tuple]:
    out: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0])
    for r in rows:
        status_class = r["status_code"] // 100
        key = (r["created_at"] - r["created_at"] % HOUR_MS, r["account_id"], r["gateway_id"], r["provider"],
               r["model"] or "", status_class, r["cached"])  # fmt: skip
        agg = out[key]
        agg[0] += 1
        agg[1] += 0 if r["success"] else 1
        agg[2] += r["tokens_in"] or 0
        agg[3] += r["tokens_out"] or 0
        agg[4] += r["cost"] or 0.0
        agg[5] += r["duration"]
    return {key: (agg[0], agg[1], agg[2], agg[3], agg[5], round(agg[4], 9)) for key, agg in out.items()}


async def test_the_hourly_table_sums_the_raw_logs_hour_by_hour(store: Store) -> None:
    rows = random_logs(3_000)
    await write_logs(store, rows, batch=300)
    assert await hourly_table(store) == summed_by_hour(rows)


# A range starting and ending mid-hour and mid-minute: whole hours from the hourly table, edges from minutes.
RAGGED = (T0 + 5 * HOUR_MS + 17 * MINUTE_MS + 3_000, T0 + 2 * 24 * HOUR_MS + 11 * HOUR_MS + 41 * MINUTE_MS)


@pytest.mark.parametrize("bucket", list(BUCKETS))
@pytest.mark.parametrize("group", [None, "provider", "model"])
async def test_analytics_equal_the_raw_logs_over_a_ragged_range(store: Store, bucket: str, group: str | None) -> None:
    rows = random_logs(3_000)
    await write_logs(store, rows, batch=300)
    analytics = AnalyticsService(store, "local")
    points = await analytics.series("default", *RAGGED, bucket, group)  # type: ignore[arg-type]
    assert answered(points) == expected(rows, *RAGGED, BUCKETS[bucket], group)
    whole = expected(rows, *RAGGED, 100 * 24 * HOUR_MS, None)
    totals = await analytics.totals("default", *RAGGED)
    assert answered([totals]) == {(RAGGED[0], None): next(iter(whole.values()))}
    if group:
        by_group = {key[1]: value for key, value in expected(rows, *RAGGED, 100 * 24 * HOUR_MS, group).items()}
        breakdown = await analytics.breakdown("default", *RAGGED, group)
        assert {key[1]: value for key, value in answered(breakdown).items()} == by_group


async def test_hour_and_day_charts_read_the_hourly_table_and_minute_charts_the_minute_one(
    store: Store, tmp_path: Path
) -> None:
    """Empty the minute table's whole hours inside the range: charts by hour and day still see them
    (hourly table), charts by minute no longer do; the edges always come from the minute table."""
    rows = random_logs(3_000)
    await write_logs(store, rows, batch=300)
    analytics = AnalyticsService(store, "local")
    first_hour, last_hour = T0 + 6 * HOUR_MS, T0 + 2 * 24 * HOUR_MS + 11 * HOUR_MS
    db = sqlite3.connect(tmp_path / "logs.db")
    db.execute("DELETE FROM log_rollups WHERE bucket >= ? AND bucket < ?", (first_hour, last_hour))
    db.commit()
    db.close()
    edges = [r for r in rows if not first_hour <= r["created_at"] < last_hour]
    for bucket in ("hour", "day"):
        points = await analytics.series("default", *RAGGED, bucket)  # type: ignore[arg-type]
        assert answered(points) == expected(rows, *RAGGED, BUCKETS[bucket], None)
    by_minute = await analytics.series("default", *RAGGED, "minute")
    assert answered(by_minute) == expected(edges, *RAGGED, MINUTE_MS, None)


async def test_the_migration_backfills_hourly_rollups_on_a_store_with_data(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    store = await open_store(url)
    async with store.engine.begin() as conn:  # back to the schema before 0005, as an existing store has it
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0004"))
    await store.close()
    rows = random_logs(2_000)
    minutes = rollup_rows(rows)
    db = sqlite3.connect(tmp_path / "old.db")
    assert "log_rollups_hourly" not in {n for (n,) in db.execute("SELECT name FROM sqlite_master")}
    for table, items in (("logs", before_worker_ids(rows)), ("log_rollups", minutes)):
        columns = list(items[0])
        db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(r[c] for c in columns) for r in items],
        )
    db.commit()
    db.close()
    store = await open_store(url)  # upgrades to the newest revision
    try:
        hourly = {tuple(r[name] for name in KEY): totals(r) for r in coarsen(minutes, HOUR_MS)}
        assert await hourly_table(store) == hourly == summed_by_hour(rows)
        points = await AnalyticsService(store, "local").series("default", *RAGGED, "hour")
        assert answered(points) == expected(rows, *RAGGED, HOUR_MS, None)
    finally:
        await store.close()
    db = sqlite3.connect(tmp_path / "old.db")
    indexes = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'logs' AND sql IS NOT NULL")}
    db.close()
    assert indexes == {index.name for index in Base.metadata.tables["logs"].indexes}
