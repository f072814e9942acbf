"""GuardrailsView: cycling actions and the master switch saves at once, audited; snapshots."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static, Switch

from console.views.guardrails import GuardrailsView
from tests.console.views_harness import ViewHarness, fixed_clock, make_services, open_seeded_store, settle
from tests.console.helpers import said


def _unreachable() -> tuple[str, str]:
    return ("llama-guard", "unreachable: connection refused")


def _view(services, **kwargs) -> GuardrailsView:
    return GuardrailsView(services, "default", clock=fixed_clock, **kwargs)


async def test_cycle_actions_and_switch_are_saved_audited_and_refusals_notify(tmp_path: Path) -> None:
    store = await open_seeded_store(tmp_path / "t.db", logs=False)
    try:
        services = make_services(store)
        app = ViewHarness(lambda s: _view(s, evaluator_status=_unreachable), services=services)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            evaluator = app.screen.query_one("#guardrails-evaluator", Static)
            assert "llama-guard · unreachable: connection refused" in str(evaluator.render())
            table = app.screen.query_one("#guardrails-table", DataTable)
            assert table.row_count == 14
            assert str(table.get_cell("S1", "prompt")) == "flag"
            # S2: prompt flag -> ignore -> block; response flag -> ignore
            await pilot.press("down", "p", "p", "r")
            await settle(pilot)
            stored = (await services.gateways.get("default")).guardrails
            assert stored is not None
            assert stored["prompt"]["S2"] == "block" and stored["response"]["S2"] == "ignore"
            assert stored["prompt"]["S1"] == "flag" and stored["enabled"] is False
            assert str(table.get_cell("S2", "prompt")) == "block"
            # the master switch, by key and by the Switch widget
            await pilot.press("e")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["enabled"] is True
            assert app.screen.query_one(Switch).value is True
            assert "refused while a category is on block" in str(evaluator.render())  # S2 blocks prompts
            await pilot.click("#guardrails-switch")
            await settle(pilot)
            assert (await services.gateways.get("default")).guardrails["enabled"] is False
            audit = (await services.audit.list()).items
            assert audit and all(r.interface == "console" and r.actor == "operator" for r in audit)
            assert {r.action for r in audit} == {"update"} and {r.resource_id for r in audit} == {"default"}
            flips = [((r.old_value["guardrails"] or {}).get("enabled", False), r.new_value["guardrails"]["enabled"])
                     for r in audit]  # fmt: skip
            switched = [(old, new) for old, new in flips if old != new]
            assert sorted(switched) == [(False, True), (True, False)]  # on, then off (one fixed clock)
            assert any(r.new_value["guardrails"]["prompt"]["S2"] == "block" for r in audit)

            # a refused change (the gateway is gone): a notification, and the view carries on
            view = app.screen.query_one(GuardrailsView)
            await services.gateways.delete("default", services_actor())
            await pilot.press("p")
            await settle(pilot)
            assert any("not found" in n.message for n in said(app))
            view.set_gateway("default")  # no-op: same gateway; nothing crashes
    finally:
        await store.close()


def services_actor():
    from proxy_core.services import Actor

    return Actor("test", "CLI")


def _snapshot_app(tmp_path: Path) -> ViewHarness:
    async def setup():
        services = make_services(await open_seeded_store(tmp_path / "snap.db", logs=False))
        policy = {"enabled": True, "prompt": {"S1": "block", "S9": "block", "S13": "ignore"},
                  "response": {"S4": "block", "S14": "ignore"}}  # fmt: skip
        await services.gateways.update("default", {"guardrails": policy}, services_actor())
        return services

    return ViewHarness(
        lambda s: _view(s, evaluator_status=lambda: ("llama-guard-3-8b (vllm)", "healthy")), setup=setup
    )


def test_snapshot_80x24(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_snapshot_200x60(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(200, 60), run_before=settle)
