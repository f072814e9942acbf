"""PostgreSQL as the store: the gateway end to end, two gateways sharing one store, and the filter
language compiled for PostgreSQL selecting exactly what ``matches`` selects.

A private server is started from the installed PostgreSQL binaries (see ``postgres.py``); where
there are none the module skips and says why.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import create_async_engine

from proxy_core.runner import RunningGateway, start_gateway
from proxy_core.server import DIRECTORY, PIPE, SERVICES, WRITER
from proxy_core.services import Actor
from proxy_core.store.filters import LogFilter, Paging, parse_text
from proxy_core.services.analytics import AnalyticsService
from proxy_core.store.engine import Store, open_store
from proxy_core.store.logwriter import LogWriter
from proxy_core.store.migrate import alembic_config, upgrade_to_head
from proxy_core.store.models import Log, LogRollup, LogRollupHourly
from proxy_core.store.rollups import HOUR_MS, KEY, rollup_rows
from tests.conftest import Upstream, make_settings, mock_providers
from tests.integration.postgres import PostgresServer, pg_server, pg_url  # noqa: F401 (fixtures)
from tests.unit.log_store_helpers import before_worker_ids, log_row, write_logs
from tests.unit.test_filters_property import check_sql_against_matches, pool_filters
from tests.unit.test_rollups import RAGGED, answered, expected, random_logs, summed_by_hour, totals

OPERATOR = Actor("operator", "API")


@pytest.fixture
async def gateways(tmp_path: Path, upstream: Upstream, pg_url: str) -> AsyncIterator[list[RunningGateway]]:
    """Two gateway processes' worth of state (separate data dirs) on one PostgreSQL store."""
    started = []
    for n in range(2):
        settings = make_settings(tmp_path / f"gw{n}", mock_providers(upstream), store={"url": pg_url})
        started.append(await start_gateway(settings))
    yield started
    for gateway in started:
        await gateway.stop()


async def chat(gateway: RunningGateway, text: str, **headers: str) -> aiohttp.ClientResponse:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json=body, headers=headers) as r:
            await r.read()
            return r


async def test_the_gateway_logs_filters_and_annotates_on_postgresql(gateways: list[RunningGateway]) -> None:
    gateway, _ = gateways
    await chat(gateway, "hello postgres", **{"cf-aig-metadata": '{"user": "alice"}'})
    await chat(gateway, "another question", **{"cf-aig-metadata": '{"user": "bob"}'})
    await gateway.app[PIPE].flush()
    logs = gateway.app[SERVICES].logs
    page = await logs.list("default", LogFilter(), Paging())
    assert page.total_count == 2 and all(r.tokens_in and r.cost for r in page.items)
    alice = await logs.list("default", parse_text("meta.user=alice cost>0 provider:openai"), Paging())
    assert [r.metadata for r in alice.items] == [{"user": "alice"}]
    found = await logs.list("default", parse_text('"postgres"'), Paging())
    assert len(found.items) == 1  # PostgreSQL searches bodies by substring
    await logs.annotate("default", alice.items[0].id, feedback=1, score=90)
    liked = await logs.list("default", parse_text("feedback:1 score>=90"), Paging())
    assert [r.id for r in liked.items] == [alice.items[0].id]
    analytics = gateway.app[SERVICES].analytics
    totals = await analytics.totals("default", 0, 2**62)
    assert totals.requests == 2 and totals.tokens_in and totals.cost
    assert await logs.delete("default", parse_text("meta.user=bob")) == 1


async def test_the_cache_and_datasets_work_on_postgresql(gateways: list[RunningGateway]) -> None:
    gateway, _ = gateways
    services = gateway.app[SERVICES]
    await services.gateways.update("default", {"cache_ttl": 60}, OPERATOR)
    assert (await chat(gateway, "cache me")).headers["cf-aig-cache-status"] == "MISS"
    assert (await chat(gateway, "cache me")).headers["cf-aig-cache-status"] == "HIT"
    await gateway.app[PIPE].flush()
    dataset = await services.datasets.create("default", "cached", [{"key": "cached", "operator": "eq", "value": [True]}], OPERATOR)
    evaluation = await services.evaluations.create("default", "cost of cached", [dataset.id], ["cost"], OPERATOR)
    await services.evaluations.wait()
    done = await services.evaluations.get("default", evaluation.id)
    assert done.status == "completed" and done.results[0].logs_used == 1


async def test_retention_deletes_the_oldest_on_postgresql(gateways: list[RunningGateway]) -> None:
    gateway, _ = gateways
    await gateway.app[SERVICES].gateways.update(
        "default", {"log_management": 3, "log_management_strategy": "DELETE_OLDEST"}, OPERATOR
    )
    for n in range(5):
        await chat(gateway, f"message {n}")
        await gateway.app[PIPE].flush()
    page = await gateway.app[SERVICES].logs.list("default", LogFilter(), Paging())
    assert page.total_count == 3


async def test_two_gateways_share_one_postgresql_store(gateways: list[RunningGateway]) -> None:
    first, second = gateways
    response = await chat(first, "served by the first process")
    await first.app[PIPE].flush()
    seen = await second.app[SERVICES].logs.get("default", response.headers["cf-aig-log-id"])
    assert seen.provider == "openai"
    await second.app[SERVICES].gateways.update("default", {"authentication": True}, OPERATOR)
    await first.app[DIRECTORY].refresh()  # what its 3 s poll (or an attached console's nudge) does
    assert (await chat(first, "now refused")).status == 401


async def test_migration_0005_backfills_hourly_rollups_on_postgresql(pg_url: str) -> None:
    """A store with logs and minute rollups at revision 0004 upgrades: hourly rollups summed from
    the minute ones, the new indexes, and analytics by hour equal to the raw logs."""
    engine = create_async_engine(pg_url)
    rows = random_logs(600)
    minutes = rollup_rows(rows)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0004"))
            await conn.execute(Log.__table__.insert(), before_worker_ids(rows))
            await conn.execute(LogRollup.__table__.insert(), minutes)
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_to_head)
        async with engine.connect() as conn:
            found = (await conn.execute(select(LogRollupHourly.__table__))).mappings().all()
            indexes = await conn.run_sync(lambda sync: {i["name"] for i in inspect(sync).get_indexes("logs")})
    finally:
        await engine.dispose()
    assert {tuple(r[name] for name in KEY): totals(r) for r in found} == summed_by_hour(rows)
    assert indexes == {index.name for index in Log.__table__.indexes}
    store = Store(create_async_engine(pg_url))
    try:
        points = await AnalyticsService(store, "local").series("default", *RAGGED, "hour")
    finally:
        await store.close()
    assert answered(points) == expected(rows, *RAGGED, HOUR_MS, None)


def test_sql_selects_exactly_what_matches_selects_on_postgresql(pg_url: str) -> None:
    """The SQLite property test's twin; text search is left out (PostgreSQL matches substrings,
    SQLite's FTS5 index word prefixes, and ``matches`` follows the latter)."""
    filters_without_search = pool_filters.map(lambda f: dataclasses.replace(f, search=None))
    with asyncio.Runner() as runner:
        engine = create_async_engine(pg_url)

        async def migrate() -> None:
            async with engine.begin() as conn:
                await conn.run_sync(upgrade_to_head)

        runner.run(migrate())

        check_sql_against_matches(runner, engine, filters_without_search, max_examples=30)


async def test_the_crash_spool_replay_skips_rows_postgresql_already_has(gateways: list[RunningGateway]) -> None:
    gateway = gateways[0]
    first = await chat(gateway, "stored once")
    await gateway.app[PIPE].flush()
    writer = gateway.app[WRITER]
    assert await writer.known_ids([first.headers["cf-aig-log-id"], "01NOSUCHLOG000000000000000"]) == {
        first.headers["cf-aig-log-id"]
    }


async def test_two_workers_trimming_one_gateway_keep_its_log_limit_on_postgresql(pg_url: str) -> None:
    """Two log writers (two workers' worth) write one gateway at its DELETE_OLDEST limit at once.
    Each counts its own rows and trims one oldest log per row past the limit, so together they hold
    it (a trim that deletes less than planned, two deletes having collided, makes that writer
    re-read the true count); the gateway ends within one batch of its limit, newest logs kept."""
    store = await open_store(pg_url)
    limit, batch = 50, 10
    writers = [LogWriter(store, lambda a, g: (limit, "DELETE_OLDEST")) for _ in range(2)]
    try:
        await write_logs(store, [log_row(n, 1_000 + n) for n in range(limit)])

        async def work(first: int, writer: LogWriter) -> None:
            for start in range(first, first + 200, batch):
                await writer.write([log_row(n, 1_000 + n) for n in range(start, start + batch)], [])

        await asyncio.gather(work(1_000, writers[0]), work(2_000, writers[1]))
        async with store.engine.connect() as conn:
            kept = [row[0] for row in await conn.execute(select(Log.created_at))]
    finally:
        for writer in writers:
            await writer.close()
        await store.close()
    assert limit <= len(kept) <= limit + batch
    assert min(kept) >= 2_000  # every one of the original logs went first
