"""Datasets: named, saved log filters. They are live queries: new matching logs join them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from proxy_core.ids import new_ulid
from proxy_core.services.audit import record_change
from proxy_core.services.errors import InvalidInput, NotFound
from proxy_core.services.types import Actor, Clock, Page
from proxy_core.store.engine import Store
from proxy_core.store.filters import FilterError, LogFilter, parse_json, to_json
from proxy_core.store.models import Dataset, Gateway

__all__ = ["DatasetInfo", "DatasetService"]


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    id: str
    gateway_id: str
    name: str
    enable: bool
    filter: LogFilter
    created_at: int
    modified_at: int

    def filters_json(self) -> list[dict[str, Any]]:
        """The filter in Cloudflare's JSON form."""
        return to_json(self.filter)["filters"]


def _info(row: Dataset) -> DatasetInfo:
    return DatasetInfo(
        row.id, row.gateway_id, row.name, row.enable, parse_json(row.filters), row.created_at, row.modified_at
    )


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidInput("name: a non-empty string of at most 256 characters", "name")
    return name.strip()


def _filters(value: Any) -> LogFilter:
    if isinstance(value, LogFilter):
        return value
    try:
        return parse_json(value if value is not None else [])
    except FilterError as exc:
        raise InvalidInput(f"filters: {exc}", "filters") from None


@dataclass
class DatasetService:
    store: Store
    account_id: str
    clock: Clock

    async def list(
        self, gateway_id: str, *, page: int = 1, per_page: int = 50, search: str | None = None,
        enable: bool | None = None,
    ) -> Page[DatasetInfo]:  # fmt: skip
        where = [Dataset.account_id == self.account_id, Dataset.gateway_id == gateway_id]
        if search:
            where.append(Dataset.name.contains(search))
        if enable is not None:
            where.append(Dataset.enable == enable)
        async with self.store.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Dataset).where(*where))
            rows = await session.scalars(
                select(Dataset).where(*where).order_by(Dataset.created_at.desc())
                .limit(per_page).offset((page - 1) * per_page)
            )  # fmt: skip
            return Page([_info(r) for r in rows], page, per_page, int(total or 0))

    async def get(self, gateway_id: str, dataset_id: str) -> DatasetInfo:
        async with self.store.sessions() as session:
            row = await session.get(Dataset, dataset_id)
            if row is None or row.account_id != self.account_id or row.gateway_id != gateway_id:
                raise NotFound(f"dataset '{dataset_id}' not found")
            return _info(row)

    async def create(
        self, gateway_id: str, name: Any, filters: Any, actor: Actor, *, enable: bool = True
    ) -> DatasetInfo:
        """``filters`` is a :class:`LogFilter` or Cloudflare's JSON filter array."""
        name = _check_name(name)
        log_filter = _filters(filters)
        if not isinstance(enable, bool):
            raise InvalidInput("enable: expected true or false", "enable")
        now = self.clock()
        stored = to_json(log_filter)
        async with self.store.sessions.begin() as session:
            if await session.get(Gateway, (self.account_id, gateway_id)) is None:
                raise NotFound(f"gateway '{gateway_id}' not found")
            row = Dataset(
                id=new_ulid(now), account_id=self.account_id, gateway_id=gateway_id, name=name, enable=enable,
                filters=stored, created_at=now, modified_at=now,
            )  # fmt: skip
            session.add(row)
            await record_change(
                session, self.clock, actor, self.account_id, "create", "dataset", row.id, None,
                {"name": name, "filters": stored, "enable": enable},
            )  # fmt: skip
            return _info(row)

    async def update(
        self, gateway_id: str, dataset_id: str, actor: Actor, *, name: Any = None, filters: Any = None,
        enable: bool | None = None,
    ) -> DatasetInfo:  # fmt: skip
        async with self.store.sessions.begin() as session:
            row = await session.get(Dataset, dataset_id)
            if row is None or row.account_id != self.account_id or row.gateway_id != gateway_id:
                raise NotFound(f"dataset '{dataset_id}' not found")
            old = {"name": row.name, "filters": row.filters, "enable": row.enable}
            if name is not None:
                row.name = _check_name(name)
            if filters is not None:
                row.filters = to_json(_filters(filters))
            if enable is not None:
                if not isinstance(enable, bool):
                    raise InvalidInput("enable: expected true or false", "enable")
                row.enable = enable
            row.modified_at = self.clock()
            new = {"name": row.name, "filters": row.filters, "enable": row.enable}
            await record_change(session, self.clock, actor, self.account_id, "update", "dataset", row.id, old, new)
            return _info(row)

    async def delete(self, gateway_id: str, dataset_id: str, actor: Actor) -> DatasetInfo:
        async with self.store.sessions.begin() as session:
            row = await session.get(Dataset, dataset_id)
            if row is None or row.account_id != self.account_id or row.gateway_id != gateway_id:
                raise NotFound(f"dataset '{dataset_id}' not found")
            info = _info(row)
            await session.delete(row)
            await record_change(
                session, self.clock, actor, self.account_id, "delete", "dataset", dataset_id,
                {"name": info.name}, None,
            )  # fmt: skip
            return info
