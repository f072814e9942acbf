"""The filter bar: one line to type the text filter language, with history and inline errors.

Enter parses the text with :func:`proxy_core.store.filters.parse_text` (relative times such as
``since:1h`` are counted from the injected clock). A valid filter is announced with
:class:`FilterBar.Applied`; an invalid one is shown under the input with a caret at the
offending character (``FilterError.position``) and nothing is applied. Up and down walk the
history of applied filters, newest first.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from console.safe_text import clean_line
from proxy_core.services.types import Clock, system_clock
from proxy_core.store.filters import FilterError, LogFilter, parse_text

__all__ = ["FilterBar", "HistoryInput"]

_PROMPT = "filter › "
_EXAMPLE = "provider:openai status:error cost>0.01 since:1h meta.user=alice \"text\""


class HistoryInput(Input):
    """An Input whose up/down keys recall earlier entries; ``ctrl+d`` deletes the character under
    the cursor, as in readline (outside a text field it detaches the console)."""

    HELP_CONTEXT = "Filter bar (while typing)"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+d", "delete_right", "Delete character", show=False, id="filter.delete_char",
                tooltip="Delete the character under the cursor (readline)"),
        Binding("up", "history(-1)", "Older filter", show=False, id="filter.history_back",
                tooltip="Recall the previous filter"),
        Binding("down", "history(1)", "Newer filter", show=False, id="filter.history_forward",
                tooltip="Recall the next filter"),
    ]  # fmt: skip

    def __init__(self, history: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history = history
        self._index = len(history)
        self._draft = ""

    def remember(self, text: str) -> None:
        if text.strip():
            if text in self.history:
                self.history.remove(text)
            self.history.append(text)
        self._index = len(self.history)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._index == len(self.history):
            self._draft = self.value
        self._index = max(0, min(len(self.history), self._index + step))
        self.value = self._draft if self._index == len(self.history) else self.history[self._index]
        self.cursor_position = len(self.value)


class FilterBar(Widget):
    """A text filter input with history and an inline error line."""

    DEFAULT_CSS = """
    FilterBar {
        height: auto;
        & > Horizontal { height: 1; }
        & Label.filter-prompt { width: auto; color: $text-accent; text-style: bold; }
        & HistoryInput { width: 1fr; }
        & Static.filter-error { color: $text-error; height: auto; display: none; }
        &.-error Static.filter-error { display: block; }
    }
    """

    class Applied(Message):
        """A valid filter was entered (``text`` as typed; ``log_filter`` parsed)."""

        def __init__(self, bar: "FilterBar", log_filter: LogFilter, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.log_filter = log_filter
            self.text = text

        @property
        def control(self) -> "FilterBar":
            return self.bar

    def __init__(
        self, *, history: list[str] | None = None, clock: Clock = system_clock, value: str = "",
        name: str | None = None, id: str | None = None, classes: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(name=name, id=id, classes=classes)
        self._history = list(history or [])
        self._clock = clock
        self._value = value
        self.log_filter = LogFilter()
        """The filter applied last."""
        self.error: FilterError | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(_PROMPT, classes="filter-prompt")
            yield HistoryInput(
                self._history, value=self._value, placeholder=_EXAMPLE, compact=True, id="filter-input",
                select_on_focus=False,
            )
        yield Static("", classes="filter-error", markup=False)

    @property
    def input(self) -> HistoryInput:
        return self.query_one(HistoryInput)

    @property
    def text(self) -> str:
        return self.input.value

    def set_text(self, text: str, *, apply: bool = False) -> None:
        self.input.value = text
        self.input.cursor_position = len(text)
        if apply:
            self.apply()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.apply()

    def apply(self) -> bool:
        """Parse the text; post Applied and return True when it is valid, else show the error."""
        text = self.input.value
        try:
            log_filter = parse_text(text, now_ms=self._clock())
        except FilterError as exc:
            self._show_error(exc, text)
            return False
        self.error = None
        self.remove_class("-error")
        self.log_filter = log_filter
        self.input.remember(text)
        self.post_message(self.Applied(self, log_filter, text))
        return True

    def _show_error(self, exc: FilterError, text: str) -> None:
        self.error = exc
        message = clean_line(str(exc))
        position = exc.position if exc.position is not None else len(text)
        column = len(_PROMPT) + max(0, min(position, len(text))) - int(self.input.scroll_x)
        width = max(20, self.size.width)
        caret = " " * max(0, min(column, width - 1)) + "^"
        if len(caret) + 1 + len(message) <= width:
            shown = Text(f"{caret} {message}")
        else:  # the caret on its own line, the message under it
            shown = Text(f"{caret}\n{message}")
        self.query_one(".filter-error", Static).update(shown)
        self.add_class("-error")
