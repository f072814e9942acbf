"""Rollups: per-minute and per-hour totals of the logs, so analytics never scan raw rows.

The log writer adds every batch to each table of :data:`ROLLUP_TABLES` in the batch's own
transaction. Readers take :func:`rollup_source`: for a bucket size it reads the coarsest table
whose buckets divide it (a 30-day chart by hour reads 720 hourly buckets, not 43,200 minutes) and
reads a range's ragged edges, the part before its first and after its last whole hour, from the
minute table, so every answer equals what the minute table alone would give.
"""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Table, select, union_all
from sqlalchemy.sql import Selectable

from proxy_core.store.guardrail_hits import guardrail_hit_rows
from proxy_core.store.models import LogRollup, LogRollupHourly

__all__ = [
    "MINUTE_MS", "HOUR_MS", "ROLLUP_TABLES", "KEY", "SUMMED", "rollup_rows", "coarsen", "batch_rollups", "rollup_source",
]  # fmt: skip

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
ROLLUP_TABLES: tuple[tuple[int, Table], ...] = ((MINUTE_MS, LogRollup.__table__), (HOUR_MS, LogRollupHourly.__table__))
"""Bucket size and table, finest first; every table holds every request."""
KEY = ("bucket", "account_id", "gateway_id", "provider", "model", "status_class", "cached")
"""A rollup table's primary key."""
SUMMED = ("requests", "errors", "tokens_in", "tokens_out", "cost", "duration_sum")


def rollup_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-minute aggregates of a batch of log rows, keyed like ``log_rollups``' primary key."""
    buckets: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        status = row["status_code"]
        key = (
            row["created_at"] - row["created_at"] % MINUTE_MS,
            row["account_id"],
            row["gateway_id"],
            row["provider"],
            row["model"] or "",
            status // 100 if row["error_code"] is None or status >= 200 else 0,
            bool(row["cached"]),
        )
        agg = buckets.get(key)
        if agg is None:
            agg = buckets[key] = dict(zip(KEY, key), **dict.fromkeys(SUMMED, 0))
            agg["cost"] = 0.0
        agg["requests"] += 1
        agg["errors"] += 0 if row["success"] else 1
        agg["tokens_in"] += row["tokens_in"] or 0
        agg["tokens_out"] += row["tokens_out"] or 0
        agg["cost"] += row["cost"] or 0.0
        agg["duration_sum"] += row["duration"] or 0
    return list(buckets.values())


def coarsen(rollups: Sequence[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """Rollup rows merged into buckets of ``size`` milliseconds."""
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rollups:
        bucket = row["bucket"] - row["bucket"] % size
        key = (bucket, *(row[name] for name in KEY[1:]))
        agg = merged.get(key)
        if agg is None:
            merged[key] = {**row, "bucket": bucket}
        else:
            for name in SUMMED:
                agg[name] += row[name]
    return list(merged.values())


def batch_rollups(rows: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A batch's rollup rows for each table of :data:`ROLLUP_TABLES`, in that order, then its
    guardrail hits (:mod:`proxy_core.store.guardrail_hits`): what ``rollup_upserts`` writes."""
    minutes = rollup_rows(rows)
    tables = [minutes if size == MINUTE_MS else coarsen(minutes, size) for size, _ in ROLLUP_TABLES]
    return [*tables, guardrail_hit_rows(rows)]


def _pieces(start_ms: int, end_ms: int, tables: Sequence[tuple[int, Table]]) -> list[tuple[Table, int, int]]:
    """``[start_ms, end_ms)`` cut into (table, start, end) pieces: whole buckets of the first
    (coarsest) table, the edges from the finer ones."""
    size, table = tables[0]
    if len(tables) == 1:
        return [(table, start_ms, end_ms)]
    first, last = -(-start_ms // size) * size, end_ms - end_ms % size
    if first >= last:
        return _pieces(start_ms, end_ms, tables[1:])
    before = _pieces(start_ms, first, tables[1:]) if start_ms < first else []
    after = _pieces(last, end_ms, tables[1:]) if last < end_ms else []
    return [*before, (table, first, last), *after]


def rollup_source(
    account_id: str, gateway_id: str | None, start_ms: int, end_ms: int, bucket_ms: int | None = None
) -> Selectable:
    """The rollup rows of buckets starting in ``[start_ms, end_ms)``, as one subquery with the
    rollup columns, from the coarsest table whose buckets divide ``bucket_ms`` (``None``: any)."""
    serving = [(size, table) for size, table in ROLLUP_TABLES if bucket_ms is None or bucket_ms % size == 0]
    serving = serving or list(ROLLUP_TABLES[:1])
    selects = []
    for table, start, end in _pieces(start_ms, end_ms, serving[::-1]):
        where = [table.c.account_id == account_id, table.c.bucket >= start, table.c.bucket < end]
        if gateway_id is not None:
            where.append(table.c.gateway_id == gateway_id)
        selects.append(select(*table.c).where(*where))
    query = selects[0] if len(selects) == 1 else union_all(*selects)
    return query.subquery("rollups")
