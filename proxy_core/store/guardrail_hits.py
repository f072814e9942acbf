"""Guardrail hits per minute (:class:`~proxy_core.store.models.GuardrailHit`): built from each
batch of log rows by the log writer, added in the batch's own transaction, and read by the
Guardrails counters over a bounded number of buckets whatever the number of logs."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable

from proxy_core.store.models import GuardrailHit

__all__ = ["GUARDRAIL_HITS", "BUCKET_MS", "guardrail_hit_rows", "guardrail_hit_upsert"]

GUARDRAIL_HITS: Table = GuardrailHit.__table__  # type: ignore[assignment]
BUCKET_MS = 60_000
"""One bucket per minute: the last hour is exactly 60 of them, a day 1,440."""
_ACTIONS = ("flag", "block", "ignore")


def guardrail_hit_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The per-minute hit counts of a batch of log rows: one per (gateway, minute, category,
    action applied) found in the rows' ``guardrails["actions"]``."""
    counts: dict[tuple[str, str, int, str, str], int] = {}
    for row in rows:
        guardrails = row.get("guardrails")
        actions = guardrails.get("actions") if isinstance(guardrails, Mapping) else None
        if not isinstance(actions, Mapping) or not actions:
            continue
        bucket = row["created_at"] - row["created_at"] % BUCKET_MS
        for code, action in actions.items():
            if isinstance(code, str) and action in _ACTIONS:
                key = (row["account_id"], row["gateway_id"], bucket, code, action)
                counts[key] = counts.get(key, 0) + 1
    return [
        {"account_id": a, "gateway_id": g, "bucket": b, "category": c, "action": x, "hits": n}
        for (a, g, b, c, x), n in counts.items()
    ]


def guardrail_hit_upsert(is_sqlite: bool) -> Executable:
    """``INSERT`` into ``guardrail_hits`` adding to the count of a bucket that already has a row."""
    statement = (sqlite.insert if is_sqlite else postgresql.insert)(GUARDRAIL_HITS)
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in GUARDRAIL_HITS.primary_key],
        set_={"hits": GUARDRAIL_HITS.c.hits + statement.excluded.hits},
    )
