"""Evaluations: evaluators run once over datasets, frozen at the moment they start.

Evaluators (Cloudflare's three): ``cost`` (average cost of the logs that have one), ``speed``
(average duration in ms) and ``human_feedback`` (% thumbs up among the logs that were rated).
Each result says how many logs it used: logs missing the field are left out, not counted as 0.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, or_, select, update

from proxy_core.ids import new_ulid
from proxy_core.redact import redact_text
from proxy_core.services.audit import record_change
from proxy_core.services.datasets import DatasetInfo, DatasetService
from proxy_core.services.errors import InvalidInput, NotFound
from proxy_core.services.types import Actor, Clock, Page
from proxy_core.store.engine import Store
from proxy_core.store.filter_sql import filter_clause
from proxy_core.store.filters import parse_json, to_json
from proxy_core.store.models import Evaluation, EvaluationResult, Log

__all__ = ["EVALUATION_TYPES", "EvaluationType", "EvaluationInfo", "ResultInfo", "EvaluationService"]

log = logging.getLogger(__name__)
_LOGS = Log.__table__


@dataclass(frozen=True, slots=True)
class EvaluationType:
    id: str
    name: str
    type: str
    description: str
    enable: bool = True
    mandatory: bool = False


EVALUATION_TYPES: tuple[EvaluationType, ...] = (
    EvaluationType("cost", "Cost", "cost", "Average cost (USD) of the logs that have a cost."),
    EvaluationType("speed", "Speed", "speed", "Average request duration (ms) of the logs."),
    EvaluationType(
        "human_feedback", "Human feedback", "human_feedback",
        "Percentage of thumbs up among the logs that were rated (thumbs up or down).",
    ),  # fmt: skip
)
_TYPES = {t.id: t for t in EVALUATION_TYPES}


@dataclass(frozen=True, slots=True)
class ResultInfo:
    id: str
    evaluation_type_id: str
    status: str
    """``running``, ``completed`` or ``error``."""
    value: float | None
    logs_used: int
    description: str
    created_at: int
    modified_at: int


@dataclass(frozen=True, slots=True)
class EvaluationInfo:
    id: str
    gateway_id: str
    name: str
    dataset_ids: list[str]
    datasets: list[dict[str, Any]]
    evaluation_type_ids: list[str]
    status: str
    error: str | None
    total_logs: int
    cutoff_ms: int
    created_at: int
    modified_at: int
    results: list[ResultInfo] = field(default_factory=list)

    @property
    def processed(self) -> bool:
        return self.status != "running"


def _result(row: EvaluationResult) -> ResultInfo:
    return ResultInfo(
        row.id, row.evaluation_type_id, row.status, row.value, row.logs_used, row.description,
        row.created_at, row.modified_at,
    )  # fmt: skip


def _info(row: Evaluation, results: list[EvaluationResult]) -> EvaluationInfo:
    return EvaluationInfo(
        row.id, row.gateway_id, row.name, list(row.dataset_ids), list(row.datasets), list(row.evaluation_type_ids),
        row.status, row.error, row.total_logs, row.cutoff_ms, row.created_at, row.modified_at,
        [_result(r) for r in results],
    )  # fmt: skip


def _describe(type_id: str, value: float | None, used: int) -> str:
    if value is None:
        return f"no logs with {'a cost' if type_id == 'cost' else 'feedback' if type_id == 'human_feedback' else 'a duration'}"
    if type_id == "cost":
        return f"average cost ${value:.6f} over {used} logs"
    if type_id == "speed":
        return f"average duration {value:.0f} ms over {used} logs"
    return f"{value:.1f}% thumbs up over {used} rated logs"


@dataclass
class EvaluationService:
    store: Store
    account_id: str
    clock: Clock
    datasets: DatasetService
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def types(self) -> list[EvaluationType]:
        return list(EVALUATION_TYPES)

    async def create(
        self, gateway_id: str, name: Any, dataset_ids: Any, evaluation_type_ids: Any, actor: Actor
    ) -> EvaluationInfo:
        """Start an evaluation now; it runs in the background (``wait`` for it in tests and the CLI)."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("name: a non-empty string", "name")
        if not isinstance(dataset_ids, list) or not dataset_ids or not all(isinstance(d, str) for d in dataset_ids):
            raise InvalidInput("dataset_ids: a non-empty list of dataset ids", "dataset_ids")
        if (
            not isinstance(evaluation_type_ids, list)
            or not evaluation_type_ids
            or not all(isinstance(t, str) for t in evaluation_type_ids)
        ):
            raise InvalidInput("evaluation_type_ids: a non-empty list of evaluator ids", "evaluation_type_ids")
        unknown = [t for t in evaluation_type_ids if t not in _TYPES]
        if unknown:
            raise InvalidInput(
                f"evaluation_type_ids: unknown evaluator {unknown[0]!r} (known: {', '.join(_TYPES)})",
                "evaluation_type_ids",
            )
        datasets: list[DatasetInfo] = [await self.datasets.get(gateway_id, d) for d in dict.fromkeys(dataset_ids)]
        now = self.clock()
        snapshot = [
            {"id": d.id, "name": d.name, "enable": d.enable, "filters": d.filters_json(),
             "created_at": d.created_at, "modified_at": d.modified_at, "document": _doc(d)}
            for d in datasets
        ]  # fmt: skip
        evaluation = Evaluation(
            id=new_ulid(now), account_id=self.account_id, gateway_id=gateway_id, name=name.strip(),
            dataset_ids=[d.id for d in datasets], datasets=snapshot,
            evaluation_type_ids=list(dict.fromkeys(evaluation_type_ids)), status="running", error=None,
            total_logs=0, cutoff_ms=now, created_at=now, modified_at=now,
        )  # fmt: skip
        results = [
            EvaluationResult(
                id=new_ulid(now), evaluation_id=evaluation.id, evaluation_type_id=t, status="running", value=None,
                logs_used=0, description="running", created_at=now, modified_at=now,
            )  # fmt: skip
            for t in evaluation.evaluation_type_ids
        ]
        async with self.store.sessions.begin() as session:
            session.add(evaluation)
            session.add_all(results)
            await record_change(
                session, self.clock, actor, self.account_id, "create", "evaluation", evaluation.id, None,
                {"name": evaluation.name, "dataset_ids": evaluation.dataset_ids,
                 "evaluation_type_ids": evaluation.evaluation_type_ids},
            )  # fmt: skip
        info = _info(evaluation, results)
        task = asyncio.get_running_loop().create_task(self._run(info), name=f"aigw-evaluation-{info.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return info

    async def wait(self) -> None:
        """Wait until every evaluation started by this service has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, info: EvaluationInfo) -> None:
        try:
            clauses = [filter_clause(parse_json(d["document"]), _LOGS) for d in info.datasets]
            where = [
                _LOGS.c.account_id == self.account_id,
                _LOGS.c.gateway_id == info.gateway_id,
                _LOGS.c.created_at <= info.cutoff_ms,
                or_(*clauses),
            ]
            rated = _LOGS.c.feedback != 0
            query = select(
                func.count(),
                func.avg(_LOGS.c.cost),
                func.count(_LOGS.c.cost),
                func.avg(_LOGS.c.duration),
                func.count(_LOGS.c.duration),
                func.sum(case((_LOGS.c.feedback == 1, 1), else_=0)),
                func.sum(case((rated, 1), else_=0)),
            ).where(*where)
            async with self.store.engine.connect() as conn:
                total, avg_cost, n_cost, avg_speed, n_speed, ups, n_rated = (await conn.execute(query)).one()
            n_rated = int(n_rated or 0)
            values = {
                "cost": (float(avg_cost) if n_cost else None, int(n_cost or 0)),
                "speed": (float(avg_speed) if n_speed else None, int(n_speed or 0)),
                "human_feedback": (100.0 * int(ups or 0) / n_rated if n_rated else None, n_rated),
            }
            now = self.clock()
            async with self.store.sessions.begin() as session:
                for result in info.results:
                    value, used = values[result.evaluation_type_id]
                    await session.execute(
                        update(EvaluationResult)
                        .where(EvaluationResult.id == result.id)
                        .values(status="completed", value=value, logs_used=used, modified_at=now,
                                description=_describe(result.evaluation_type_id, value, used))  # fmt: skip
                    )
                await session.execute(
                    update(Evaluation)
                    .where(Evaluation.id == info.id)
                    .values(status="completed", total_logs=int(total or 0), modified_at=now)
                )
        except Exception as exc:  # the run fails visibly, never silently
            log.exception("evaluation %s failed", info.id)
            message = redact_text(f"{type(exc).__name__}: {exc}")[:500]
            async with self.store.sessions.begin() as session:
                await session.execute(
                    update(EvaluationResult)
                    .where(EvaluationResult.evaluation_id == info.id)
                    .values(status="error", description=message, modified_at=self.clock())
                )
                await session.execute(
                    update(Evaluation).where(Evaluation.id == info.id)
                    .values(status="error", error=message, modified_at=self.clock())
                )  # fmt: skip

    async def list(
        self, gateway_id: str, *, page: int = 1, per_page: int = 50, search: str | None = None,
        processed: bool | None = None,
    ) -> Page[EvaluationInfo]:  # fmt: skip
        where = [Evaluation.account_id == self.account_id, Evaluation.gateway_id == gateway_id]
        if search:
            where.append(Evaluation.name.contains(search))
        if processed is not None:
            where.append((Evaluation.status != "running") if processed else (Evaluation.status == "running"))
        async with self.store.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Evaluation).where(*where))
            rows = list(
                await session.scalars(
                    select(Evaluation).where(*where).order_by(Evaluation.created_at.desc())
                    .limit(per_page).offset((page - 1) * per_page)
                )  # fmt: skip
            )
            results = await self._results(session, [r.id for r in rows])
            items = [_info(r, results.get(r.id, [])) for r in rows]
        return Page(items, page, per_page, int(total or 0))

    async def _results(self, session: Any, ids: list[str]) -> dict[str, list[EvaluationResult]]:
        if not ids:
            return {}
        out: dict[str, list[EvaluationResult]] = {}
        rows = await session.scalars(
            select(EvaluationResult).where(EvaluationResult.evaluation_id.in_(ids)).order_by(EvaluationResult.id)
        )
        for row in rows:
            out.setdefault(row.evaluation_id, []).append(row)
        return out

    async def get(self, gateway_id: str, evaluation_id: str) -> EvaluationInfo:
        async with self.store.sessions() as session:
            row = await session.get(Evaluation, evaluation_id)
            if row is None or row.account_id != self.account_id or row.gateway_id != gateway_id:
                raise NotFound(f"evaluation '{evaluation_id}' not found")
            results = await self._results(session, [row.id])
            return _info(row, results.get(row.id, []))

    async def delete(self, gateway_id: str, evaluation_id: str, actor: Actor) -> EvaluationInfo:
        info = await self.get(gateway_id, evaluation_id)
        async with self.store.sessions.begin() as session:
            row = await session.get(Evaluation, evaluation_id)
            await session.delete(row)
            await record_change(
                session, self.clock, actor, self.account_id, "delete", "evaluation", evaluation_id,
                {"name": info.name}, None,
            )  # fmt: skip
        return info


def _doc(dataset: DatasetInfo) -> dict[str, Any]:
    return to_json(dataset.filter)
