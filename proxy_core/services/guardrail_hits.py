"""Guardrail hits per hazard category over the last hour and the last 24 hours.

Read from the per-minute ``guardrail_hits`` counts the log writer keeps beside the rollups
(:mod:`proxy_core.store.guardrail_hits`): one query over at most 1,440 minutes × categories ×
actions of one gateway, whatever the number of logs. The current minute counts whole; a window
starts at the minute ``window`` before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from proxy_core.services.types import Clock
from proxy_core.store.engine import Store
from proxy_core.store.guardrail_hits import BUCKET_MS, GUARDRAIL_HITS

__all__ = ["CategoryHits", "GuardrailHitService", "HOUR_MS", "DAY_MS"]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class CategoryHits:
    """How many requests a guardrail found one category in, by what the policy did."""

    category: str
    hour_flagged: int = 0
    hour_blocked: int = 0
    day_flagged: int = 0
    day_blocked: int = 0
    day_ignored: int = 0
    """Found while the category was on ``ignore``: neither flagged nor blocked."""

    @property
    def hour(self) -> int:
        """Flagged or blocked in the last hour."""
        return self.hour_flagged + self.hour_blocked

    @property
    def day(self) -> int:
        """Flagged or blocked in the last 24 hours."""
        return self.day_flagged + self.day_blocked


class GuardrailHitService:
    def __init__(self, store: Store, account_id: str, clock: Clock) -> None:
        self.store = store
        self.account_id = account_id
        self.clock = clock

    async def counts(self, gateway_id: str) -> dict[str, CategoryHits]:
        """Each category found in the last 24 hours, by S-code (categories never found are absent)."""
        now = self.clock()
        current = now - now % BUCKET_MS
        hour_from, day_from = current - HOUR_MS + BUCKET_MS, current - DAY_MS + BUCKET_MS
        t = GUARDRAIL_HITS.c

        def total(action: str, since: int):  # noqa: ANN202 - a SQL expression
            return func.sum(case(((t.action == action) & (t.bucket >= since), t.hits), else_=0))

        query = (
            select(
                t.category, total("flag", hour_from), total("block", hour_from), total("flag", day_from),
                total("block", day_from), total("ignore", day_from),
            )
            .where(t.account_id == self.account_id, t.gateway_id == gateway_id, t.bucket >= day_from)
            .group_by(t.category)
        )  # fmt: skip
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {
            code: CategoryHits(code, int(hf or 0), int(hb or 0), int(df or 0), int(db or 0), int(di or 0))
            for code, hf, hb, df, db, di in rows
        }
