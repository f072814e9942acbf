"""Datasets from a filter with a relative time: one rule, said in the same words by view 4's form
and the Logs view's ``n`` (issue 15, item 8); a burst of keys typed into view 4's form lands in its
fields; the unknown-filter-key error lists the short keys (item 11)."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, Static

from console.dataset_time import time_rule
from console.dialogs import TextDialog
from console.views.datasets import DatasetsView
from console.views.logs import LogsView
from console.widgets.datasets_dialogs import DatasetDialog
from proxy_core.services import Services
from proxy_core.store.filter_text import SHORT_KEYS
from proxy_core.store.filters import parse_text
from tests.console.conftest import NOW, UTC
from tests.console.helpers import said, screen_text, until

RULE = "since:1h is fixed when the dataset is saved: logs from 2025-11-28 02:20:00.000 UTC on (it does not slide)."


def _words(screen) -> str:  # noqa: ANN001
    return " ".join(" ".join(str(widget.render()) for widget in screen.query(Static)).split())


def test_the_rule_in_words() -> None:
    text = "provider:openai since:1h"
    assert time_rule(text, parse_text(text, now_ms=NOW), UTC) == RULE
    assert time_rule("", parse_text(""), UTC) == "No time bound: every matching log, old and new."
    fixed = "since:2025-11-28T00:00:00Z"
    assert time_rule(fixed, parse_text(fixed), UTC) == "Logs from 2025-11-28 00:00:00.000 UTC on."


async def test_both_dialogs_say_the_same_rule_and_save_the_bound(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await pilot.press("2")
        logs = app.screen.query_one(LogsView)
        await until(pilot, lambda: logs.total is not None, what="the logs")
        await pilot.press("slash")
        logs.query_one("#logs-filter").input.value = "provider:openai since:1h"
        await pilot.press("enter")
        await until(pilot, lambda: logs.filter_text == "provider:openai since:1h" and not logs._loading)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, TextDialog), what="the Logs n dialog")
        await until(pilot, lambda: RULE in _words(app.screen), what="the rule in the Logs n dialog")
        app.screen.query_one(Input).value = "last hour"
        await pilot.press("enter")
        await until(pilot, lambda: any("Dataset 'last hour'" in n.message for n in said(app)), what="saved")
        [saved] = (await services.datasets.list("default")).items
        assert saved.filter.start_ms == NOW - 3_600_000 and saved.filter.end_ms is None

        await pilot.press("4")
        await until(pilot, lambda: app.current_mode == "datasets", what="view 4")
        view = app.screen.query_one(DatasetsView)
        view.new_dataset("provider:openai since:1h")
        await until(pilot, lambda: isinstance(app.screen, DatasetDialog), what="view 4's form")
        await until(pilot, lambda: RULE in _words(app.screen), what="the same words in view 4's form")


async def test_a_burst_of_keys_lands_in_the_new_dataset_form(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await pilot.press("4")
        await until(pilot, lambda: app.current_mode == "datasets", what="view 4")
        await pilot.pause()
        # one terminal read: the key that opens the form and what is typed right after it, queued
        # before any of them is handled (Pilot's press would wait between keys)
        for key in ["n", *"fastname", "tab", *"provider:openai"]:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await until(pilot, lambda: isinstance(app.screen, DatasetDialog), what="the form")
        form = app.screen
        await until(pilot, lambda: form.query_one("#dataset-filter", Input).value == "provider:openai", what="typed")
        assert form.query_one("#dataset-name", Input).value == "fastname"
        assert sum(isinstance(screen, DatasetDialog) for screen in app.screen_stack) == 1  # 'n' and 'e' did not run
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, DatasetDialog), what="saved")
        await until(pilot, lambda: any("fastname" in n.message for n in said(app)), what="saved")
        [saved] = (await services.datasets.list("default")).items
        assert (saved.name, saved.filter) == ("fastname", parse_text("provider:openai"))


async def test_an_unknown_filter_key_lists_the_short_keys(console) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await pilot.press("2")
        logs = app.screen.query_one(LogsView)
        await until(pilot, lambda: logs.total is not None, what="the logs")
        await pilot.press("slash", *"provder:x", "enter")
        bar = logs.query_one("#logs-filter")
        await until(pilot, lambda: bar.error is not None, what="the error")
        assert f"keys: {SHORT_KEYS}" in str(bar.error) and "request_content_type" not in str(bar.error)
        assert "keys: provider model status" in " ".join(screen_text(app).split())
