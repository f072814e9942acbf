"""The audit log as a table, newest first: when, who, through which interface, what changed.

Updates show only the fields that changed, nested ones by their dotted path (so a guardrail
change reads ``guardrails.prompt.S2: flag → block`` rather than two whole policies).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar, Iterator

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from console.safe_text import clean_line, untrusted_line
from console.units import format_when
from proxy_core.services import AuditRecord

__all__ = ["AuditTable", "describe_changes"]

_MAX_VALUE = 40
_MAX_LINE = 160
_ACTION_LOOK = {"create": "create", "update": "update", "delete": "delete", "revoke": "delete"}
"""The component style of each audit action (a revoke looks like the removal it is)."""


def _short(value: Any) -> str:
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    text = clean_line(text)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    else:
        yield path, value


def describe_changes(record: AuditRecord) -> str:
    """One line: ``field: old → new; …`` for updates, ``field=value, …`` for creations/deletions."""
    old, new = record.old_value, record.new_value
    if old is not None and new is not None:
        before = dict(_leaves(old, ""))
        after = dict(_leaves(new, ""))
        parts = [
            f"{key}: {_short(before.get(key))} → {_short(after.get(key))}"
            for key in dict.fromkeys([*before, *after])
            if before.get(key) != after.get(key)
        ]
        return "; ".join(parts) or "no change"
    values = new if new is not None else old
    if not values:
        return ""
    shown = [f"{key}={_short(value)}" for key, value in values.items() if value not in (None, False, {}, [])]
    return ", ".join(shown)


def _cap(text: str) -> str:
    return text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 1] + "…"


class AuditTable(DataTable):
    """A page (or several) of audit records; the action column is coloured from the theme."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "audit-table--create", "audit-table--update", "audit-table--delete",
    }  # fmt: skip

    def on_mount(self) -> None:
        self.add_column("Time", key="time")
        self.add_column("Actor", key="actor")
        self.add_column("Via", key="via")
        self.add_column("Action", key="action")
        self.add_column("Resource", key="resource")
        self.add_column("Changes", key="changes")

    def show_records(self, records: list[AuditRecord], now_ms: int, tz: tzinfo | None) -> None:
        """Replace the rows with ``records`` (newest first), keeping the cursor row."""
        row = self.cursor_row
        self.clear()
        for record in records:
            look = _ACTION_LOOK.get(record.action)
            style = self.get_component_rich_style(f"audit-table--{look}") if look else None
            action = Text(record.action, style=style.without_color + Style(color=style.color)) if style else record.action
            resource_id = record.resource_id if len(record.resource_id) <= 26 else record.resource_id[:25] + "…"
            self.add_row(
                format_when(record.created_at, now_ms, tz),
                untrusted_line(record.actor),
                untrusted_line(record.interface),
                action,
                untrusted_line(f"{record.resource_type} {resource_id}"),
                Text(_cap(describe_changes(record)), no_wrap=True),
                key=record.id,
            )
        if records:
            self.move_cursor(row=min(row, len(records) - 1))
