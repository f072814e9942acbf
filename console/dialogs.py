"""Typed modal dialogs: each returns its answer through ``dismiss`` (escape cancels).

* :class:`ConfirmDialog` → ``bool``: ``y`` confirms, ``n`` and escape cancel, enter presses the
  focused button (the focus starts on *Cancel* for destructive actions); the buttons say so
* :class:`ScoreDialog` → ``int | None``: 0–100 sets the score, :data:`CLEAR_SCORE` clears it,
  ``None`` means cancelled
* :class:`TextDialog` → ``str | None`` (e.g. a dataset name)
* :class:`ChoiceDialog` → ``str | None`` (e.g. which gateway the views show)
"""

from __future__ import annotations

from typing import ClassVar, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import Integer, Length
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.type_ahead import TypeAhead

__all__ = ["ConfirmDialog", "ScoreDialog", "TextDialog", "ChoiceDialog", "CLEAR_SCORE"]

CLEAR_SCORE = -1
"""What :class:`ScoreDialog` returns when the operator clears the score."""

_CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changing anything")
_BUTTONS = [
    Binding("left", "app.focus_previous", "Previous button", show=False, id="dialog.previous",
            tooltip="Move to the button on the left"),
    Binding("right", "app.focus_next", "Next button", show=False, id="dialog.next",
            tooltip="Move to the button on the right"),
]  # fmt: skip


class ConfirmDialog(ModalScreen[bool]):
    """Ask a yes/no question; ``True`` only when the operator confirms."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes", id="dialog.yes", tooltip="Do what the highlighted question asks"),
        Binding("n", "cancel", "No", id="dialog.no", tooltip="Close without changing anything"),
        _CANCEL,
        *_BUTTONS,
    ]

    def __init__(self, title: str, message: str | Text, *, confirm: str = "OK", danger: bool = False) -> None:
        super().__init__(classes="dialog")
        self._title = title
        self._message = message
        self._confirm = confirm
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Static(self._message, classes="dialog-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self._confirm} (y)", variant="error" if self._danger else "primary", id="confirm")
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self._danger else "#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class ScoreDialog(ModalScreen["int | None"]):
    """Ask for a score from 0 to 100 (empty + enter, or *Clear*, clears it)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [_CANCEL]

    def __init__(self, current: int | None = None) -> None:
        super().__init__(classes="dialog")
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Score this response (0–100)", classes="dialog-title")
            yield Input(
                value="" if self._current is None else str(self._current), type="integer", placeholder="0–100",
                validators=[Integer(minimum=0, maximum=100, failure_description="a whole number from 0 to 100")],
                id="score", valid_empty=True,
            )  # fmt: skip
            yield Static("", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Clear", id="clear")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        field = self.query_one(Input)
        if not field.value.strip():
            self.dismiss(CLEAR_SCORE)
            return
        result = field.validate(field.value)
        if result is not None and not result.is_valid:
            self.query_one(".dialog-error", Static).update("; ".join(result.failure_descriptions))
            return
        self.dismiss(int(field.value))

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss(CLEAR_SCORE)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class TextDialog(TypeAhead, ModalScreen["str | None"]):
    """Ask for one line of text (e.g. a name); ``None`` when cancelled. Keys typed before it is up
    land in its field (:class:`console.type_ahead.TypeAhead`)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [_CANCEL]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "", note: str = "", confirm: str = "OK") -> None:
        super().__init__(classes="dialog")
        self._title = title
        self._value = value
        self._placeholder = placeholder
        self._note = note
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title", markup=False)
            if self._note:
                yield Static(self._note, classes="dialog-message", markup=False)
            yield Input(
                value=self._value, placeholder=self._placeholder, id="text",
                validators=[Length(minimum=1, maximum=256, failure_description="between 1 and 256 characters")],
            )  # fmt: skip
            yield Static("", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._confirm, variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        field = self.query_one(Input)
        value = field.value.strip()
        if not value or len(value) > 256:
            self.query_one(".dialog-error", Static).update("Enter between 1 and 256 characters.")
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceDialog(ModalScreen["str | None"]):
    """Pick one of a few named choices; ``None`` when cancelled."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [_CANCEL]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], *, current: str | None = None) -> None:
        """``choices`` are ``(id, label)`` pairs; labels are shown literally."""
        super().__init__(classes="dialog")
        self._title = title
        self._choices = list(choices)
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield OptionList(*(Option(Text(label), id=key) for key, label in self._choices), id="choices")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        for index, (key, _label) in enumerate(self._choices):
            if key == self._current:
                options.highlighted = index

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
