"""The Datasets view's two tables: datasets (with marks), and evaluations side by side.

Cells take their colours from the tables' component classes, so from the theme
(``datasets.tcss``). Refilling keeps the cursor on the same row key when it is still there.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, ClassVar, Iterable, Sequence

from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

from console.safe_text import clean_line, middle_ellipsis, untrusted_line
from console.units import format_cost, format_duration, format_when
from proxy_core.services import DatasetInfo, EvaluationInfo, ResultInfo
from proxy_core.services.evaluations import EvaluationType
from proxy_core.store.filters import to_text

__all__ = ["DatasetsTable", "EvaluationsTable", "format_result"]

_HEADINGS = {"human_feedback": "Feedback"}
"""Column headings shorter than the evaluator's name (``Human feedback`` was cut at 80 columns);
each value column is followed by ``n``, the number of logs it used."""
_NARROW_HEADINGS = {"human_feedback": "Good"}
"""… and narrower still below :data:`NARROW_BELOW` columns (the share of logs rated good)."""
NARROW_BELOW = 100
"""Below this terminal width the evaluations table fits 80 columns: no Datasets column (the
least needed: the datasets table above names them, and the dialog that ran it did), ``done`` for
``completed``, names cut to :data:`_NARROW_NAME` cells and the start day without its time."""
_NARROW_NAME = 16
_SHORT_STATUS = {"completed": "done"}


def format_result(result: ResultInfo | None) -> str:
    """An evaluator's value as it reads in the table (``…`` while running, ``–`` when none)."""
    if result is None or result.status == "error" or (result.status != "running" and result.value is None):
        return "–"
    if result.status == "running":
        return "…"
    assert result.value is not None
    if result.evaluation_type_id == "cost":
        return format_cost(result.value)
    if result.evaluation_type_id == "speed":
        return format_duration(result.value)
    if result.evaluation_type_id == "human_feedback":
        return f"{result.value:.1f}%"
    return f"{result.value:.4g}"


class _StyledTable(DataTable):
    """A DataTable that refills by row key and styles cells from its component classes."""

    def tone(self, text: str, name: str) -> Text:
        # The full style resolves translucent theme colours; its background is dropped so that
        # the zebra stripes and the cursor still show through.
        style = self.get_component_rich_style(name)
        return Text(text, style=style.without_color + Style(color=style.color))

    def highlighted_key(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)

    def refill(self, rows: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Replace the rows, keeping the cursor on the same row key when it is still there."""
        current, row = self.highlighted_key(), self.cursor_row
        self.clear()
        keys = []
        for key, cells in rows:
            self.add_row(*cells, key=key)
            keys.append(key)
        if current in keys:
            self.move_cursor(row=keys.index(current))
        elif keys:
            self.move_cursor(row=min(row, len(keys) - 1))


class DatasetsTable(_StyledTable):
    """The gateway's datasets: mark, name, filter in the text form, created."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {"datasets-table--mark", "datasets-table--muted"}

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        self.add_column("Name", key="name")
        self.add_column("Filter", key="filter")
        self.add_column("Created", key="created")

    def show_datasets(self, datasets: Iterable[DatasetInfo], marked: set[str], now_ms: int, tz: tzinfo | None) -> None:
        rows = []
        for dataset in datasets:
            text = to_text(dataset.filter)
            rows.append((dataset.id, [
                self.tone("●", "datasets-table--mark") if dataset.id in marked else "",
                untrusted_line(dataset.name),
                untrusted_line(text) if text else self.tone("(every log)", "datasets-table--muted"),
                format_when(dataset.created_at, now_ms, tz),
            ]))  # fmt: skip
        self.refill(rows)
        self.border_subtitle = f"{len(rows)} datasets" + (f" · {len(marked)} marked" if marked else "")


class EvaluationsTable(_StyledTable):
    """Evaluations, newest first: a value and a "logs used" column per evaluator."""

    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "evaluations-table--running", "evaluations-table--completed", "evaluations-table--error",
        "evaluations-table--muted",
    }  # fmt: skip

    def __init__(self, evaluators: Sequence[EvaluationType], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluators = list(evaluators)
        self.narrow: bool | None = None
        """Whether the columns are the 80-column set (``None`` until they are added)."""
        self._shown: tuple[list[EvaluationInfo], int, tzinfo | None] = ([], 0, None)

    def on_mount(self) -> None:
        self._add_columns()

    def on_resize(self) -> None:
        if (self.app.size.width < NARROW_BELOW) != self.narrow:
            self._add_columns()
            self.show_evaluations(*self._shown)

    def _add_columns(self) -> None:
        self.narrow = narrow = self.app.size.width < NARROW_BELOW
        self.clear(columns=True)
        self.add_column("Evaluation", key="name")
        self.add_column("Status", key="status")
        self.add_column("Logs", key="logs")
        headings = _NARROW_HEADINGS if narrow else _HEADINGS
        for evaluator in self.evaluators:  # short headings, so that 80 columns show every evaluator whole
            self.add_column(headings.get(evaluator.id, evaluator.name), key=f"value-{evaluator.id}")
            self.add_column("n", key=f"used-{evaluator.id}")
        if not narrow:
            self.add_column("Datasets", key="datasets")
        self.add_column("Started", key="started")

    def show_evaluations(self, evaluations: Iterable[EvaluationInfo], now_ms: int, tz: tzinfo | None) -> None:
        self._shown = (list(evaluations), now_ms, tz)
        narrow = bool(self.narrow)
        rows = []
        running = 0
        for evaluation in self._shown[0]:
            running += evaluation.status == "running"
            results = {r.evaluation_type_id: r for r in evaluation.results}
            name = middle_ellipsis(clean_line(evaluation.name), _NARROW_NAME) if narrow else evaluation.name
            status = _SHORT_STATUS.get(evaluation.status, evaluation.status) if narrow else evaluation.status
            cells: list[Any] = [
                untrusted_line(name),
                self.tone(status, f"evaluations-table--{evaluation.status}"),
                str(evaluation.total_logs) if evaluation.status == "completed" else "…",
            ]
            for evaluator in self.evaluators:
                result = results.get(evaluator.id)
                if result is None:  # the operator left this evaluator out of the run
                    cells += [self.tone("not chosen", "evaluations-table--muted"), ""]
                else:
                    cells += [format_result(result), str(result.logs_used) if result.status == "completed" else ""]
            if not narrow:
                cells.append(untrusted_line(", ".join(str(d.get("name", "?")) for d in evaluation.datasets)))
            cells.append(format_when(evaluation.created_at, now_ms, tz, short=narrow))
            rows.append((evaluation.id, cells))
        self.refill(rows)
        self.border_subtitle = f"{len(rows)} runs" + (f" · {running} running" if running else "")
