"""The audit log: who changed what, from where, with old and new values."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from proxy_core.ids import new_ulid
from proxy_core.services.types import Actor, AuditRecord, Clock, Page
from proxy_core.store.engine import Store
from proxy_core.store.models import AuditEntry

__all__ = ["AuditQuery", "AuditService", "record_change"]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _changed_only(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[dict | None, dict | None]:
    """For updates, keep only the fields that changed (both sides), like the reference's entries."""
    if old is None or new is None:
        return old, new
    keys = [k for k in new if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


def _actor_column(actor: Actor) -> str:
    """The ``actor`` column holds the name, then the caller's address after a space when there is
    one: the audit table has no column of its own for it (a new column is a store migration)."""
    return f"{actor.name} {actor.ip}" if actor.ip else actor.name


def _actor_from_column(text: str) -> tuple[str, str | None]:
    """Name and address back from :func:`_actor_column` (rows written before addresses have none)."""
    name, space, tail = text.rpartition(" ")
    if space:
        try:
            return name, str(ipaddress.ip_address(tail))
        except ValueError:
            pass
    return text, None


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
            actor=_actor_column(actor),
            interface=actor.interface,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            old_value=old,
            new_value=new,
        )
    )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries to list: Cloudflare's ``audit_logs`` filters plus ``resource_id``.

    Filters on things this gateway never records (an actor's e-mail, a zone) and
    ``hide_user_logs`` (every change here is a user's) select nothing, as they would on Cloudflare.
    """

    id: str | None = None
    resource_id: str | None = None
    action: str | None = None
    """``create``, ``update`` or ``delete``."""
    actor_ip: IpNetwork | None = None
    """An address (a one-address network) or a CIDR range the caller's address lies in."""
    actor_email: str | None = None
    zone: str | None = None
    hide_user_logs: bool = False
    since: int | None = None
    """Unix ms, inclusive."""
    before: int | None = None
    """Unix ms, exclusive."""
    oldest_first: bool = False

    def selects_nothing(self) -> bool:
        return self.actor_email is not None or self.zone is not None or self.hide_user_logs


def _record(row: AuditEntry) -> AuditRecord:
    name, ip = _actor_from_column(row.actor)
    return AuditRecord(
        id=row.id,
        created_at=row.created_at,
        actor=name,
        interface=row.interface,
        action=row.action,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        old_value=row.old_value,
        new_value=row.new_value,
        actor_ip=ip,
    )


def _in_network(record: AuditRecord, network: IpNetwork) -> bool:
    return record.actor_ip is not None and ipaddress.ip_address(record.actor_ip) in network


@dataclass
class AuditService:
    store: Store
    account_id: str

    async def list(self, query: AuditQuery = AuditQuery(), *, page: int = 1, per_page: int = 50) -> Page[AuditRecord]:
        """Newest first unless ``query.oldest_first``.

        An address filter is applied after reading (the address shares the ``actor`` column), over
        the entries the other filters leave: changes are made by people, so these stay few.
        """
        if query.selects_nothing():
            return Page([], page, per_page, 0)
        where = [AuditEntry.account_id == self.account_id]
        for column, value in ((AuditEntry.id, query.id), (AuditEntry.resource_id, query.resource_id),
                              (AuditEntry.action, query.action)):  # fmt: skip
            if value:
                where.append(column == value)
        if query.since is not None:
            where.append(AuditEntry.created_at >= query.since)
        if query.before is not None:
            where.append(AuditEntry.created_at < query.before)
        order = (AuditEntry.created_at, AuditEntry.id)
        ordered = select(AuditEntry).where(*where).order_by(*(c if query.oldest_first else c.desc() for c in order))
        offset = (page - 1) * per_page
        async with self.store.sessions() as session:
            if query.actor_ip is not None:
                network = query.actor_ip
                matching = [r for r in map(_record, await session.scalars(ordered)) if _in_network(r, network)]
                return Page(matching[offset : offset + per_page], page, per_page, len(matching))
            total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*where))
            rows = await session.scalars(ordered.limit(per_page).offset(offset))
            return Page([_record(r) for r in rows], page, per_page, int(total or 0))
