"""The audit log: who changed what, from where, with old and new values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from proxy_core.ids import new_ulid
from proxy_core.services.types import Actor, AuditRecord, Clock, Page
from proxy_core.store.engine import Store
from proxy_core.store.models import AuditEntry

__all__ = ["AuditService", "record_change"]


def _changed_only(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[dict | None, dict | None]:
    """For updates, keep only the fields that changed (both sides), like the reference's entries."""
    if old is None or new is None:
        return old, new
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


async def record_change(
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    account_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
) -> None:
    """Add an audit entry in the caller's transaction (so the change and its record commit together)."""
    if action == "update":
        old, new = _changed_only(old, new)
        if not new:
            return
    now = clock()
    session.add(
        AuditEntry(
            id=new_ulid(now),
            created_at=now,
            account_id=account_id,
            actor=actor.name,
            interface=actor.interface,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            old_value=old,
            new_value=new,
        )
    )


@dataclass
class AuditService:
    store: Store
    account_id: str

    async def list(self, *, page: int = 1, per_page: int = 50, resource_id: str | None = None) -> Page[AuditRecord]:
        """Newest first."""
        where = [AuditEntry.account_id == self.account_id]
        if resource_id:
            where.append(AuditEntry.resource_id == resource_id)
        async with self.store.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*where))
            rows = await session.scalars(
                select(AuditEntry)
                .where(*where)
                .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            items = [
                AuditRecord(
                    id=r.id,
                    created_at=r.created_at,
                    actor=r.actor,
                    interface=r.interface,
                    action=r.action,
                    resource_type=r.resource_type,
                    resource_id=r.resource_id,
                    old_value=r.old_value,
                    new_value=r.new_value,
                )
                for r in rows
            ]
        return Page(items, page, per_page, int(total or 0))
