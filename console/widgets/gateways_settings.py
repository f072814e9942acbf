"""A gateway's settings as a table: one row per setting, each with how it is edited.

:data:`SETTINGS` lists what the console shows, in order, with a label, how the value reads and
what kind of editor changes it (a toggle, a number, a choice or a block of text). Values are
validated by the service layer's own :func:`validate_settings` before anything is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from console.safe_text import clean_line
from proxy_core.services import GatewayInfo, LogpushStatus

__all__ = ["SettingSpec", "SETTINGS", "SETTING", "SettingsTable", "format_setting", "logpush_line"]


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """How one gateway setting is shown and edited."""

    field: str
    label: str
    kind: str
    """``bool`` (toggled in place), ``int``, ``choice``, ``text`` or ``readonly``."""
    help: str
    unit: str = ""
    nullable: bool = False
    """An empty answer clears the setting (``None``), e.g. no rate limit."""
    choices: tuple[str, ...] = ()
    empty: str = "off"
    """How ``None`` reads."""


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("cache_ttl", "Cache TTL", "int", "Seconds a cached answer is served (empty: no caching)",
                unit="s", nullable=True),
    SettingSpec("cache_invalidate_on_update", "Clear cache on change", "bool",
                "Empty this gateway's cache whenever its settings change"),
    SettingSpec("rate_limiting_limit", "Rate limit", "int", "Requests allowed per interval (empty: no limit)",
                unit="requests", nullable=True),
    SettingSpec("rate_limiting_interval", "Rate limit interval", "int", "Length of the rate-limit window",
                unit="s", nullable=True, empty="not set"),
    SettingSpec("rate_limiting_technique", "Rate limit technique", "choice",
                "fixed windows, or a sliding window over the last interval", choices=("fixed", "sliding")),
    SettingSpec("authentication", "Authentication", "bool",
                "Require a gateway token (cf-aig-authorization) on every request"),
    SettingSpec("collect_logs", "Collect logs", "bool", "Store request and response bodies in the logs"),
    SettingSpec("log_management", "Log limit", "int", "Most logs kept for this gateway", unit="logs",
                nullable=True, empty="no limit"),
    SettingSpec("log_management_strategy", "At the log limit", "choice",
                "STOP_INSERTING new logs, or DELETE_OLDEST to make room",
                choices=("STOP_INSERTING", "DELETE_OLDEST")),
    SettingSpec("logpush", "Logpush", "bool", "Push logs to the configured sink (needs a public key)"),
    SettingSpec("logpush_public_key", "Logpush public key", "text",
                "RSA public key (PEM) the pushed logs are encrypted for", nullable=True, empty="not set"),
    SettingSpec("retry_max_attempts", "Retry attempts", "int", "Attempts per request on upstream errors (1–5)",
                nullable=True, empty="not set"),
    SettingSpec("retry_delay", "Retry delay", "int", "Milliseconds before a retry (0–5000)", unit="ms",
                nullable=True, empty="not set"),
    SettingSpec("retry_backoff", "Retry backoff", "choice", "How the delay grows between retries",
                nullable=True, choices=("constant", "linear", "exponential"), empty="not set"),
    SettingSpec("guardrails", "Guardrails", "readonly", "Edited in the Guardrails view (5)"),
)  # fmt: skip
SETTING = {spec.field: spec for spec in SETTINGS}


def logpush_line(status: LogpushStatus | None, now_ms: int) -> str:
    """Where a gateway's Logpush stands, in one line: last delivery, lag, pending, errors, drops."""
    if status is None:
        return ""
    if status.last_delivery_at is None:
        last = "no delivery yet"
    else:
        last = f"last delivery {max(0, now_ms - status.last_delivery_at) // 1000} s ago"
    parts = [f"logpush: {last}", f"lag {status.lag_ms(now_ms) // 1000} s", f"{status.pending_records:,} pending"]
    if status.dropped_records:
        parts.append(f"{status.dropped_records:,} dropped")
    errors = f"{status.failures:,} errors"
    if status.last_error:
        errors += f" (last: {clean_line(status.last_error)})"
    parts.append(errors)
    return " · ".join(parts)


def format_setting(spec: SettingSpec, value: Any) -> str:
    """How a setting's value reads in the table."""
    if spec.field == "guardrails":
        if not value:
            return "off (every category on flag)"
        blocking = sum(1 for side in ("prompt", "response") for a in value.get(side, {}).values() if a == "block")
        return f"{'on' if value.get('enabled') else 'off'} · {blocking} blocking"
    if value is None:
        return spec.empty
    if spec.kind == "bool":
        return "on" if value else "off"
    if spec.kind == "text":
        return f"set ({len(str(value))} characters)"
    if spec.kind == "int":
        return f"{value:,} {spec.unit}".strip()
    return clean_line(str(value))


class SettingsTable(DataTable):
    """The selected gateway's settings; ``on``/``off`` coloured from the theme."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "settings-table--on", "settings-table--off",
    }  # fmt: skip

    def on_mount(self) -> None:
        self.add_column("Setting", key="label")
        self.add_column("Value", key="value")

    def _styled(self, text: str, name: str) -> Text:
        style = self.get_component_rich_style(name)
        return Text(text, style=style.without_color + Style(color=style.color), no_wrap=True, overflow="ellipsis")

    def show_gateway(self, info: GatewayInfo | None) -> None:
        """Fill the rows from ``info`` (empty when ``None``), keeping the highlighted setting."""
        row = self.cursor_row
        self.clear()
        if info is None:
            return
        for spec in SETTINGS:
            value = getattr(info, spec.field)
            text = format_setting(spec, value)
            if spec.kind == "bool" or spec.field == "guardrails":
                on = bool(value.get("enabled")) if isinstance(value, dict) else bool(value)
                cell: Text | str = self._styled(text, "settings-table--on" if on else "settings-table--off")
            elif value is None:
                cell = self._styled(text, "settings-table--off")
            else:
                cell = text
            self.add_row(spec.label, cell, key=spec.field)
        self.move_cursor(row=min(row, len(SETTINGS) - 1))

    @property
    def highlighted_field(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
