"""``R`` in Logs: where to replay the highlighted log — a provider, a model, the provider's key.

The providers are the gateway's (``services.replay.choices``): the log's own first (the replay
takes the same provider path), then every provider the OpenAI-compatible endpoint reaches (the
stored request is translated). The key is for this one request: it is never stored, never shown,
and the provider sees it in place of the client's redacted credential. Returns a
:class:`ReplayOrder`, or ``None`` when cancelled (escape).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from console.safe_text import clean_line
from proxy_core.replay import ReplayTarget
from proxy_core.services import LogRecord, ReplayChoice

__all__ = ["ReplayDialog", "ReplayOrder"]


@dataclass(frozen=True, slots=True)
class ReplayOrder:
    """What the operator asked for."""

    target: ReplayTarget
    api_key: str | None
    """For this request only (``None``: send none)."""
    fresh: bool
    """Ask the provider, not the cache."""


class ReplayDialog(ModalScreen["ReplayOrder | None"]):
    """Pick the target of a replay of ``record``."""

    CSS_PATH = ["dialogs.tcss", "replay.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="replay.cancel", tooltip="Close without replaying"),
        Binding("ctrl+r", "replay", "Replay", id="replay.send", tooltip="Send the replay with these settings"),
    ]

    def __init__(
        self, record: LogRecord, choices: Sequence[ReplayChoice], *, api_keys: Mapping[str, str] | None = None
    ) -> None:
        """``api_keys``: keys typed in earlier replays, by provider (offered again, masked)."""
        super().__init__(classes="dialog", id="replay-dialog")
        self._record = record
        self._choices = list(choices)
        self._api_keys = dict(api_keys or {})

    def compose(self) -> ComposeResult:
        record = self._record
        with Vertical(classes="dialog-box"):
            yield Label(f"Replay log {record.id}", classes="dialog-title", markup=False)
            yield Static(
                Text(clean_line(f"from {record.provider} · {record.model or '?'} · {record.path}"),
                     no_wrap=True, overflow="ellipsis"),
                classes="dialog-message",
            )  # fmt: skip
            yield OptionList(*(Option(self._label(choice), id=choice.provider) for choice in self._choices),
                             id="replay-providers")  # fmt: skip
            model = Input(record.model or "", placeholder="model id of that provider", id="replay-model")
            model.border_title = "Model"
            yield model
            key = Input(self._api_keys.get(record.provider, ""), password=True, placeholder="none (a local server may need none)", id="replay-key")
            key.border_title = "Provider API key: this request only, never stored"
            yield key
            yield Static("", classes="dialog-error", id="replay-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Checkbox("Fresh (skip cache)", True, id="replay-fresh")
                yield Button("Replay", variant="primary", id="replay-send")
                yield Button("Cancel", id="replay-cancel")

    @staticmethod
    def _label(choice: ReplayChoice) -> Text:
        route = "same provider path" if choice.same else f"{choice.family}, via compat"
        return Text(f"{clean_line(choice.provider)}  ({route})", no_wrap=True, overflow="ellipsis")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0 if self._choices else None
        options.focus()

    @property
    def provider(self) -> str | None:
        options = self.query_one(OptionList)
        index = options.highlighted
        return self._choices[index].provider if index is not None and index < len(self._choices) else None

    @on(OptionList.OptionHighlighted)
    def _provider_changed(self) -> None:
        """Another provider rarely knows the log's model: offer it only for the log's own provider;
        the key field offers the key typed for this provider before, if any."""
        self.query_one("#replay-key", Input).value = self._api_keys.get(self.provider or "", "")
        field = self.query_one("#replay-model", Input)
        same = self.provider == self._record.provider
        if same and not field.value:
            field.value = self._record.model or ""
        elif not same and field.value == (self._record.model or ""):
            field.value = ""

    @on(OptionList.OptionSelected)
    def _provider_chosen(self) -> None:
        self.query_one("#replay-model", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#replay-send")
    def action_replay(self) -> None:
        provider = self.provider
        model = self.query_one("#replay-model", Input).value.strip()
        error = self.query_one("#replay-error", Static)
        if provider is None:
            error.update("Choose a provider.")
            return
        if not model:
            error.update(f"Name the {provider} model to replay to.")
            self.query_one("#replay-model", Input).focus()
            return
        key = self.query_one("#replay-key", Input).value.strip()
        fresh = self.query_one("#replay-fresh", Checkbox).value
        self.dismiss(ReplayOrder(ReplayTarget(provider, model), key or None, fresh))

    @on(Button.Pressed, "#replay-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
