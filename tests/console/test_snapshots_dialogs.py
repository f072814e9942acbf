"""Snapshots of every dialog and of the help screen at 80×24, each over the Live view of the seeded
console (so the dialog's styles are checked in the App that really shows them).

Deterministic like the views' snapshots: fixed clock, UTC, seeded store; the dialog is pushed once
the tail is painted and the snapshot is taken once it is the screen on top.
"""

from __future__ import annotations

from pathlib import Path

import asyncio
from typing import Callable

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from console.dialogs import ChoiceDialog, ConfirmDialog, ScoreDialog, TextDialog
from console.views.live import LiveView
from console.widgets.datasets_dialogs import DatasetDialog, EvaluationDialog
from console.widgets.gateways_dialogs import GatewayDialog, SettingDialog, TokenSecretDialog
from console.widgets.gateways_settings import SETTINGS
from tests.console.conftest import fixed_clock
from tests.console.helpers import until

SAFETY_S = 60.0
TOKEN = "aigw_01kb47k2r0000000000000001v_" + "Zx9" * 14 + "Q"
"""As long as a real token (75 characters): it must fit on one line at 80 columns."""

DIALOGS: dict[str, Callable[[], Screen]] = {
    "confirm_quit": lambda: ConfirmDialog(
        "Quit and stop the gateway?", "The gateway at http://127.0.0.1:8787/v1/local/default runs in this process.",
        confirm="Quit", danger=True,
    ),
    "confirm_detach": lambda: ConfirmDialog("Detach the console?", "The console closes; the gateway keeps serving.",
                                            confirm="Detach"),
    "score": lambda: ScoreDialog(42),
    "text": lambda: TextDialog("Name the dataset", value="rated answers", note="Saved with the current filter."),
    "choice": lambda: ChoiceDialog("Show gateway", [("default", "default  (default)"), ("staging", "staging")],
                                   current="staging"),
    "dataset": lambda: DatasetDialog("New dataset", name="gpt-4o rated", filter_text="provider:openai feedback:1",
                                     clock=fixed_clock),
    "evaluation": lambda: EvaluationDialog(
        ["gpt-4o rated"], [("cost", "Cost", "Average cost"), ("speed", "Speed", "Average duration")], name="run 1"
    ),
    "gateway": lambda: GatewayDialog(value="eu-west"),
    "setting": lambda: SettingDialog(SETTINGS[0], 300, gateway_id="default"),
    "token": lambda: TokenSecretDialog(
        TOKEN, name="app", gateway_id="default", authentication=False, token_id="01KB47K2R0000000000000001V",
        save_dir=Path("unused"),
    ),
}  # fmt: skip


def _showing(make: Callable[[], Screen]) -> Callable[[Pilot], object]:
    async def run_before(pilot: Pilot) -> None:
        await asyncio.wait_for(pilot.app.screen.query_one(LiveView).catch_up(), SAFETY_S)
        dialog = make()
        pilot.app.push_screen(dialog)
        await until(pilot, lambda: pilot.app.screen is dialog and dialog.is_mounted, what="the dialog")
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_dialog_80x24(snap_compare, snapshot_console, name: str) -> None:
    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=_showing(DIALOGS[name]))


def test_help_80x24(snap_compare, snapshot_console) -> None:
    async def run_before(pilot: Pilot) -> None:
        await asyncio.wait_for(pilot.app.screen.query_one(LiveView).catch_up(), SAFETY_S)
        await pilot.press("question_mark")
        await until(pilot, lambda: "Help" in type(pilot.app.screen).__name__, what="the help")
        await pilot.pause()

    assert snap_compare(snapshot_console(), terminal_size=(80, 24), run_before=run_before)
