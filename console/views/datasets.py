"""Datasets & Evaluations: saved log filters, their JSONL export, and evaluations side by side.

The top table lists the gateway's datasets (name, filter in the text form, created); the bottom
one lists evaluations newest first, one row per run, with a value and a "logs used" column per
evaluator, so a run reads against the earlier ones. While any evaluation is running the view
re-reads the evaluations every :data:`EVALUATION_POLL_SECONDS` (only while it is on screen).
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Callable, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import DescendantFocus
from textual.message import Message
from textual.timer import Timer

from console.dialogs import ConfirmDialog
from console.safe_text import clean_line
from console.store_calls import finish, report_failure
from console.units import format_when
from console.widgets.datasets_dialogs import DatasetDialog, DatasetDraft, EvaluationDialog, EvaluationDraft
from console.widgets.datasets_tables import DatasetsTable, EvaluationsTable
from console.widgets.dialog_owner import DialogOwner
from proxy_core.services import Actor, DatasetInfo, EvaluationInfo, Services
from proxy_core.store.filters import to_text

__all__ = ["DatasetsView", "EVALUATION_POLL_SECONDS", "CONSOLE_ACTOR"]

CONSOLE_ACTOR = Actor("operator", "console")
EVALUATION_POLL_SECONDS = 1.0
"""How often running evaluations are re-read."""
_WRITE_CHUNK = 1 << 20
"""Export lines are written in chunks of about this many bytes (off the event loop)."""


_TOAST_WIDTH = 60
"""A toast's width, at most half the screen's (Textual's ``Toast`` style)."""
_TOAST_FRAME = 4
"""The toast's border and padding, in cells."""


def directory_lines(directory: str, room: int) -> str:
    """``directory`` and a final separator on lines of at most ``room`` cells, each broken after a
    separator, so no directory name is split (one longer than ``room`` gets a line of its own)."""
    parts = directory.split(os.sep)
    pieces = [part + os.sep for part in parts if part] if parts[-1] else [os.sep]
    if directory.startswith(os.sep) and parts[-1]:
        pieces[0] = os.sep + pieces[0]
    lines = [""]
    for piece in pieces:
        if lines[-1] and len(lines[-1]) + len(piece) > room:
            lines.append("")
        lines[-1] += piece
    return "\n".join(clean_line(line) for line in lines)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "dataset"


class DatasetsView(DialogOwner, can_focus=False):
    """Datasets and evaluations of the current gateway.

    Styles: ``datasets.tcss`` beside this module, loaded with the view's screen.
    """

    FOCUS_ON_SHOW = "#datasets-table"
    FORM_KEYS: ClassVar[dict[str, str]] = {"n": "new_dataset", "e": "edit_dataset"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_dataset", "New", id="datasets.new", tooltip="Create a dataset: a name and a log filter"),
        Binding("e", "edit_dataset", "Edit", id="datasets.edit", tooltip="Rename the dataset or change its filter"),
        Binding("d", "delete", "Delete", id="datasets.delete",
                tooltip="Delete the highlighted dataset or evaluation (asks first)"),  # fmt: skip
        Binding("x", "export", "Export", id="datasets.export",
                tooltip="Write the dataset's logs as JSON lines (request/response pairs) to a file"),  # fmt: skip
        Binding("space", "mark", "Mark", id="datasets.mark",
                tooltip="Mark datasets to evaluate together (else the highlighted one is used)"),  # fmt: skip
        Binding("v", "evaluate", "Evaluate", id="datasets.evaluate",
                tooltip="Run an evaluation on the marked (or highlighted) datasets"),  # fmt: skip
        Binding("f5", "refresh", "Refresh", show=False, id="datasets.refresh",
                tooltip="Reload datasets and evaluations"),  # fmt: skip
    ]

    @dataclass
    class DataLoaded(Message):
        """Datasets and evaluations of a gateway were read."""

        gateway_id: str
        datasets: list[DatasetInfo]
        evaluations: list[EvaluationInfo]

    @dataclass
    class ExportFinished(Message):
        """A dataset was written to ``path`` as ``count`` JSON lines."""

        dataset_id: str
        path: Path
        count: int

    def __init__(
        self,
        services: Services,
        gateway_id: str,
        *,
        clock: Callable[[], int] | None = None,
        tz: tzinfo | None = None,
        export_dir: Path | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.services = services
        self.gateway_id = gateway_id
        self.clock = clock or services.clock
        self.tz = tz
        self.export_dir = export_dir
        self._datasets: dict[str, DatasetInfo] = {}
        self._evaluations: dict[str, EvaluationInfo] = {}
        self._marked: set[str] = set()
        self._poll: Timer | None = None

    def compose(self) -> ComposeResult:
        datasets = DatasetsTable(id="datasets-table", cursor_type="row", zebra_stripes=True)
        datasets.border_title = "Datasets"
        yield datasets
        evaluations = EvaluationsTable(
            self.services.evaluations.types(), id="evaluations-table", cursor_type="row", zebra_stripes=True
        )
        evaluations.border_title = "Evaluations"
        yield evaluations

    def on_mount(self) -> None:
        datasets = self.query_one(DatasetsTable)
        datasets.focus()
        self.watch_screen_changes()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.call_after_refresh(self._redraw))

    def on_show(self) -> None:
        self.refresh_data()

    def _visible(self) -> bool:
        return self.is_attached and self.screen.is_active and self.display

    # -- public API --------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Reload the gateway's datasets and evaluations."""
        self._load(self.gateway_id)

    def set_gateway(self, gateway_id: str) -> None:
        """Show ``gateway_id``'s datasets (called by the shell's gateway switcher)."""
        if gateway_id != self.gateway_id:
            self.gateway_id = gateway_id
            self._marked.clear()
            self._datasets.clear()
            self._evaluations.clear()
            self._redraw()
            self.refresh_data()

    def new_dataset(self, filter_text: str = "") -> None:
        """Open the new-dataset form, e.g. with the Logs view's current filter."""
        self._push_dialog(
            DatasetDialog("New dataset", filter_text=filter_text, clock=self.clock, confirm="Create", tz=self.tz),
            self._create_dataset,
        )

    # -- loading -----------------------------------------------------------------------------

    @work(exclusive=True, group="datasets-load", exit_on_error=False)
    async def _load(self, gateway_id: str) -> None:
        try:
            datasets = await finish(self.services.datasets.list(gateway_id, per_page=500))
            evaluations = await finish(self.services.evaluations.list(gateway_id, per_page=100))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Could not load datasets", exc)
            return
        self.post_message(self.DataLoaded(gateway_id, datasets.items, evaluations.items))

    @on(DataLoaded)
    def _data_loaded(self, message: DataLoaded) -> None:
        if message.gateway_id != self.gateway_id:
            return
        for evaluation in message.evaluations:
            before = self._evaluations.get(evaluation.id)
            if before is not None and before.status == "running" and evaluation.status != "running":
                if evaluation.status == "error":
                    self.notify(evaluation.error or "failed", title=f"Evaluation {clean_line(evaluation.name)}",
                                severity="error", markup=False)  # fmt: skip
                else:
                    self.notify(f"{evaluation.total_logs} logs evaluated",
                                title=f"Evaluation {clean_line(evaluation.name)} done", markup=False)  # fmt: skip
        self._datasets = {d.id: d for d in message.datasets}
        self._evaluations = {e.id: e for e in message.evaluations}
        self._marked &= set(self._datasets)
        self._redraw()
        if any(e.status == "running" for e in message.evaluations):
            self._arm_poll()

    def _arm_poll(self) -> None:
        if self._poll is None:
            self._poll = self.set_timer(EVALUATION_POLL_SECONDS, self._poll_running)

    def _poll_running(self) -> None:
        self._poll = None
        if self._visible():
            self.refresh_data()
        else:
            self._arm_poll()

    # -- display -----------------------------------------------------------------------------

    def _redraw(self) -> None:
        if self.is_attached:
            self._draw_datasets()
            self._draw_evaluations()
            self.refresh_bindings()

    def _draw_datasets(self) -> None:
        self.query_one(DatasetsTable).show_datasets(self._datasets.values(), self._marked, self.clock(), self.tz)

    def _draw_evaluations(self) -> None:
        self.query_one(EvaluationsTable).show_evaluations(self._evaluations.values(), self.clock(), self.tz)

    # -- selection ---------------------------------------------------------------------------

    def _dataset(self) -> DatasetInfo | None:
        key = self.query_one(DatasetsTable).highlighted_key()
        return self._datasets.get(key) if key else None

    def _evaluation_focused(self) -> bool:
        return self.query_one(EvaluationsTable).has_focus

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit_dataset", "export", "mark"):
            if action == "mark" and self._evaluation_focused():
                return None
            return True if self._dataset() is not None else None
        if action == "evaluate":
            return True if (self._marked or self._dataset() is not None) else None
        if action == "delete":
            table = self.query_one(EvaluationsTable) if self._evaluation_focused() else self.query_one(DatasetsTable)
            return True if table.row_count else None
        return True

    # -- actions: datasets -------------------------------------------------------------------

    def action_new_dataset(self) -> None:
        """Create a dataset."""
        self.new_dataset()

    def _create_dataset(self, draft: DatasetDraft | None) -> None:
        if draft is not None:
            self._save_dataset(self.gateway_id, None, draft)

    def action_edit_dataset(self) -> None:
        """Rename the highlighted dataset or change its filter."""
        dataset = self._dataset()
        if dataset is None:
            return
        dialog = DatasetDialog(
            "Edit dataset", name=dataset.name, filter_text=to_text(dataset.filter), clock=self.clock, confirm="Save",
            tz=self.tz,
        )  # fmt: skip
        gateway_id = self.gateway_id

        def save(draft: DatasetDraft | None) -> None:
            if draft is not None:
                self._save_dataset(gateway_id, dataset.id, draft)

        self._push_dialog(dialog, save)

    @work(group="datasets-change", exit_on_error=False)
    async def _save_dataset(self, gateway_id: str, dataset_id: str | None, draft: DatasetDraft) -> None:
        datasets = self.services.datasets
        try:
            if dataset_id is None:
                await finish(datasets.create(gateway_id, draft.name, draft.log_filter, CONSOLE_ACTOR))
            else:
                await finish(
                    datasets.update(gateway_id, dataset_id, CONSOLE_ACTOR, name=draft.name, filters=draft.log_filter)
                )
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Dataset not saved", exc)
            return
        self.notify(f"Dataset {clean_line(draft.name)} saved", markup=False)
        self.refresh_data()

    def action_delete(self) -> None:
        """Delete the highlighted dataset or evaluation, after asking."""
        if self._evaluation_focused():
            key = self.query_one(EvaluationsTable).highlighted_key()
            evaluation = self._evaluations.get(key) if key else None
            if evaluation is None:
                return
            self._confirm_delete(
                "evaluation", evaluation.id, f"Delete evaluation {clean_line(evaluation.name)!r} and its results?"
            )
            return
        dataset = self._dataset()
        if dataset is None:
            return
        self._confirm_delete(
            "dataset", dataset.id,
            f"Delete dataset {clean_line(dataset.name)!r}? The logs stay; evaluations that used it keep their results.",
        )  # fmt: skip

    def _confirm_delete(self, kind: str, resource_id: str, question: str) -> None:
        gateway_id = self.gateway_id

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(gateway_id, kind, resource_id)

        dialog = ConfirmDialog(f"Delete {kind}", Text(question), confirm="Delete", danger=True)
        self._push_dialog(dialog, answered)

    @work(group="datasets-change", exit_on_error=False)
    async def _delete(self, gateway_id: str, kind: str, resource_id: str) -> None:
        try:
            if kind == "dataset":
                await finish(self.services.datasets.delete(gateway_id, resource_id, CONSOLE_ACTOR))
            else:
                await finish(self.services.evaluations.delete(gateway_id, resource_id, CONSOLE_ACTOR))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, f"{kind.capitalize()} not deleted", exc)
            return
        self._marked.discard(resource_id)
        self.refresh_data()

    def action_mark(self) -> None:
        """Mark or unmark the highlighted dataset for the next evaluation."""
        dataset = self._dataset()
        if dataset is None:
            return
        self._marked ^= {dataset.id}
        self._draw_datasets()
        table = self.query_one(DatasetsTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self.refresh_bindings()

    # -- actions: export ---------------------------------------------------------------------

    def action_export(self) -> None:
        """Export the highlighted dataset's logs as JSON lines."""
        dataset = self._dataset()
        if dataset is not None:
            self._export(self.gateway_id, dataset)

    def _export_path(self, dataset: DatasetInfo) -> Path:
        directory = self.export_dir if self.export_dir is not None else Path.cwd()
        moment = datetime.fromtimestamp(self.clock() / 1000, tz=timezone.utc).astimezone(self.tz)
        base = f"{_slug(dataset.name)}-{moment.strftime('%Y%m%d-%H%M%S')}"
        path = directory / f"{base}.jsonl"
        n = 1
        while path.exists():
            path = directory / f"{base}-{n}.jsonl"
            n += 1
        return path

    async def _write_export(self, gateway_id: str, dataset: DatasetInfo, path: Path) -> int:
        """Write the dataset's logs to ``path``; on failure no half-written file is left."""
        count = 0
        try:
            handle = await asyncio.to_thread(open, path, "xb")
            try:
                chunk: list[bytes] = []
                size = 0
                async for line in self.services.logs.export_jsonl(gateway_id, dataset.filter):
                    chunk.append(line)
                    size += len(line)
                    count += 1
                    if size >= _WRITE_CHUNK:
                        await asyncio.to_thread(handle.write, b"".join(chunk))
                        chunk, size = [], 0
                if chunk:
                    await asyncio.to_thread(handle.write, b"".join(chunk))
            finally:
                await asyncio.to_thread(handle.close)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return count

    @work(group="datasets-export", exit_on_error=False)
    async def _export(self, gateway_id: str, dataset: DatasetInfo) -> None:
        try:
            path = self._export_path(dataset)
            # Shielded: leaving the view does not cut the export (or its store reads) short.
            count = await finish(self._write_export(gateway_id, dataset, path))
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Export failed", exc)
            return
        # The directory (broken only after a separator) and the file name on lines of their own.
        room = min(_TOAST_WIDTH, self.app.size.width // 2) - _TOAST_FRAME
        self.notify(f"{directory_lines(str(path.parent), room)}\n{path.name}",
                    title=f"Exported {count} logs of {clean_line(dataset.name)}", markup=False, timeout=15)  # fmt: skip
        self.post_message(self.ExportFinished(dataset.id, path, count))

    # -- actions: evaluations ----------------------------------------------------------------

    def action_evaluate(self) -> None:
        """Choose evaluators and run them on the marked (or highlighted) datasets."""
        chosen = [self._datasets[i] for i in self._datasets if i in self._marked]
        if not chosen:
            dataset = self._dataset()
            chosen = [dataset] if dataset is not None else []
        if not chosen:
            return
        names = [clean_line(d.name) for d in chosen]
        evaluators = [(t.id, t.name, t.description) for t in self.services.evaluations.types()]
        when = format_when(self.clock(), self.clock(), self.tz)
        default = f"{' + '.join(names)[:80]} @ {when}"
        ids, gateway_id = [d.id for d in chosen], self.gateway_id

        def run(draft: EvaluationDraft | None) -> None:
            if draft is not None:
                self._start_evaluation(gateway_id, ids, draft)

        self._push_dialog(EvaluationDialog(names, evaluators, name=default), run)

    @work(group="datasets-change", exit_on_error=False)
    async def _start_evaluation(self, gateway_id: str, dataset_ids: list[str], draft: EvaluationDraft) -> None:
        try:
            await finish(
                self.services.evaluations.create(
                    gateway_id, draft.name, dataset_ids, draft.evaluation_type_ids, CONSOLE_ACTOR
                )
            )
        except Exception as exc:  # noqa: BLE001 - shown, never raised
            report_failure(self, "Evaluation not started", exc)
            return
        self._marked.clear()
        self.refresh_data()

    def action_refresh(self) -> None:
        """Reload now."""
        self.refresh_data()
