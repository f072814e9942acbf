"""How a replay reads where the operator looks: ``↻`` before the model in the Logs table and the
live tail (readable without colour), ``replay of <id>`` in the detail pane and the pager, where
``o`` opens the original.

A replay is marked in its metadata (``replay_of``: the original log's id, see
:mod:`proxy_core.replay`); these functions read the mark from a log's metadata mapping.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len

from console.model_names import cut_model_name
from console.safe_text import clean_line
from proxy_core.replay import REPLAY_OF

__all__ = ["REPLAY_MARK", "replay_of", "model_cell"]

REPLAY_MARK = "↻"


def replay_of(metadata: Any) -> str | None:
    """The id of the log that ``metadata``'s log replays (made printable); ``None``: not a replay."""
    if not isinstance(metadata, dict):
        return None
    original = metadata.get(REPLAY_OF)
    return clean_line(str(original)) if original else None


def model_cell(model: str, replay: bool, width: int) -> str:
    """A table's model cell in ``width`` cells: the name cut as :func:`cut_model_name` cuts it,
    after ``↻ `` for a replay."""
    if not replay:
        return cut_model_name(model, width)
    room = width - cell_len(REPLAY_MARK) - 1
    return f"{REPLAY_MARK} {cut_model_name(model, room)}" if room > 0 else REPLAY_MARK[:width]
