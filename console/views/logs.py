"""2 Logs: filter, page through, read and judge the logs of one gateway.

The filter bar takes the text filter language; the table shows one page (50 rows) at a time and
never loads more, with the total counted when the filter changes; the detail pane follows the
cursor. Every action applies to the row the operator sees highlighted: ``+``/``-``/``0`` set
thumbs up (good) / down (bad) / none and ``s`` a score, saved at once through
``services.logs.annotate`` (the live feed tells the live tails); ``z`` or enter opens it in the
full-screen pager (:class:`console.log_pager.LogPager`). ``D`` deletes what the filter selects
after a confirmation that states the count; ``n`` saves the filter as a dataset; ``R``
replays the highlighted log's request to a provider and model of the operator's choice and compares
the answers (:mod:`console.replay_dialog`, :mod:`console.compare_screen`).

Newer logs are counted from the live feed and said on the status line (``N newer (r shows)``);
``r``, ``g`` and Home show them (page 1, the newest row highlighted). ``f`` follows the newest: the
page reloads as logs arrive and the newest row stays highlighted, until the operator moves the
cursor off it or pages.

All store work runs in ``@work`` workers that post messages; failures become notifications.
"""

from __future__ import annotations

import dataclasses
from datetime import tzinfo
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable, Static

from console.compare_screen import replay_and_compare
from console.dataset_time import time_rule
from console.dialogs import CLEAR_SCORE, ConfirmDialog, ScoreDialog, TextDialog
from console.log_pager import LogPager
from console.replay_mark import replay_of
from console.safe_text import clean_line
from console.store_calls import finish
from console.type_ahead import FormKeys
from console.widgets.filter_bar import FilterBar
from console.widgets.log_detail import LogDetailPane
from console.widgets.logs_table import LogsTable
from proxy_core.live_feed import FeedCursor, LiveFeed
from proxy_core.services import Actor, DatasetInfo, LogDetail, LogRecord, Page, Services
from proxy_core.services.types import Clock, system_clock
from proxy_core.store.filters import LogFilter, Paging, matches, parse_text

__all__ = ["LogsView", "PER_PAGE"]

PER_PAGE = 50
CONSOLE_ACTOR = Actor("operator", "console")
_WIDE = 140
"""From this many columns on, the detail pane sits beside the table instead of below it."""
_DETAIL_DELAY_S = 0.12
_FEED_S = 1.0
"""How often the view looks at the live feed while on screen (for "N newer" and feedback set elsewhere)."""
_FEED_LOOK = 2_000
"""New logs looked at per look (the feed's whole ring): the rest count as newer, unfiltered."""


class LogsView(FormKeys, Vertical):
    """The Logs view of one gateway."""

    FOCUS_ON_SHOW = "LogsTable"
    FORM_KEYS: ClassVar[dict[str, str]] = {"n": "new_dataset"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="logs.filter", tooltip="Type a filter (enter applies, up/down recall)"),
        Binding("plus", "feedback(1)", "Good", id="logs.thumbs_up",
                tooltip="Thumbs up for the highlighted log (saved at once)"),
        Binding("minus", "feedback(-1)", "Bad", id="logs.thumbs_down", tooltip="Thumbs down for the highlighted log"),
        Binding("0", "feedback(0)", "No rating", show=False, id="logs.thumbs_clear", tooltip="Clear the thumbs of the highlighted log"),
        Binding("s", "score", "Score", id="logs.score", tooltip="Set a 0–100 score for the highlighted log"),
        Binding("z", "zoom_detail", "Zoom", id="logs.zoom",
                tooltip="The highlighted log full screen: search, save (enter does the same)"),
        Binding("f", "follow", "Follow", id="logs.follow",
                tooltip="Follow the newest log: the page reloads as logs arrive (f again stops)"),
        Binding("n", "new_dataset", "Dataset", show=False, id="logs.new_dataset", tooltip="Save the current filter as a dataset"),
        Binding("o", "open_original", "Original", show=False, id="logs.original",
                tooltip="Open the log that the highlighted replay (↻) replays"),
        Binding("R", "replay", "Replay…", show=False, id="logs.replay",
                tooltip="Re-send the highlighted log's request to a provider/model and compare the answers"),
        Binding("right_square_bracket,pagedown", "page(1)", "Next", show=False, priority=True, id="logs.next_page",
                tooltip="The next 50 logs"),
        Binding("left_square_bracket,pageup", "page(-1)", "Previous", show=False, priority=True, id="logs.prev_page",
                tooltip="The previous 50 logs"),
        Binding("D,delete", "delete_filtered", "Delete…", show=False, id="logs.delete",
                tooltip="Delete every log the filter selects (asks first, with the count)"),
        Binding("r", "reload", "Reload", show=False, id="logs.reload",
                tooltip="Read the count again and show the newest logs (page 1, newest highlighted)"),
        Binding("escape", "focus_table", "Table", show=False, id="logs.focus_table", tooltip="Back to the table"),
    ]  # fmt: skip

    # -- messages (posted by the workers) --------------------------------------------------------

    class PageLoaded(Message):
        def __init__(self, page: Page[LogRecord], generation: int) -> None:
            super().__init__()
            self.page = page
            self.generation = generation

    class DetailLoaded(Message):
        def __init__(self, detail: LogDetail) -> None:
            super().__init__()
            self.detail = detail

    class LogAnnotated(Message):
        def __init__(self, record: LogRecord) -> None:
            super().__init__()
            self.record = record

    class LogsCounted(Message):
        """The logs a delete would remove, counted before asking."""

        def __init__(self, count: int, log_filter: LogFilter, text: str) -> None:
            super().__init__()
            self.count = count
            self.log_filter = log_filter
            self.text = text

    class LogsDeleted(Message):
        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    class DatasetCreated(Message):
        def __init__(self, dataset: DatasetInfo, text: str) -> None:
            super().__init__()
            self.dataset = dataset
            self.text = text

    class WorkFailed(Message):
        def __init__(self, what: str, error: BaseException) -> None:
            super().__init__()
            self.what = what
            self.error = error

    # -- construction ----------------------------------------------------------------------------

    def __init__(
        self, services: Services, gateway_id: str, *, feed: LiveFeed | None = None, clock: Clock = system_clock,
        tz: tzinfo | None = None, export_dir: Path | None = None,
    ) -> None:  # fmt: skip
        super().__init__(id="logs-view")
        self.export_dir = export_dir
        """Where the pager saves files (``None``: the working directory)."""
        self.services = services
        self._feed = feed
        self._cursor = feed.cursor if feed is not None else FeedCursor()
        self._newer = 0
        self.gateway_id = gateway_id
        self._clock = clock
        self._tz = tz
        self.log_filter = LogFilter()
        self.filter_text = ""
        self.page = 1
        self.total: int | None = None
        self.total_is_estimate = False
        self.records: dict[str, LogRecord] = {}
        self._generation = 0
        self._loading = False
        self._detail_timer: Any = None
        self._open_when_read: str | None = None
        """A log opened from the live tail: shown in full once its detail is read."""
        self._availability: tuple[bool, ...] = ()
        self.replay_keys: dict[str, str] = {}
        """Provider API keys typed for replays, by provider: kept in memory for this session only."""
        self.following = False
        """Whether the page follows the newest log (``f``)."""
        self._to_top = False
        """Whether the next page shown puts the cursor on its first (newest) row."""

    def compose(self) -> ComposeResult:
        yield FilterBar(history=getattr(self.app, "filter_history", []), clock=self._clock, id="logs-filter")
        yield Static("", id="logs-status")
        with Container(id="logs-body"):
            yield LogsTable(clock=self._clock, tz=self._tz, id="logs-table")
            yield LogDetailPane(tz=self._tz, id="logs-detail")

    @property
    def table(self) -> LogsTable:
        return self.query_one(LogsTable)

    @property
    def detail_pane(self) -> LogDetailPane:
        return self.query_one(LogDetailPane)

    def on_mount(self) -> None:
        self._layout(self.size.width)
        self._load(count=True)
        if self._feed is not None:
            self.set_interval(_FEED_S, self._look_at_feed)
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _theme: str) -> None:
        if self.records:  # the cells carry resolved theme colours: rebuild them
            self.call_after_refresh(lambda: self.table.rebuild(keep=self.table.cursor_log_id))

    def set_gateway(self, gateway_id: str) -> None:
        """Follow the header's gateway switcher: first page of the new gateway, same filter."""
        self.gateway_id = gateway_id
        self.page = 1
        self.detail_pane.clear()
        self._load(count=True)

    def show_log(self, log_id: str) -> None:
        """Select exactly one log and open it in full as soon as it is read (a row of the live
        tail was opened: one Enter, at any size)."""
        self._open_when_read = log_id
        self.query_one(FilterBar).set_text(f"id:{log_id}", apply=True)

    # -- loading ---------------------------------------------------------------------------------

    def _load(self, *, count: bool) -> None:
        if count:
            self._newer = 0
        self._generation += 1
        self._loading = True
        self._show_status()
        self._fetch_page(self.log_filter, self.page, count, self._generation)

    @work(exclusive=True, group="logs-page", exit_on_error=False)
    async def _fetch_page(self, log_filter: LogFilter, page: int, count: bool, generation: int) -> None:
        try:
            paging = Paging(page, PER_PAGE)
            result = await finish(self.services.logs.list(self.gateway_id, log_filter, paging, count=count))
        except Exception as exc:
            self.post_message(self.WorkFailed("read the logs", exc))
            return
        self.post_message(self.PageLoaded(result, generation))

    @work(exclusive=True, group="logs-detail", exit_on_error=False)
    async def _fetch_detail(self, log_id: str) -> None:
        try:
            detail = await finish(self.services.logs.detail(self.gateway_id, log_id))
        except Exception as exc:
            self.post_message(self.WorkFailed("read the log", exc))
            return
        self.post_message(self.DetailLoaded(detail))

    def _look_at_feed(self) -> None:
        """Count the new logs of this gateway that match the filter; apply edits to rows shown."""
        if self._feed is None or not self.screen.is_current:
            return
        gateway_id, log_filter = self.gateway_id, self.log_filter

        def keep(row: dict[str, Any]) -> bool:
            return row.get("gateway_id") == gateway_id and (log_filter.is_empty or matches(log_filter, row))

        frame = self._feed.take(self._cursor, _FEED_LOOK, keep)
        self._cursor = frame.cursor
        for event in frame.updates:
            record = self.records.get(event.get("id", ""))
            if record is not None:
                changes = {k: event[k] for k in ("feedback", "score", "metadata") if k in event}
                self.post_message(self.LogAnnotated(dataclasses.replace(record, **changes)))
        newer = len(frame.rows) + frame.skipped
        if newer:
            self._newer += newer
            if self.following and not self._loading:
                self.show_newest()
            else:
                self._show_status()

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self._generation:
            return
        self._loading = False
        page = message.page
        if page.total_count >= 0:
            self.total = page.total_count
            self.total_is_estimate = page.total_is_estimate
        self.records = {record.id: record for record in page.items}
        self._fill_table()
        if not page.items:
            self.detail_pane.clear("No logs match this filter." if not self.log_filter.is_empty else "No logs yet.")
        self._show_status()
        self._refresh_availability()

    @on(DetailLoaded)
    def _detail_loaded(self, message: DetailLoaded) -> None:
        record = self.selected
        if record is not None and record.id == message.detail.log.id:
            self.detail_pane.show(message.detail)
            if self._open_when_read == record.id:
                self._open_when_read = None
                self.action_zoom_detail()

    @on(WorkFailed)
    def _work_failed(self, message: WorkFailed) -> None:
        self._loading = False
        self._show_status()
        self.app.notify(f"Could not {message.what}: {message.error}", severity="error", markup=False)

    # -- the table -------------------------------------------------------------------------------

    def _fill_table(self) -> None:
        keep = None if self._to_top else self.table.cursor_log_id
        self._to_top = False
        self.table.show(self.records.values(), keep=keep)
        self._follow_cursor()

    def _follow_cursor(self) -> None:
        """The detail shows the highlighted row (a rebuilt table need not send a highlight)."""
        log_id = self.table.cursor_log_id if self.records else None
        detail = self.detail_pane.detail
        if log_id is None or (detail is not None and detail.log.id == log_id):
            return
        self.detail_pane.clear("Loading…")
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(_DETAIL_DELAY_S, lambda: self._fetch_detail(log_id))

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.set_class(width >= _WIDE, "-wide")
        if self.records:
            self.call_after_refresh(self.table.rebuild_if_resized)

    @property
    def selected(self) -> LogRecord | None:
        log_id = self.table.cursor_log_id if self.records else None
        return self.records.get(log_id) if log_id is not None else None

    @on(DataTable.RowHighlighted, "#logs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.following and event.cursor_row != 0:  # only the operator moves the cursor off the top
            self.following = False
            self._show_status()
        self._refresh_availability()
        self._follow_cursor()

    @on(DataTable.RowSelected, "#logs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_zoom_detail()

    @on(LogsTable.TopRequested)
    def _top_requested(self, event: LogsTable.TopRequested) -> None:
        if self._newer or self.page != 1:
            self.show_newest()

    def _show_status(self) -> None:
        if not self.is_mounted:
            return
        parts = []
        if self.total is not None:  # the gateway is in the header; the keys are in the footer
            noun = "log" if self.total == 1 else "logs"
            about = "~" if self.total_is_estimate else ""
            parts.append(f"{about}{self.total:,} {noun}" + (" match" if self.filter_text.strip() else ""))
            parts.append(f"page {self.page}/{self._pages():,}")
        if self._newer:
            parts.append(f"▲ {self._newer:,} newer (r shows)")
        if self.following:
            parts.append("following newest (f stops)")
        if self._loading:
            parts.append("loading…")
        self.query_one("#logs-status", Static).update(
            Text(clean_line(" · ".join(parts)), no_wrap=True, overflow="ellipsis"), layout=False
        )  # one line, fixed size

    # -- filter ----------------------------------------------------------------------------------

    @on(FilterBar.Applied, "#logs-filter")
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        self.log_filter = message.log_filter
        self.filter_text = message.text
        self.page = 1
        self.detail_pane.clear()
        self.table.focus()
        self._load(count=True)

    def action_focus_filter(self) -> None:
        self.query_one(FilterBar).input.focus()

    def action_focus_table(self) -> None:
        if self.table.has_focus:
            raise SkipAction()  # nothing to leave: escape backs out of the view (the App's binding)
        self.table.focus()

    # -- paging ----------------------------------------------------------------------------------

    def _pages(self) -> int:
        return max(1, -(-(self.total or 0) // PER_PAGE))

    def action_page(self, step: int) -> None:
        page = max(1, min(self._pages(), self.page + step))
        if page != self.page:
            self.page = page
            self.following = False
            self._load(count=False)

    def show_newest(self) -> None:
        """Page 1 again, counted, with the newest row highlighted."""
        self.page = 1
        self._to_top = True
        self._load(count=True)

    def action_reload(self) -> None:
        self.show_newest()

    def action_follow(self) -> None:
        self.following = not self.following
        if self.following:
            self.table.focus()
            self.show_newest()
        else:
            self._show_status()

    def action_zoom_detail(self) -> None:
        record = self.selected
        if record is None:
            return
        detail = self.detail_pane.detail
        if detail is not None and detail.log.id == record.id:
            self._push_pager(detail)
        else:
            self._open_pager(record.id)

    def _push_pager(self, detail: LogDetail) -> None:
        record = self.records.get(detail.log.id)

        def replay() -> None:
            if record is not None:
                replay_and_compare(self.app, self.services, self.gateway_id, record, self.replay_keys)

        original = replay_of(detail.log.metadata)
        self.app.push_screen(
            LogPager(detail, tz=self._tz, export_dir=self.export_dir, on_replay=replay if record is not None else None,
                     on_original=partial(self.show_log, original) if original is not None else None)
        )  # fmt: skip

    @work(group="logs-pager", exclusive=True, exit_on_error=False)
    async def _open_pager(self, log_id: str) -> None:
        try:
            detail = await finish(self.services.logs.detail(self.gateway_id, log_id))
        except Exception as exc:
            self.post_message(self.WorkFailed("read the log", exc))
            return
        record = self.selected
        if record is not None and record.id == log_id:  # still the highlighted row
            self._push_pager(detail)

    # -- feedback --------------------------------------------------------------------------------

    def action_feedback(self, value: int) -> None:
        record = self.selected
        if record is not None:
            self._annotate(record.id, feedback=value)

    def action_score(self) -> None:
        record = self.selected
        if record is None:
            return

        def scored(score: int | None) -> None:
            if score is not None:
                self._annotate(record.id, score=None if score == CLEAR_SCORE else score)

        self.app.push_screen(ScoreDialog(record.score), scored)

    @work(group="logs-write", exit_on_error=False)
    async def _annotate(self, log_id: str, **changes: Any) -> None:
        try:
            record = await finish(self.services.logs.annotate(self.gateway_id, log_id, **changes))
        except Exception as exc:
            self.post_message(self.WorkFailed("save the feedback", exc))
            return
        self.post_message(self.LogAnnotated(record))

    @on(LogAnnotated)
    def _annotated(self, message: LogAnnotated) -> None:
        record = message.record
        if record.id not in self.records:
            return
        self.records[record.id] = record
        self.table.update_feedback(record)
        detail = self.detail_pane.detail
        if detail is not None and detail.log.id == record.id:
            self.detail_pane.show(dataclasses.replace(detail, log=record))

    # -- delete and datasets ---------------------------------------------------------------------

    def action_delete_filtered(self) -> None:
        self._count_for_delete(self.log_filter, self.filter_text)

    @work(group="logs-write", exit_on_error=False)
    async def _count_for_delete(self, log_filter: LogFilter, text: str) -> None:
        try:
            count = await finish(self.services.logs.count(self.gateway_id, log_filter))
        except Exception as exc:
            self.post_message(self.WorkFailed("count the logs", exc))
            return
        self.post_message(self.LogsCounted(count, log_filter, text))

    @on(LogsCounted)
    def _counted(self, message: LogsCounted) -> None:
        if message.count == 0:
            self.app.notify("No logs match this filter: nothing to delete.", markup=False)
            return
        noun = f"{message.count:,} log{'s' if message.count != 1 else ''}"
        if message.log_filter.is_empty:
            question = f"Delete ALL {noun} of gateway '{self.gateway_id}'?"
        else:
            question = f"Delete {noun} of gateway '{self.gateway_id}' matching\n  {clean_line(message.text)}\n?"
        body = Text(question + "\n\nThe logs and their bodies are removed for good.")

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(message.log_filter)

        self.app.push_screen(ConfirmDialog(f"Delete {noun}", body, confirm="Delete", danger=True), answered)

    @work(group="logs-write", exit_on_error=False)
    async def _delete(self, log_filter: LogFilter) -> None:
        try:
            deleted = await finish(self.services.logs.delete(self.gateway_id, log_filter, actor=CONSOLE_ACTOR))
        except Exception as exc:
            self.post_message(self.WorkFailed("delete the logs", exc))
            return
        self.post_message(self.LogsDeleted(deleted))

    @on(LogsDeleted)
    def _deleted(self, message: LogsDeleted) -> None:
        self.app.notify(f"Deleted {message.count:,} logs.", markup=False)
        self.page = 1
        self.detail_pane.clear()
        self._load(count=True)

    def action_new_dataset(self) -> None:
        """A dataset from the current filter; its relative times are resolved when it is saved
        (the rule of :mod:`console.dataset_time`, said in the dialog as in view 4's)."""
        text = self.filter_text.strip()
        now = parse_text(text, now_ms=self._clock())
        rule = time_rule(text, now, self._tz)
        note = (f"From the filter: {clean_line(text)}" if text else "From the filter: (all logs of this gateway)") + (
            f"\n{rule}")  # fmt: skip

        def named(name: str | None) -> None:
            if name:
                self._create_dataset(name, parse_text(text, now_ms=self._clock()), text)

        self.app.push_screen(TextDialog("New dataset", note=note, placeholder="dataset name", confirm="Create"), named)

    @work(group="logs-write", exit_on_error=False)
    async def _create_dataset(self, name: str, log_filter: LogFilter, text: str) -> None:
        try:
            dataset = await finish(self.services.datasets.create(self.gateway_id, name, log_filter, CONSOLE_ACTOR))
        except Exception as exc:
            self.post_message(self.WorkFailed("create the dataset", exc))
            return
        self.post_message(self.DatasetCreated(dataset, text))

    @on(DatasetCreated)
    def _dataset_created(self, message: DatasetCreated) -> None:
        self.app.notify(f"Dataset '{message.dataset.name}' created ({message.dataset.id}).", markup=False)

    # -- replay ----------------------------------------------------------------------------------

    def action_open_original(self) -> None:
        """The highlighted log is a replay: select the log it replays and open it in the pager."""
        original = replay_of(self.selected.metadata) if self.selected is not None else None
        if original is not None:
            self.show_log(original)

    def action_replay(self) -> None:
        record = self.selected
        if record is not None:
            replay_and_compare(self.app, self.services, self.gateway_id, record, self.replay_keys)

    # -- availability ----------------------------------------------------------------------------

    def _refresh_availability(self) -> None:
        """Refresh the footer only when what ``check_action`` answers changed (a footer rebuild
        is not free, and the cursor moves often)."""
        state = (self.selected is not None, self.page > 1, self.page < self._pages(), bool(self.total))
        if state != self._availability:
            self._availability = state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("feedback", "score", "zoom_detail", "replay"):
            return True if self.selected is not None else None
        if action == "open_original":
            return True if self.selected is not None and replay_of(self.selected.metadata) else None
        if action == "page":
            step = parameters[0] if parameters else 1
            return True if (self.page < self._pages() if step == 1 else self.page > 1) else None
        if action in ("delete_filtered",):
            return True if self.total else None
        return True
