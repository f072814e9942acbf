"""Gateways & Settings: the account's gateways, the selected one's settings and tokens, and the
audit log.

Left, the gateways (``n`` creates one, ``d`` deletes one after saying that its logs go too);
right, tabs for the selected gateway's settings (``e``/enter edits one: booleans flip at once,
numbers and text open a dialog that validates with the service's own rules, choices a list),
its tokens (``t`` creates one, shown once; ``x`` revokes) and the account's audit log, newest
first. Every change goes through the services as ``Actor("operator", "console")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Callable, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable, Static, Tab, Tabs

from console.dialogs import ChoiceDialog, ConfirmDialog, TextDialog
from console.safe_text import clean_line, untrusted_line
from console.store_calls import describe_error, finish, report_failure
from console.widgets.dialog_owner import DialogOwner
from console.widgets.gateways_audit import AuditTable
from console.widgets.gateways_dialogs import GatewayDialog, SettingChange, SettingDialog, TokenSecretDialog
from console.widgets.gateways_settings import SETTING, SettingsTable, format_setting, logpush_line
from console.widgets.gateways_tokens import TokensTable
from proxy_core.services import Actor, AuditRecord, GatewayInfo, LogpushStatus, NewToken, Services, TokenInfo
from proxy_core.store.filters import LogFilter

__all__ = ["GatewaysView", "CONSOLE_ACTOR", "AUDIT_PAGE"]

CONSOLE_ACTOR = Actor("operator", "console")
AUDIT_PAGE = 50
"""Audit records read at first; ``m`` reads this many more."""
_UNSET_CHOICE = "-"
WIDE = (150, 40)
"""From this view size on (columns, rows) settings, tokens and the audit log are all on screen."""
SECTIONS = ("settings", "tokens", "audit")
_TABS = Binding.Group("Tabs ←→", compact=True)
"""The footer shows the three tab keys together, with the arrows that also move between them."""


class GatewaysTable(DataTable):
    """The account's gateways."""


def _count(n: int, noun: str) -> str:
    """``1 log``, ``12,345 logs``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class GatewaysView(DialogOwner, can_focus=False):
    """Gateways, their settings and tokens, and the audit log.

    Styles: ``gateways.tcss`` beside this module, loaded with the view's screen.
    """

    FOCUS_ON_SHOW = "#gateway-settings"
    FORM_KEYS: ClassVar[dict[str, str]] = {"n": "new_gateway", "t": "new_token"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_gateway", "New", id="gateways.new", tooltip="Create a gateway"),
        Binding("d", "delete_gateway", "Delete", id="gateways.delete",
                tooltip="Delete the selected gateway with its logs, datasets and tokens (asks first)"),  # fmt: skip
        Binding("e", "edit_setting", "Edit", id="gateways.edit",
                tooltip="Change the highlighted setting (on/off settings flip at once)"),  # fmt: skip
        Binding("t", "new_token", "Token", id="gateways.token_new",
                tooltip="Create an authentication token; it is shown once"),  # fmt: skip
        Binding("x", "revoke_token", "Revoke", id="gateways.token_revoke",
                tooltip="Revoke the highlighted token (asks first)"),  # fmt: skip
        Binding("m", "more_audit", "More", id="gateways.audit_more", tooltip="Show older audit records"),
        Binding("s", "section('settings')", "Settings", id="gateways.settings", group=_TABS,
                tooltip="Show the gateway's settings"),  # fmt: skip
        Binding("o", "section('tokens')", "Tokens", id="gateways.tokens", group=_TABS,
                tooltip="Show the gateway's tokens"),  # fmt: skip
        Binding("a", "section('audit')", "Audit log", id="gateways.audit", group=_TABS,
                tooltip="Show the audit log"),  # fmt: skip
        Binding("right", "next_section(1)", "Next tab", show=False, priority=True, id="gateways.next_tab",
                tooltip="The next tab: settings → tokens → audit log"),  # fmt: skip
        Binding("left", "next_section(-1)", "Previous tab", show=False, priority=True, id="gateways.previous_tab",
                tooltip="The previous tab"),  # fmt: skip
        Binding("f5", "refresh", "Refresh", show=False, id="gateways.refresh", tooltip="Reload"),
    ]

    @dataclass
    class DataLoaded(Message):
        """Gateways, the selected gateway's tokens and the newest audit records were read."""

        gateways: list[GatewayInfo]
        selected: str
        tokens: list[TokenInfo]
        audit: list[AuditRecord]
        audit_total: int
        logpush: dict[str, LogpushStatus]

    @dataclass
    class TokensLoaded(Message):
        """A gateway's tokens were read."""

        gateway_id: str
        tokens: list[TokenInfo]

    @dataclass
    class GatewaysChanged(Message):
        """A gateway was created or deleted here (the shell refreshes its gateway switcher)."""

        created: str | None = None
        deleted: str | None = None

    def __init__(
        self,
        services: Services,
        gateway_id: str,
        *,
        clock: Callable[[], int] | None = None,
        tz: tzinfo | None = None,
        export_dir: Path | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.export_dir = export_dir
        """Where a new token may be saved (``None``: the working directory)."""
        self.services = services
        self.gateway_id = gateway_id
        self.selected = gateway_id
        """The gateway whose settings and tokens are shown (moves with the list's cursor)."""
        self.clock = clock or services.clock
        self.tz = tz
        self._gateways: dict[str, GatewayInfo] = {}
        self._tokens: list[TokenInfo] = []
        self._logpush: dict[str, LogpushStatus] = {}
        self._audit_limit = AUDIT_PAGE

    def compose(self) -> ComposeResult:
        with Horizontal(id="gateways-body"):
            gateways = GatewaysTable(id="gateways-list", cursor_type="row", show_header=False)
            gateways.border_title = "Gateways"
            yield gateways
            with Vertical(id="gateway-detail"):
                yield Tabs(
                    Tab("[u]S[/u]ettings", id="tab-settings"), Tab("T[u]o[/u]kens", id="tab-tokens"),
                    Tab("[u]A[/u]udit log", id="tab-audit"), id="gateway-tabs",
                )  # fmt: skip
                with Vertical(id="section-settings", classes="gateway-section -current"):
                    yield SettingsTable(id="gateway-settings", cursor_type="row", zebra_stripes=True)
                    yield Static(id="setting-help", markup=False)
                with Vertical(id="section-tokens", classes="gateway-section"):
                    yield TokensTable(id="gateway-tokens", cursor_type="row", zebra_stripes=True)
                with Vertical(id="section-audit", classes="gateway-section"):
                    yield AuditTable(id="gateway-audit", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one(GatewaysTable).add_column("Gateway", key="id")
        self.query_one(SettingsTable).focus()
        self.watch_screen_changes()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.call_after_refresh(self.refresh_data))

    def on_show(self) -> None:
        self.refresh_data()

    def on_resize(self, event: Resize) -> None:
        wide = event.size.width >= WIDE[0] and event.size.height >= WIDE[1]
        if wide != self.has_class("-wide"):
            self.set_class(wide, "-wide")
            self.refresh_bindings()

    # -- public API --------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Reload gateways, the selected gateway's tokens and the audit log."""
        self._load(self.selected, self._audit_limit)

    def set_gateway(self, gateway_id: str) -> None:
        """Select ``gateway_id`` (called by the shell's gateway switcher)."""
        self.gateway_id = gateway_id
        if gateway_id != self.selected:
            self.selected = gateway_id
            self.refresh_data()

    @property
    def selected_info(self) -> GatewayInfo | None:
        return self._gateways.get(self.selected)

    # -- loading -----------------------------------------------------------------------------

    @work(exclusive=True, group="gateways-load", exit_on_error=False)
    async def _load(self, selected: str, audit_limit: int) -> None:
        try:
            gateways = (await finish(self.services.gateways.list(per_page=1000))).items
            ids = [g.id for g in gateways]
            if selected not in ids and ids:
                selected = self.gateway_id if self.gateway_id in ids else ids[0]
            tokens = await finish(self.services.tokens.list(selected)) if selected in ids else []
            audit = await finish(self.services.audit.list(per_page=audit_limit))
            logpush = await finish(self.services.gateways.logpush_status())
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Could not load gateways", exc)
            return
        self.post_message(self.DataLoaded(gateways, selected, tokens, audit.items, audit.total_count, logpush))

    @on(DataLoaded)
    def _data_loaded(self, message: DataLoaded) -> None:
        self._gateways = {g.id: g for g in message.gateways}
        if self.selected in self._gateways and self.selected != message.selected:
            self._load_tokens(self.selected)  # the operator moved on while this load ran: keep their choice
            self._tokens = []
        else:
            self.selected = message.selected
            self._tokens = message.tokens
        self._draw_gateways()
        self.query_one(SettingsTable).show_gateway(self.selected_info)
        self._draw_tokens()
        self._logpush = message.logpush
        self._draw_logpush()
        audit = self.query_one(AuditTable)
        audit.show_records(message.audit, self.clock(), self.tz)
        section = self.query_one("#section-audit")
        section.border_title = f"Audit log ({message.audit_total})"
        section.border_subtitle = f"newest {len(message.audit)} of {message.audit_total} · m for more"
        self.query_one("#tab-audit", Tab).label = f"[u]A[/u]udit log ({message.audit_total})"
        self.query_one("#section-settings").border_title = f"Settings of {clean_line(self.selected)}"
        self.refresh_bindings()

    @work(exclusive=True, group="gateways-tokens", exit_on_error=False)
    async def _load_tokens(self, gateway_id: str) -> None:
        try:
            tokens = await finish(self.services.tokens.list(gateway_id))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Could not load tokens", exc)
            return
        self.post_message(self.TokensLoaded(gateway_id, tokens))

    @on(TokensLoaded)
    def _tokens_loaded(self, message: TokensLoaded) -> None:
        if message.gateway_id == self.selected:
            self._tokens = message.tokens
            self._draw_tokens()
            self.refresh_bindings()

    # -- display -----------------------------------------------------------------------------

    def _draw_gateways(self) -> None:
        table = self.query_one(GatewaysTable)
        table.clear()
        for info in self._gateways.values():
            table.add_row(untrusted_line(info.id), key=info.id)
        keys = list(self._gateways)
        if self.selected in keys:
            table.move_cursor(row=keys.index(self.selected))
        table.border_subtitle = f"{len(keys)}"

    def _draw_logpush(self) -> None:
        status = self._logpush.get(self.selected)
        self.query_one("#section-settings").border_subtitle = logpush_line(status, self.clock())

    def _draw_tokens(self) -> None:
        self.query_one(TokensTable).show_tokens(self._tokens, self.clock(), self.tz)
        active = sum(1 for t in self._tokens if t.active)
        info = self.selected_info
        auth = "" if info is None else (" · authentication on" if info.authentication else " · authentication off")
        section = self.query_one("#section-tokens")
        section.border_title = f"Tokens of {clean_line(self.selected)}"
        section.border_subtitle = f"{active} active{auth}"

    # -- selection ---------------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#gateways-list")
    def _gateway_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not event.data_table.has_focus:
            return  # the cursor moved because the list was redrawn, not by the operator
        key = str(event.row_key.value)
        if key != self.selected and key in self._gateways:
            self.selected = key
            self.query_one(SettingsTable).show_gateway(self.selected_info)
            self.query_one("#section-settings").border_title = f"Settings of {clean_line(key)}"
            self._draw_logpush()
            self._tokens = []
            self._draw_tokens()
            self._load_tokens(key)
            self.refresh_bindings()

    @on(DataTable.RowSelected, "#gateway-settings")
    def _setting_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit_setting()

    @on(DataTable.RowHighlighted, "#gateway-settings")
    def _setting_highlighted(self, event: DataTable.RowHighlighted) -> None:
        spec = SETTING.get(str(event.row_key.value))
        self.query_one("#setting-help", Static).update(spec.help if spec else "", layout=False)

    @on(Tabs.TabActivated, "#gateway-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        section = str(event.tab.id).removeprefix("tab-")
        for name in SECTIONS:
            self.query_one(f"#section-{name}").set_class(name == section, "-current")
        self.query_one(f"#section-{section}").query(DataTable).first().focus()
        if section == "audit":
            self.refresh_data()
        self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def _section(self) -> str:
        """Where the keys act: the tab on show, or (when all are on screen) the focused section."""
        if self.has_class("-wide"):
            focused = self.screen.focused
            for name in SECTIONS:
                if focused is not None and focused in self.query_one(f"#section-{name}").walk_children():
                    return name
            return "settings"
        active = self.query_one("#gateway-tabs", Tabs).active or "tab-settings"
        return active.removeprefix("tab-")

    def _token(self) -> TokenInfo | None:
        return self.query_one(TokensTable).highlighted

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        section = self._section() if self.is_mounted else "settings"
        if action == "edit_setting":
            return (self.selected_info is not None) if section == "settings" else False
        if action == "revoke_token":
            if section != "tokens":
                return False
            token = self._token()
            return True if token is not None and token.active else None
        if action == "more_audit":
            return section == "audit"
        if action in ("delete_gateway", "new_token"):
            return True if self.selected_info is not None else None
        return True

    def action_section(self, section: str) -> None:
        """Show (or, when all are on screen, focus) settings, tokens or the audit log."""
        tabs = self.query_one("#gateway-tabs", Tabs)
        if tabs.active != f"tab-{section}":
            tabs.active = f"tab-{section}"
        else:
            self.query_one(f"#section-{section}").query(DataTable).first().focus()

    def action_next_section(self, step: int) -> None:
        """→ / ←: the next or previous tab (wrapping)."""
        index = SECTIONS.index(self._section()) if self._section() in SECTIONS else 0
        self.action_section(SECTIONS[(index + step) % len(SECTIONS)])

    def action_refresh(self) -> None:
        """Reload now."""
        self.refresh_data()

    # -- gateways ----------------------------------------------------------------------------

    def action_new_gateway(self, value: str = "", error: str = "") -> None:
        """Create a gateway (asks for its id)."""

        def created(gateway_id: str | None) -> None:
            if gateway_id:
                self._create_gateway(gateway_id)

        self._push_dialog(GatewayDialog(value=value, error=error), created)

    @work(group="gateways-change", exit_on_error=False)
    async def _create_gateway(self, gateway_id: str) -> None:
        try:
            await finish(self.services.gateways.create(gateway_id, {}, CONSOLE_ACTOR))
        except Exception as exc:  # noqa: BLE001 - the refusal is shown in the dialog, which reopens
            self.action_new_gateway(gateway_id, describe_error(exc))
            return
        self.notify(f"Gateway {clean_line(gateway_id)} created", markup=False)
        self.selected = gateway_id
        self.post_message(self.GatewaysChanged(created=gateway_id))
        self.refresh_data()

    def action_delete_gateway(self) -> None:
        """Delete the selected gateway after confirming (the question says how many logs go)."""
        info = self.selected_info
        if info is not None:
            self._ask_delete_gateway(info.id)

    @work(group="gateways-change", exit_on_error=False)
    async def _ask_delete_gateway(self, gateway_id: str) -> None:
        try:
            logs = await finish(self.services.logs.count(gateway_id, LogFilter()))
            tokens = await finish(self.services.tokens.list(gateway_id))
            datasets = (await finish(self.services.datasets.list(gateway_id))).total_count
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Cannot count what the gateway holds", exc)
            return
        question = Text(
            f"Delete gateway {clean_line(gateway_id)!r}? {_count(logs, 'log')}, {_count(datasets, 'dataset')} and "
            f"{_count(len(tokens), 'token')} are deleted with it; clients using it will get errors. "
            "This cannot be undone."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete_gateway(gateway_id)

        self._push_dialog(ConfirmDialog("Delete gateway", question, confirm="Delete", danger=True), answered)

    @work(group="gateways-change", exit_on_error=False)
    async def _delete_gateway(self, gateway_id: str) -> None:
        try:
            await finish(self.services.gateways.delete(gateway_id, CONSOLE_ACTOR))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Gateway not deleted", exc)
            return
        self.notify(f"Gateway {clean_line(gateway_id)} deleted, with its logs, datasets and tokens", markup=False)
        self.post_message(self.GatewaysChanged(deleted=gateway_id))
        self.refresh_data()

    # -- settings ----------------------------------------------------------------------------

    def action_edit_setting(self) -> None:
        """Change the highlighted setting: flip a switch, or open an editor."""
        info = self.selected_info
        field = self.query_one(SettingsTable).highlighted_field
        if info is None or field is None:
            return
        spec = SETTING[field]
        value = getattr(info, field)
        gateway_id = info.id
        if spec.kind == "readonly":
            self.notify("Guardrails are edited in the Guardrails view (key 5).", markup=False)
        elif field == "authentication" and not value:
            self._confirm_authentication(gateway_id)
        elif spec.kind == "bool":
            self._update(gateway_id, SettingChange(field, not value))
        elif spec.kind == "choice":
            choices = [(c, c) for c in spec.choices] + ([(_UNSET_CHOICE, spec.empty)] if spec.nullable else [])

            def chosen(choice: str | None) -> None:
                if choice is not None:
                    self._update(gateway_id, SettingChange(field, None if choice == _UNSET_CHOICE else choice))

            title = f"{spec.label} — gateway {gateway_id}"
            self._push_dialog(ChoiceDialog(title, choices, current=value or _UNSET_CHOICE), chosen)
        else:

            def edited(change: SettingChange | None) -> None:
                if change is not None:
                    self._update(gateway_id, change)

            self._push_dialog(SettingDialog(spec, value, gateway_id=gateway_id), edited)

    def _confirm_authentication(self, gateway_id: str) -> None:
        """Turning authentication on locks out every client without a token: say so, then ask."""
        active = sum(1 for t in self._tokens if t.active) if gateway_id == self.selected else 0
        tokens = (
            "This gateway has no active token yet: create one first (t), or every request fails."
            if not active else f"{active} active token{'s' if active != 1 else ''} can still get through."
        )
        question = Text(
            f"Clients of gateway {clean_line(gateway_id)} without a valid token (cf-aig-authorization: Bearer …) "
            f"get 401 from the next request on. {tokens}"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._update(gateway_id, SettingChange("authentication", True))

        self._push_dialog(ConfirmDialog("Turn authentication on?", question, confirm="Turn on", danger=True), answered)

    @work(group="gateways-change", exit_on_error=False)
    async def _update(self, gateway_id: str, change: SettingChange) -> None:
        spec = SETTING[change.field]
        try:
            info = await finish(self.services.gateways.update(gateway_id, {change.field: change.value}, CONSOLE_ACTOR))
        except Exception as exc:  # noqa: BLE001 - the service's message, as a notification
            report_failure(self, f"{spec.label} not changed", exc)
            return
        self.notify(f"{spec.label}: {format_setting(spec, getattr(info, change.field))}",
                    title=f"Gateway {clean_line(gateway_id)}", markup=False)  # fmt: skip
        self.refresh_data()

    # -- tokens ------------------------------------------------------------------------------

    def action_new_token(self) -> None:
        """Create a token for the selected gateway; its secret is shown once."""
        info = self.selected_info
        if info is None:
            return
        self.action_section("tokens")

        def named(name: str | None) -> None:
            if name is not None:
                self._create_token(info.id, name)

        dialog = TextDialog(
            f"New token for gateway {info.id}", placeholder="a name to tell it apart, e.g. ci-runner",
            note="The token is shown once, right after it is created.", confirm="Create",
        )  # fmt: skip
        self._push_dialog(dialog, named)

    @work(group="gateways-change", exit_on_error=False)
    async def _create_token(self, gateway_id: str, name: str) -> None:
        try:
            created: NewToken = await finish(self.services.tokens.create(gateway_id, CONSOLE_ACTOR, name=name))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Token not created", exc)
            return
        info = self._gateways.get(gateway_id)
        save_dir = self.export_dir if self.export_dir is not None else Path.cwd()
        self._push_dialog(
            TokenSecretDialog(
                created.secret, name=name, gateway_id=gateway_id, authentication=bool(info and info.authentication),
                token_id=created.info.id, save_dir=save_dir,
            )  # fmt: skip
        )
        del created  # the secret lives on only in the dialog
        self.refresh_data()

    def action_revoke_token(self) -> None:
        """Revoke the highlighted token after confirming."""
        token = self._token()
        if token is None or not token.active:
            return
        question = Text(
            f"Revoke token {clean_line(token.name)!r} (…{token.hint}) of gateway {clean_line(token.gateway_id)}? "
            "Requests that send it are refused from now on."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._revoke(token.gateway_id, token.id)

        self._push_dialog(ConfirmDialog("Revoke token", question, confirm="Revoke", danger=True), answered)

    @work(group="gateways-change", exit_on_error=False)
    async def _revoke(self, gateway_id: str, token_id: str) -> None:
        try:
            await finish(self.services.tokens.revoke(gateway_id, token_id, CONSOLE_ACTOR))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Token not revoked", exc)
            return
        self.notify("Token revoked", markup=False)
        self.refresh_data()

    # -- audit -------------------------------------------------------------------------------

    def action_more_audit(self) -> None:
        """Show older audit records too."""
        self._audit_limit += AUDIT_PAGE
        self.refresh_data()
