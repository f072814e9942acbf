"""Guardrails: a gateway's master switch and, per hazard category, what happens to prompts and
responses (flag → ignore → block).

Every change is saved at once through ``services.gateways.update(…, {"guardrails": policy})``, so
it is audited and applies to the gateway's next request. Keys pressed faster than the store
answers are coalesced: the saver always sends the latest policy, never an older one after it.
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
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Label, Static, Switch

from console.safe_text import clean_line
from console.store_calls import describe_error, finish, report_failure
from proxy_core.guardrails.categories import ACTIONS, CATEGORIES, default_policy, normalize_policy
from proxy_core.services import Actor, Services

__all__ = ["GuardrailsView", "GuardrailsTable", "CONSOLE_ACTOR", "EvaluatorStatus"]

CONSOLE_ACTOR = Actor("operator", "console")
EvaluatorStatus = Callable[[], Union["tuple[str, str]", "Awaitable[tuple[str, str]]"]]
"""Returns (or, when async, resolves to) the evaluator backend's name and ``"healthy"`` or
``"unreachable: <reason>"``. See :func:`console.link.evaluator_probe`."""
_NO_EVALUATOR = ("", "")
"""No ``evaluator_status`` was given (e.g. a console attached to another process)."""

_SIDES = ("prompt", "response")


def _next_action(action: str) -> str:
    return ACTIONS[(ACTIONS.index(action) + 1) % len(ACTIONS)] if action in ACTIONS else ACTIONS[0]


class GuardrailsTable(DataTable):
    """One row per hazard category; its component classes colour the actions from the theme."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "guardrails-table--flag", "guardrails-table--ignore", "guardrails-table--block",
    }  # fmt: skip

    def action_cell(self, action: str) -> Text:
        # The full style resolves translucent colours against the table; its background is dropped
        # so that zebra stripes and the cursor still show through.
        style = self.get_component_rich_style(f"guardrails-table--{action}")
        return Text(action, style=style.without_color + Style(color=style.color))


class GuardrailsView(Widget, can_focus=False):
    """The guardrail policy of the current gateway, edited in place.

    Styles: ``guardrails.tcss`` beside this module, loaded with the view's screen.
    """

    FOCUS_ON_SHOW = "#guardrails-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "cycle('prompt')", "Prompt action", id="guardrails.prompt",
                tooltip="Cycle the highlighted category's prompt action: flag, ignore, block"),  # fmt: skip
        Binding("r", "cycle('response')", "Response action", id="guardrails.response",
                tooltip="Cycle the highlighted category's response action: flag, ignore, block"),  # fmt: skip
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
            table.add_row(code, category.name, "", "", key=code)
        table.focus()
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        # Cells carry resolved styles: redraw them once the new theme's styles are in place.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.call_after_refresh(self._show_policy))

    def on_show(self) -> None:
        self.refresh_data()

    def _screen_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh_data()

    # -- public API --------------------------------------------------------------------------

    @property
    def policy(self) -> dict[str, Any] | None:
        """The policy on screen (a copy), or ``None`` before the first load."""
        return copy.deepcopy(self._policy)

    def refresh_data(self) -> None:
        """Reload the stored policy and the evaluator's status."""
        self._load(self.gateway_id)

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

    def action_cycle(self, side: str) -> None:
        """Move the highlighted category's ``side`` action on: flag → ignore → block → flag."""
        code = self._highlighted()
        if self._policy is None or code is None:
            return
        self._policy[side][code] = _next_action(self._policy[side][code])
        self._change()

    def action_toggle_enabled(self) -> None:
        """Turn the gateway's guardrails on or off."""
        if self._policy is None:
            return
        self._policy["enabled"] = not self._policy.get("enabled")
        self._change()

    def action_refresh(self) -> None:
        """Reload now."""
        self.refresh_data()

    @on(Switch.Changed, "#guardrails-switch")
    def _switched(self, event: Switch.Changed) -> None:
        event.stop()
        if self._policy is not None and bool(self._policy.get("enabled")) != event.value:
            self._policy["enabled"] = event.value
            self._change()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cycle", "toggle_enabled") and self._policy is None:
            return None  # nothing loaded yet
        return True
