"""Gateway rows: async functions that take a session (the service layer wraps them)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from proxy_core.store.models import Gateway

__all__ = ["list_gateways", "get_gateway", "insert_gateway", "ensure_default_gateway", "gateway_to_dict"]


def now_ms() -> int:
    return int(time.time() * 1000)


def gateway_to_dict(gateway: Gateway) -> dict[str, Any]:
    return {column.key: getattr(gateway, column.key) for column in Gateway.__mapper__.column_attrs}


async def list_gateways(session: AsyncSession, account_id: str | None = None) -> list[Gateway]:
    query = select(Gateway).order_by(Gateway.account_id, Gateway.id)
    if account_id is not None:
        query = query.where(Gateway.account_id == account_id)
    return list((await session.scalars(query)).all())


async def get_gateway(session: AsyncSession, account_id: str, gateway_id: str) -> Gateway | None:
    return await session.get(Gateway, (account_id, gateway_id))


async def insert_gateway(session: AsyncSession, account_id: str, gateway_id: str, **fields: Any) -> Gateway:
    stamp = now_ms()
    gateway = Gateway(account_id=account_id, id=gateway_id, created_at=stamp, modified_at=stamp, **fields)
    defaults = {
        "cache_invalidate_on_update": False,
        "collect_logs": True,
        "rate_limiting_technique": "fixed",
        "authentication": False,
        "log_management": 10_000_000,
        "log_management_strategy": "STOP_INSERTING",
        "logpush": False,
        "is_default": False,
    }
    for key, value in defaults.items():
        if getattr(gateway, key) is None:
            setattr(gateway, key, value)
    session.add(gateway)
    await session.flush()
    return gateway


async def ensure_default_gateway(session: AsyncSession, account_id: str) -> None:
    """Create the ``default`` gateway of ``account_id`` if it does not exist yet."""
    if await get_gateway(session, account_id, "default") is None:
        await insert_gateway(session, account_id, "default", is_default=True)
