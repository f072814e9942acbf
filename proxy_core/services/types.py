"""The plain dataclasses services return: no ORM objects leave the service layer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

__all__ = [
    "Actor",
    "Clock",
    "system_clock",
    "Page",
    "GatewayInfo",
    "TokenInfo",
    "NewToken",
    "AuditRecord",
    "GATEWAY_SETTINGS",
]

T = TypeVar("T")

Clock = Callable[[], int]
"""Returns the current time in Unix milliseconds (injected in tests)."""


def system_clock() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit log: a name and the interface it came through."""

    name: str
    interface: str
    """``console``, ``API`` or ``CLI``."""
    ip: str | None = None
    """The address of the API caller; ``None`` for the console and the CLI, which change the store
    from their own process rather than over the network."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total_count: int


GATEWAY_SETTINGS = (
    "cache_ttl",
    "cache_invalidate_on_update",
    "collect_logs",
    "rate_limiting_interval",
    "rate_limiting_limit",
    "rate_limiting_technique",
    "authentication",
    "log_management",
    "log_management_strategy",
    "logpush",
    "logpush_public_key",
    "guardrails",
    "retry_max_attempts",
    "retry_delay",
    "retry_backoff",
)
"""The settings an operator may change, in display order."""


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    account_id: str
    id: str
    cache_ttl: int | None
    cache_invalidate_on_update: bool
    collect_logs: bool
    rate_limiting_interval: int | None
    rate_limiting_limit: int | None
    rate_limiting_technique: str
    authentication: bool
    log_management: int | None
    log_management_strategy: str
    logpush: bool
    logpush_public_key: str | None
    guardrails: dict[str, Any] | None
    retry_max_attempts: int | None
    retry_delay: int | None
    retry_backoff: str | None
    is_default: bool
    created_at: int
    modified_at: int

    def settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in GATEWAY_SETTINGS}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A gateway token as listed: never the secret."""

    id: str
    gateway_id: str
    name: str
    hint: str
    created_at: int
    revoked_at: int | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: ``secret`` is shown once and never stored."""

    info: TokenInfo
    secret: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: str
    created_at: int
    actor: str
    interface: str
    action: str
    resource_type: str
    resource_id: str
    old_value: dict[str, Any] | None = field(default=None)
    new_value: dict[str, Any] | None = field(default=None)
    actor_ip: str | None = None
    """The API caller's address (see :attr:`Actor.ip`)."""
