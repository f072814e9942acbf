"""Guardrails: a gateway's master switch and, per hazard category, what happens to prompts and
responses (flag, ignore or block), with how often each category was hit.

An action is picked from a small menu (``p`` prompts, ``r`` responses): one choice, one save, one
audit entry, never the intermediate steps a cycling key would store. Changes that stop protection
ask first and say what they do: turning guardrails off, and putting a category on ``ignore``.
Every change is saved through ``services.gateways.update(…, {"guardrails": policy})``, so it is
audited and applies to the gateway's next request. Changes made faster than the store answers
are coalesced: the saver always sends the latest policy, never an older one after it.

The ``Hits 1h`` and ``Hits 24h`` columns count the requests in which the evaluator found each category
(flagged or blocked; how many of them blocked in brackets), read from the service layer's
per-minute counts (:class:`proxy_core.services.guardrail_hits.GuardrailHitService`) when the view
is shown, every few seconds while it is on screen, and on ``f5``. Enter on a category opens the
Logs view on that category's hits of the last 24 hours.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, ClassVar, Union

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Label, Static, Switch

from console.dialogs import ChoiceDialog, ConfirmDialog
from console.safe_text import clean_line
from console.store_calls import describe_error, finish, report_failure
from console.widgets.dialog_owner import DialogOwner
from proxy_core.guardrails.categories import ACTIONS, CATEGORIES, default_policy, normalize_policy
from proxy_core.services import Actor, CategoryHits, Services

__all__ = ["GuardrailsView", "GuardrailsTable", "CONSOLE_ACTOR", "EvaluatorStatus"]

CONSOLE_ACTOR = Actor("operator", "console")
EvaluatorStatus = Callable[[], Union["tuple[str, str]", "Awaitable[tuple[str, str]]"]]
"""Returns (or, when async, resolves to) the evaluator backend's name and ``"healthy"`` or
``"unreachable: <reason>"``. See :func:`console.link.evaluator_probe`."""
_NO_EVALUATOR = ("", "")
"""No ``evaluator_status`` was given (e.g. a console attached to another process)."""

_SIDES = ("prompt", "response")
_HITS_S = 5.0
"""How often the hit counters are re-read while the view is on screen."""
_ACTION_EFFECT = {
    "flag": "logged as flagged, let through",
    "block": "refused with error {code}",
    "ignore": "not checked: neither flagged nor blocked",
}
_BLOCK_CODE = {"prompt": 2016, "response": 2017}


def action_effect(side: str, action: str) -> str:
    """What ``action`` does to a ``side`` (prompt or response) that falls in a category."""
    return _ACTION_EFFECT[action].format(code=_BLOCK_CODE[side])


def hits_cell(total: int, blocked: int) -> str:
    """``12 (3 blk)``: requests flagged or blocked, and how many of them were blocked; ``·`` for none."""
    if not total:
        return "·"
    return f"{total:,} ({blocked:,} blk)" if blocked else f"{total:,}"


class GuardrailsTable(DataTable):
    """One row per hazard category; its component classes colour the actions from the theme."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "guardrails-table--flag", "guardrails-table--ignore", "guardrails-table--block",
    }  # fmt: skip
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Hits in Logs", id="guardrails.hits",
                tooltip="Open the Logs view on the highlighted category's hits of the last 24 hours"),  # fmt: skip
    ]

    def action_cell(self, action: str) -> Text:
        # The full style resolves translucent colours against the table; its background is dropped
        # so that zebra stripes and the cursor still show through.
        style = self.get_component_rich_style(f"guardrails-table--{action}")
        return Text(action, style=style.without_color + Style(color=style.color))


class GuardrailsView(DialogOwner, can_focus=False):
    """The guardrail policy of the current gateway, edited in place.

    Styles: ``guardrails.tcss`` beside this module, loaded with the view's screen.
    """

    FOCUS_ON_SHOW = "#guardrails-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "choose_action('prompt')", "Prompt action", id="guardrails.prompt",
                tooltip="Pick the highlighted category's prompt action: flag, ignore or block"),  # fmt: skip
        Binding("r", "choose_action('response')", "Response action", id="guardrails.response",
                tooltip="Pick the highlighted category's response action: flag, ignore or block"),  # fmt: skip
        Binding("e", "toggle_enabled", "On/off", id="guardrails.toggle",
                tooltip="Turn guardrails on or off for this gateway"),  # fmt: skip
        Binding("space", "toggle_enabled", "On/off", show=False, id="guardrails.toggle_space",
                tooltip="Turn guardrails on or off for this gateway"),  # fmt: skip
        Binding("f5", "refresh", "Refresh", id="guardrails.refresh", tooltip="Reload the policy"),
    ]

    @dataclass
    class PolicyLoaded(Message):
        """The gateway's stored policy and the evaluator's status were read."""

        gateway_id: str
        policy: dict[str, Any]
        evaluator: tuple[str, str]

    @dataclass
    class PolicySaved(Message):
        """A policy was stored (and audited) for a gateway."""

        gateway_id: str
        policy: dict[str, Any]

    @dataclass
    class HitsLoaded(Message):
        """The gateway's guardrail hits of the last hour and day were read (by S-code)."""

        gateway_id: str
        hits: dict[str, CategoryHits]

    @dataclass
    class SaveFailed(Message):
        """The store refused a change; the view reloads what is stored."""

        gateway_id: str

    def __init__(
        self,
        services: Services,
        gateway_id: str,
        *,
        clock: Callable[[], int] | None = None,
        evaluator_status: EvaluatorStatus | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.services = services
        self.gateway_id = gateway_id
        self.clock = clock or services.clock
        self.evaluator_status = evaluator_status
        self._policy: dict[str, Any] | None = None
        self._evaluator: tuple[str, str] = _NO_EVALUATOR
        self._pending: tuple[str, dict[str, Any]] | None = None
        self._saving = False
        self.hits: dict[str, CategoryHits] | None = None
        """The hit counters on screen (``None``: not read yet)."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="guardrails-header"):
            yield Switch(False, id="guardrails-switch", tooltip="Guardrails on or off for this gateway")
            with Vertical(id="guardrails-info"):
                yield Label(id="guardrails-state")
                yield Static(id="guardrails-evaluator")
        table = GuardrailsTable(id="guardrails-table", cursor_type="row", zebra_stripes=True)
        table.add_column("Code", key="code", width=4)
        table.add_column("Category", key="name")
        table.add_column("Prompt", key="prompt", width=8)
        table.add_column("Response", key="response", width=8)
        table.add_column("Hits 1h", key="hour")
        table.add_column("Hits 24h", key="day")
        yield table
        yield Static(
            Content.from_markup(
                "[$text-warning]flag[/]: log, let through · [$text-error]block[/]: refuse (2016/2017) · "
                "[$foreground]ignore[/]: skip"
            ),
            id="guardrails-legend",
        )

    def on_mount(self) -> None:
        table = self.query_one(GuardrailsTable)
        for code, category in CATEGORIES.items():
            table.add_row(code, category.name, "", "", "", "", key=code)
        table.focus()
        self.watch_screen_changes()
        self.set_interval(_HITS_S, self._poll_hits)
        # Cells carry resolved styles: redraw them once the new theme's styles are in place.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.call_after_refresh(self._show_policy))

    def on_show(self) -> None:
        self.refresh_data()

    # -- public API --------------------------------------------------------------------------

    @property
    def policy(self) -> dict[str, Any] | None:
        """The policy on screen (a copy), or ``None`` before the first load."""
        return copy.deepcopy(self._policy)

    def refresh_data(self) -> None:
        """Reload the stored policy, the evaluator's status and the hit counters."""
        self._load(self.gateway_id)
        self._load_hits(self.gateway_id)

    def _poll_hits(self) -> None:
        if self.is_attached and self.screen.is_current:
            self._load_hits(self.gateway_id)

    def set_gateway(self, gateway_id: str) -> None:
        """Show ``gateway_id``'s policy (called by the shell's gateway switcher)."""
        if gateway_id != self.gateway_id:
            self.gateway_id = gateway_id
            self._policy = None
            self.refresh_bindings()
            self.refresh_data()

    # -- loading and saving ----------------------------------------------------------------

    @work(exclusive=True, group="guardrails-load", exit_on_error=False)
    async def _load(self, gateway_id: str) -> None:
        try:
            info = await finish(self.services.gateways.get(gateway_id))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Could not load guardrails", exc)
            return
        evaluator = _NO_EVALUATOR
        if self.evaluator_status is not None:
            try:
                status = self.evaluator_status()
                evaluator = await finish(status) if inspect.isawaitable(status) else status
            except Exception as exc:  # noqa: BLE001 - a broken probe is an unreachable evaluator
                evaluator = ("evaluator", f"unreachable: {describe_error(exc)}")
        policy = normalize_policy(info.guardrails) if info.guardrails else default_policy()
        self.post_message(self.PolicyLoaded(gateway_id, policy, evaluator))

    @work(exclusive=True, group="guardrails-hits", exit_on_error=False)
    async def _load_hits(self, gateway_id: str) -> None:
        try:
            hits = await finish(self.services.guardrail_hits.counts(gateway_id))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Could not count guardrail hits", exc)
            return
        self.post_message(self.HitsLoaded(gateway_id, hits))

    @on(HitsLoaded)
    def _hits_loaded(self, message: HitsLoaded) -> None:
        if message.gateway_id != self.gateway_id or message.hits == self.hits:
            return
        self.hits = message.hits
        table = self.query_one(GuardrailsTable)
        for code in CATEGORIES:
            counts = message.hits.get(code, CategoryHits(code))
            table.update_cell(code, "hour", hits_cell(counts.hour, counts.hour_blocked), update_width=True)
            table.update_cell(code, "day", hits_cell(counts.day, counts.day_blocked), update_width=True)

    @on(PolicyLoaded)
    def _policy_loaded(self, message: PolicyLoaded) -> None:
        self._evaluator = message.evaluator
        if message.gateway_id != self.gateway_id:
            return
        if self._pending is not None or self._saving:
            self._show_evaluator()
            return  # our own change is on its way; the store's copy is older
        self._policy = message.policy
        self._show_policy()
        self.refresh_bindings()

    def _change(self) -> None:
        """Queue the policy on screen for saving and show it."""
        assert self._policy is not None
        self._pending = (self.gateway_id, copy.deepcopy(self._policy))
        self._show_policy()
        if not self._saving:
            self._saving = True
            self._save()

    @work(group="guardrails-save", exit_on_error=False)
    async def _save(self) -> None:
        try:
            while self._pending is not None:
                gateway_id, policy = self._pending
                self._pending = None
                try:
                    info = await finish(self.services.gateways.update(gateway_id, {"guardrails": policy}, CONSOLE_ACTOR))
                except Exception as exc:  # noqa: BLE001 - shown, then the stored policy is reloaded
                    report_failure(self, "Guardrails not saved", exc)
                    self.post_message(self.SaveFailed(gateway_id))
                    continue
                self.post_message(self.PolicySaved(gateway_id, info.guardrails or default_policy()))
        finally:
            self._saving = False

    @on(PolicySaved)
    def _policy_saved(self, message: PolicySaved) -> None:
        if message.gateway_id == self.gateway_id and self._pending is None and not self._saving:
            self._policy = message.policy
            self._show_policy()

    @on(SaveFailed)
    def _save_failed(self, message: SaveFailed) -> None:
        if message.gateway_id == self.gateway_id:
            self.refresh_data()

    # -- display -----------------------------------------------------------------------------

    def _show_policy(self) -> None:
        if self._policy is None or not self.is_attached:
            return
        policy = self._policy
        enabled = bool(policy.get("enabled"))
        switch = self.query_one("#guardrails-switch", Switch)
        with switch.prevent(Switch.Changed):
            switch.value = enabled
        state = "[b $text-success]ON[/]" if enabled else "[b $text-muted]OFF[/]"
        gateway = clean_line(self.gateway_id).replace("[", r"\[")
        self.query_one("#guardrails-state", Label).update(
            Content.from_markup(f"Guardrails {state} for gateway [b]{gateway}[/b]")
        )
        self.set_class(not enabled, "-off")
        table = self.query_one(GuardrailsTable)
        for code in CATEGORIES:
            for side in _SIDES:
                table.update_cell(code, side, table.action_cell(policy[side][code]))
        self._show_evaluator()

    def _show_evaluator(self) -> None:
        name, health = self._evaluator
        name = clean_line(name).replace("[", r"\[")
        if not name:
            markup = "[$text-muted]Evaluator status is not available in this console[/]"
        elif not health:
            markup = f"Evaluator [b]{name}[/b]"
        elif health == "healthy":
            markup = f"Evaluator [b]{name}[/b] · [$text-success]healthy[/]"
        else:
            detail = clean_line(health).replace("[", r"\[")
            markup = f"Evaluator [b]{name}[/b] · [$text-error]{detail}[/]"
            policy = self._policy or {}
            if policy.get("enabled") and any(a == "block" for side in _SIDES for a in policy[side].values()):
                markup += " · [$text-error]requests are refused while a category is on block[/]"
        self.query_one("#guardrails-evaluator", Static).update(Content.from_markup(markup))

    # -- actions -----------------------------------------------------------------------------

    def _highlighted(self) -> str | None:
        table = self.query_one(GuardrailsTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_choose_action(self, side: str) -> None:
        """Pick the highlighted category's ``side`` action from a menu; saved once, if it changed."""
        code = self._highlighted()
        if self._policy is None or code is None:
            return
        gateway_id, current = self.gateway_id, self._policy[side][code]
        name = CATEGORIES[code].name
        choices = [(action, f"{action:<6}  {action_effect(side, action)}") for action in ACTIONS]

        def chosen(action: str | None) -> None:
            if action is None or action == current or gateway_id != self.gateway_id or self._policy is None:
                return
            if action != "ignore":
                self._set_action(side, code, action)
                return
            effect = (
                f"{side.capitalize()}s in {code} {name} are no longer checked for gateway "
                f"{clean_line(gateway_id)}: they are neither flagged nor blocked (now: {current})."
            )
            self._push_dialog(
                ConfirmDialog(f"Ignore {code} {name}?", Text(effect), confirm="Ignore", danger=True),
                lambda yes: self._set_action(side, code, "ignore") if yes and gateway_id == self.gateway_id else None,
            )

        self._push_dialog(ChoiceDialog(f"{code} {name}: {side} action", choices, current=current), chosen)

    def _set_action(self, side: str, code: str, action: str) -> None:
        if self._policy is not None:
            self._policy[side][code] = action
            self._change()

    def action_toggle_enabled(self) -> None:
        """Turn the gateway's guardrails on, or (after confirming) off."""
        if self._policy is not None:
            self._switch_to(not self._policy.get("enabled"))

    def _switch_to(self, enabled: bool) -> None:
        """Guardrails on at once; off only once the operator confirms (protection stops)."""
        assert self._policy is not None
        if enabled:
            self._set_enabled(True)
            return
        gateway_id = clean_line(self.gateway_id)
        effect = (
            f"Prompts and responses of gateway {gateway_id} are no longer checked: nothing is flagged or "
            "blocked until guardrails are turned on again."
        )
        self._push_dialog(
            ConfirmDialog("Turn guardrails off?", Text(effect), confirm="Turn off", danger=True),
            lambda yes: self._set_enabled(False) if yes else self._show_policy(),
        )

    def _set_enabled(self, enabled: bool) -> None:
        if self._policy is not None and bool(self._policy.get("enabled")) != enabled:
            self._policy["enabled"] = enabled
            self._change()

    def action_show_hits(self) -> None:
        """The highlighted category's flagged and blocked requests of the last 24 hours, in Logs."""
        code = self._highlighted()
        show_logs = getattr(self.app, "show_logs", None)
        if code is not None and callable(show_logs):
            self.run_worker(show_logs(self.gateway_id, f"category:{code} since:24h"), group="guardrails-jump")

    @on(DataTable.RowSelected, "#guardrails-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_hits()

    def action_refresh(self) -> None:
        """Reload now."""
        self.refresh_data()

    @on(Switch.Changed, "#guardrails-switch")
    def _switched(self, event: Switch.Changed) -> None:
        event.stop()
        if self._policy is not None and bool(self._policy.get("enabled")) != event.value:
            self._switch_to(event.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("choose_action", "toggle_enabled") and self._policy is None:
            return None  # nothing loaded yet
        return True
