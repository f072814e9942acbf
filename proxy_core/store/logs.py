"""Log writes: one Core ``executemany`` per table and batch (the ORM is far too slow here)."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import insert

from proxy_core.store.engine import Store
from proxy_core.store.models import Log, LogBody

__all__ = ["insert_logs"]

_LOGS = Log.__table__
_BODIES = LogBody.__table__


async def insert_logs(store: Store, rows: Sequence[dict[str, Any]], bodies: Sequence[dict[str, Any]]) -> None:
    """Insert a batch of log rows and their bodies in one transaction."""
    async with store.engine.begin() as conn:
        await conn.execute(insert(_LOGS), list(rows))
        if bodies:
            await conn.execute(insert(_BODIES), list(bodies))
