"""A tiny app that mounts one console view in a Screen, over a real store with deterministic data.

The view tests use it instead of the console shell, so each view is tested on its own. The store
can be opened by the test (Pilot tests, which run in the test's event loop) or by the app itself
(``setup=``, for snapshot tests, which ``snap_compare`` runs in an event loop of its own).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from datetime import timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from sqlalchemy import update
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from console import store_calls
from tests.console.helpers import HANG_S, listen
from proxy_core.services import Services
from proxy_core.store.engine import Store, open_store
from proxy_core.store.gateways import ensure_default_gateway
from proxy_core.store.logwriter import LogWriter
from proxy_core.store.models import Gateway

ACCOUNT = "local"
NOW = 1_736_944_200_000
"""The fixed clock: 2025-01-15T12:30:00Z."""
UTC = timezone.utc
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

ViewFactory = Callable[[Services], Widget]


def fixed_clock() -> int:
    return NOW


def log_row(n: int, created_at: int, **fields: Any) -> dict[str, Any]:
    """A complete ``logs`` row (every column) with plausible defaults; ``fields`` override."""
    row: dict[str, Any] = {
        "id": f"01JHKZ{n:020d}",
        "account_id": ACCOUNT,
        "gateway_id": "default",
        "created_at": created_at,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "model_type": "text-generation",
        "path": "v1/chat/completions",
        "request_type": "provider",
        "method": "POST",
        "status_code": 200,
        "success": True,
        "error_code": None,
        "error": None,
        "cached": False,
        "step": 0,
        "event_id": None,
        "duration": 400,
        "ttfb": 120,
        "tokens_in": 100,
        "tokens_out": 50,
        "cost": 0.001,
        "custom_cost": False,
        "metadata": None,
        "feedback": 0,
        "score": None,
        "guardrails": None,
        "request_content_type": "application/json",
        "response_content_type": "application/json",
        "request_size": 80,
        "response_size": 200,
        "body_stored": True,
        "body_truncated": False,
        "streamed": False,
        "worker_id": None,
    }
    row.update(fields)
    return row


def seed_rows() -> list[dict[str, Any]]:
    """The seeded traffic: 12 logs in the last hour, 4 more in the day, 3 in the week, 2 in the month.

    In the last hour: 8 openai gpt-4o-mini (2 cached, 1 failed, feedback 1,1,-1) and 4 anthropic
    claude-3-5-haiku; totals per range are 12 / 16 / 19 / 21 requests.
    """
    rows = []
    n = 0
    for i in range(8):
        n += 1
        fields: dict[str, Any] = {"duration": 300 + 50 * i, "cost": 0.002}
        if i in (2, 3):
            fields.update(cached=True, cost=0.0, duration=20)
        if i < 3:
            fields["feedback"] = (1, 1, -1)[i]
        if i == 6:
            fields.update(status_code=500, success=False, error="upstream error", tokens_in=None, tokens_out=None,
                          cost=None)  # fmt: skip
        rows.append(log_row(n, NOW - (50 - 5 * i) * MINUTE, **fields))
    for i in range(4):
        n += 1
        rows.append(
            log_row(
                n, NOW - (40 - 8 * i) * MINUTE, provider="anthropic", model="claude-3-5-haiku",
                path="v1/messages", tokens_in=200, tokens_out=100, cost=0.004, duration=800,
            )  # fmt: skip
        )
    for offset in (3 * HOUR, 5 * HOUR, 9 * HOUR, 20 * HOUR):
        n += 1
        rows.append(log_row(n, NOW - offset, tokens_in=300, tokens_out=150, cost=0.003))
    for offset in (2 * DAY, 3 * DAY, 6 * DAY):
        n += 1
        rows.append(log_row(n, NOW - offset, provider="anthropic", model="claude-3-5-haiku", cost=0.005))
    for offset in (12 * DAY, 25 * DAY):
        n += 1
        rows.append(log_row(n, NOW - offset, model="gpt-4o"))
    return rows


def seed_bodies(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "log_id": row["id"],
            "request_headers": {"content-type": "application/json"},
            "request_body": b'{"messages": [{"role": "user", "content": "hello"}]}',
            "response_headers": {"content-type": "application/json"},
            "response_body": b'{"choices": [{"message": {"content": "hi"}}]}',
        }
        for row in rows
    ]


async def open_seeded_store(path: Path, *, logs: bool = True) -> Store:
    """A migrated store at ``path`` with the default gateway (created at :data:`NOW`) and the seeded logs."""
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    async with store.sessions.begin() as session:
        await ensure_default_gateway(session, ACCOUNT)
        await session.execute(
            update(Gateway).where(Gateway.account_id == ACCOUNT).values(created_at=NOW - 30 * DAY, modified_at=NOW - DAY)
        )
    if logs:
        rows = seed_rows()
        await LogWriter(store, lambda a, g: None).write(rows, seed_bodies(rows))
    return store


def make_services(store: Store) -> Services:
    return Services(store, account_id=ACCOUNT, clock=fixed_clock)


class ViewScreen(Screen[None]):
    """The one screen of the harness: the view and a footer (as the shell's mode screens have)."""

    def __init__(self, view: Widget) -> None:
        super().__init__()
        self.view = view
        # As the shell does: the view's styles are the .tcss beside its module.
        css = Path(inspect.getfile(type(view))).with_suffix(".tcss")
        self.css_path = [css] if css.exists() else []

    def compose(self) -> ComposeResult:
        yield self.view
        yield Footer()


class ViewHarness(App[None]):
    """Mounts ``make_view(services)`` once services exist.

    Pass ``services`` (opened by the test) or ``setup`` (an async callable returning services,
    run in the app's own loop; the harness then closes the store on exit).
    """

    def __init__(
        self,
        make_view: ViewFactory,
        *,
        services: Services | None = None,
        setup: Callable[[], Awaitable[Services]] | None = None,
        before_view: Callable[[Services], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__()
        listen(self)
        self.animation_level = "none"  # as the console runs by default: kind to SSH, and to tests
        self.make_view = make_view
        self.services = services
        self.setup = setup
        self.before_view = before_view
        self.view: Widget | None = None
        self.view_ready = asyncio.Event()

    async def on_mount(self) -> None:
        if self.services is None:
            assert self.setup is not None
            self.services = await self.setup()
        if self.before_view is not None:
            await self.before_view(self.services)
        self.view = self.make_view(self.services)
        await self.push_screen(ViewScreen(self.view))
        self.view_ready.set()

    async def on_unmount(self) -> None:
        if self.setup is not None and self.services is not None:
            await self.services.evaluations.wait()
            await self.services.store.close()


async def settle(pilot: Pilot, *, rounds: int = 2) -> None:
    """Wait until the view is mounted and no worker is running (loads and saves done)."""
    app = pilot.app
    assert isinstance(app, ViewHarness)
    await app.view_ready.wait()
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await store_calls.settle()
        await pilot.pause()


async def wait_until(pilot: Pilot, predicate: Callable[[], bool], timeout: float = HANG_S) -> None:
    """Pause until ``predicate()`` holds (raises after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)
