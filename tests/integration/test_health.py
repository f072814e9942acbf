"""``/healthz``: "ok", or "degraded" with reasons while the log store fails, the log queue is over
half full or requests are held for room in it; HTTP 200 either way (the gateway still serves)."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace
from typing import Any, AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from proxy_core.config import LogSettings
from proxy_core.health import assess, health_body, health_handler
from proxy_core.logpipe import PipeStats
from proxy_core.runner import RunningGateway
from tests.conftest import GatewayFactory
from tests.integration.helpers import sqlite_write, stored_logs

SETTINGS = LogSettings(queue_max_entries=100, queue_max_bytes=1000)
HANG_GUARD_S = 30
"""Only so a regression fails instead of hanging the suite; nothing is timed."""


def stats(**fields: Any) -> PipeStats:
    base: dict[str, Any] = {"queued": 0, "queued_bytes": 0, "written": 10, "dropped": 0, "write_failures": 0,
                            "last_error": None}  # fmt: skip
    return PipeStats(**{**base, **fields})


def codes(reasons: list[str]) -> list[str]:
    return [reason.split(":", 1)[0] for reason in reasons]


# -- the verdict, against a fake PipeStats ------------------------------------------------------


def test_ok_when_nothing_is_wrong() -> None:
    body = health_body(stats(write_failures=7, dropped=3), SETTINGS)  # past trouble, healed: ok
    assert (body["status"], body["reasons"]) == ("ok", [])


def test_a_failing_store_is_degraded_and_says_since_when_and_why() -> None:
    reasons = assess(stats(last_error="OperationalError: database is locked", write_failures=4,
                           failing_since_ms=1_764_300_000_000), SETTINGS)  # fmt: skip
    assert codes(reasons) == ["log_store_failing"]
    assert "2025-11-28T03:20:00Z" in reasons[0] and "4 refused" in reasons[0]
    assert reasons[0].endswith("last error: OperationalError: database is locked")


def test_a_pipe_that_reports_only_the_error_is_still_read_as_failing() -> None:
    assert codes(assess(stats(last_error="ConnectionError: down", write_failures=1), SETTINGS)) == ["log_store_failing"]
    assert codes(assess(stats(failing_since_ms=1, write_failures=1), SETTINGS)) == ["log_store_failing"]


@pytest.mark.parametrize(("queued", "expected"), [(50, []), (51, ["log_queue_high"]), (100, ["log_queue_high"])])
def test_a_queue_over_half_its_entries_is_degraded(queued: int, expected: list[str]) -> None:
    assert codes(assess(stats(queued=queued), SETTINGS)) == expected


@pytest.mark.parametrize(("queued_bytes", "expected"), [(500, []), (501, ["log_queue_high"])])
def test_a_queue_over_half_its_bytes_is_degraded(queued_bytes: int, expected: list[str]) -> None:
    assert codes(assess(stats(queued=1, queued_bytes=queued_bytes), SETTINGS)) == expected


def test_the_pipes_own_bound_wins_over_the_settings() -> None:
    assert codes(assess(stats(queued=60, queue_max_entries=1000), SETTINGS)) == []
    assert health_body(stats(), SETTINGS)["logs"]["queue_max_entries"] == 100  # not reported: the setting


def test_requests_held_by_backpressure_are_degraded() -> None:
    reasons = assess(stats(waiting=3, queued=100, overload="backpressure"), SETTINGS)
    assert codes(reasons) == ["log_queue_high", "log_backpressure"]
    assert "3 requests held" in reasons[1]


def test_every_reason_at_once_and_every_pipe_field_reported() -> None:
    body = health_body(stats(last_error="x", queued=99, waiting=1, spooled=40, refused=2), SETTINGS)
    assert body["status"] == "degraded"
    assert codes(body["reasons"]) == ["log_store_failing", "log_queue_high", "log_backpressure"]
    assert set(body["logs"]) == {f.name for f in dataclasses.fields(PipeStats)}
    assert (body["logs"]["spooled"], body["logs"]["refused"], body["logs"]["overload"]) == (40, 2, "backpressure")


# -- the handler: HTTP 200 when degraded, the evaluator only when asked ----------------------------


class Probe:
    name = "llama-guard"

    def __init__(self) -> None:
        self.calls = 0

    async def health(self) -> tuple[bool, str]:
        self.calls += 1
        return False, "connection refused"


FakeHealth = tuple[TestServer, dict[str, PipeStats], Probe]


@pytest.fixture
async def fake_health() -> AsyncIterator[FakeHealth]:
    current = {"stats": stats()}
    probe = Probe()
    app = web.Application()
    engine: Any = SimpleNamespace(evaluator=probe)
    app.router.add_get("/healthz", health_handler(lambda: current["stats"], SETTINGS, engine, SimpleNamespace(slow_reads=0)))
    server = TestServer(app)
    await server.start_server()
    yield server, current, probe
    await server.close()


async def _get(url: str, **params: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params=params) as resp:
            return resp.status, await resp.json()


async def test_degraded_is_still_http_200(fake_health: FakeHealth) -> None:
    server, current, probe = fake_health
    url = str(server.make_url("/healthz"))
    expected = {"status": "ok", "reasons": [], "logs": health_body(current["stats"], SETTINGS)["logs"],
                "cache": {"slow_reads": 0}}  # fmt: skip
    assert await _get(url) == (200, expected)
    current["stats"] = stats(last_error="ConnectionError: down", failing_since_ms=1)
    status, body = await _get(url)
    assert status == 200 and body["status"] == "degraded" and codes(body["reasons"]) == ["log_store_failing"]
    assert probe.calls == 0  # a remote evaluator costs a round trip: only when asked


async def test_an_unreachable_evaluator_degrades_when_asked(fake_health: FakeHealth) -> None:
    server, _, probe = fake_health
    status, body = await _get(str(server.make_url("/healthz")), evaluator="1")
    assert status == 200 and body["status"] == "degraded"
    assert body["guardrails"] == {"evaluator": "llama-guard", "healthy": False, "detail": "connection refused"}
    assert codes(body["reasons"]) == ["guardrails_evaluator_unreachable"] and probe.calls == 1


# -- a real gateway whose store stops taking log rows, then heals ---------------------------------


async def _healthz(gateway: RunningGateway) -> tuple[int, dict[str, Any]]:
    return await _get(f"{gateway.base_url}/healthz")


async def _until(gateway: RunningGateway, status: str) -> dict[str, Any]:
    async with asyncio.timeout(HANG_GUARD_S):
        while True:
            code, body = await _healthz(gateway)
            assert code == 200
            if body["status"] == status:
                return body
            await asyncio.sleep(0.01)


async def test_healthz_follows_a_failing_store_and_clears_when_it_heals(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory(logs={"retry_delay": 0.01})
    code, body = await _healthz(gateway)
    assert (code, body["status"], body["reasons"]) == (200, "ok", [])
    db = gateway.settings.data_dir / "aigw.db"
    await sqlite_write(db, "ALTER TABLE logs RENAME TO logs_away")  # every insert now fails at once
    try:
        async with aiohttp.ClientSession() as session:
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
            async with session.post(f"{gateway.gateway_url}/openai/chat/completions", json=body) as resp:
                assert resp.status == 200  # the gateway serves while its log store fails
        degraded = await _until(gateway, "degraded")
        assert codes(degraded["reasons"]) == ["log_store_failing"]
        assert "no such table" in degraded["reasons"][0] and degraded["logs"]["failing_since_ms"] is not None
    finally:
        await sqlite_write(db, "ALTER TABLE logs_away RENAME TO logs")
    healed = await _until(gateway, "ok")
    assert healed["reasons"] == [] and healed["logs"]["last_error"] is None
    assert len(await stored_logs(gateway)) == 1  # the held row was written once the store healed
