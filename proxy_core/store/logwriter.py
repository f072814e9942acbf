"""The store side of the log pipeline: one transaction per batch for logs, bodies and rollups,
with each gateway's log limit applied (``STOP_INSERTING`` or ``DELETE_OLDEST``).

Row counts per gateway are kept in memory (read once, then maintained), so enforcing the limit
costs no query per batch; :meth:`LogWriter.forget_counts` makes the next batch re-read them after
logs were deleted elsewhere.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable, Sequence

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from proxy_core.store.engine import Store
from proxy_core.store.models import Log, LogBody, LogRollup

__all__ = ["LogWriter", "LimitLookup", "rollup_rows", "index_search_backlog"]

log = logging.getLogger(__name__)

LimitLookup = Callable[[str, str], "tuple[int | None, str] | None"]
"""``(account_id, gateway_id)`` → ``(log_management, log_management_strategy)`` or ``None``."""

_LOGS = Log.__table__
_BODIES = LogBody.__table__
_ROLLUPS = LogRollup.__table__
_MINUTE = 60_000
_DELETE_CHUNK = 5_000
_BODY_TEXT = "substr(CAST(coalesce({0}, '') AS TEXT), 1, 65536)"
_INDEX_PENDING = text(
    "INSERT INTO logs_fts(rowid, request, response) SELECT b.rowid, "
    + _BODY_TEXT.format("b.request_body") + ", " + _BODY_TEXT.format("b.response_body")
    + " FROM log_bodies b WHERE b.rowid IN (SELECT body_rowid FROM fts_pending ORDER BY body_rowid LIMIT :n)"
)
_DEQUEUE_PENDING = text(
    "DELETE FROM fts_pending WHERE body_rowid IN (SELECT body_rowid FROM fts_pending ORDER BY body_rowid LIMIT :n)"
)
_SUMMED = ("requests", "errors", "tokens_in", "tokens_out", "cost", "duration_sum")


def rollup_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-minute aggregates of a batch, keyed like ``log_rollups``' primary key."""
    buckets: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        status = row["status_code"]
        key = (
            row["created_at"] - row["created_at"] % _MINUTE,
            row["account_id"],
            row["gateway_id"],
            row["provider"],
            row["model"] or "",
            status // 100 if row["error_code"] is None or status >= 200 else 0,
            bool(row["cached"]),
        )
        agg = buckets.get(key)
        if agg is None:
            agg = buckets[key] = dict(
                zip(("bucket", "account_id", "gateway_id", "provider", "model", "status_class", "cached"), key),
                requests=0, errors=0, tokens_in=0, tokens_out=0, cost=0.0, duration_sum=0,
            )  # fmt: skip
        agg["requests"] += 1
        agg["errors"] += 0 if row["success"] else 1
        agg["tokens_in"] += row["tokens_in"] or 0
        agg["tokens_out"] += row["tokens_out"] or 0
        agg["cost"] += row["cost"] or 0.0
        agg["duration_sum"] += row["duration"] or 0
    return list(buckets.values())


async def index_search_backlog(conn: AsyncConnection, limit: int) -> int:
    """Index up to ``limit`` queued bodies in the caller's transaction (SQLite only)."""
    result = await conn.execute(_INDEX_PENDING, {"n": limit})
    if result.rowcount:
        await conn.execute(_DEQUEUE_PENDING, {"n": limit})
    return max(result.rowcount, 0)


class LogWriter:
    def __init__(self, store: Store, limits: LimitLookup) -> None:
        self._store = store
        self._limits = limits
        self._counts: dict[tuple[str, str], int] | None = None
        self.refused: dict[tuple[str, str], int] = defaultdict(int)
        """Rows not stored because their gateway was at its log limit (``STOP_INSERTING``)."""
        self.trimmed = 0
        """Rows deleted to make room (``DELETE_OLDEST``)."""
        upsert = sqlite.insert if store.is_sqlite else postgresql.insert
        statement = upsert(_ROLLUPS)
        self._rollup_upsert = statement.on_conflict_do_update(
            index_elements=[c.name for c in _ROLLUPS.primary_key],
            set_={name: getattr(_ROLLUPS.c, name) + getattr(statement.excluded, name) for name in _SUMMED},
        )

    def forget_counts(self) -> None:
        self._counts = None

    async def _load_counts(self, conn: AsyncConnection) -> dict[tuple[str, str], int]:
        result = await conn.execute(
            select(_LOGS.c.account_id, _LOGS.c.gateway_id, func.count()).group_by(_LOGS.c.account_id, _LOGS.c.gateway_id)
        )
        return {(a, g): n for a, g, n in result}

    async def write(self, rows: Sequence[dict[str, Any]], bodies: Sequence[dict[str, Any]]) -> None:
        """Store one batch (raises to have the pipeline retry it whole)."""
        async with self._store.engine.begin() as conn:
            counts = self._counts if self._counts is not None else await self._load_counts(conn)
            counts = dict(counts)
            keep, trims, refused = self._apply_limits(rows, counts)
            if keep:
                await conn.execute(insert(_LOGS), keep)
                kept_ids = {row["id"] for row in keep}
                kept_bodies = [b for b in bodies if b["log_id"] in kept_ids] if refused else list(bodies)
                if kept_bodies:
                    await conn.execute(insert(_BODIES), kept_bodies)
            await conn.execute(self._rollup_upsert, rollup_rows(rows))
            trimmed = 0
            for (account_id, gateway_id), excess in trims.items():
                trimmed += await self._trim(conn, account_id, gateway_id, excess)
                counts[(account_id, gateway_id)] -= excess
        self._counts = counts
        self.trimmed += trimmed
        for key, n in refused.items():
            self.refused[key] += n

    def _apply_limits(
        self, rows: Sequence[dict[str, Any]], counts: dict[tuple[str, str], int]
    ) -> tuple[list[dict[str, Any]], dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        keep: list[dict[str, Any]] = []
        trims: dict[tuple[str, str], int] = defaultdict(int)
        refused: dict[tuple[str, str], int] = defaultdict(int)
        for row in rows:
            key = (row["account_id"], row["gateway_id"])
            limit = self._limits(*key)
            current = counts.get(key, 0)
            if limit is not None and limit[0] is not None and current >= limit[0]:
                if limit[1] != "DELETE_OLDEST":
                    refused[key] += 1
                    continue
                trims[key] += 1
            counts[key] = current + 1
            keep.append(row)
        return keep, trims, refused

    async def index_pending(self, limit: int = 2_000) -> int:
        """Add up to ``limit`` queued bodies to the search index (SQLite); returns how many."""
        if not self._store.is_sqlite:
            return 0
        async with self._store.engine.begin() as conn:
            return await index_search_backlog(conn, limit)

    async def _trim(self, conn: AsyncConnection, account_id: str, gateway_id: str, excess: int) -> int:
        """Delete the ``excess`` oldest logs of a gateway (in chunks, so no statement runs long)."""
        done = 0
        while done < excess:
            chunk = min(_DELETE_CHUNK, excess - done)
            oldest = (
                select(_LOGS.c.id)
                .where(_LOGS.c.account_id == account_id, _LOGS.c.gateway_id == gateway_id)
                .order_by(_LOGS.c.created_at, _LOGS.c.id)
                .limit(chunk)
            )
            result = await conn.execute(delete(_LOGS).where(_LOGS.c.id.in_(oldest)))
            if not result.rowcount:
                break
            done += result.rowcount
        return done
