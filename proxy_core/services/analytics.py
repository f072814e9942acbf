"""Analytics over time: requests, tokens, cost, errors and cache hits, from the rollups.

Answers never scan raw logs: the log writer keeps per-minute and per-hour rollups up to date in
the same transaction as the logs, and each query reads the coarsest one that serves its bucket
size (:func:`proxy_core.store.rollups.rollup_source`), so a 30-day chart by hour or day reads 720
hours × groups, not 43,200 minutes × groups, with the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import case, func, literal, select
from sqlalchemy.sql import Selectable

from proxy_core.services.errors import InvalidInput
from proxy_core.store.engine import Store
from proxy_core.store.rollups import HOUR_MS, MINUTE_MS, rollup_source

__all__ = ["AnalyticsPoint", "AnalyticsService", "BUCKETS", "GROUPS"]

BUCKETS = {"minute": MINUTE_MS, "hour": HOUR_MS, "day": 24 * HOUR_MS}
GROUPS = ("provider", "model", "gateway_id")


@dataclass(frozen=True, slots=True)
class AnalyticsPoint:
    """Totals of one time bucket (and one group, when grouped)."""

    bucket: int
    """Start of the bucket, Unix milliseconds."""
    group: str | None
    requests: int
    errors: int
    cached: int
    tokens_in: int
    tokens_out: int
    cost: float
    duration_sum: int

    @property
    def cache_hit_ratio(self) -> float:
        return self.cached / self.requests if self.requests else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def avg_duration(self) -> float:
        return self.duration_sum / self.requests if self.requests else 0.0


@dataclass
class AnalyticsService:
    store: Store
    account_id: str

    def _source(self, gateway_id: str | None, start_ms: int, end_ms: int, bucket_ms: int | None = None) -> Selectable:
        """The rollup rows of the range, from the coarsest table serving ``bucket_ms`` (None: any)."""
        if end_ms <= start_ms:
            raise InvalidInput("time range: the end must come after the start")
        return rollup_source(self.account_id, gateway_id, start_ms, end_ms, bucket_ms)

    @staticmethod
    def _sums(r: Selectable) -> list:
        return [
            func.sum(r.c.requests),
            func.sum(r.c.errors),
            func.sum(case((r.c.cached, r.c.requests), else_=0)),
            func.sum(r.c.tokens_in),
            func.sum(r.c.tokens_out),
            func.sum(r.c.cost),
            func.sum(r.c.duration_sum),
        ]

    async def series(
        self,
        gateway_id: str | None,
        start_ms: int,
        end_ms: int,
        bucket: Literal["minute", "hour", "day"] = "hour",
        group_by: str | None = None,
    ) -> list[AnalyticsPoint]:
        """Points per bucket in ``[start_ms, end_ms)``, oldest first; empty buckets are left out."""
        if bucket not in BUCKETS:
            raise InvalidInput(f"bucket: expected one of {', '.join(BUCKETS)}", "bucket")
        if group_by is not None and group_by not in GROUPS:
            raise InvalidInput(f"group_by: expected one of {', '.join(GROUPS)}", "group_by")
        size = BUCKETS[bucket]
        r = self._source(gateway_id, start_ms, end_ms, size)
        slot = (r.c.bucket - (r.c.bucket % size)).label("slot")
        group = r.c[group_by].label("grp") if group_by else literal(None).label("grp")
        query = select(slot, group, *self._sums(r)).group_by(slot, group).order_by(slot, group)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_point(row) for row in rows]

    async def breakdown(
        self, gateway_id: str | None, start_ms: int, end_ms: int, group_by: str = "provider"
    ) -> list[AnalyticsPoint]:
        """Totals per provider / model / gateway over the range, busiest first (``bucket`` = start)."""
        if group_by not in GROUPS:
            raise InvalidInput(f"group_by: expected one of {', '.join(GROUPS)}", "group_by")
        r = self._source(gateway_id, start_ms, end_ms)
        query = (
            select(literal(start_ms), r.c[group_by], *self._sums(r))
            .group_by(r.c[group_by])
            .order_by(func.sum(r.c.requests).desc())
        )
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_point(row) for row in rows]

    async def totals(self, gateway_id: str | None, start_ms: int, end_ms: int) -> AnalyticsPoint:
        r = self._source(gateway_id, start_ms, end_ms)
        query = select(literal(start_ms), literal(None), *self._sums(r))
        async with self.store.engine.connect() as conn:
            row = (await conn.execute(query)).one()
        return _point(row)


def _point(row) -> AnalyticsPoint:  # noqa: ANN001 - a result row
    slot, group, requests, errors, cached, tokens_in, tokens_out, cost, duration = row
    return AnalyticsPoint(
        bucket=int(slot),
        group=None if group is None else str(group),
        requests=int(requests or 0),
        errors=int(errors or 0),
        cached=int(cached or 0),
        tokens_in=int(tokens_in or 0),
        tokens_out=int(tokens_out or 0),
        cost=float(cost or 0.0),
        duration_sum=int(duration or 0),
    )
