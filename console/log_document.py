"""One log as a document to page through and save: summary, prompt, response, metadata, guardrail
verdicts (categories named, from the service layer), headers.

The document is a list of logical lines (Rich ``Text``, unwrapped: the pager wraps them to its
width) plus the plain text of each part an operator may save (``prompt``, ``response``, ``log``).
Everything that came from a client or a provider goes through :mod:`console.safe_text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Callable, Mapping

import orjson
from rich.style import Style
from rich.text import Text

from console.replay_mark import REPLAY_MARK, replay_of
from console.safe_text import clean, clean_line
from console.transcript import Transcript, read_request, read_response
from console.units import format_cost, format_duration, format_timestamp
from proxy_core.services import LogDetail, StageVerdict, describe_guardrails

__all__ = ["LogDocument", "build_document", "SAVABLE_PARTS", "MAX_SHOWN_CHARS"]

SAVABLE_PARTS = ("prompt", "response", "log")
"""What the pager can save: the prompt, the response, or the whole log as shown."""

MAX_SHOWN_CHARS = 200_000
"""Per message, what the pager shows (a saved part always holds all of it)."""

StyleOf = Callable[[str], Style]
"""A style by role name (``heading``, ``label``, ``role``, ``ok``, ``error``, ``muted``)."""


@dataclass(frozen=True, slots=True)
class LogDocument:
    log_id: str
    lines: tuple[Text, ...]
    parts: Mapping[str, str]
    """Plain text per :data:`SAVABLE_PARTS` entry."""


class _Writer:
    def __init__(self, style: StyleOf) -> None:
        self.style = style
        self.lines: list[Text] = []

    def heading(self, title: str) -> None:
        if self.lines:
            self.lines.append(Text(""))
        self.lines.append(Text(f"── {title} ", style=self.style("heading")))

    def text(self, text: str, role: str = "") -> None:
        style = self.style(role) if role else ""
        for line in clean(text).split("\n"):
            self.lines.append(Text(line, style=style))

    def pair(self, label: str, value: str, role: str = "") -> None:
        line = Text(f"{clean_line(label):<9} ", style=self.style("label"))
        first, *rest = clean(value).split("\n") or [""]
        line.append(first, style=self.style(role) if role else "")
        self.lines.append(line)
        for more in rest:
            self.lines.append(Text("  " + more))


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _value(value: Any) -> str:
    return orjson.dumps(value).decode() if isinstance(value, (dict, list)) else str(value)


def _summary(out: _Writer, detail: LogDetail, tz: tzinfo | None) -> None:
    log = detail.log
    out.heading(f"Log {log.id}")
    out.pair("time", format_timestamp(log.created_at, tz))
    out.pair("route", f"{log.provider} · {log.model or '-'} · {log.method} {log.path}")
    out.pair("request", f"{log.request_type} · gateway {log.gateway_id}")
    original = replay_of(log.metadata)
    if original is not None:
        out.pair("replay of", f"{REPLAY_MARK} {original} (o opens it)")
    out.pair("status", f"{log.status_code} {'OK' if log.success else 'FAILED'}", "ok" if log.success else "error")
    flags = [name for name, on in (("cached", log.cached), ("streamed", log.streamed), ("custom cost", log.custom_cost),
                                   ("body truncated", log.body_truncated)) if on]  # fmt: skip
    if log.step:
        flags.append(f"fallback step {log.step}")
    if flags:
        out.pair("flags", ", ".join(flags))
    if log.event_id:
        out.pair("event id", log.event_id)
    out.pair("tokens", f"{_n(log.tokens_in)} in / {_n(log.tokens_out)} out")
    out.pair("cost", format_cost(log.cost))
    out.pair("duration", f"{format_duration(log.duration)} (first byte {format_duration(log.ttfb)})")
    thumbs = {1: "+1 good", -1: "-1 bad"}.get(log.feedback, "none")
    out.pair("feedback", f"{thumbs} · score {'-' if log.score is None else log.score}")
    if log.error:
        out.pair("error", log.error, "error")


def _transcript(out: _Writer, title: str, transcript: Transcript) -> str:
    out.heading(title + (f" ({transcript.note})" if transcript.note else ""))
    if not transcript.turns:
        out.text("(nothing to show)", "muted")
    for turn in transcript.turns:
        out.text(f"[{turn.role}]", "role")
        out.text(turn.text[:MAX_SHOWN_CHARS])
        if len(turn.text) > MAX_SHOWN_CHARS:
            out.text(f"… {len(turn.text) - MAX_SHOWN_CHARS:,} more characters (saving the prompt or response keeps them all)", "muted")
    return "\n\n".join(f"[{turn.role}]\n{turn.text}" for turn in transcript.turns)


def _pairs(out: _Writer, title: str, pairs: Mapping[str, Any] | None, empty: str) -> None:
    out.heading(title)
    if not pairs:
        out.text(empty, "muted")
    for key, value in (pairs or {}).items():
        out.pair(str(key), _value(value))


def _verdicts(out: _Writer, verdicts: tuple[StageVerdict, ...]) -> None:
    out.heading("Guardrails")
    if not verdicts:
        out.text("(not evaluated)", "muted")
    for verdict in verdicts:
        role = {"blocked": "error", "flagged": "warn"}.get(verdict.action, "ok")
        judged = "" if verdict.evaluated else " (not evaluated)"
        latency = "" if verdict.latency_ms is None else f", {verdict.latency_ms} ms"
        out.pair(verdict.stage, f"{verdict.action}{judged} · {verdict.evaluator}{latency}", role)
        for found in verdict.found:
            out.text(f"  {found.code:<4} {found.name:<28} {found.action}", "error" if found.action == "block" else "")
        if verdict.error:
            out.text(f"  error: {verdict.error}", "error")


def build_document(detail: LogDetail, style: StyleOf, tz: tzinfo | None = None) -> LogDocument:
    """The pager's document for ``detail``."""
    out = _Writer(style)
    log = detail.log
    _summary(out, detail, tz)
    prompt = _transcript(out, "Prompt", read_request(detail.request_body, log.request_content_type))
    response = _transcript(out, "Response", read_response(detail.response_body, log.response_content_type,
                                                          streamed=log.streamed))  # fmt: skip
    _verdicts(out, describe_guardrails(log.guardrails))
    _pairs(out, "Metadata", log.metadata, "(none)")
    _pairs(out, "Request headers (redacted)", detail.request_headers, "(not stored)")
    _pairs(out, "Response headers", detail.response_headers, "(not stored)")
    whole = "\n".join(line.plain for line in out.lines)
    return LogDocument(log.id, tuple(out.lines), {"prompt": prompt, "response": response, "log": whole})
