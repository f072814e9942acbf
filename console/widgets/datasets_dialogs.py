"""The Datasets view's dialogs: a dataset's name and filter, and which evaluators to run.

Both are typed modals that answer through ``dismiss`` (``None`` when cancelled) and never touch
the services: the view saves what they return. They share the look of :mod:`console.dialogs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Callable, ClassVar, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.dataset_time import time_rule
from console.type_ahead import TypeAhead
from proxy_core.store.filters import FilterError, LogFilter, parse_text

__all__ = ["DatasetDraft", "DatasetDialog", "EvaluationDraft", "EvaluationDialog", "EvaluatorChecklist"]

_CANCEL = Binding("escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without changing anything")
_DIALOG_CSS = "../dialogs.tcss"
"""The shared dialog look (console/dialogs.tcss); the view's .tcss adds what is particular."""


@dataclass(frozen=True, slots=True)
class DatasetDraft:
    """What the operator typed: a name and a parsed filter (with its text, as typed)."""

    name: str
    filter_text: str
    log_filter: LogFilter


class DatasetDialog(TypeAhead, ModalScreen["DatasetDraft | None"]):
    """Name a dataset and give its filter in the text form, checked as it is typed (keys typed
    before it is up land in its fields: :class:`console.type_ahead.TypeAhead`)."""

    CSS_PATH = _DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [_CANCEL]

    def __init__(
        self, title: str, *, name: str = "", filter_text: str = "", clock: Callable[[], int], confirm: str = "Save",
        tz: tzinfo | None = None,
    ) -> None:  # fmt: skip
        super().__init__(classes="dialog dataset-dialog")
        self._tz = tz
        self._title = title
        self._given_name = name
        self._filter_text = filter_text
        self._clock = clock
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title", markup=False)
            yield Label("Name", classes="field-label")
            yield Input(self._given_name, placeholder="e.g. rated gpt-4o answers", id="dataset-name", max_length=256)
            yield Static("", id="dataset-name-error", classes="dialog-error", markup=False)
            yield Label("Filter (empty = every log of the gateway)", classes="field-label")
            yield Input(self._filter_text, placeholder="provider:openai feedback:1 model~gpt-4o", id="dataset-filter")
            yield Static("", id="dataset-filter-error", classes="dialog-error", markup=False)
            yield Static("", id="dataset-time-rule", markup=False)
            yield Static(
                "Keys: provider model cost feedback meta.NAME since until …",
                classes="dialog-message dialog-hint",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._confirm, variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#dataset-name", Input).focus()
        self._check_filter(self._filter_text)

    def _check_filter(self, text: str) -> LogFilter | None:
        """The filter as it would be saved now (relative times resolved now), or ``None`` (the
        error shown); the time rule line says what bound that gives."""
        error = self.query_one("#dataset-filter-error", Static)
        rule = self.query_one("#dataset-time-rule", Static)
        try:
            parsed = parse_text(text, now_ms=self._clock())
        except FilterError as exc:
            error.update(str(exc))
            rule.update("")
            return None
        error.update("")
        rule.update(time_rule(text, parsed, self._tz))
        return parsed

    @on(Input.Changed, "#dataset-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._check_filter(event.value)

    @on(Input.Changed, "#dataset-name")
    def _name_changed(self, event: Input.Changed) -> None:
        if event.value.strip():
            self.query_one("#dataset-name-error", Static).update("")

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        name = self.query_one("#dataset-name", Input).value.strip()
        text = self.query_one("#dataset-filter", Input).value.strip()
        parsed = self._check_filter(text)
        if not name:
            self.query_one("#dataset-name-error", Static).update("A dataset needs a name.")
            self.query_one("#dataset-name", Input).focus()
            return
        if parsed is None:
            self.query_one("#dataset-filter", Input).focus()
            return
        self.dismiss(DatasetDraft(name, text, parsed))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class EvaluationDraft:
    """The evaluation to start: a name and the evaluator ids, in the order offered."""

    name: str
    evaluation_type_ids: list[str]


class EvaluatorChecklist(OptionList):
    """Evaluators as checkboxes that read without colour: ``[x] Cost — …`` / ``[ ] Cost — …``.

    Space (or a click) ticks and unticks the highlighted one; Enter runs the evaluation
    (:class:`EvaluatorChecklist.RunRequested`), it never toggles.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle", "Tick", id="evaluation.tick", tooltip="Tick or untick the highlighted evaluator"),
        Binding("enter", "run", "Run", id="evaluation.run", tooltip="Run the evaluation with the ticked evaluators"),
    ]

    class RunRequested(Message):
        """Enter was pressed in the list."""

    def __init__(self, evaluators: Sequence[tuple[str, str, str]], *, id: str | None = None) -> None:  # noqa: A002
        self._evaluators = list(evaluators)
        self.ticked: set[str] = {key for key, _, _ in self._evaluators}
        """The ids of the evaluators ticked (all of them to start with)."""
        super().__init__(*(Option(self._prompt(i), id=key) for i, (key, _, _) in enumerate(self._evaluators)), id=id)

    def _prompt(self, index: int) -> Text:
        key, name, description = self._evaluators[index]
        return Text(f"[{'x' if key in self.ticked else ' '}] {name} — {description}")

    def action_toggle(self) -> None:
        index = self.highlighted
        if index is None:
            return
        key = self._evaluators[index][0]
        self.ticked ^= {key}
        self.replace_option_prompt_at_index(index, self._prompt(index))

    def action_run(self) -> None:
        self.post_message(self.RunRequested())

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # a click ticks, as space does
        self.action_toggle()


class EvaluationDialog(ModalScreen["EvaluationDraft | None"]):
    """Pick evaluators (checkboxes, all ticked to start with) and name the run; Enter runs."""

    CSS_PATH = _DIALOG_CSS
    BINDINGS: ClassVar[list[BindingType]] = [_CANCEL]

    def __init__(self, dataset_names: Sequence[str], evaluators: Sequence[tuple[str, str, str]], *, name: str) -> None:
        """``evaluators`` are ``(id, name, description)``."""
        super().__init__(classes="dialog evaluation-dialog")
        self._datasets = list(dataset_names)
        self._evaluators = list(evaluators)
        self._given_name = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Run an evaluation", classes="dialog-title")
            names = ", ".join(self._datasets)
            yield Static(f"On {len(self._datasets)} dataset(s): {names}", classes="dialog-message", markup=False)
            yield Label("Name", classes="field-label")
            yield Input(self._given_name, id="evaluation-name", max_length=256)
            yield Label("Evaluators (space ticks, enter runs)", classes="field-label")
            yield EvaluatorChecklist(self._evaluators, id="evaluation-types")
            yield Static("", classes="dialog-error", id="evaluation-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run", variant="primary", id="run")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(EvaluatorChecklist).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#run")
    @on(EvaluatorChecklist.RunRequested)
    def _run(self) -> None:
        name = self.query_one("#evaluation-name", Input).value.strip()
        chosen = self.query_one(EvaluatorChecklist).ticked
        error = self.query_one("#evaluation-error", Static)
        if not name:
            error.update("An evaluation needs a name.")
            return
        if not chosen:
            error.update("Tick at least one evaluator.")
            return
        self.dismiss(EvaluationDraft(name, [key for key, _, _ in self._evaluators if key in chosen]))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
