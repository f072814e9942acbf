"""The Gateways view's dialogs: a new gateway's id, one setting's new value, and a new token.

Typed modals that answer through ``dismiss`` and never touch the services. A setting is checked
as it is typed by the service layer's own pure :func:`validate_settings`, so the message shown
is the one the service would give. :class:`TokenSecretDialog` is the only place a token's secret
is ever shown; nothing keeps it once the dialog closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalScroll, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from console.secret_file import save_secret
from console.type_ahead import TypeAhead
from console.widgets.gateways_settings import SettingSpec
from proxy_core.services import InvalidInput
from proxy_core.services.gateways import validate_settings

__all__ = ["GatewayDialog", "SettingChange", "SettingDialog", "TokenSecretDialog"]

_CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changing anything")
_DIALOG_CSS = "../dialogs.tcss"
"""The shared dialog look (console/dialogs.tcss); the view's .tcss adds what is particular."""


class GatewayDialog(TypeAhead, ModalScreen["str | None"]):
    """Ask for a new gateway's id; ``error`` shows why the last try was refused. Keys typed before
    it is up land in its field (:class:`console.type_ahead.TypeAhead`)."""

    CSS_PATH = _DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [_CANCEL]

    def __init__(self, *, value: str = "", error: str = "") -> None:
        super().__init__(classes="dialog gateway-dialog")
        self._value = value
        self._error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("New gateway", classes="dialog-title")
            yield Static(
                "Its id appears in the URL: /v1/{account}/{gateway id}/…. Settings start at the defaults.",
                classes="dialog-message", markup=False,
            )  # fmt: skip
            yield Input(self._value, placeholder="lower-case letters, digits, - and _", id="gateway-id", max_length=64)
            yield Static(self._error, classes="dialog-error", id="gateway-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create", variant="primary", id="create")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def _create(self) -> None:
        value = self.query_one(Input).value.strip()
        if not value:
            self.query_one("#gateway-error", Static).update("A gateway needs an id.")
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One setting's new value, already accepted by :func:`validate_settings`."""

    field: str
    value: Any


class SettingDialog(ModalScreen["SettingChange | None"]):
    """Edit one number or text setting; the service's validation runs as you type.

    (Choices are picked from a list with :class:`console.dialogs.ChoiceDialog`.)
    """

    CSS_PATH = _DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        _CANCEL,
        Binding("ctrl+s", "save", "Save", id="dialog.save", tooltip="Save this setting"),
    ]

    def __init__(self, spec: SettingSpec, value: Any, *, gateway_id: str) -> None:
        super().__init__(classes="dialog setting-dialog")
        self.spec = spec
        self._value = value
        self._gateway_id = gateway_id

    def compose(self) -> ComposeResult:
        spec = self.spec
        with Vertical(classes="dialog-box"):
            yield Label(f"{spec.label} — gateway {self._gateway_id}", classes="dialog-title", markup=False)
            yield Static(spec.help + (" · empty clears it" if spec.nullable else ""), classes="dialog-message",
                         markup=False)  # fmt: skip
            current = "" if self._value is None else str(self._value)
            if spec.kind == "text":
                yield TextArea(current, id="setting-text", soft_wrap=True, show_line_numbers=False)
            else:
                yield Input(current, id="setting-value", placeholder=spec.unit or "a whole number")
            yield Static("", classes="dialog-error", id="setting-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#setting-text" if self.spec.kind == "text" else "#setting-value").focus()

    def _raw(self) -> str:
        if self.spec.kind == "text":
            return self.query_one("#setting-text", TextArea).text.strip()
        return self.query_one("#setting-value", Input).value.strip()

    def _parse(self) -> tuple[Any, str]:
        """The typed value and an error message ('' when the service would accept it)."""
        raw = self._raw()
        spec = self.spec
        if not raw:
            if not spec.nullable:
                return None, f"{spec.field}: a value is required"
            value: Any = None
        elif spec.kind == "int":
            try:
                value = int(raw.replace(",", "").replace("_", ""))
            except ValueError:
                return None, f"{spec.field}: expected a whole number"
        else:
            value = raw
        try:
            checked = validate_settings({spec.field: value})
        except InvalidInput as exc:
            return None, str(exc)
        return checked[spec.field], ""

    @on(Input.Changed)
    @on(TextArea.Changed)
    def _changed(self) -> None:
        self.query_one("#setting-error", Static).update(self._parse()[1])

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        value, error = self._parse()
        if error:
            self.query_one("#setting-error", Static).update(error)
            return
        self.dismiss(SettingChange(self.spec.field, value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class TokenSecretDialog(ModalScreen[None]):
    """Show a new token's secret, once, on one unwrapped line, with keys to copy and to save it.

    The copy goes out as OSC 52, which the terminal (or tmux, or an SSH client) may ignore without
    a word: the dialog says it was *sent*, never that it was copied. Saving writes a 0600 file and
    shows its path in the dialog.
    """

    CSS_PATH = _DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy", id="token.copy", tooltip="Send the token to the terminal's clipboard (OSC 52)"),
        Binding("s", "save", "Save to file", id="token.save", tooltip="Write the token to a file only you can read (0600)"),
        Binding("escape", "close", "Close", id="token.close", tooltip="Close: the token is not shown again"),
        Binding("enter", "close", "Close", show=False, id="token.close_enter", tooltip="Close"),
    ]

    def __init__(
        self, secret: str, *, name: str, gateway_id: str, authentication: bool, token_id: str, save_dir: Path,
    ) -> None:  # fmt: skip
        super().__init__(classes="dialog token-dialog")
        self._secret = secret
        self._given_name = name
        self._gateway_id = gateway_id
        self._authentication = authentication
        self._token_id = token_id
        self._save_dir = save_dir
        self.saved_to: Path | None = None
        """Where the token was saved (``None``: not saved)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(f"Token {self._given_name!r} for gateway {self._gateway_id}", classes="dialog-title", markup=False)
            yield Static(
                "Shown only this once, stored only as a hash. Clients send it as cf-aig-authorization: Bearer <token>.",
                classes="dialog-message", markup=False,
            )  # fmt: skip
            with HorizontalScroll(id="token-line"):
                yield Static(self._secret, id="token-secret", markup=False)
            yield Static("", id="token-outcome", markup=False)
            if not self._authentication:
                yield Static(
                    "Authentication is off for this gateway: turn it on for tokens to be required.",
                    classes="dialog-error", markup=False,
                )  # fmt: skip
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy (OSC 52)", variant="primary", id="copy")
                yield Button("Save to file", id="save")
                yield Button("Close", id="close")

    def _say(self, text: str) -> None:
        outcome = self.query_one("#token-outcome", Static)
        outcome.update(text)
        outcome.display = True

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._secret)
        self._say("Sent to the terminal's clipboard (OSC 52); the terminal or tmux may ignore it: paste to check.")

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.saved_to is not None:
            self._say(f"Saved to {self.saved_to} (0600)")
            return
        name = f"aigw-token-{self._gateway_id}-{self._token_id}.txt"
        try:
            self.saved_to = save_secret(self._save_dir, name, self._secret)
        except OSError as exc:
            self._say(f"Not saved: {exc.strerror or exc} ({self._save_dir / name})")
            return
        self._say(f"Saved to {self.saved_to} (0600)")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self._secret = ""
        self.dismiss(None)
