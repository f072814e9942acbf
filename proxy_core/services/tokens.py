"""Gateway authentication tokens: created (shown once), listed without secrets, revoked.

A token reads ``aigw_{id}_{secret}``; only a per-token salt and ``sha256(salt + secret)`` are
stored; requests are checked against them by :mod:`proxy_core.admission`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from proxy_core.admission import TOKEN_PREFIX, digest_secret
from proxy_core.directory import DirectoryUpdates
from proxy_core.ids import new_ulid
from proxy_core.services.audit import record_change
from proxy_core.services.errors import InvalidInput, NotFound
from proxy_core.services.types import Actor, Clock, NewToken, TokenInfo
from proxy_core.store.engine import Store
from proxy_core.store.models import Gateway, GatewayToken

__all__ = ["TokenService"]


def _info(row: GatewayToken) -> TokenInfo:
    return TokenInfo(row.id, row.gateway_id, row.name, row.hint, row.created_at, row.revoked_at)


@dataclass
class TokenService:
    store: Store
    account_id: str
    clock: Clock
    directory: DirectoryUpdates | None = None
    """Re-read after each change, so a new or revoked token counts from the next request."""

    async def _apply(self) -> None:
        if self.directory is not None:
            await self.directory.refresh()

    async def create(self, gateway_id: str, actor: Actor, name: str = "") -> NewToken:
        if not isinstance(name, str) or len(name) > 256:
            raise InvalidInput("name: a string of at most 256 characters", "name")
        now = self.clock()
        token_id = new_ulid(now)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        token = f"{TOKEN_PREFIX}{token_id.lower()}_{secret}"
        async with self.store.sessions.begin() as session:
            if await session.get(Gateway, (self.account_id, gateway_id)) is None:
                raise NotFound(f"gateway '{gateway_id}' not found")
            row = GatewayToken(
                id=token_id,
                account_id=self.account_id,
                gateway_id=gateway_id,
                name=name,
                salt=salt,
                digest=digest_secret(salt, secret),
                hint=secret[-4:],
                created_at=now,
                revoked_at=None,
            )
            session.add(row)
            await record_change(
                session, self.clock, actor, self.account_id, "create", "token", token_id, None,
                {"gateway_id": gateway_id, "name": name, "hint": row.hint},
            )  # fmt: skip
        await self._apply()
        return NewToken(_info(row), token)

    async def list(self, gateway_id: str, *, include_revoked: bool = True) -> list[TokenInfo]:
        where = [GatewayToken.account_id == self.account_id, GatewayToken.gateway_id == gateway_id]
        if not include_revoked:
            where.append(GatewayToken.revoked_at.is_(None))
        async with self.store.sessions() as session:
            rows = await session.scalars(select(GatewayToken).where(*where).order_by(GatewayToken.created_at))
            return [_info(r) for r in rows]

    async def find(self, token_id: str) -> TokenInfo:
        """A token of this account by id, whatever its gateway."""
        async with self.store.sessions() as session:
            row = await session.get(GatewayToken, token_id.upper())
            if row is None or row.account_id != self.account_id:
                raise NotFound(f"token '{token_id}' not found")
            return _info(row)

    async def revoke(self, gateway_id: str, token_id: str, actor: Actor) -> TokenInfo:
        async with self.store.sessions.begin() as session:
            row = await session.get(GatewayToken, token_id.upper())
            if row is None or row.account_id != self.account_id or row.gateway_id != gateway_id:
                raise NotFound(f"token '{token_id}' not found")
            if row.revoked_at is None:  # audited as a revoke: the token stays listed, refused from now on
                row.revoked_at = self.clock()
                token = {"gateway_id": gateway_id, "name": row.name, "hint": row.hint}
                await record_change(
                    session, self.clock, actor, self.account_id, "revoke", "token", row.id,
                    {**token, "revoked_at": None}, {**token, "revoked_at": row.revoked_at},
                )  # fmt: skip
            info = _info(row)
        await self._apply()
        return info
