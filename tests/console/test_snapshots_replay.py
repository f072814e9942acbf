"""Snapshots at 80×24 of replay and compare: the target dialog, the compare screen of an answered
replay, and of a replay the provider failed.

Deterministic like the other snapshots (fixed clock, UTC, the seeded store). The compare screen's
replay is one the store already holds: a :class:`ReplayService` whose ``send`` answers with a seeded
log's id stands in for the gateway (the real path is covered by ``test_replay.py``); waiting for the
log and reading both answers are the real service's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable, Iterator

import pytest
from textual.pilot import Pilot

from console.app import AigwConsole, make_console
from console.compare_screen import CompareScreen
from console.replay_dialog import ReplayDialog, ReplayOrder
from console.views.live import LiveView
from proxy_core.events import EventBus
from proxy_core.live_feed import LiveFeed
from proxy_core.providers import ProviderRegistry
from proxy_core.replay import ReplayTarget
from proxy_core.services import Services
from proxy_core.store.engine import Store, open_store
from tests.console.conftest import ACCOUNT, NOW, UTC, copy_db, fixed_clock, seed_id
from tests.console.helpers import listen, until
from tests.console.test_replay import StoredReplay

SAFETY_S = 60.0
ORIGINAL = seed_id(NOW, 59)  # openai, "Answer 59: it forwards requests."
GOOGLE = seed_id(NOW - 3_000, 56)  # google-ai-studio, "Google answer 56"
FAILED = seed_id(NOW - 8_000, 51)  # openai, HTTP 500


@pytest.fixture
def replay_console(seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AigwConsole]]:
    monkeypatch.delenv("NO_COLOR", raising=False)

    async def open_copy() -> Store:
        store = await open_store(f"sqlite+aiosqlite:///{copy_db(seeded_db, tmp_path / 'aigw.db')}")
        await store.engine.dispose()  # no connection may outlive this loop
        return store

    store = asyncio.run(open_copy())

    def make(answer_id: str = GOOGLE, status: int = 200) -> AigwConsole:
        feed = LiveFeed(fixed_clock)
        bus = EventBus()
        bus.attach(feed)
        services = Services(store, account_id=ACCOUNT, bus=bus, clock=fixed_clock, providers=ProviderRegistry({}),
                            gateway_url="http://127.0.0.1:8787")  # fmt: skip
        replay = StoredReplay(store, ACCOUNT, fixed_clock, services.logs, services.gateways, services.tokens,
                              ProviderRegistry({}), "http://127.0.0.1:8787")  # fmt: skip
        replay.answer_id, replay.status = answer_id, status
        services.replay = replay
        return listen(make_console(services, feed, gateway_url="http://127.0.0.1:8787", account_id=ACCOUNT,
                                   clock=fixed_clock, tz=UTC, prefs_path=tmp_path / "prefs.json"))  # fmt: skip

    yield make


def _dialog_shown() -> Callable[[Pilot], object]:
    async def run_before(pilot: Pilot) -> None:
        await asyncio.wait_for(pilot.app.screen.query_one(LiveView).catch_up(), SAFETY_S)
        services = pilot.app.services
        record = await services.logs.get("default", ORIGINAL)
        dialog = ReplayDialog(record, services.replay.choices(record.provider))
        pilot.app.push_screen(dialog)
        await until(pilot, lambda: pilot.app.screen is dialog and dialog.is_mounted, what="the dialog")
        await pilot.pause()

    return run_before


def _compared(model: str, state: str) -> Callable[[Pilot], object]:
    async def run_before(pilot: Pilot) -> None:
        await asyncio.wait_for(pilot.app.screen.query_one(LiveView).catch_up(), SAFETY_S)
        order = ReplayOrder(ReplayTarget("google-ai-studio", model), None, True)
        compare = CompareScreen(pilot.app.services, "default", ORIGINAL, order)
        pilot.app.push_screen(compare)
        await until(pilot, lambda: compare.state == state and compare.replay is not None, what="the replay's log")
        await until(pilot, lambda: compare.original is not None, what="the original read")
        await pilot.pause()

    return run_before


def test_replay_dialog_80x24(snap_compare, replay_console) -> None:
    assert snap_compare(replay_console(), terminal_size=(80, 24), run_before=_dialog_shown())


def test_compare_answered_80x24(snap_compare, replay_console) -> None:
    assert snap_compare(replay_console(), terminal_size=(80, 24), run_before=_compared("gemini-1.5-flash", "done"))


def test_compare_upstream_error_80x24(snap_compare, replay_console) -> None:
    app = replay_console(FAILED, 500)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_compared("gemini-1.5-flash", "failed"))
