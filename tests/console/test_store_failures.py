"""A failing store never crashes a view: views 3–6 show a readable notification and carry on.

Each test breaks one or more service methods (a database error, a full disk, a refusal), checks
the notification (one readable line, shown literally even when it looks like markup), then mends
the service and checks that the same view, still running, works again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError
from textual.widgets import DataTable, Input, Static

from console.dialogs import ChoiceDialog, TextDialog
from console.store_calls import describe_error
from console.views.analytics import AnalyticsView
from console.views.datasets import DatasetsView
from console.views.gateways import GatewaysTable, GatewaysView
from console.views.guardrails import GuardrailsView
from console.widgets.datasets_dialogs import DatasetDialog
from console.widgets.datasets_tables import DatasetsTable
from console.widgets.gateways_dialogs import GatewayDialog
from console.widgets.gateways_tokens import TokensTable
from proxy_core.services import Actor, NotFound, ServiceError
from proxy_core.store.filters import parse_text
from tests.console.helpers import said
from tests.console.views_harness import (
    UTC, ViewHarness, fixed_clock, make_services, open_seeded_store, settle, wait_until,
)  # fmt: skip

DB_ERROR = OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked [/]"))
"""What SQLAlchemy raises when SQLite gives up; ``[/]`` would break a markup notification."""
DISK_FULL = OSError(28, "No space left on device")


def _raises(exc: BaseException):
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return broken


def _notes(app: ViewHarness) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in said(app)]


def test_errors_are_described_in_one_readable_line() -> None:
    assert describe_error(DB_ERROR) == "(sqlite3.OperationalError) database is locked [/]"
    assert describe_error(DISK_FULL) == "No space left on device"
    assert describe_error(FileNotFoundError(2, "No such file or directory", "/x/y.jsonl")).endswith(": /x/y.jsonl")
    assert describe_error(NotFound("gateway 'x' not found")) == "gateway 'x' not found"
    assert describe_error(RuntimeError()) == "RuntimeError"
    assert len(describe_error(ValueError("x" * 1000))) == 300


async def test_analytics_survives_a_failing_store(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db")
    try:
        services = make_services(store)
        totals = services.analytics.totals
        services.analytics.totals = _raises(DB_ERROR)  # type: ignore[method-assign]
        app = ViewHarness(lambda s: AnalyticsView(s, "default", clock=fixed_clock, tz=UTC), services=services)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert ("Could not load analytics", describe_error(DB_ERROR)) in _notes(app)
            view = app.screen.query_one(AnalyticsView)
            await pilot.press("r", "b")  # still answers keys; the same failure is not repeated
            await settle(pilot)
            assert view.range_key == "7d" and view.group_by == "model"
            assert len(_notes(app)) == 1
            services.analytics.totals = totals  # type: ignore[method-assign]
            await pilot.press("f5")
            await settle(pilot)
            assert "19 req " in str(app.screen.query_one("#analytics-summary", Static).render())  # short words below 100 columns
            assert app.is_running
    finally:
        await store.close()


async def test_datasets_survive_a_failing_store(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db")
    try:
        services = make_services(store)
        await services.datasets.create("default", "all", parse_text("provider:openai"), Actor("test", "CLI"))
        listing, create = services.datasets.list, services.datasets.create
        services.datasets.list = _raises(DB_ERROR)  # type: ignore[method-assign]
        missing = tmp_path / "gone"  # exports into a directory that is not there
        app = ViewHarness(
            lambda s: DatasetsView(s, "default", clock=fixed_clock, tz=UTC, export_dir=missing), services=services
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert ("Could not load datasets", describe_error(DB_ERROR)) in _notes(app)
            services.datasets.list = listing  # type: ignore[method-assign]
            await pilot.press("f5")
            await settle(pilot)
            table = app.screen.query_one(DatasetsTable)
            assert table.row_count == 1

            await pilot.press("x")  # export: the directory is missing
            await settle(pilot)
            (title, message), *_ = [n for n in _notes(app) if n[0] == "Export failed"]
            assert "No such file or directory" in message and str(missing) in message

            services.datasets.create = _raises(DISK_FULL)  # type: ignore[method-assign]
            await pilot.press("n")
            await wait_until(pilot, lambda: isinstance(app.screen, DatasetDialog))
            app.screen.query_one("#dataset-name", Input).value = "errors"
            app.screen.query_one("#dataset-filter", Input).value = "status:error"
            await pilot.click("#save")
            await settle(pilot)
            assert ("Dataset not saved", "No space left on device") in _notes(app)
            assert table.row_count == 1

            services.datasets.create = create  # type: ignore[method-assign]
            await pilot.press("n")
            await wait_until(pilot, lambda: isinstance(app.screen, DatasetDialog))
            app.screen.query_one("#dataset-name", Input).value = "errors"
            await pilot.click("#save")
            await settle(pilot)
            assert table.row_count == 2 and app.is_running
    finally:
        await store.close()


async def test_guardrails_survive_a_failing_store_and_evaluator(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db", logs=False)
    try:
        services = make_services(store)
        get, update = services.gateways.get, services.gateways.update
        services.gateways.get = _raises(DISK_FULL)  # type: ignore[method-assign]

        async def probe() -> tuple[str, str]:
            raise ConnectionRefusedError(111, "Connection refused")

        app = ViewHarness(
            lambda s: GuardrailsView(s, "default", clock=fixed_clock, evaluator_status=probe), services=services
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            view = app.screen.query_one(GuardrailsView)
            assert ("Could not load guardrails", "No space left on device") in _notes(app)
            assert view.policy is None and view.check_action("choose_action", ("prompt",)) is None

            services.gateways.get = get  # type: ignore[method-assign]
            await pilot.press("f5")
            await settle(pilot)
            assert view.policy is not None
            evaluator = str(app.screen.query_one("#guardrails-evaluator", Static).render())
            assert "unreachable: Connection refused" in evaluator  # a failing probe is an unreachable evaluator

            services.gateways.update = _raises(ServiceError("guardrails: refused [b]now[/b]"))  # type: ignore[method-assign]
            await pilot.press("p")  # S1 prompts: flag → block, from the menu
            await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            await pilot.press("down", "down", "enter")
            await settle(pilot)
            assert ("Guardrails not saved", "guardrails: refused [b]now[/b]") in _notes(app)
            assert view.policy["prompt"]["S1"] == "flag"  # the stored policy is shown again

            services.gateways.update = update  # type: ignore[method-assign]
            await pilot.press("p")
            await wait_until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            await pilot.press("down", "down", "enter")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["prompt"]["S1"] == "block"
    finally:
        await store.close()


async def test_gateways_survive_a_failing_store(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db", logs=False)
    try:
        services = make_services(store)
        listing, create_token = services.gateways.list, services.tokens.create
        services.gateways.list = _raises(DB_ERROR)  # type: ignore[method-assign]
        app = ViewHarness(lambda s: GatewaysView(s, "default", clock=fixed_clock, tz=UTC), services=services)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert ("Could not load gateways", describe_error(DB_ERROR)) in _notes(app)

            # a gateway refused by a failing store: the dialog says why and stays open for another try
            services.gateways.create = _raises(DB_ERROR)  # type: ignore[method-assign]
            await pilot.press("n")
            await wait_until(pilot, lambda: isinstance(app.screen, GatewayDialog))
            app.screen.query_one(Input).value = "staging"
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, GatewayDialog)
                             and "database is locked" in str(app.screen.query_one("#gateway-error").render()))  # fmt: skip
            await pilot.press("escape")

            services.gateways.list = listing  # type: ignore[method-assign]
            await pilot.press("f5")
            await settle(pilot)
            assert app.screen.query_one(GatewaysTable).row_count == 1

            services.tokens.create = _raises(DISK_FULL)  # type: ignore[method-assign]
            await pilot.press("t")
            await wait_until(pilot, lambda: isinstance(app.screen, TextDialog))
            app.screen.query_one(Input).value = "ci"
            await pilot.press("enter")
            await settle(pilot)
            assert ("Token not created", "No space left on device") in _notes(app)

            services.tokens.create = create_token  # type: ignore[method-assign]
            await pilot.press("t")
            await wait_until(pilot, lambda: isinstance(app.screen, TextDialog))
            app.screen.query_one(Input).value = "ci"
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("escape")  # the secret, shown once
            await settle(pilot)
            assert app.screen.query_one(TokensTable).row_count == 1
            assert isinstance(app.screen.query_one("#gateway-settings"), DataTable) and app.is_running
    finally:
        await store.close()
