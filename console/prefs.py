"""The operator's console preferences, remembered between runs in a small JSON file.

The file lives in the data directory (``console-prefs.json``); its path is injected, so tests
use a temporary one and ``None`` keeps preferences in memory only. A missing or damaged file
means defaults, never a failed start; a failed save is logged, never raised into the UI.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from console.theming import DEFAULT_THEME

__all__ = ["ConsolePrefs", "PrefsFile", "PREFS_FILE_NAME"]

log = logging.getLogger(__name__)

PREFS_FILE_NAME = "console-prefs.json"
MAX_HISTORY = 50


@dataclass
class ConsolePrefs:
    theme: str = DEFAULT_THEME
    """Name of the theme chosen last (any registered theme)."""
    filter_history: list[str] = field(default_factory=list)
    """Filters applied in the Logs view, oldest first (at most :data:`MAX_HISTORY`)."""

    def remember_filter(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if text in self.filter_history:
            self.filter_history.remove(text)
        self.filter_history.append(text)
        del self.filter_history[:-MAX_HISTORY]


class PrefsFile:
    """Loads preferences from ``path`` once and writes them back on :meth:`save`."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.prefs = self._load()

    def _load(self) -> ConsolePrefs:
        if self.path is None or not self.path.exists():
            return ConsolePrefs()
        try:
            data = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning("console preferences %s unreadable (%s); using defaults", self.path, exc)
            return ConsolePrefs()
        prefs = ConsolePrefs()
        if isinstance(data, dict):
            if isinstance(data.get("theme"), str):
                prefs.theme = data["theme"]
            history = data.get("filter_history")
            if isinstance(history, list):
                prefs.filter_history = [h for h in history if isinstance(h, str)][-MAX_HISTORY:]
        return prefs

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_bytes(orjson.dumps(asdict(self.prefs), option=orjson.OPT_INDENT_2))
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("cannot save console preferences to %s: %s", self.path, exc)
