"""A burst of keys typed right after the key that opens a form lands in the form (issue 15, item
11), in every form a view opens on a key: the Logs ``n`` dataset dialog and view 6's new-gateway
(``n``) and new-token (``t``) forms (view 4's is in test_dataset_forms.py). Each burst holds
letters that are also the view's own keys, which must not run.

The keys are posted as one terminal read delivers them: all queued before any is handled
(Pilot's ``press`` would wait between keys).
"""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable, Input

from console.dialogs import TextDialog
from console.views.gateways import GatewaysView
from console.views.logs import LogsView
from console.widgets.gateways_dialogs import GatewayDialog, TokenSecretDialog
from proxy_core.services import Services
from tests.console.helpers import said, until


def _burst(app, keys: list[str]) -> None:  # noqa: ANN001 - an App
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_a_burst_after_n_in_logs_lands_in_the_dataset_name(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await pilot.press("2")
        view = app.screen.query_one(LogsView)
        await until(pilot, lambda: view.total is not None and view.selected is not None, what="the logs")
        before = view.selected
        _burst(app, ["n", *"fresh-zones"])  # f follows, r reloads, s scores, z zooms, n opens another
        await until(pilot, lambda: isinstance(app.screen, TextDialog), what="the form")
        form = app.screen
        await until(pilot, lambda: form.query_one(Input).value == "fresh-zones", what="the name typed")
        assert sum(isinstance(screen, TextDialog) for screen in app.screen_stack) == 1
        assert not view.following and view.selected == before
        await pilot.press("enter")
        await until(pilot, lambda: any("fresh-zones" in n.message for n in said(app)), what="created")
        assert [d.name for d in (await services.datasets.list("default")).items] == ["fresh-zones"]


async def _gateways(pilot) -> GatewaysView:  # noqa: ANN001 - a Pilot
    await pilot.press("6")
    view = pilot.app.screen.query_one(GatewaysView)
    table = view.query_one("#gateways-list", DataTable)
    await until(pilot, lambda: table.row_count == 2 and view.selected_info is not None, what="the gateways")
    return view


async def test_a_burst_after_n_in_view_6_lands_in_the_gateway_id(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        await _gateways(pilot)
        _burst(app, ["n", *"staging-two"])  # s, t, a, d, n and e are view 6's keys
        await until(pilot, lambda: isinstance(app.screen, GatewayDialog), what="the form")
        form = app.screen
        await until(pilot, lambda: form.query_one(Input).value == "staging-two", what="the id typed")
        assert len(app.screen_stack) == 2  # only the form above the view: no token, no delete
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, GatewayDialog), what="created")
        await until(pilot, lambda: app.screen.query_one("#gateways-list", DataTable).row_count == 3, what="listed")
        assert "staging-two" in [g.id for g in (await services.gateways.list()).items]


async def test_a_burst_after_t_in_view_6_lands_in_the_token_name(console, services: Services) -> None:
    async with console().run_test(size=(80, 24)) as pilot:
        app = pilot.app
        view = await _gateways(pilot)
        gateway = view.selected_info
        assert gateway is not None
        _burst(app, ["t", *"ci-runner-ed"])
        await until(pilot, lambda: isinstance(app.screen, TextDialog), what="the form")
        form = app.screen
        await until(pilot, lambda: form.query_one(Input).value == "ci-runner-ed", what="the name typed")
        assert len(app.screen_stack) == 2
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TokenSecretDialog), what="the token shown once")
        assert [t.name for t in await services.tokens.list(gateway.id)] == ["ci-runner-ed"]
