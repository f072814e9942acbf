"""The gateways the proxy serves, held in memory so no request waits for the database.

Loaded at start, updated at once by the service layer in this process, and re-read every few
seconds so changes made by another process sharing the store (a PostgreSQL deployment, an
attached console) take effect without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Protocol

from sqlalchemy import select

from proxy_core.store.engine import Store
from proxy_core.store.gateways import gateway_to_dict, list_gateways
from proxy_core.store.models import GatewayToken

__all__ = ["DirectoryUpdates", "GatewayConfig", "GatewayDirectory"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The settings of one gateway that the request path reads."""

    account_id: str
    id: str
    collect_logs: bool = True
    authentication: bool = False
    cache_ttl: int | None = None
    rate_limiting_interval: int | None = None
    rate_limiting_limit: int | None = None
    rate_limiting_technique: str = "fixed"
    log_management: int | None = None
    log_management_strategy: str = "STOP_INSERTING"
    guardrails: Mapping[str, Any] | None = None
    retry_max_attempts: int | None = None
    retry_delay: int | None = None
    retry_backoff: str | None = None
    cache_invalidate_on_update: bool = False
    logpush: bool = False
    logpush_public_key: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "GatewayConfig":
        return cls(**{name: row[name] for name in cls.__slots__ if name in row})


class DirectoryUpdates(Protocol):
    """What the service layer tells the gateways' directory after it changed them: the
    :class:`GatewayDirectory` itself in the gateway process, a message to the gateway when attached."""

    async def put(self, config: GatewayConfig) -> None: ...

    async def remove(self, account_id: str, gateway_id: str) -> None: ...

    async def refresh(self) -> None: ...


class GatewayDirectory:
    """``on_changed`` hears of gateways whose settings a refresh found changed (by another process:
    changes made through this process's service layer are ``put`` here first)."""

    def __init__(
        self,
        store: Store,
        refresh_interval: float = 3.0,
        *,
        on_changed: Callable[[list[GatewayConfig]], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._interval = refresh_interval
        self._on_changed = on_changed
        self._gateways: dict[tuple[str, str], GatewayConfig] = {}
        self._tokens: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        self._task: asyncio.Task[None] | None = None

    def get(self, account_id: str, gateway_id: str) -> GatewayConfig | None:
        return self._gateways.get((account_id, gateway_id))

    def log_limit(self, account_id: str, gateway_id: str) -> tuple[int | None, str] | None:
        """The gateway's ``(log_management, log_management_strategy)``, for the log writer."""
        gateway = self._gateways.get((account_id, gateway_id))
        if gateway is None:
            return None
        return gateway.log_management, gateway.log_management_strategy

    def token_digest(self, account_id: str, gateway_id: str, token_id: str) -> tuple[str, str] | None:
        """``(salt, digest)`` of an active token of the gateway, or ``None``."""
        return self._tokens.get((account_id, gateway_id), {}).get(token_id)

    def accounts(self) -> set[str]:
        return {account for account, _ in self._gateways}

    def with_logpush(self) -> list[str]:
        """``account/gateway`` of every gateway with Logpush on, sorted."""
        return sorted(f"{a}/{g}" for (a, g), config in self._gateways.items() if config.logpush)

    async def put(self, config: GatewayConfig) -> None:
        self._gateways[(config.account_id, config.id)] = config

    async def remove(self, account_id: str, gateway_id: str) -> None:
        self._gateways.pop((account_id, gateway_id), None)

    async def refresh(self) -> None:
        async with self._store.sessions() as session:
            rows = await list_gateways(session)
            tokens = await session.execute(
                select(GatewayToken.account_id, GatewayToken.gateway_id, GatewayToken.id, GatewayToken.salt,
                       GatewayToken.digest).where(GatewayToken.revoked_at.is_(None))
            )  # fmt: skip
            by_gateway: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
            for account_id, gateway_id, token_id, salt, digest in tokens:
                by_gateway.setdefault((account_id, gateway_id), {})[token_id] = (salt, digest)
        old = self._gateways
        self._gateways = {(g.account_id, g.id): GatewayConfig.from_row(gateway_to_dict(g)) for g in rows}
        self._tokens = by_gateway
        changed = [new for key, new in self._gateways.items() if key in old and old[key] != new]
        if changed and self._on_changed is not None:
            await self._on_changed(changed)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll(), name="aigw-gateway-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except Exception as exc:  # keep serving with the last known settings
                log.warning("could not refresh gateways from the store: %s", exc)
