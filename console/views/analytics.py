"""Analytics: requests, tokens, cost, errors and cache hit ratio over a chosen time range.

Narrow terminals show one chart at a time (tabs, or ``c`` to cycle) above the provider/model
breakdown; from 150×40 all five charts and the breakdown share a grid. Data comes from the
analytics service's per-minute rollups and is reloaded every :data:`POLL_SECONDS` while the view's
screen is on top; charts redraw only when their data changed (see
:mod:`console.widgets.analytics_chart`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Callable, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Static, Tab, Tabs

from console.model_names import cut_model_name
from console.safe_text import untrusted_line, middle_ellipsis
from console.store_calls import describe_error, finish, report_failure
from console.units import format_cost, format_count, format_duration, format_tokens
from console.widgets.analytics_chart import AnalyticsChart, ChartData, ChartSeries
from proxy_core.services import AnalyticsPoint, Services

__all__ = ["AnalyticsView", "RANGES", "METRICS", "POLL_SECONDS"]

POLL_SECONDS = 5.0
"""How often the view reloads while it is visible."""
WIDE = (150, 36)
"""From this view size on (columns, rows) every chart is shown at once."""

_BUCKET_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A selectable range: how far back, and the bucket size its charts use."""

    key: str
    label: str
    span_ms: int
    bucket: str
    tick_format: str

    def window(self, now_ms: int) -> tuple[int, int]:
        """``[start, end)`` aligned to whole buckets, ending with the bucket that holds ``now_ms``."""
        size = _BUCKET_MS[self.bucket]
        end = (now_ms // size + 1) * size
        return end - self.span_ms, end


RANGES: tuple[TimeRange, ...] = (
    TimeRange("1h", "last hour", 3_600_000, "minute", "%H:%M"),
    TimeRange("24h", "last 24 hours", 86_400_000, "hour", "%H:%M"),
    TimeRange("7d", "last 7 days", 7 * 86_400_000, "hour", "%a %H:%M"),
    TimeRange("30d", "last 30 days", 30 * 86_400_000, "day", "%b %d"),
)
_RANGE = {r.key: r for r in RANGES}

METRICS: tuple[tuple[str, str], ...] = (
    ("requests", "Requests"),
    ("tokens", "Tokens"),
    ("cost", "Cost"),
    ("errors", "Errors"),
    ("cache", "Cache hits"),
)
_METRIC_KEYS = tuple(key for key, _ in METRICS)
_GROUPS = ("provider", "model")
_WIDE_SUMMARY = 100
"""Below this width the summary uses short words and the breakdown's name column is capped."""
_BREAKDOWN_FIXED = 61
"""Cells the breakdown's number columns take (with their padding): the name column gets the rest."""
_MIN_NAME = 12


def _series(metric: str, points: list[AnalyticsPoint]) -> tuple[ChartSeries, ...]:
    if metric == "requests":
        return (ChartSeries("requests", tuple(float(p.requests) for p in points), "primary"),)
    if metric == "tokens":
        return (
            ChartSeries("in", tuple(float(p.tokens_in) for p in points), "secondary"),
            ChartSeries("out", tuple(float(p.tokens_out) for p in points), "accent"),
        )
    if metric == "cost":
        return (ChartSeries("USD", tuple(p.cost for p in points), "warning"),)
    if metric == "errors":
        return (ChartSeries("errors", tuple(float(p.errors) for p in points), "error"),)
    return (ChartSeries("cache hit %", tuple(100.0 * p.cache_hit_ratio for p in points), "success"),)


_TITLES = {
    "requests": "Requests per {bucket}",
    "tokens": "Tokens per {bucket} (in, out)",
    "cost": "Cost per {bucket} (USD)",
    "errors": "Errors per {bucket}",
    "cache": "Cache hit ratio per {bucket} (%)",
}


class AnalyticsView(Widget, can_focus=False):
    """Charts and a breakdown of one gateway's traffic over the last hour, day, week or month.

    Styles: ``analytics.tcss`` beside this module, loaded with the view's screen.
    """

    FOCUS_ON_SHOW = "#analytics-breakdown"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "next_range", "Range", id="analytics.range", tooltip="Next time range: 1h, 24h, 7d, 30d"),
        Binding("R", "previous_range", "Previous range", show=False, id="analytics.range_back",
                tooltip="Previous time range"),  # fmt: skip
        Binding("c", "next_metric", "Chart", id="analytics.chart",
                tooltip="Chart the next metric: requests, tokens, cost, errors, cache hits"),  # fmt: skip
        Binding("C", "previous_metric", "Previous chart", show=False, id="analytics.chart_back",
                tooltip="Chart the previous metric"),  # fmt: skip
        Binding("b", "toggle_group", "Group", id="analytics.group",
                tooltip="Break the totals down by provider or by model (g stays the gateway picker)"),  # fmt: skip
        Binding("f5", "refresh", "Refresh", id="analytics.refresh", tooltip="Reload the analytics now"),
    ]

    range_key: reactive[str] = reactive("24h", init=False)
    """The selected :data:`RANGES` key."""
    metric: reactive[str] = reactive("requests", init=False)
    """The charted metric when one chart is shown at a time."""
    group_by: reactive[str] = reactive("provider", init=False)
    """The breakdown table's grouping: ``provider`` or ``model``."""

    @dataclass
    class DataLoaded(Message):
        """A load finished: series, breakdown and totals of one gateway and range."""

        gateway_id: str
        range_key: str
        group_by: str
        start_ms: int
        points: list[AnalyticsPoint]
        breakdown: list[AnalyticsPoint]
        totals: AnalyticsPoint

    def __init__(
        self,
        services: Services,
        gateway_id: str,
        *,
        clock: Callable[[], int] | None = None,
        tz: tzinfo | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.services = services
        self.gateway_id = gateway_id
        self.clock = clock or services.clock
        self.tz = tz
        self._timer: Timer | None = None
        self._last_error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="analytics-bar"):
            yield Tabs(*(Tab(label, id=f"metric-{key}") for key, label in METRICS), id="analytics-metrics")
            yield Tabs(*(Tab(r.key, id=f"range-{r.key}") for r in RANGES), active=f"range-{self.range_key}",
                       id="analytics-ranges")  # fmt: skip
        yield Static(id="analytics-summary")
        with Container(id="analytics-body"):
            for key, _ in METRICS:
                yield AnalyticsChart(id=f"chart-{key}", classes="analytics-chart")
            yield DataTable(id="analytics-breakdown", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._show_metric()
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        self.query_one("#analytics-breakdown", DataTable).focus()

    # -- visibility and polling ------------------------------------------------------------

    def on_show(self) -> None:
        self.refresh_data()

    def _screen_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh_data()

    def _visible(self) -> bool:
        return self.is_attached and self.screen.is_active and self.display

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(POLL_SECONDS, self._poll)

    def _poll(self) -> None:
        self._timer = None
        if self._visible():
            self.refresh_data()
        else:
            self._arm()

    # -- public API --------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Reload series, breakdown and totals for the current gateway and range."""
        self._load(self.gateway_id, self.range_key, self.group_by)

    def set_gateway(self, gateway_id: str) -> None:
        """Show ``gateway_id`` (called by the shell's gateway switcher)."""
        if gateway_id != self.gateway_id:
            self.gateway_id = gateway_id
            self.refresh_data()

    # -- data ------------------------------------------------------------------------------

    @work(exclusive=True, group="analytics-load", exit_on_error=False)
    async def _load(self, gateway_id: str, range_key: str, group_by: str) -> None:
        time_range = _RANGE[range_key]
        start, end = time_range.window(self.clock())
        analytics = self.services.analytics
        try:
            points = await finish(analytics.series(gateway_id, start, end, bucket=time_range.bucket))  # type: ignore[arg-type]
            breakdown = await finish(analytics.breakdown(gateway_id, start, end, group_by=group_by))
            totals = await finish(analytics.totals(gateway_id, start, end))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a notification
            if describe_error(exc) != self._last_error:  # once per distinct failure, not at every poll
                report_failure(self, "Could not load analytics", exc)
            self._last_error = describe_error(exc)
            return
        finally:
            self._arm()
        self._last_error = None
        self.post_message(self.DataLoaded(gateway_id, range_key, group_by, start, points, breakdown, totals))

    @on(DataLoaded)
    def _data_loaded(self, message: DataLoaded) -> None:
        if (message.gateway_id, message.range_key, message.group_by) != (
            self.gateway_id, self.range_key, self.group_by,
        ):  # fmt: skip
            return  # a stale answer for a selection that has since changed
        self._update_summary(message)
        self._update_charts(message)
        self._update_breakdown(message)

    def _update_summary(self, message: DataLoaded) -> None:
        t = message.totals
        narrow = self.size.width < _WIDE_SUMMARY  # short words, so that the average is never cut
        requests = ("req", "req") if narrow else ("request", "requests")
        errors = ("err", "err") if narrow else ("error", "errors")
        parts = [
            f"[$text-primary]{format_count(t.requests)}[/] {requests[t.requests != 1]}",
            f"[$text-error]{format_count(t.errors)}[/] {errors[t.errors != 1]} ({100 * t.error_rate:.1f}%)",
            f"[$text-success]{100 * t.cache_hit_ratio:.0f}%[/] cached",
            f"{format_count(t.tokens_in)}/{format_count(t.tokens_out)} tok",
            f"[$text-warning]{format_cost(t.cost)}[/]",
            f"avg {format_duration(t.avg_duration) if t.requests else '-'}",
        ]
        self.query_one("#analytics-summary", Static).update(Content.from_markup(" · ".join(parts)), layout=False)

    def _update_charts(self, message: DataLoaded) -> None:
        time_range = _RANGE[message.range_key]
        size = _BUCKET_MS[time_range.bucket]
        count = time_range.span_ms // size
        by_bucket = {p.bucket: p for p in message.points}
        empty = AnalyticsPoint(0, None, 0, 0, 0, 0, 0, 0.0, 0)
        points = [by_bucket.get(message.start_ms + i * size, empty) for i in range(count)]
        positions = sorted({round(i * (count - 1) / 4) for i in range(5)})
        ticks = tuple((i, self._tick_label(message.start_ms + i * size, time_range)) for i in positions)
        for key, _ in METRICS:
            data = ChartData(
                title=_TITLES[key].format(bucket=time_range.bucket),
                series=_series(key, points),
                ticks=ticks,
                y_kind={"cache": "percent", "cost": "cost"}.get(key, "count"),
            )
            self.query_one(f"#chart-{key}", AnalyticsChart).show_data(data)

    def _tick_label(self, ms: int, time_range: TimeRange) -> str:
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc).astimezone(self.tz)  # None: the machine's zone
        return moment.strftime(time_range.tick_format)

    def _update_breakdown(self, message: DataLoaded) -> None:
        table = self.query_one("#analytics-breakdown", DataTable)
        selected = table.cursor_row
        table.clear(columns=True)
        name_width = max(_MIN_NAME, self.size.width - _BREAKDOWN_FIXED) if self.size.width < _WIDE_SUMMARY else None
        table.add_column(message.group_by.capitalize(), key="name", width=name_width)
        for label, key in (("Requests", "requests"), ("Errors", "errors"), ("Cached", "cached"),
                           ("Tokens", "tokens"), ("Cost", "cost"), ("Avg", "avg")):  # fmt: skip
            table.add_column(label, key=key)
        cut_name = cut_model_name if message.group_by == "model" else middle_ellipsis
        for point in message.breakdown:
            table.add_row(
                untrusted_line(cut_name(point.group or "(none)", name_width or 200)),
                format_count(point.requests),
                f"{format_count(point.errors)} ({100 * point.error_rate:.0f}%)",
                f"{100 * point.cache_hit_ratio:.0f}%",
                format_tokens(point.tokens_in, point.tokens_out),
                format_cost(point.cost, short=name_width is not None),
                format_duration(point.avg_duration),
            )
        if message.breakdown:
            table.move_cursor(row=min(selected, len(message.breakdown) - 1))

    # -- selection -------------------------------------------------------------------------

    def watch_range_key(self, value: str) -> None:
        self.query_one("#analytics-ranges", Tabs).active = f"range-{value}"
        self.refresh_data()

    def watch_group_by(self, value: str) -> None:
        self.refresh_bindings()
        self.refresh_data()

    def watch_metric(self, value: str) -> None:
        self.query_one("#analytics-metrics", Tabs).active = f"metric-{value}"
        self._show_metric()

    def _show_metric(self) -> None:
        for key, _ in METRICS:
            self.query_one(f"#chart-{key}", AnalyticsChart).set_class(key == self.metric, "-selected")

    @on(Tabs.TabActivated, "#analytics-metrics")
    def _metric_tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        self.metric = event.tab.id.removeprefix("metric-")

    @on(Tabs.TabActivated, "#analytics-ranges")
    def _range_tab(self, event: Tabs.TabActivated) -> None:
        event.stop()
        self.range_key = event.tab.id.removeprefix("range-")

    def on_resize(self, event: Resize) -> None:
        wide = event.size.width >= WIDE[0] and event.size.height >= WIDE[1]
        if wide != self.has_class("-wide"):
            self.set_class(wide, "-wide")
            self.refresh_bindings()

    def _step(self, keys: tuple[str, ...], current: str, step: int) -> str:
        return keys[(keys.index(current) + step) % len(keys)]

    def action_next_range(self) -> None:
        """Show the next time range."""
        self.range_key = self._step(tuple(_RANGE), self.range_key, 1)

    def action_previous_range(self) -> None:
        """Show the previous time range."""
        self.range_key = self._step(tuple(_RANGE), self.range_key, -1)

    def action_next_metric(self) -> None:
        """Chart the next metric."""
        self.metric = self._step(_METRIC_KEYS, self.metric, 1)

    def action_previous_metric(self) -> None:
        """Chart the previous metric."""
        self.metric = self._step(_METRIC_KEYS, self.metric, -1)

    def action_toggle_group(self) -> None:
        """Break the totals down by the other grouping."""
        self.group_by = self._step(_GROUPS, self.group_by, 1)

    def action_refresh(self) -> None:
        """Reload now."""
        self.refresh_data()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_metric", "previous_metric") and self.has_class("-wide"):
            return None  # every chart is on screen: nothing to cycle
        return True
