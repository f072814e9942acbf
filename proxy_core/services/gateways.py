"""Gateways: list, create, read, update, delete — validated, audited, and applied at once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import delete, func, select

from proxy_core.cache import CacheBackend
from proxy_core.cache.keys import ttl_from_header
from proxy_core.directory import DirectoryUpdates, GatewayConfig
from proxy_core.guardrails.categories import normalize_policy
from proxy_core.logpush import LogpushStatus, load_public_key, read_status
from proxy_core.services.audit import record_change
from proxy_core.services.errors import Conflict, InvalidInput, NotFound
from proxy_core.services.types import Actor, Clock, GatewayInfo, Page
from proxy_core.store.engine import Store
from proxy_core.store.gateways import gateway_to_dict
from proxy_core.store.models import Dataset, Gateway, GatewayToken, GuardrailHit, Log

__all__ = ["GatewayService", "validate_settings"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _int(field: str, value: Any, *, low: int, high: int, nullable: bool = True) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidInput(f"{field}: expected an integer" + (" or null" if nullable else ""), field)
    if not low <= value <= high:
        raise InvalidInput(f"{field}: must be between {low} and {high}", field)
    return value


def _cache_ttl(value: Any) -> int | None:
    """A gateway's default TTL obeys the ``cf-aig-cache-ttl`` rule (0, or 60 s to a month), so a
    value a request could not ask for cannot hide in the settings either; null means no caching."""
    seconds = _int("cache_ttl", value, low=-(2**63), high=2**63 - 1)  # the range is the header rule's
    if seconds is None:
        return None
    try:
        return ttl_from_header(str(seconds), "cache_ttl")
    except ValueError as exc:
        raise InvalidInput(str(exc), "cache_ttl") from None


def _bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field}: expected true or false", field)
    return value


def _choice(field: str, value: Any, choices: tuple[str, ...], *, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(f"{field}: expected one of {', '.join(choices)}", field)
    return value


def validate_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise gateway settings; unknown fields are refused by name."""
    out: dict[str, Any] = {}
    for field, value in values.items():
        if field == "cache_ttl":
            out[field] = _cache_ttl(value)
        elif field in ("cache_invalidate_on_update", "collect_logs", "authentication", "logpush"):
            out[field] = _bool(field, value)
        elif field == "rate_limiting_interval":  # 0 (Cloudflare's "off", as its SDK sends it) or null: no limit
            out[field] = _int(field, value, low=0, high=86_400)
        elif field == "rate_limiting_limit":
            out[field] = _int(field, value, low=0, high=10_000_000)
        elif field == "rate_limiting_technique":
            out[field] = _choice(field, value if value is not None else "fixed", ("fixed", "sliding"))
        elif field == "log_management":
            out[field] = _int(field, value, low=1, high=100_000_000)
        elif field == "log_management_strategy":
            out[field] = _choice(
                field, value if value is not None else "STOP_INSERTING", ("STOP_INSERTING", "DELETE_OLDEST")
            )
        elif field == "logpush_public_key":
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"{field}: expected a PEM public key string", field)
            if value and value.strip():
                try:
                    load_public_key(value)
                except ValueError as exc:
                    raise InvalidInput(f"{field}: {exc}", field) from None
            out[field] = value if value and value.strip() else None
        elif field == "guardrails":
            try:
                out[field] = None if value is None else normalize_policy(value)
            except ValueError as exc:
                raise InvalidInput(str(exc), field) from None
        elif field == "retry_max_attempts":
            out[field] = _int(field, value, low=1, high=5)
        elif field == "retry_delay":
            out[field] = _int(field, value, low=0, high=5000)
        elif field == "retry_backoff":
            out[field] = _choice(field, value, ("constant", "linear", "exponential"), nullable=True)
        else:
            raise InvalidInput(f"unknown gateway field {field!r}", field)
    return out


def _info(row: Gateway) -> GatewayInfo:
    return GatewayInfo(**gateway_to_dict(row))


@dataclass
class GatewayService:
    store: Store
    account_id: str
    clock: Clock
    directory: DirectoryUpdates | None = None
    cache: CacheBackend | None = None
    """Cleared for a gateway whose settings change while ``cache_invalidate_on_update`` is on."""

    async def _publish(self, info: GatewayInfo) -> None:
        if self.directory is not None:
            await self.directory.put(GatewayConfig.from_row(gateway_to_dict_info(info)))

    async def list(self, *, page: int = 1, per_page: int = 50, search: str | None = None) -> Page[GatewayInfo]:
        where = [Gateway.account_id == self.account_id]
        if search:
            where.append(Gateway.id.contains(search))
        async with self.store.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Gateway).where(*where))
            rows = await session.scalars(
                select(Gateway).where(*where).order_by(Gateway.id).limit(per_page).offset((page - 1) * per_page)
            )
            return Page([_info(r) for r in rows], page, per_page, int(total or 0))

    async def get(self, gateway_id: str) -> GatewayInfo:
        async with self.store.sessions() as session:
            row = await session.get(Gateway, (self.account_id, gateway_id))
            if row is None:
                raise NotFound(f"gateway '{gateway_id}' not found")
            return _info(row)

    async def create(self, gateway_id: str, settings: Mapping[str, Any], actor: Actor) -> GatewayInfo:
        if not isinstance(gateway_id, str) or not _ID.match(gateway_id):
            raise InvalidInput("id: lower-case letters, digits, '-' and '_', at most 64 characters", "id")
        values = validate_settings(settings)
        if values.get("logpush") and not values.get("logpush_public_key"):
            raise InvalidInput("logpush: needs logpush_public_key", "logpush")
        now = self.clock()
        async with self.store.sessions.begin() as session:
            if await session.get(Gateway, (self.account_id, gateway_id)) is not None:
                raise Conflict(f"gateway '{gateway_id}' already exists")
            row = Gateway(account_id=self.account_id, id=gateway_id, created_at=now, modified_at=now, is_default=False)
            defaults = {
                "cache_invalidate_on_update": False,
                "collect_logs": True,
                "rate_limiting_technique": "fixed",
                "authentication": False,
                "log_management": 10_000_000,
                "log_management_strategy": "STOP_INSERTING",
                "logpush": False,
            }
            for key, value in {**defaults, **values}.items():
                setattr(row, key, value)
            session.add(row)
            await session.flush()
            info = _info(row)
            await record_change(
                session, self.clock, actor, self.account_id, "create", "gateway", gateway_id, None, info.settings()
            )
        await self._publish(info)
        return info

    async def update(self, gateway_id: str, changes: Mapping[str, Any], actor: Actor) -> GatewayInfo:
        """Change some settings (the API's PUT sends them all; the console sends one)."""
        values = validate_settings(changes)
        async with self.store.sessions.begin() as session:
            row = await session.get(Gateway, (self.account_id, gateway_id))
            if row is None:
                raise NotFound(f"gateway '{gateway_id}' not found")
            old = _info(row).settings()
            merged = {**old, **values}
            if merged.get("logpush") and not merged.get("logpush_public_key"):
                raise InvalidInput("logpush: needs logpush_public_key", "logpush")
            for key, value in values.items():
                setattr(row, key, value)
            if any(old[k] != merged[k] for k in values):
                row.modified_at = self.clock()
            await session.flush()
            info = _info(row)
            await record_change(
                session, self.clock, actor, self.account_id, "update", "gateway", gateway_id, old, info.settings()
            )
        await self._publish(info)
        if self.cache is not None and info.cache_invalidate_on_update and any(old[k] != merged[k] for k in values):
            await self.cache.clear(self.account_id, gateway_id)
        return info

    async def logpush_status(self) -> dict[str, LogpushStatus]:
        """Where each gateway's Logpush stands, as the gateway last saved it (by gateway id)."""
        return await read_status(self.store, self.account_id)

    async def delete(self, gateway_id: str, actor: Actor) -> GatewayInfo:
        """Delete a gateway with its logs, datasets, tokens and guardrail hit counts."""
        async with self.store.sessions.begin() as session:
            row = await session.get(Gateway, (self.account_id, gateway_id))
            if row is None:
                raise NotFound(f"gateway '{gateway_id}' not found")
            info = _info(row)
            for model in (Log, Dataset, GatewayToken, GuardrailHit):  # a gateway made again later starts at zero hits
                await session.execute(
                    delete(model).where(model.account_id == self.account_id, model.gateway_id == gateway_id)
                )
            await session.delete(row)
            await record_change(
                session, self.clock, actor, self.account_id, "delete", "gateway", gateway_id, info.settings(), None
            )
        if self.directory is not None:
            await self.directory.remove(self.account_id, gateway_id)
        return info


def gateway_to_dict_info(info: GatewayInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in info.__slots__}
