"""The console's views, in the order of their number keys, imported lazily by the App.

Each entry is ``(key, mode, title, target)``: the key that switches to it, the App mode name, the
title shown in the header, and ``"module:Class"``. A view class is a Textual widget constructed as
``View(services, gateway_id)``; it may also accept the keyword arguments ``clock`` (Unix-ms
callable), ``feed`` (the gateway's :class:`proxy_core.live_feed.LiveFeed`), ``tz`` (display time zone), ``export_dir`` (where exports are
written; ``None``: the working directory), ``evaluator_status`` (the guardrails evaluator's
name and health, sync or async; ``None``: not known here) and ``log_health`` (the gateway's log
pipeline, a callable returning a :class:`proxy_core.logpipe.PipeStats`, sync or async, that may
raise when it cannot be read; ``None``: not known here), which the App passes when the
constructor names them. Views reach the store only through ``console.store_calls.finish`` and
report failures with ``console.store_calls.report_failure``. Its styles live in a ``.tcss`` file beside its module, named like the
module (``analytics.py`` → ``analytics.tcss``), loaded with the view's screen. A view may define
``set_gateway(gateway_id)`` to follow the header's gateway switcher in place; otherwise the App
mounts a fresh instance for the new gateway.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import NamedTuple

__all__ = ["ViewSpec", "VIEWS", "find_view", "load_view", "view_css_path"]


class ViewSpec(NamedTuple):
    key: str
    """The number key that switches to the view."""
    mode: str
    """The App mode name (also used in command palette entries and binding ids)."""
    title: str
    target: str
    """``"package.module:Class"``, imported only when the view is first shown."""

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def class_name(self) -> str:
        return self.target.partition(":")[2]


VIEWS: tuple[ViewSpec, ...] = (
    ViewSpec("1", "live", "Live", "console.views.live:LiveView"),
    ViewSpec("2", "logs", "Logs", "console.views.logs:LogsView"),
    ViewSpec("3", "analytics", "Analytics", "console.views.analytics:AnalyticsView"),
    ViewSpec("4", "datasets", "Datasets & Evaluations", "console.views.datasets:DatasetsView"),
    ViewSpec("5", "guardrails", "Guardrails", "console.views.guardrails:GuardrailsView"),
    ViewSpec("6", "gateways", "Gateways & Settings", "console.views.gateways:GatewaysView"),
)


def find_view(mode: str) -> ViewSpec:
    for spec in VIEWS:
        if spec.mode == mode:
            return spec
    raise KeyError(mode)


def load_view(spec: ViewSpec) -> type:
    """The view class; raises ImportError (or AttributeError) when it is not there (yet)."""
    module = importlib.import_module(spec.module)
    return getattr(module, spec.class_name)


def view_css_path(spec: ViewSpec) -> Path | None:
    """The ``.tcss`` beside the view's module, if there is one (without importing the module)."""
    found = importlib.util.find_spec(spec.module)
    if found is None or found.origin is None:
        return None
    path = Path(found.origin).with_suffix(".tcss")
    return path if path.exists() else None
