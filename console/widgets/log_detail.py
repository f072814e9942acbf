"""One log in full: summary, prompt and response as a conversation, metadata, guardrail results and
redacted headers.

Everything that came from a client or a provider is rendered through :mod:`console.safe_text`
(never as markup, control characters made visible); long bodies are cut at
:data:`MAX_TURN_CHARS` per message so a 10 MB response cannot freeze the console.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar, Mapping

import orjson
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.replay_mark import REPLAY_MARK, replay_of
from console.safe_text import clean, clean_line
from console.transcript import Transcript, read_request, read_response
from console.units import format_cost, format_duration, format_timestamp
from console.widgets.styles import component_style
from proxy_core.services import LogDetail

__all__ = ["LogDetailPane", "MAX_TURN_CHARS"]

MAX_TURN_CHARS = 20_000


class LogDetailPane(VerticalScroll, can_focus=True):
    """A scrollable detail of one log (``show``), or a hint when nothing is selected."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-detail--heading", "log-detail--label", "log-detail--role", "log-detail--ok", "log-detail--error",
        "log-detail--muted", "log-detail--up", "log-detail--down", "log-detail--rule",
    }  # fmt: skip

    DEFAULT_CSS = """
    LogDetailPane {
        & > Static { width: 1fr; height: auto; }
        & > .log-detail--heading { text-style: bold; color: $text-primary; }
        & > .log-detail--label { color: $text-muted; }
        & > .log-detail--role { text-style: bold; color: $text-accent; }
        & > .log-detail--ok { color: $text-success; }
        & > .log-detail--error { color: $text-error; text-style: bold; }
        & > .log-detail--muted { color: $text-muted; }
        & > .log-detail--up { color: $text-success; text-style: bold; }
        & > .log-detail--down { color: $text-error; text-style: bold; }
        & > .log-detail--rule { color: $primary; }
    }
    """

    def __init__(self, *, tz: tzinfo | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._tz = tz
        self.detail: LogDetail | None = None

    def compose(self):  # noqa: ANN201 - ComposeResult
        yield Static(Text("Select a log to see its prompt and response."), id="log-detail-body")

    def _s(self, name: str) -> Style:
        return component_style(self, f"log-detail--{name}")

    def clear(self, message: str = "Select a log to see its prompt and response.") -> None:
        self.detail = None
        self.query_one("#log-detail-body", Static).update(Text(message))

    def show(self, detail: LogDetail) -> None:
        self.detail = detail
        self.query_one("#log-detail-body", Static).update(self._renderable(detail))
        self.scroll_home(animate=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.detail is not None and self.is_mounted:
            self.query_one("#log-detail-body", Static).update(self._renderable(self.detail))

    # -- building the renderable -----------------------------------------------------------------

    def _rule(self, title: str) -> Rule:
        return Rule(Text(title, style=self._s("heading")), align="left", style=self._s("rule"))

    def _summary(self, detail: LogDetail) -> list[RenderableType]:
        log = detail.log
        ok = log.success
        label = self._s("label")
        head = Text()
        head.append(format_timestamp(log.created_at, self._tz), style=self._s("heading"))
        head.append(f"  {log.id}", style=label)
        route = Text()
        for i, part in enumerate(
            (log.provider, log.model or "-", f"{log.method} {log.path}", f"{log.request_type} request", f"gateway {log.gateway_id}")
        ):  # fmt: skip
            if i:
                route.append(" · ", style=label)
            route.append(clean_line(str(part)))
        status = Text()
        status.append(f"{log.status_code} {'OK' if ok else 'FAILED'}", style=self._s("ok" if ok else "error"))
        flags = [name for name, on in (("cached", log.cached), ("streamed", log.streamed),
                                       ("custom cost", log.custom_cost), ("body truncated", log.body_truncated)) if on]  # fmt: skip
        if log.step:
            flags.append(f"fallback step {log.step}")
        if log.event_id:
            flags.append(f"event {clean_line(log.event_id)}")
        if log.worker_id:
            flags.append(f"served by {clean_line(log.worker_id)}")
        for flag in flags:
            status.append("  " + flag, style=label)
        numbers = Text()
        numbers.append("tokens ", style=label)
        numbers.append(f"{_n(log.tokens_in)} in / {_n(log.tokens_out)} out")
        numbers.append("  cost ", style=label)
        numbers.append(format_cost(log.cost))
        numbers.append("  duration ", style=label)
        numbers.append(format_duration(log.duration))
        numbers.append("  first byte ", style=label)
        numbers.append(format_duration(log.ttfb))
        feedback = Text()
        feedback.append("feedback ", style=label)
        mark = {1: ("+1 thumbs up", "up"), -1: ("-1 thumbs down", "down")}.get(log.feedback, ("none", "muted"))
        feedback.append(mark[0], style=self._s(mark[1]))
        feedback.append("  score ", style=label)
        feedback.append("-" if log.score is None else str(log.score))
        lines: list[RenderableType] = [head, route, status, numbers, feedback]
        original = replay_of(log.metadata)
        if original is not None:
            lines.insert(2, Text(f"{REPLAY_MARK} replay of {original} (o opens it)", style=self._s("heading")))
        if log.error:
            error = Text("error ", style=self._s("error"))
            error.append(clean(log.error))
            lines.append(error)
        return lines

    def _transcript(self, title: str, transcript: Transcript) -> list[RenderableType]:
        out: list[RenderableType] = [self._rule(title + (f" ({transcript.note})" if transcript.note else ""))]
        if not transcript.turns:
            out.append(Text("(nothing to show)", style=self._s("muted")))
        for turn in transcript.turns:
            out.append(Text(clean_line(turn.role), style=self._s("role")))
            text = turn.text
            cut = len(text) - MAX_TURN_CHARS
            body = Text(clean(text[:MAX_TURN_CHARS]))
            if cut > 0:
                body.append(f"\n… {cut:,} more characters not shown", style=self._s("muted"))
            out.append(body)
        return out

    def _pairs(self, title: str, pairs: Mapping[str, Any] | None, empty: str) -> list[RenderableType]:
        out: list[RenderableType] = [self._rule(title)]
        if not pairs:
            out.append(Text(empty, style=self._s("muted")))
            return out
        table = Table.grid(padding=(0, 1))
        table.add_column(style=self._s("label"), no_wrap=True, max_width=40)
        table.add_column(overflow="fold")
        for key, value in pairs.items():
            table.add_row(Text(clean_line(str(key))), Text(clean(_value(value))))
        out.append(table)
        return out

    def _renderable(self, detail: LogDetail) -> Group:
        log = detail.log
        parts = self._summary(detail)
        request = read_request(detail.request_body, log.request_content_type)
        response = read_response(detail.response_body, log.response_content_type, streamed=log.streamed)
        parts += self._transcript("Prompt", request)
        parts += self._transcript("Response", response)
        parts += self._pairs("Metadata", log.metadata, "(none)")
        parts += self._pairs("Guardrails", log.guardrails, "(not evaluated)")
        parts += self._pairs("Request headers (redacted)", detail.request_headers, "(not stored)")
        parts += self._pairs("Response headers", detail.response_headers, "(not stored)")
        return Group(*parts)


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)
