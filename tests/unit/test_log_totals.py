"""A page's total: exact when a bounded count reaches it, otherwise an estimate flagged as such,
scaled up from the newest logs by the rollups; ``count`` stays exact."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from proxy_core.services.logs import LogService
from proxy_core.store.engine import Store
from proxy_core.store.filters import Paging, parse_text
from tests.unit.log_store_helpers import log_row, open_sqlite_store, write_logs

HOUR = 3_600_000
T0 = 1_800_000_000_000
PAGE = Paging(page=1, per_page=50)


def spread(first: int, count: int, start_ms: int, span_ms: int, **fields: Any) -> list[dict[str, Any]]:
    """``count`` logs evenly over ``span_ms`` from ``start_ms``; every fourth one from anthropic."""
    return [
        log_row(n, start_ms + (n - first) * span_ms // count, provider="anthropic" if n % 4 == 0 else "openai", **fields)
        for n in range(first, first + count)
    ]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_sqlite_store(tmp_path / "logs.db")
    yield opened
    await opened.close()


def logs(store: Store, **budgets: int) -> LogService:
    return LogService(store, "local", **budgets)


async def test_within_the_budget_the_total_is_exact(store: Store) -> None:
    await write_logs(store, spread(0, 300, T0, 10 * HOUR))
    service = logs(store)
    for text, expected in (("", 300), ("provider:anthropic", 75), ("provider:anthropic since:1800000000000", 75)):
        page = await service.list("default", parse_text(text), PAGE)
        assert (page.total_count, page.total_is_estimate) == (expected, False)


async def test_a_last_page_gives_the_exact_total_whatever_the_budget(store: Store) -> None:
    await write_logs(store, spread(0, 300, T0, 10 * HOUR))
    service = logs(store, scope_budget=5, filter_budget=5)
    page = await service.list("default", parse_text("provider:anthropic"), Paging(page=2, per_page=50))
    assert (len(page.items), page.total_count, page.total_is_estimate) == (25, 75, False)
    nothing = await service.list("default", parse_text("model:nope"), PAGE)
    assert (nothing.total_count, nothing.total_is_estimate) == (0, False)


async def test_beyond_the_budget_the_total_is_a_flagged_estimate_near_the_truth(store: Store) -> None:
    await write_logs(store, spread(0, 4_000, T0, 40 * HOUR))
    service = logs(store, scope_budget=500, filter_budget=500)
    every = await service.list("default", parse_text(""), PAGE)
    assert every.total_is_estimate and isinstance(every.total_count, int)
    assert 3_800 <= every.total_count <= 4_200
    some = await service.list("default", parse_text("provider:anthropic"), PAGE)
    assert some.total_is_estimate and 900 <= some.total_count <= 1_100
    assert await service.count("default", parse_text("provider:anthropic")) == 1_000  # count() stays exact


async def test_an_estimate_follows_the_traffic_the_rollups_saw(store: Store) -> None:
    """A busy first day and a quiet second one: the newest logs examined are all from the quiet
    day, so scaling by time alone would say ~1,000; the rollups know the first day was busy."""
    await write_logs(store, spread(0, 3_000, T0, 24 * HOUR) + spread(3_000, 500, T0 + 24 * HOUR, 24 * HOUR))
    page = await logs(store, scope_budget=400).list("default", parse_text(""), PAGE)
    assert page.total_is_estimate and 3_300 <= page.total_count <= 3_700


async def test_an_estimate_leaves_out_requests_whose_logs_are_gone(store: Store) -> None:
    """Rollups keep every request; an estimate counts only from the oldest log still stored."""
    await write_logs(store, spread(0, 2_000, T0, 20 * HOUR))
    service = logs(store, scope_budget=300)
    deleted = await service.delete("default", parse_text(f"until:{T0 + 10 * HOUR - 1}"))
    assert deleted == 1_000
    page = await service.list("default", parse_text(""), PAGE)
    assert page.total_is_estimate and 900 <= page.total_count <= 1_100


async def test_a_time_range_is_estimated_from_its_own_share_of_the_traffic(store: Store) -> None:
    await write_logs(store, spread(0, 3_000, T0, 30 * HOUR))
    since = parse_text(f"since:{T0 + 10 * HOUR} until:{T0 + 20 * HOUR - 1}")
    page = await logs(store, scope_budget=200).list("default", since, PAGE)
    assert page.total_is_estimate and 900 <= page.total_count <= 1_100


async def test_without_rollups_an_estimate_scales_by_time(store: Store, tmp_path: Path) -> None:
    """Logs written around the log writer (an import) have no rollups: the durations stand in."""
    rows = spread(0, 2_000, T0, 20 * HOUR)
    db = sqlite3.connect(tmp_path / "logs.db")
    columns = list(rows[0])
    db.executemany(
        f"INSERT INTO logs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(r[c] for c in columns) for r in rows],
    )
    db.commit()
    db.close()
    page = await logs(store, scope_budget=400).list("default", parse_text(""), PAGE)
    assert page.total_is_estimate and 1_900 <= page.total_count <= 2_100


async def test_every_gateway_at_once(store: Store) -> None:
    await write_logs(store, spread(0, 1_000, T0, 10 * HOUR) + spread(1_000, 1_000, T0, 10 * HOUR, gateway_id="other"))
    exact = await logs(store).list(None, parse_text(""), PAGE)
    assert (exact.total_count, exact.total_is_estimate) == (2_000, False)
    estimate = await logs(store, scope_budget=300).list(None, parse_text(""), PAGE)
    assert estimate.total_is_estimate and 1_800 <= estimate.total_count <= 2_200


async def test_an_estimate_never_falls_below_the_logs_already_paged_past(store: Store) -> None:
    await write_logs(store, spread(0, 1_000, T0, 10 * HOUR))
    deep = await logs(store, scope_budget=5).list("default", parse_text(""), Paging(page=15, per_page=50))
    assert len(deep.items) == 50 and deep.total_count >= 15 * 50
