"""1 Live: requests as they happen, with req/s, error rate, latency and spend at a glance.

Data path: on mount the view reads the most recent logs from the store (so the tail is not empty),
then once per frame (a 200 ms timer) it looks at the gateway's :class:`proxy_core.live_feed.LiveFeed`
and takes the newest rows that fit on screen and the edits of logs since its last look. Nothing is
sent to the view per request: under heavy traffic the tail shows the newest rows, and the rows that
went by between two frames are counted ("N not shown"), not rendered. No frame is taken while the
view is hidden (another mode is shown); behind a dialog (a modal screen, which shows the view
around it) the tail keeps moving. The tail is a Line API widget (:class:`console.widgets.live_tail.LiveTail`)
repainted only when something changed. The stats line is read once a second from the feed's
per-second counters (every request the gateway finished, whatever the filter: the true rates),
merged with the history read from the store (:class:`proxy_core.live_stats.LiveStats`); the status
and stats lines are updated without a layout pass and only when their text changed.

The error rate leaves out requests whose client hung up before the answer was sent (logged as
failed with ``CLIENT_DISCONNECTED``, e.g. the requests in flight when a load generator stops):
they are shown apart as "client aborts", and their status in the tail is not painted as an error.

:meth:`LiveView.catch_up` takes a frame and paints it at once, without waiting for the timers:
tests (and scripts) use it to see a settled screen deterministically.

The log pipeline's health (``log_health``, the gateway's :class:`proxy_core.logpipe.PipeStats`) is
read every two seconds by a worker, only while the view is on screen (:class:`LiveView.LogHealthRead`).
When there is something to say the status line says it, in words (readable without colour) and in
the alert style: the store refusing writes (for how long, and its error), requests held because the
log queue is full, requests refused (503), logs dropped, and how many logs wait in memory and in
the crash spool. Refused and dropped are totals since the gateway started: alerts while they grew
in the last minute, plain text after. Nothing is added while the pipeline is healthy. To make room
at 80 columns the status line then leaves out "all gateways" and the count of rows kept.

While an attached console has lost its gateway (the App's ``unreachable_since``), the status line
opens with ``✕ gateway unreachable`` instead of ``● live`` (the banner above says since when).

Shows every gateway (the gateway column tells them apart); ``/`` filters the tail in memory with
the same language as the Logs view (:func:`proxy_core.store.filters.matches`). Space pauses: the
tail stops moving and counts what arrives; on resume it shows the newest of it. Feedback set
anywhere (``log_updated`` events) updates the rows on screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from dataclasses import asdict
from typing import Any, Awaitable, Callable, ClassVar
from datetime import tzinfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Label, Sparkline, Static

from console.safe_text import clean_line
from console.store_calls import describe_error, finish
from console.units import format_cost, format_duration, format_rate
from console.widgets.filter_bar import FilterBar
from console.widgets.live_tail import LiveTail
from console.widgets.styles import component_style
from proxy_core.live_feed import FeedCursor, LiveFeed
from proxy_core.live_stats import LiveStats, StatsSnapshot
from proxy_core.logpipe import PipeStats
from proxy_core.services import Services
from proxy_core.services.types import Clock, system_clock
from proxy_core.store.filters import LogFilter, Paging, matches

__all__ = ["LiveView"]

_PREFILL = 200
_MAX_ROWS = 1000
_FRAME_S = 0.2
"""How often the view looks at the feed while on screen (five frames a second)."""
_STATS_S = 1.0
_ALERT_ERROR_RATE = 0.05
_HEALTH_S = 2.0
"""How often the log pipeline's health is read while the view is on screen."""
_HEALTH_TIMEOUT_S = 5.0
_HEALTH_ERROR_CHARS = 60
"""The store's error is cut to this on the status line (the line itself ends in … when too long)."""
_FRESH_MS = 60_000
"""Refused and dropped counts are shown as alerts while they grew within this long."""
_BACKLOG_SHARE = 10
"""Logs waiting in memory are mentioned from 1/this of the queue's bound (or while the store fails)."""
_BACKLOG_DEFAULT = 1000
"""… or from this many, when the bound is not known (an older gateway's /healthz)."""
_SEP = "  ·  "


def _age(ms: int) -> str:
    """``42s``, ``3m05s``, ``2h05m``."""
    seconds = max(0, ms // 1000)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


def _one_line(text: str, limit: int = _HEALTH_ERROR_CHARS) -> str:
    """The first line of an error, its controls made visible, cut to ``limit``."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    line = " ".join(clean_line(first).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class LiveView(Vertical):
    """The live tail with its stats bar and status line."""

    FOCUS_ON_SHOW = "LiveTail"
    COMPONENT_CLASSES: ClassVar[set[str]] = {"live-view--figure", "live-view--alert", "live-view--paused"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "pause", "Pause", id="live.pause",
                tooltip="Freeze the tail; new requests are counted, the newest shown on resume"),
        Binding("space", "resume", "Resume", id="live.resume", tooltip="Show the newest of what arrived and follow again"),
        Binding("slash", "focus_filter", "Filter", id="live.filter",
                tooltip="Filter the tail (same language as the Logs view)"),
        Binding("escape", "leave_filter", "Back to tail", show=False, id="live.leave_filter",
                tooltip="Return to the tail"),
        Binding("x", "clear", "Clear", show=False, id="live.clear",
                tooltip="Empty the tail (the rates stay: they are the gateway's)"),
    ]  # fmt: skip

    paused: reactive[bool] = reactive(False, init=False, repaint=False)

    class LogHealthRead(Message):
        """``log_health`` answered: the log pipeline's stats, or (``stats`` ``None``) why it could not."""

        def __init__(self, stats: PipeStats | None, error: str | None) -> None:
            super().__init__()
            self.stats = stats
            self.error = error

    class RecentLoaded(Message):
        """The most recent stored logs, newest first, read when the view starts or the filter changes."""

        def __init__(self, rows: list[dict[str, Any]], generation: int) -> None:
            super().__init__()
            self.rows = rows
            self.generation = generation

    def __init__(
        self, services: Services, gateway_id: str, *, feed: LiveFeed | None = None, clock: Clock = system_clock,
        tz: tzinfo | None = None, log_health: Callable[[], PipeStats | Awaitable[PipeStats]] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(id="live-view")
        self.services = services
        self.gateway_id = gateway_id
        self._feed = feed
        self._clock = clock
        self._tz = tz
        self._cursor = FeedCursor()
        """Where the next look at the feed starts."""
        self._filter = LogFilter()
        self._history = LiveStats()
        """The stored logs read at start that the feed's counters do not hold (created before it started)."""
        self._history_read = False
        self.waiting = 0
        """Logs that arrived (and match the filter) while paused."""
        self.not_shown = 0
        """Logs that went by between two frames, or while the view was hidden: counted, not rendered."""
        self._generation = 0
        self._loaded = asyncio.Event()
        """Set once the recent logs of the current filter are in the tail."""
        self._last_stats: StatsSnapshot | None = None
        self._last_status: tuple[str, bool, tuple[tuple[str, str, bool], ...]] | None = None
        self._log_health = log_health
        self.pipe_stats: PipeStats | None = None
        """The log pipeline as ``log_health`` last reported it (``None``: not read yet, or not known)."""
        self.health_error: str | None = None
        """Why the last read of ``log_health`` failed (``None``: it answered)."""
        self._grew_at: dict[str, int] = {}
        """When (clock ms) the refused and dropped totals last grew."""
        self._health_shown = asyncio.Event()
        """Set while the view is on screen: the health worker waits for it while hidden."""
        self._health_now = asyncio.Event()
        """Set to read the health now rather than at the next poll."""

    def compose(self) -> ComposeResult:
        with Vertical(id="live-stats"):
            yield Static("", id="live-numbers")
            with Horizontal(id="live-charts"):
                yield Label("req/s", classes="live-chart-label")
                yield Sparkline([], id="live-rate")
                yield Label("latency", classes="live-chart-label")
                yield Sparkline([], id="live-latency")
        yield FilterBar(history=getattr(self.app, "filter_history", []), clock=self._clock, id="live-filter")
        yield LiveTail(max_rows=_MAX_ROWS, tz=self._tz, id="live-tail")
        yield Static("", id="live-status")

    @property
    def tail(self) -> LiveTail:
        return self.query_one(LiveTail)

    def on_mount(self) -> None:
        self._load_recent(self._filter, self._generation)
        self.set_interval(_FRAME_S, self._frame)
        self.set_interval(_STATS_S, self._show_stats)
        self._show_stats()
        self._show_status()
        self.watch(self.app, "theme", self._theme_changed, init=False)
        if hasattr(self.app, "unreachable_since"):
            self.watch(self.app, "unreachable_since", lambda _since: self._show_status(), init=False)
        if self._log_health is not None:
            self._watch_health()

    def _theme_changed(self, _theme: str) -> None:
        """The stats and status lines carry resolved theme colours: draw them again."""
        self._last_stats = None
        self._last_status = None
        self.call_after_refresh(self._show_stats)
        self.call_after_refresh(self._show_status)

    def set_gateway(self, gateway_id: str) -> None:
        """The live tail shows every gateway; the switcher does not change it."""
        self.gateway_id = gateway_id

    # -- workers ---------------------------------------------------------------------------------

    @work(exclusive=True, group="live-recent", exit_on_error=False)
    async def _load_recent(self, log_filter: LogFilter, generation: int) -> None:
        try:
            page = await finish(self.services.logs.list(None, log_filter, Paging(1, _PREFILL), count=False))
        except Exception as exc:  # the tail still works from the bus
            self.app.notify(f"Cannot read recent logs: {exc}", severity="warning", markup=False)
            page = None
        rows = [asdict(record) for record in page.items] if page is not None else []
        self.post_message(self.RecentLoaded(rows, generation))

    @work(exclusive=True, group="live-health", exit_on_error=False)
    async def _watch_health(self) -> None:
        while True:
            if not self._showing():
                self._health_shown.clear()
                await self._health_shown.wait()
            self._health_now.clear()
            self.post_message(self.LogHealthRead(*await self._read_health()))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._health_now.wait(), _HEALTH_S)

    async def _read_health(self) -> tuple[PipeStats | None, str | None]:
        assert self._log_health is not None
        try:
            answer = self._log_health()
            if inspect.isawaitable(answer):
                async with asyncio.timeout(_HEALTH_TIMEOUT_S):
                    answer = await answer
        except TimeoutError:
            return None, f"no answer within {_HEALTH_TIMEOUT_S:.0f}s"
        except Exception as exc:  # the gateway cannot say (an attached one is down): shown, never raised
            return None, describe_error(exc)
        if not isinstance(answer, PipeStats):
            return None, f"got {type(answer).__name__}, not the log pipeline's stats"
        return answer, None

    def poll_log_health(self) -> None:
        """Read the log pipeline's health now instead of at the next poll (while on screen)."""
        self._health_now.set()

    # -- messages --------------------------------------------------------------------------------

    @on(LogHealthRead)
    def _log_health_read(self, message: LogHealthRead) -> None:
        self.health_error = message.error
        stats = message.stats
        if stats is not None:
            before, now = self.pipe_stats, self._clock()
            if stats.refused > (before.refused if before is not None else 0):
                self._grew_at["refused"] = now
            if stats.dropped > (before.dropped if before is not None else 0):
                self._grew_at["dropped"] = now
            self.pipe_stats = stats
        self._show_status()

    @on(RecentLoaded)
    def _recent_loaded(self, message: RecentLoaded) -> None:
        if message.generation != self._generation:
            return
        rows = list(reversed(message.rows))  # oldest first, like the feed
        if not self._history_read:  # the history is the gateway's, whatever the filter
            self._history_read = True
            started = self._feed.started_ms if self._feed is not None else None
            for row in rows:
                if started is None or int(row.get("created_at") or 0) <= started:
                    self._history.add(row)
        self.tail.add_rows(rows)
        self.tail.flush()
        self._loaded.set()
        self._show_stats()
        self._show_status()

    def _keep(self) -> Callable[[dict[str, Any]], bool] | None:
        log_filter = self._filter
        return None if log_filter.is_empty else (lambda row: matches(log_filter, row))

    def _frame(self) -> None:
        """One look at the feed: the newest rows that fit, the edits, the count of the rest."""
        if not self._showing():
            return
        self._health_shown.set()
        if self._feed is None or not self._loaded.is_set():
            return
        tail = self.tail
        if self.paused:  # count what arrives; the rows stay in the feed for the resume
            frame = self._feed.take(self._cursor, 0, self._keep())
            self._cursor = FeedCursor(self._cursor.rows, frame.cursor.updates)
            self.waiting = frame.skipped
        else:
            fits = max(1, tail.scrollable_content_region.height - 1)
            frame = self._feed.take(self._cursor, fits, self._keep())
            self._cursor = frame.cursor
            self.not_shown += frame.skipped
            tail.add_rows(frame.rows)
        for update in frame.updates:
            self._apply_update(update)
        tail.flush()
        self._show_status()

    def _apply_update(self, event: dict[str, Any]) -> None:
        changes = {key: event[key] for key in ("feedback", "score", "metadata") if key in event}
        self.tail.update_row(event["id"], changes)

    @on(LiveTail.RowChosen)
    async def _row_chosen(self, message: LiveTail.RowChosen) -> None:
        show_log = getattr(self.app, "show_log", None)
        if callable(show_log):
            await show_log(str(message.row.get("gateway_id")), str(message.row.get("id")))

    @on(FilterBar.Applied)
    def _filter_applied(self, message: FilterBar.Applied) -> None:
        self._filter = message.log_filter
        self._generation += 1
        self.waiting = 0
        self.not_shown = 0
        self.tail.clear()
        self.tail.focus()
        self._loaded.clear()
        self._load_recent(self._filter, self._generation)

    # -- catching up -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the recent logs of the current filter have been read into the tail."""
        return self._loaded.is_set()

    async def catch_up(self) -> None:
        """Return once the recent logs are read and one frame of the feed (everything pushed to it
        before this call, as far as it fits) is in the tail, painted.

        Deterministic, no timing involved: the frame is taken here and now (when on screen), then
        a callback queued behind every message posted to the view so far paints the result.
        """
        await self._loaded.wait()
        self._frame()
        processed = asyncio.Event()
        if not self.call_later(processed.set):
            return  # not mounted (any more): nothing to paint
        await processed.wait()
        self.flush_now()

    def flush_now(self) -> None:
        """Paint now what the frame and stats timers would paint next (when on screen)."""
        if not self._showing():
            return
        self.tail.flush()
        self._show_status()
        self._show_stats()

    # -- painting --------------------------------------------------------------------------------

    def _showing(self) -> bool:
        """Whether the view is on screen: its screen is on top, or only dialogs (modal screens,
        which show it around them) are above it."""
        if not self.is_mounted:
            return False
        stack = self.app.screen_stack
        mine = self.screen
        if mine not in stack:
            return False  # another mode is shown
        return all(isinstance(screen, ModalScreen) for screen in stack[stack.index(mine) + 1 :])

    def _show_stats(self) -> None:
        if not self._showing():
            return
        now = self._clock()
        snap = self._feed.snapshot(now, self._history) if self._feed is not None else self._history.snapshot(now)
        if snap == self._last_stats:
            return  # nothing moved: no repaint
        self._last_stats = snap
        figure = component_style(self, "live-view--figure")
        alert = component_style(self, "live-view--alert")
        error_style = alert if snap.error_rate >= _ALERT_ERROR_RATE else figure
        text = Text.assemble(
            (format_rate(snap.per_second), figure), " req/s · ", (f"{snap.error_rate * 100:.1f}%", error_style),
            " errors · p50 ", (format_duration(snap.p50_ms), figure), " · p95 ", (format_duration(snap.p95_ms), figure),
            " · ", (format_cost(snap.spend), figure), "/min · ", (f"{snap.requests:,}", figure), " req/min",
        )  # fmt: skip
        if snap.aborted:  # clients that hung up: their own doing, not an error of ours or the provider's
            text.append(" · ")
            text.append(f"{snap.aborted:,}", figure)
            text.append(" client aborts")
        self.query_one("#live-numbers", Static).update(text, layout=False)
        self.query_one("#live-rate", Sparkline).data = snap.rate_series
        self.query_one("#live-latency", Sparkline).data = snap.latency_series

    def _health_parts(self) -> list[tuple[str, str, bool]]:
        """What the status line says about the log pipeline, as ``(what goes before it, text, alert)``;
        nothing when healthy.

        Most telling first, so that at 80 columns the line's ellipsis cuts the least: the store
        failing, requests held, refused, logs dropped, the store's error text, then the backlog
        (not an alert). The error follows "failing" directly when there is nothing in between.
        """
        if self.health_error is not None:
            return [(_SEP, f"? log health unknown: {_one_line(self.health_error, 40)}", False)]
        stats = self.pipe_stats
        if stats is None:
            return []
        now = self._clock()
        parts: list[tuple[str, str, bool]] = []
        failing = stats.failing_since_ms is not None or stats.last_error is not None
        if failing:
            since = f" {_age(now - stats.failing_since_ms)}" if stats.failing_since_ms is not None else ""
            parts.append((_SEP, f"⚠ log store failing{since}", True))
        if stats.waiting:
            parts.append((_SEP, f"⚠ log queue full: {stats.waiting:,} requests held", True))
        if stats.refused:
            fresh = now - self._grew_at.get("refused", now) < _FRESH_MS
            parts.append((_SEP, f"⚠ {stats.refused:,} requests refused (503)", fresh))
        if stats.dropped:
            fresh = now - self._grew_at.get("dropped", now) < _FRESH_MS
            parts.append((_SEP, f"⚠ {stats.dropped:,} logs dropped", fresh))
        if stats.last_error:
            parts.append((": " if len(parts) == 1 else _SEP, _one_line(stats.last_error), False))
        backlog = []
        threshold = stats.queue_max_entries // _BACKLOG_SHARE if stats.queue_max_entries else _BACKLOG_DEFAULT
        if stats.queued and (stats.queued >= threshold or failing):
            backlog.append(f"{stats.queued:,} logs waiting")
        if stats.spooled:
            backlog.append(f"{stats.spooled:,} in crash spool")
        if backlog:
            parts.append((_SEP, " · ".join(backlog), False))
        return parts

    def _show_status(self) -> None:
        tail = self.tail
        waiting = self.waiting if self.paused else tail.unseen
        health = self._health_parts()
        if getattr(self.app, "unreachable_since", None) is not None:  # never "live" while the gateway is gone
            parts = ["✕ gateway unreachable" + (" · paused" if self.paused else "")]
        else:
            parts = ["‖ paused" if self.paused else "● live"]
        if not health:  # room for the log pipeline's trouble at 80 columns
            parts += ["all gateways", f"{tail.row_count:,} kept"]
        if waiting:
            parts.append(f"{waiting:,} new" + (" (space resumes)" if self.paused else " (home shows them)"))
        if self.not_shown:
            parts.append(f"{self.not_shown:,} not shown")
        if not self._filter.is_empty:
            parts.append("filtered")
        status = (_SEP.join(parts), self.paused, tuple(health))  # the alert styles follow the parts
        if status == self._last_status:
            return  # unchanged: no repaint
        self._last_status = status
        # the paused look is a style of the text, not a CSS class: no restyle, so it shows at once
        style = component_style(self, "live-view--paused") if self.paused else ""
        text = Text(status[0], style=style, no_wrap=True, overflow="ellipsis")
        alert = component_style(self, "live-view--alert") if health else ""
        for joint, part, is_alert in health:
            text.append(joint)
            text.append(part, alert if is_alert else "")
        self.query_one("#live-status", Static).update(text, layout=False)

    # -- actions ---------------------------------------------------------------------------------

    def action_pause(self) -> None:
        self.paused = True

    def action_resume(self) -> None:
        self.paused = False

    def watch_paused(self, paused: bool) -> None:
        if not paused:
            self.waiting = 0
            self._frame()  # the newest of what arrived, now
        self._show_status()
        self.refresh_bindings()

    def action_focus_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one(FilterBar).input.focus()

    def action_leave_filter(self) -> None:
        if self.tail.has_focus:
            raise SkipAction()  # nothing to leave: escape backs out of the view (the App's binding)
        if not self.query_one(FilterBar).text.strip():
            self.remove_class("-filtering")
        self.tail.focus()

    def action_clear(self) -> None:
        self.waiting = 0
        self.not_shown = 0
        self.tail.clear()
        self._show_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return True
