"""GatewaysView: create a gateway, change settings, create and revoke a token, the audit log; snapshots."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList, Static

from console.dialogs import ChoiceDialog, ConfirmDialog, TextDialog
from console.views.gateways import GatewaysTable, GatewaysView
from console.widgets.gateways_tokens import TokensTable
from console.widgets.gateways_audit import AuditTable
from console.widgets.gateways_dialogs import GatewayDialog, SettingDialog, TokenSecretDialog
from console.widgets.gateways_settings import SETTINGS, SettingsTable
from proxy_core.services import Actor, Services
from proxy_core.admission import split_token
from proxy_core.store.logwriter import LogWriter
from tests.console.helpers import said
from tests.console.views_harness import (
    ACCOUNT, HOUR, MINUTE, NOW, UTC, ViewHarness, fixed_clock, log_row, make_services, open_seeded_store, settle,
    wait_until,
)  # fmt: skip

TEST_ACTOR = Actor("test", "CLI")
ROW = {spec.field: i for i, spec in enumerate(SETTINGS)}


def _view(services: Services) -> GatewaysView:
    return GatewaysView(services, "default", clock=fixed_clock, tz=UTC)


async def _open(pilot, app, key: str, kind: type) -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, kind))


async def test_gateway_settings_tokens_and_audit(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db", logs=False)
    try:
        services = make_services(store)
        app = ViewHarness(
            lambda s: GatewaysView(s, "default", clock=fixed_clock, tz=UTC, export_dir=tmp_path / "exports"),
            services=services,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            view = app.screen.query_one(GatewaysView)
            # create: the service's refusal is shown in the dialog, which stays open
            await _open(pilot, app, "n", GatewayDialog)
            app.screen.query_one(Input).value = "Not Valid"
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, GatewayDialog) and "lower-case" in str(
                app.screen.query_one("#gateway-error", Static).render()))  # fmt: skip
            app.screen.query_one(Input).value = "staging"
            await pilot.press("enter")
            await settle(pilot)
            assert [g.id for g in (await services.gateways.list()).items] == ["default", "staging"]
            assert view.selected == "staging"
            assert app.screen.query_one(GatewaysTable).row_count == 2

            # a number: refused inline as the service would, then saved
            settings = app.screen.query_one(SettingsTable)
            settings.move_cursor(row=ROW["cache_ttl"])
            await _open(pilot, app, "e", SettingDialog)
            field = app.screen.query_one(Input)
            field.value = "-5"
            await pilot.pause()
            assert "0 or 60 to 2592000" in str(app.screen.query_one("#setting-error", Static).render())
            field.value = "600"
            await pilot.press("enter")
            await settle(pilot)
            assert (await services.gateways.get("staging")).cache_ttl == 600
            assert str(settings.get_cell("cache_ttl", "value")) == "600 s"

            # a switch flips at once (enter) unless it locks clients out: authentication on asks first,
            # saying what happens; a choice comes from a list
            settings.move_cursor(row=ROW["collect_logs"])
            await pilot.press("enter")
            await settle(pilot)
            assert (await services.gateways.get("staging")).collect_logs is False
            settings.move_cursor(row=ROW["authentication"])
            await _open(pilot, app, "enter", ConfirmDialog)
            words = " ".join(" ".join(str(w.render()) for w in app.screen.query(Static)).split())
            assert "without a valid token (cf-aig-authorization: Bearer …) get 401" in words
            assert "no active token yet" in words
            await pilot.press("n")
            await settle(pilot)
            assert (await services.gateways.get("staging")).authentication is False
            await _open(pilot, app, "enter", ConfirmDialog)
            await pilot.press("y")
            await settle(pilot)
            assert (await services.gateways.get("staging")).authentication is True
            settings.move_cursor(row=ROW["log_management_strategy"])
            await _open(pilot, app, "e", ChoiceDialog)
            app.screen.query_one(OptionList).highlighted = 1
            await pilot.press("enter")
            await settle(pilot)
            assert (await services.gateways.get("staging")).log_management_strategy == "DELETE_OLDEST"

            # logpush without a key: the service's message as a notification
            settings.move_cursor(row=ROW["logpush"])
            await pilot.press("e")
            await settle(pilot)
            assert any("logpush_public_key" in n.message for n in said(app))
            assert (await services.gateways.get("staging")).logpush is False

            # a token: named, shown once, listed without its secret, then revoked
            await _open(pilot, app, "t", TextDialog)
            app.screen.query_one(Input).value = "ci-runner"
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, TokenSecretDialog))
            dialog = app.screen
            secret = str(dialog.query_one("#token-secret", Static).render())
            assert split_token(secret) is not None
            await pilot.press("c")  # OSC 52 goes out; the dialog never claims the terminal took it
            outcome = dialog.query_one("#token-outcome", Static)
            assert app.clipboard == secret
            assert "Sent to the terminal's clipboard (OSC 52)" in str(outcome.render())
            assert "may ignore it" in str(outcome.render()) and not any("copied" in n.message for n in said(app))
            await pilot.press("s")  # saved to a file only the operator can read, the path shown
            saved = dialog.saved_to
            assert saved is not None and saved.parent == (tmp_path / "exports").resolve()
            assert saved.read_text() == secret + "\n" and saved.stat().st_mode & 0o777 == 0o600
            assert f"Saved to {saved} (0600)" in " ".join(str(outcome.render()).split())
            await pilot.press("escape")
            await settle(pilot)
            (token,) = await services.tokens.list("staging")
            assert token.active and secret.endswith(token.hint)
            tokens = app.screen.query_one(TokensTable)
            cells = [str(c) for c in tokens.get_row_at(0)]
            assert cells[0] == "ci-runner" and cells[1] == f"…{token.hint}" and cells[3] == "active"
            assert not any(secret in str(c) for c in cells)
            await pilot.press("x")
            await wait_until(pilot, lambda: bool(app.screen.query("#confirm")))
            await pilot.click("#confirm")
            await settle(pilot)
            assert not (await services.tokens.list("staging"))[0].active
            assert str(tokens.get_row_at(0)[3]).startswith("revoked")

            # the audit log: every change, by the console, with old → new
            await pilot.press("a")
            await settle(pilot)
            audit = app.screen.query_one(AuditTable)
            rows = [[str(c) for c in audit.get_row_at(i)] for i in range(audit.row_count)]
            assert all(row[1:3] == ["operator", "console"] for row in rows)
            assert ["create", "gateway staging"] in [row[3:5] for row in rows]
            assert any(row[3] == "update" and "cache_ttl: null → 600" in row[5] for row in rows)
            assert any(row[3] == "update" and "authentication: false → true" in row[5] for row in rows)
            assert [row[4].split()[0] for row in rows].count("token") == 2  # created, revoked
            assert ["revoke", f"token {token.id}"] in [row[3:5] for row in rows]  # not a "delete": it stays listed
            records = (await services.audit.list()).items
            assert {r.interface for r in records} == {"console"}

            # delete, after confirming: the question says how much goes with the gateway
            await LogWriter(store, lambda a, g: None).write(
                [log_row(n, NOW - n * 1000, gateway_id="staging") for n in (1, 2)], []
            )
            await pilot.press("s")
            await pilot.press("d")
            await wait_until(pilot, lambda: bool(app.screen.query("#confirm")))
            question = " ".join(str(app.screen.query_one(".dialog-message", Static).render()).split())
            assert "Delete gateway 'staging'? 2 logs, 0 datasets and 1 token are deleted with it" in question
            await pilot.click("#confirm")
            await settle(pilot)
            assert [g.id for g in (await services.gateways.list()).items] == ["default"]
            assert view.selected == "default"
    finally:
        await store.close()


def _snapshot_app(tmp_path: Path) -> ViewHarness:
    async def setup() -> Services:
        store = await open_seeded_store(tmp_path / "snap.db", logs=False)
        earlier = Services(store, account_id=ACCOUNT, clock=lambda: NOW - HOUR)  # one change per time: a stable order
        later = Services(store, account_id=ACCOUNT, clock=lambda: NOW - 30 * MINUTE)
        await earlier.gateways.update(
            "default",
            {"cache_ttl": 300, "rate_limiting_limit": 100, "rate_limiting_interval": 60,
             "rate_limiting_technique": "sliding", "authentication": True, "log_management": 100_000,
             "log_management_strategy": "DELETE_OLDEST"},
            TEST_ACTOR,
        )  # fmt: skip
        await later.gateways.create("staging", {"collect_logs": False}, TEST_ACTOR)
        return make_services(store)

    return ViewHarness(_view, setup=setup)


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_snapshot_200x60(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(200, 60), run_before=settle)


async def test_settings_show_where_logpush_stands(tmp_path: Path) -> None:
    from proxy_core.logpush.state import LogpushStatus, allocate_sequence, save_status

    store = await open_seeded_store(tmp_path / "t.db", logs=False)
    try:
        await allocate_sequence(store, ACCOUNT, "default", NOW)
        status = LogpushStatus(ACCOUNT, "default", delivered_files=3, delivered_records=9, last_delivery_at=NOW - 5_000,
                               pending_records=4, oldest_pending_at=NOW - 12_000, failures=2,
                               last_error="http://127.0.0.1:9/logs answered 503")  # fmt: skip
        await save_status(store, status, NOW)
        app = ViewHarness(_view, services=make_services(store))
        async with app.run_test(size=(120, 24)) as pilot:
            await settle(pilot)
            section = app.screen.query_one("#section-settings")
            await wait_until(pilot, lambda: "logpush:" in str(section.border_subtitle))
            assert section.border_subtitle == (
                "logpush: last delivery 5 s ago · lag 12 s · 4 pending · 2 errors (last: http://127.0.0.1:9/logs answered 503)"
            )
    finally:
        await store.close()


def _seeded_app(tmp_path: Path) -> ViewHarness:
    async def setup() -> Services:
        return make_services(await open_seeded_store(tmp_path / "seeded.db"))

    return ViewHarness(_view, setup=setup)


def _asking(*keys: str, row: str | None = None):  # noqa: ANN202 - a run_before
    async def run_before(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        if row is not None:
            pilot.app.screen.query_one(SettingsTable).move_cursor(row=ROW[row])
        await pilot.press(*keys)
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog) and pilot.app.screen.is_mounted)
        await pilot.pause()

    return run_before


def test_snapshot_authentication_on_asks_first_80x24(snap_compare, tmp_path: Path) -> None:
    """Turning authentication on states the effect: clients without a token get 401."""
    assert snap_compare(_seeded_app(tmp_path), terminal_size=(80, 24), run_before=_asking("e", row="authentication"))


def test_snapshot_delete_gateway_says_what_goes_80x24(snap_compare, tmp_path: Path) -> None:
    """Deleting a gateway says how many logs, datasets and tokens go with it."""
    assert snap_compare(_seeded_app(tmp_path), terminal_size=(80, 24), run_before=_asking("d"))
