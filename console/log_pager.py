"""``z`` (or enter) in Logs: one log full screen, like ``less``.

Prompt, response, summary, guardrail verdicts with category names, metadata and headers
(:mod:`console.log_document`). ``/`` searches (case-insensitive; every match marked, the current
one reversed), ``n`` / ``N`` go to the next / previous match, ``j``/``k``, ``g``/``G``,
PgUp/PgDn (space, ``b``) move, ``s`` saves the prompt, the response or the whole log to a file,
``q`` / escape go back.

Saved files are written to the console's export directory (the gateway's data directory unless
``make_console(export_dir=…)`` says otherwise; neither known: the working directory), as
``aigw-log-<id>-<part>.txt`` with mode 0600 (written to a temporary file first, then renamed), and
the path stays on the pager's status line.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import tzinfo
from pathlib import Path
from typing import Callable, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from console.dialogs import ChoiceDialog
from console.log_document import SAVABLE_PARTS, LogDocument, build_document
from console.safe_text import clean_line, middle_ellipsis
from console.widgets.key_footer import KeyFooter
from console.widgets.pager_body import PagerBody
from proxy_core.services import LogDetail

__all__ = ["LogPager", "save_part"]

_PART_LABELS = {"prompt": "Prompt", "response": "Response", "log": "The whole log (as shown here)"}


def save_part(directory: Path, log_id: str, part: str, text: str) -> Path:
    """Write ``text`` to ``directory/aigw-log-<id>-<part>.txt`` with mode 0600; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"aigw-log-{log_id}-{part}.txt"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text if text.endswith("\n") else text + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path.resolve()


def _short_path(path: Path, room: int) -> str:
    """``path`` in ``room`` cells: the directory is cut in its middle, the file name never."""
    whole, name = clean_line(str(path)), clean_line(path.name)
    if len(whole) <= room:
        return whole
    return f"{middle_ellipsis(clean_line(str(path.parent)), max(1, room - len(name) - 1))}/{name}"


class LogPager(Screen[None]):
    """A full-screen, searchable view of one log."""

    CSS_PATH = "log_pager.tcss"
    HELP_TITLE = "Log pager"
    AUTO_FOCUS = "PagerBody"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", id="pager.search", tooltip="Find text in this log (enter applies)"),
        Binding("n", "next_match(1)", "Next", id="pager.next", tooltip="The next match of the search"),
        Binding("N", "next_match(-1)", "Previous", id="pager.previous", tooltip="The previous match of the search"),
        Binding("s", "save", "Save…", id="pager.save", tooltip="Save the prompt, the response or the whole log to a 0600 file"),
        Binding("R", "replay", "Replay…", show=False, id="pager.replay",
                tooltip="Re-send this log's request to a provider/model and compare the answers"),
        Binding("o", "open_original", "Original", show=False, id="pager.original",
                tooltip="This log is a replay: open the log it replays"),
        Binding("q,escape", "back", "Back", id="pager.back", tooltip="Close the search, then the pager"),
    ]  # fmt: skip

    def __init__(
        self,
        detail: LogDetail,
        *,
        tz: tzinfo | None = None,
        export_dir: Path | None = None,
        on_replay: Callable[[], None] | None = None,
        on_original: Callable[[], None] | None = None,
    ) -> None:
        """``on_replay``: what ``R`` does (replay this log and compare); ``None``: no replay here.
        ``on_original``: what ``o`` does once the pager is closed (open the log this one replays);
        ``None``: not a replay."""
        super().__init__(classes="log-pager")
        self.detail = detail
        self.on_replay = on_replay
        self.on_original = on_original
        self.tz = tz
        self.export_dir = export_dir
        self.document: LogDocument | None = None
        self.saved: Path | None = None
        """The last file saved (shown on the status line)."""

    def compose(self) -> ComposeResult:
        log = self.detail.log
        title = f"Log {log.id} · {log.provider} {log.model or '-'} · {log.status_code}"
        yield Static(Text(clean_line(title), no_wrap=True, overflow="ellipsis"), id="pager-title")
        yield PagerBody(id="pager-body")
        yield Static("", id="pager-status")
        yield Input(placeholder="search this log (enter finds, escape closes)", id="pager-search")
        yield KeyFooter()

    @property
    def body(self) -> PagerBody:
        return self.query_one(PagerBody)

    @property
    def search_input(self) -> Input:
        return self.query_one("#pager-search", Input)

    def on_mount(self) -> None:
        self._build()
        self.watch(self.body, "scroll_y", lambda _y: self._show_status(), init=False)
        self.call_after_refresh(self._show_status)  # the body's height is known after the first layout

    def on_resize(self) -> None:
        self.call_after_refresh(self._show_status)

    def _build(self) -> None:
        self.document = build_document(self.detail, self.body.style_of, self.tz)
        self.body.set_lines(self.document.lines)
        self._show_status()

    def _show_status(self) -> None:
        body = self.body
        rows = body.virtual_size.height
        top = int(body.scroll_y) + 1
        bottom = min(rows, int(body.scroll_y) + (body.scrollable_content_region.height or 1))
        parts = [f"lines {top}–{bottom} of {rows}" if rows else "empty"]
        query = self.search_input.value
        if query and body.current is not None:
            parts.append(f"match {body.current + 1}/{len(body.matches)} (n/N)")
        elif query:
            parts.append("no match")
        line = clean_line(" · ".join(parts))
        if self.saved is not None:  # the path is cut in its middle, so that the file name shows
            room = max(0, self.size.width - 2 - len(line) - len(" · saved  (0600)"))
            if room < len(self.saved.name) + 8:  # not even the file name: the path has the line
                line, room = "", max(0, self.size.width - 2 - len("saved  (0600)"))
            saved = f"saved {_short_path(self.saved, room)} (0600)"
            line = f"{line} · {saved}" if line else saved
        self.query_one("#pager-status", Static).update(Text(line, no_wrap=True, overflow="ellipsis"))

    # -- search ----------------------------------------------------------------------------------

    def action_search(self) -> None:
        self.search_input.add_class("-open")
        self.search_input.focus()

    @on(Input.Submitted, "#pager-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        count = self.body.search(event.value)
        self.search_input.remove_class("-open")
        self.body.focus()
        self._show_status()
        if event.value and not count:
            self.notify(f"Not found: {clean_line(event.value)}", severity="warning", markup=False)

    def action_next_match(self, step: int) -> None:
        if self.body.next_match(step) is None and self.search_input.value:
            self.app.bell()
        self._show_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_match":
            return True if self.body.matches else None
        if action == "replay":
            return self.on_replay is not None
        if action == "open_original":
            return True if self.on_original is not None else None
        return True

    def action_replay(self) -> None:
        if self.on_replay is not None:
            self.on_replay()

    def action_open_original(self) -> None:
        if self.on_original is not None:
            self.dismiss(None)
            self.on_original()

    def action_back(self) -> None:
        if self.search_input.has_focus:
            self.search_input.remove_class("-open")
            self.body.focus()
            return
        self.dismiss(None)

    # -- saving ----------------------------------------------------------------------------------

    @property
    def save_directory(self) -> Path:
        return self.export_dir if self.export_dir is not None else Path.cwd()

    def action_save(self) -> None:
        directory = self.save_directory
        log_id = self.detail.log.id
        choices = [(part, f"{_PART_LABELS[part]} → {directory / f'aigw-log-{log_id}-{part}.txt'}") for part in SAVABLE_PARTS]

        def chosen(part: str | None) -> None:
            if part and self.document is not None:
                self._save(part, self.document.parts[part])

        self.app.push_screen(ChoiceDialog("Save to a file (mode 0600)", choices), chosen)

    @work(group="pager-save", exit_on_error=False)
    async def _save(self, part: str, text: str) -> None:
        try:
            path = await asyncio.to_thread(save_part, self.save_directory, self.detail.log.id, part, text)
        except OSError as exc:
            self.notify(f"Could not save the {part}: {exc}", severity="error", markup=False)
            return
        self.saved = path
        self._show_status()
        self.notify(f"{path}", title=f"Saved the {part} (0600)", markup=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.document is not None and self.is_mounted:  # the lines carry resolved theme colours
            self._build()
