"""Each gateway's Logpush state in the store: file sequences handed out atomically (two processes
on one PostgreSQL store never name two files alike) and the delivery figures consoles show."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from proxy_core.store.engine import Store
from proxy_core.store.models import LogpushState

__all__ = ["LogpushStatus", "allocate_sequence", "save_status", "read_status"]


@dataclass(frozen=True, slots=True)
class LogpushStatus:
    """Where one gateway's Logpush stands (times in Unix ms)."""

    account_id: str
    gateway_id: str
    delivered_files: int = 0
    delivered_records: int = 0
    last_delivery_at: int | None = None
    pending_records: int = 0
    """Records not delivered yet: waiting for their batch, or spooled after a failed delivery."""
    oldest_pending_at: int | None = None
    failures: int = 0
    """Deliveries that failed (each retried)."""
    last_error: str | None = None
    """Why the last delivery failed; ``None`` once one succeeds again."""
    last_error_at: int | None = None
    dropped_records: int = 0
    """Records lost because the spool was full."""

    def lag_ms(self, now_ms: int) -> int:
        """How long the oldest record not delivered has waited; 0 when everything is delivered."""
        return max(0, now_ms - self.oldest_pending_at) if self.oldest_pending_at is not None else 0


_FIGURES = tuple(f.name for f in dataclasses.fields(LogpushStatus) if f.name not in ("account_id", "gateway_id"))


async def allocate_sequence(store: Store, account_id: str, gateway_id: str, now_ms: int) -> int:
    """The next file sequence number of a gateway (1, 2, …), never handed out twice."""
    key = (LogpushState.account_id == account_id, LogpushState.gateway_id == gateway_id)
    for _ in range(2):
        try:
            async with store.sessions.begin() as session:
                result = await session.execute(
                    update(LogpushState).where(*key).values(next_sequence=LogpushState.next_sequence + 1)
                )
                if result.rowcount:
                    return int(await session.scalar(select(LogpushState.next_sequence).where(*key))) - 1
                session.add(LogpushState(
                    account_id=account_id, gateway_id=gateway_id, next_sequence=2, delivered_files=0,
                    delivered_records=0, pending_records=0, failures=0, dropped_records=0, updated_at=now_ms,
                ))  # fmt: skip
            return 1
        except IntegrityError:  # another process created the row first: take the update path
            continue
    raise RuntimeError(f"could not allocate a logpush sequence for {account_id}/{gateway_id}")


async def save_status(store: Store, status: LogpushStatus, now_ms: int) -> None:
    """Record the figures of ``status`` (the row exists once a sequence was allocated)."""
    values = {name: getattr(status, name) for name in _FIGURES}
    async with store.sessions.begin() as session:
        await session.execute(
            update(LogpushState)
            .where(LogpushState.account_id == status.account_id, LogpushState.gateway_id == status.gateway_id)
            .values(**values, updated_at=now_ms)
        )


async def read_status(store: Store, account_id: str) -> dict[str, LogpushStatus]:
    """Every gateway's saved status in ``account_id``, by gateway id."""
    async with store.sessions() as session:
        rows = await session.scalars(select(LogpushState).where(LogpushState.account_id == account_id))
        return {
            row.gateway_id: LogpushStatus(row.account_id, row.gateway_id, **{n: getattr(row, n) for n in _FIGURES})
            for row in rows
        }
