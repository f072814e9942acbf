"""DatasetsView: create (validated inline), export JSONL, run an evaluation, edit, delete; snapshots."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from textual.widgets import Button, Input, Static

from console.views.datasets import DatasetsView
from console.widgets.datasets_tables import DatasetsTable, EvaluationsTable
from console.widgets.datasets_dialogs import DatasetDialog, EvaluationDialog, EvaluatorChecklist
from proxy_core.services import Actor, Services
from proxy_core.store.filters import parse_text, to_text
from tests.console.helpers import said
from tests.console.views_harness import (
    ACCOUNT, MINUTE, NOW, UTC, ViewHarness, fixed_clock, make_services, open_seeded_store, settle, wait_until,
)  # fmt: skip

TEST_ACTOR = Actor("test", "CLI")


def _factory(export_dir: Path):
    def make(services: Services) -> DatasetsView:
        return DatasetsView(services, "default", clock=fixed_clock, tz=UTC, export_dir=export_dir)

    return make


def _cells(table, row: int) -> list[str]:
    return [str(cell) for cell in table.get_row_at(row)]


async def test_create_export_evaluate_edit_delete(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db")
    exports = tmp_path / "exports"
    exports.mkdir()
    try:
        services = make_services(store)
        app = ViewHarness(_factory(exports), services=services)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.screen.query_one(DatasetsView)  # the Datasets view is up
            # create: a bad filter is refused inline, then fixed
            await pilot.press("n")
            await wait_until(pilot, lambda: isinstance(app.screen, DatasetDialog))
            dialog = app.screen
            dialog.query_one("#dataset-name", Input).value = "rated openai"
            dialog.query_one("#dataset-filter", Input).value = "provider:openai cost>>1"
            await pilot.pause()
            assert "cost" in str(dialog.query_one("#dataset-filter-error", Static).render())
            # Press the button itself: the error line just changed the layout, and a click by
            # position can land where the button was a frame ago (a lost click under load).
            dialog.query_one("#save", Button).press()
            await pilot.pause()
            assert app.screen is dialog  # not saved
            dialog.query_one("#dataset-filter", Input).value = "provider:openai feedback:1"
            await pilot.pause()
            assert str(dialog.query_one("#dataset-filter-error", Static).render()) == ""
            dialog.query_one("#save", Button).press()
            await wait_until(pilot, lambda: not isinstance(app.screen, DatasetDialog))
            await settle(pilot)
            await wait_until(pilot, lambda: app.screen.query_one(DatasetsTable).row_count == 1, timeout=15)
            stored = (await services.datasets.list("default")).items
            assert [(d.name, to_text(d.filter)) for d in stored] == [("rated openai", "provider:openai feedback:1")]
            table = app.screen.query_one(DatasetsTable)
            assert _cells(table, 0)[1:3] == ["rated openai", "provider:openai feedback:1"]

            # export: the two thumbs-up openai logs, as JSON lines
            await pilot.press("x")
            await settle(pilot)
            files = list(exports.glob("*.jsonl"))
            assert [f.name for f in files] == ["rated-openai-20250115-123000.jsonl"]
            lines = [json.loads(line) for line in files[0].read_text().splitlines()]
            assert len(lines) == 2 and {line["feedback"] for line in lines} == {1}
            assert lines[0]["request"] == {"messages": [{"role": "user", "content": "hello"}]}
            told = [n for n in said(app) if n.title.startswith("Exported 2 logs")]
            *directory, name = told[0].message.splitlines()  # the directory (broken after a /), then the file
            assert len(told) == 1 and "".join(directory) == f"{files[0].parent}/" and name == files[0].name
            assert all(line.endswith("/") and len(line) <= 36 for line in directory[:-1])

            # evaluate with two of the three evaluators; the run is held so that the view shows it
            # running, then picks up the results by itself (it polls while a run is going)
            gate = asyncio.Event()
            run = services.evaluations._run

            async def held_run(info):
                await gate.wait()
                await run(info)

            services.evaluations._run = held_run  # type: ignore[method-assign]
            await pilot.press("v")
            await wait_until(pilot, lambda: isinstance(app.screen, EvaluationDialog))
            checklist = app.screen.query_one(EvaluatorChecklist)
            prompts = [str(checklist.get_option_at_index(i).prompt) for i in range(checklist.option_count)]
            assert all(prompt.startswith("[x] ") for prompt in prompts)  # ticked reads as [x], without colour
            cost = next(i for i, prompt in enumerate(prompts) if prompt.startswith("[x] Cost"))
            checklist.highlighted = cost
            await pilot.press("space")
            assert str(checklist.get_option_at_index(cost).prompt).startswith("[ ] Cost")
            assert checklist.ticked == {"speed", "human_feedback"}
            await pilot.press("enter")  # Enter runs; it does not toggle
            await settle(pilot)
            assert not isinstance(app.screen, EvaluationDialog)
            evaluations = app.screen.query_one(EvaluationsTable)
            assert evaluations.row_count == 1 and str(evaluations.get_row_at(0)[1]) == "running"
            gate.set()
            await services.evaluations.wait()
            await wait_until(pilot, lambda: str(evaluations.get_row_at(0)[1]) == "done")  # completed, at 80 columns
            row = dict(zip([str(c.key.value) for c in evaluations.ordered_columns], _cells(evaluations, 0)))
            assert row["logs"] == "2" and row["value-cost"] == "not chosen"  # said, not a blank dash
            assert (row["value-speed"], row["used-speed"]) == ("325ms", "2")
            assert (row["value-human_feedback"], row["used-human_feedback"]) == ("100.0%", "2")
            assert any("2 logs evaluated" in n.message for n in said(app))

            # edit: a new name and filter
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, DatasetDialog))
            app.screen.query_one("#dataset-name", Input).value = "all openai"
            app.screen.query_one("#dataset-filter", Input).value = "provider:openai"
            app.screen.query_one("#save", Button).press()
            await settle(pilot)
            (dataset,) = (await services.datasets.list("default")).items
            assert dataset.name == "all openai" and dataset.filter == parse_text("provider:openai")

            # delete, after confirming
            await pilot.press("d")
            await wait_until(pilot, lambda: app.screen.query("#confirm"))
            await pilot.click("#confirm")
            await settle(pilot)
            assert (await services.datasets.list("default")).total_count == 0
            assert table.row_count == 0
            actions = {(r.action, r.resource_type) for r in (await services.audit.list()).items}
            assert {("create", "dataset"), ("update", "dataset"), ("delete", "dataset"), ("create", "evaluation")} <= actions
    finally:
        await store.close()


def snapshot_app(tmp_path: Path, export_dir: Path | None = None) -> ViewHarness:
    """Two datasets and two evaluations of them, saved at fixed times (exports to ``export_dir``)."""
    async def setup() -> Services:
        store = await open_seeded_store(tmp_path / "snap.db")
        earlier = Services(store, account_id=ACCOUNT, clock=lambda: NOW - 30 * MINUTE)
        later = Services(store, account_id=ACCOUNT, clock=lambda: NOW - 10 * MINUTE)
        rated = await earlier.datasets.create("default", "rated answers", parse_text("feedback:1,-1"), TEST_ACTOR)
        openai = await later.datasets.create(
            "default", "openai chat", parse_text("provider:openai model:gpt-4o-mini status:success"), TEST_ACTOR
        )
        await earlier.evaluations.create("default", "baseline", [rated.id], ["cost", "speed", "human_feedback"], TEST_ACTOR)
        await earlier.evaluations.wait()
        await later.evaluations.create(
            "default", "after prompt change", [rated.id, openai.id], ["cost", "speed", "human_feedback"], TEST_ACTOR
        )
        await later.evaluations.wait()
        return make_services(store)

    return ViewHarness(_factory(export_dir or tmp_path), setup=setup)


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_snapshot_200x60(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(200, 60), run_before=settle)


async def test_the_evaluations_table_fits_80_columns_and_widens_back(tmp_path: Path) -> None:
    async with snapshot_app(tmp_path).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = pilot.app.screen.query_one(EvaluationsTable)
        assert table.narrow and "datasets" not in table.columns
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no horizontal scroll
        assert _cells(table, 0)[:2] == ["after pr… change", "done"]
        await pilot.resize_terminal(120, 30)
        await wait_until(pilot, lambda: table.narrow is False)
        assert "datasets" in table.columns and _cells(table, 0)[:2] == ["after prompt change", "completed"]
        assert _cells(table, 0)[-2] == "rated answers, openai chat"
