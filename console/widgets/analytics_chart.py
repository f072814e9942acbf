"""One analytics metric over time, drawn by plotext in the app theme's colours.

Each chart owns its plotext figure (``self.plt``, per widget: never plotext's global one), so
several charts draw side by side without sharing state. Series name theme variables (``primary``,
``error``, …) rather than colours; they are resolved at draw time, so a theme change recolours the
chart on its next render. A plotext build costs tens of milliseconds on the shared event loop,
so the built text is cached until the data, the size or the theme changes, and new data redraws
at most once per :data:`MIN_REDRAW_SECONDS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from time import monotonic

from textual.app import RenderResult
from textual.color import Color
from textual.timer import Timer
from textual_plotext import PlotextPlot

from console.units import format_count

__all__ = ["AnalyticsChart", "ChartData", "ChartSeries", "MIN_REDRAW_SECONDS"]

MIN_REDRAW_SECONDS = 1.0
"""New data never redraws a chart more often than this."""


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One line of a chart."""

    label: str
    values: tuple[float, ...]
    colour: str
    """A theme variable name, e.g. ``"primary"`` or ``"error"``."""


@dataclass(frozen=True, slots=True)
class ChartData:
    """What one chart shows: a title, x tick labels at positions, and its series."""

    title: str
    series: tuple[ChartSeries, ...]
    ticks: tuple[tuple[int, str], ...] = ()
    y_kind: str = "count"
    """How the y axis reads: ``count`` (whole numbers), ``cost`` (dollars) or ``percent`` (0–100)."""


class AnalyticsChart(PlotextPlot):
    """A plotext chart of one metric; call :meth:`show_data` with new :class:`ChartData`."""

    DEFAULT_CSS = """
    AnalyticsChart {
        min-height: 6;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._data: ChartData | None = None
        self._version = 0
        self._cache_key: tuple | None = None
        self._cached: RenderResult | None = None
        self._last_draw = -MIN_REDRAW_SECONDS
        self._pending: Timer | None = None

    @property
    def data(self) -> ChartData | None:
        return self._data

    def show_data(self, data: ChartData) -> None:
        """Show ``data``; a no-op when nothing changed, deferred if the last draw was < 1 s ago."""
        if data == self._data:
            return
        self._data = data
        self._version += 1
        wait = self._last_draw + MIN_REDRAW_SECONDS - monotonic()
        if wait <= 0:
            self.refresh()
        elif self._pending is None:
            self._pending = self.set_timer(wait, self._flush)

    def _flush(self) -> None:
        self._pending = None
        self.refresh()

    def render(self) -> RenderResult:
        key = (self._version, self.size, self.app.theme)
        if key != self._cache_key or self._cached is None:
            self._draw()
            self._cached = super().render()
            self._cache_key = key
            if self._data is not None:  # the placeholder never delays the first data
                self._last_draw = monotonic()
        return self._cached

    def _colour(self, variable: str) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(variable) or self.app.theme_variables.get("foreground", "white")
        return Color.parse(value).rgb

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_figure()
        data = self._data
        if data is None:
            plt.title("loading…")
            return
        plt.title(data.title)
        top = 0.0
        for series in data.series:
            xs = list(range(len(series.values)))
            label = series.label if len(data.series) > 1 else None  # one line needs no legend
            plt.plot(xs, list(series.values), marker="braille", color=self._colour(series.colour), label=label)
            top = max([top, *series.values])
        ticks, labels = _y_axis(top, data.y_kind)
        plt.ylim(0, ticks[-1])
        plt.yticks(ticks, labels)
        if data.ticks:
            plt.xticks([x for x, _ in data.ticks], [label for _, label in data.ticks])
        if data.series and data.series[0].values:
            plt.xlim(0, max(len(data.series[0].values) - 1, 1))


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 × 10ⁿ at or above ``raw``."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw * (1 - 1e-9):
            return factor * power
    return 10 * power


def _y_axis(top: float, kind: str) -> tuple[list[float], list[str]]:
    """Five y ticks from 0 to a round top at or above ``top``, labelled for ``kind``."""
    if kind == "percent":
        return [0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"]
    if kind == "cost":
        step = _nice_step(top / 4) if top > 0 else 0.0025
        exponent = math.floor(math.log10(step))
        mantissa = round(step / 10**exponent, 6)
        decimals = max(2, -exponent + (1 if mantissa == 2.5 else 0))  # enough digits to tell ticks apart
        ticks = [step * i for i in range(5)]
        return ticks, ["$0" if t == 0 else f"${t:.{decimals}f}" for t in ticks]
    step = max(1.0, _nice_step(top / 4))
    ticks = [step * i for i in range(5)]
    return ticks, [format_count(t) for t in ticks]
