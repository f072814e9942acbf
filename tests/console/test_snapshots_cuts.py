"""Snapshots at 80×24 of the two truncations item 9 of issue 15 lists last: the dataset export
toast (the directory and the file name on lines of their own) and sibling model names, in Live
and in Logs, that a plain middle cut would make ambiguous (``claude-sonnet-4-5-20250929`` beside
``claude-sonnet-4-20250514``; ``llama-3.1-8b-instant`` beside ``llama-3.1-70b-versatile``).

Deterministic like the other snapshot modules: a fixed clock, UTC, seeded ids; the export goes to
a relative directory under a working directory of the test's own, so the toast reads the same on
every machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.views.logs import LogsView
from proxy_core.store.logwriter import LogWriter
from tests.console.conftest import NOW, log_row
from tests.console.helpers import said, until
from tests.console.test_snapshots import live_loaded, logs_loaded
from tests.console.test_views_datasets import snapshot_app
from tests.console.views_harness import settle

SIZE = (80, 24)
SIBLINGS = ("claude-sonnet-4-5-20250929", "claude-sonnet-4-20250514", "llama-3.1-8b-instant", "llama-3.1-70b-versatile")
EXPORTS = Path("var/lib/aigw-console/exports/datasets-of-the-search-team")


def _push_siblings(pilot: Pilot) -> None:
    for n, model in enumerate(SIBLINGS * 2):
        provider = "anthropic" if model.startswith("claude") else "groq"
        pilot.app.feed.push(log_row(800 + n, NOW + 1_000 + n * 10, provider=provider, model=model))


def test_sibling_model_names_in_live_80x24(snap_compare, snapshot_console) -> None:
    async def siblings(pilot: Pilot) -> None:
        await live_loaded(pilot)
        _push_siblings(pilot)
        await live_loaded(pilot)

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=siblings)


def test_sibling_model_names_in_logs_80x24(snap_compare, snapshot_console) -> None:
    async def siblings(pilot: Pilot) -> None:
        rows = [log_row(800 + n, NOW + 1_000 + n * 10, provider="anthropic" if model.startswith("claude") else "groq",
                        model=model) for n, model in enumerate(SIBLINGS)]  # fmt: skip
        await LogWriter(pilot.app.services.store, lambda a, g: None).write(rows, [])
        await logs_loaded(pilot)
        view = pilot.app.screen.query_one(LogsView)
        await until(pilot, lambda: view.selected is not None and view.selected.model == SIBLINGS[-1], what="newest")
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=SIZE, run_before=siblings)


def test_dataset_export_toast_80x24(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    EXPORTS.mkdir(parents=True)

    async def exported(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("x")
        await until(pilot, lambda: any(n.title.startswith("Exported") for n in said(pilot.app)), what="the toast")
        await settle(pilot)
        assert [p.parent for p in EXPORTS.glob("*.jsonl")] == [EXPORTS]

    assert snap_compare(snapshot_app(tmp_path, EXPORTS), terminal_size=SIZE, run_before=exported)
