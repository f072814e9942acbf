"""A gateway's authentication tokens as a table: never the secret, only its last characters."""

from __future__ import annotations

from datetime import tzinfo
from typing import ClassVar, Sequence

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from console.safe_text import untrusted_line
from console.units import format_when
from proxy_core.services import TokenInfo

__all__ = ["TokensTable"]


class TokensTable(DataTable):
    """Name, ``…hint``, created, and active or revoked (coloured from the theme)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "tokens-table--active", "tokens-table--revoked",
    }  # fmt: skip

    def __init__(self, **kwargs) -> None:  # noqa: ANN003 - DataTable's keyword arguments
        super().__init__(**kwargs)
        self.tokens: list[TokenInfo] = []

    def on_mount(self) -> None:
        for label, key in (("Name", "name"), ("Token", "hint"), ("Created", "created"), ("Status", "status")):
            self.add_column(label, key=key)

    def _styled(self, text: str, name: str) -> Text:
        style = self.get_component_rich_style(name)
        return Text(text, style=style.without_color + Style(color=style.color))

    def show_tokens(self, tokens: Sequence[TokenInfo], now_ms: int, tz: tzinfo | None) -> None:
        """Replace the rows, keeping the cursor row."""
        row = self.cursor_row
        self.tokens = list(tokens)
        self.clear()
        for token in self.tokens:
            if token.active:
                status = self._styled("active", "tokens-table--active")
            else:
                status = self._styled(f"revoked {format_when(token.revoked_at or 0, now_ms, tz)}", "tokens-table--revoked")
            self.add_row(
                untrusted_line(token.name or "(no name)"), f"…{token.hint}", format_when(token.created_at, now_ms, tz),
                status, key=token.id,
            )  # fmt: skip
        if self.tokens:
            self.move_cursor(row=min(row, len(self.tokens) - 1))

    @property
    def highlighted(self) -> TokenInfo | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return next((t for t in self.tokens if t.id == key), None)
