"""The operator console: one Textual App whose modes are the views, built by :func:`make_console`.

Everything the console reads or changes goes through :class:`proxy_core.services.Services`; live
traffic is read from a :class:`proxy_core.live_feed.LiveFeed` once per frame. Both are injected,
together with the clock and the time zone, so the CLI (through a :class:`console.link.GatewayLink`
to a gateway on its own thread, or to one in another process) and the tests build the same App the
same way.

Modes, in the order of their number keys: 1 Live, 2 Logs, 3 Analytics, 4 Datasets & Evaluations,
5 Guardrails, 6 Gateways & Settings (see :mod:`console.views`). Kind to SSH: animations are off,
``NO_COLOR`` is honoured (Textual then renders in monochrome), and the chosen theme is remembered
in the preferences file. Themes come from the project's ``themes/`` and ``<data_dir>/themes/``
(:mod:`console.theming`); a theme file that cannot be used is reported, never fatal.

The shell keeps the list of the account's gateways (:attr:`AigwConsole.gateway_ids`, read at start,
when the gateway picker opens and whenever the Gateways view creates or deletes one), so a gateway
created in view 6 can be picked in the other views at once, and the views never keep showing a
gateway that was deleted.
"""

from __future__ import annotations

import inspect
import logging
import os
from datetime import tzinfo
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, ClassVar, Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

from console.dialogs import ChoiceDialog, ConfirmDialog
from console.help_screen import HelpScreen, collect_bindings
from console.log_pager import LogPager
from console.prefs import PrefsFile
from console.store_calls import finish, report_failure, settle
from console.theming import DEFAULT_THEME, FALLBACK_THEME, discover_themes
from console.view_screen import UnavailableView, ViewScreen
from console.views import VIEWS, ViewSpec, find_view, load_view, view_css_path
from console.widgets.filter_bar import FilterBar
from proxy_core.live_feed import LiveFeed
from proxy_core.logpipe import PipeStats
from proxy_core.services import Services
from proxy_core.services.types import Clock, system_clock

__all__ = ["AigwConsole", "make_console", "EvaluatorStatus", "LogHealth", "QUIT", "DETACH"]

log = logging.getLogger(__name__)

QUIT = "quit"
"""``run_async()`` result: the operator quit (an in-process gateway should stop)."""
DETACH = "detach"
"""``run_async()`` result: the operator detached (an in-process gateway keeps serving)."""

_VIEWS = Binding.Group("Views", compact=True)
_VIEW_ACTIONS = {f"show_view('{spec.mode}')": spec for spec in VIEWS}
_MODES = {spec.mode for spec in VIEWS}

EvaluatorStatus = Callable[[], "tuple[str, str] | Awaitable[tuple[str, str]]"]
"""The guardrails evaluator's name and ``"healthy"`` or ``"unreachable: <reason>"`` (sync or async)."""
LogHealth = Callable[[], "PipeStats | Awaitable[PipeStats]"]
"""The gateway's log pipeline as :meth:`proxy_core.logpipe.LogPipe.stats` reports it (sync or async;
raises when it cannot be read): the Live view's status line says when the store fails, logs are
dropped or requests are held."""


def _base_url(url: str) -> str:
    """``http://HOST:PORT`` from a base or a full gateway URL (``…/v1/{account}/{gateway}``)."""
    url = url.rstrip("/")
    head, sep, _tail = url.partition("/v1/")
    return head if sep else url


def _stylesheets() -> list[Path]:
    """The App's own styles, then each view's and dialog's ``.tcss``: parsed once at start-up, so
    switching views or opening a dialog never re-parses the whole stylesheet."""
    here = Path(__file__).resolve().parent
    views = [path for path in (view_css_path(spec) for spec in VIEWS) if path is not None]
    return [here / "app.tcss", *views, here / "dialogs.tcss", here / "help_screen.tcss", here / "log_pager.tcss"]


class AigwConsole(App[str]):
    """The console App; build it with :func:`make_console`."""

    TITLE = "aigw-console"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(spec.key, f"show_view('{spec.mode}')", spec.title, id=f"view.{spec.mode}",
                    tooltip=f"Switch to {spec.title}", group=_VIEWS)
            for spec in VIEWS
        ),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="List every key of this view and the console"),
        Binding("ctrl+g", "pick_gateway", "Gateway", show=False, id="app.gateway", tooltip="Choose which gateway the views show"),
        Binding("q,escape", "back", "Back", show=False, id="app.back",
                tooltip="Close the dialog or pager, else back to the view shown before"),
        Binding("u", "copy_url", "Copy URL", show=False, id="app.copy_url", tooltip="Copy the proxy URL (to paste into an app)"),
        Binding("t", "next_theme", "Next theme", show=False, id="app.theme",
                tooltip="Next console theme (ctrl+p → Theme lists all)"),
        Binding("ctrl+d", "detach", "Detach", show=False, id="app.detach",
                tooltip="Close the console; the gateway keeps serving (in a text field ctrl+d deletes a character)"),
        Binding("ctrl+q", "quit_console", "Quit", show=False, priority=True, id="app.quit",
                tooltip="Close the console (and stop the gateway it started)"),
    ]  # fmt: skip

    gateway_id: reactive[str] = reactive("default", init=False)
    """The gateway the views show."""
    proxy_url: reactive[str] = reactive("", init=False)
    """``http://HOST:PORT/v1/{account}/{gateway}`` for the gateway shown."""
    unreachable_since: reactive[int | None] = reactive(None, init=False)
    """When (Unix ms) an attached console lost its gateway's event stream; ``None`` while connected.
    Every view shows a banner meanwhile (:class:`console.widgets.connection_banner.ConnectionBanner`)."""

    def __init__(
        self,
        services: Services,
        feed: LiveFeed | None,
        *,
        gateway_url: str,
        account_id: str,
        gateway_id: str = "default",
        clock: Clock = system_clock,
        tz: tzinfo | None = None,
        on_detach: Callable[[], None] | None = None,
        attached: bool = False,
        prefs_path: Path | None = None,
        data_dir: Path | None = None,
        export_dir: Path | None = None,
        evaluator_status: EvaluatorStatus | None = None,
        log_health: LogHealth | None = None,
    ) -> None:
        super().__init__(css_path=_stylesheets())
        self.services = services
        self.feed = feed
        self.clock = clock
        self.tz = tz
        self.base_url = _base_url(gateway_url)
        self.account_id = account_id
        self.on_detach = on_detach
        self.attached = attached
        self.prefs = PrefsFile(prefs_path)
        self.data_dir = data_dir if data_dir is not None else (prefs_path.parent if prefs_path is not None else None)
        """The gateway's data directory (user themes, exports); ``None`` when not known."""
        self.export_dir = export_dir if export_dir is not None else self.data_dir
        """Where exports are written (``None``: the working directory)."""
        self.evaluator_status = evaluator_status
        self.log_health = log_health
        self.view_history: list[str] = []
        """The modes shown before the current one, oldest first (``q`` / escape go back)."""
        self.gateway_ids: tuple[str, ...] = ()
        """The account's gateways as last read (see :meth:`refresh_gateways`)."""
        self.default_gateway_id = "default"
        self.animation_level = "none"
        found = discover_themes(self.data_dir)
        self.theme_problems = found.problems
        """One line per theme file that was skipped (shown once the console is up)."""
        self.console_themes = found.names
        for theme in found.themes:
            self.register_theme(theme)
        wanted = self.prefs.prefs.theme
        fallback = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else FALLBACK_THEME
        self.theme = wanted if wanted in self.available_themes else fallback
        for spec in VIEWS:
            self.add_mode(spec.mode, partial(ViewScreen, spec, self._build_view))
        self.set_reactive(AigwConsole.gateway_id, gateway_id)
        self.set_reactive(AigwConsole.proxy_url, self.url_for(gateway_id))

    # -- wiring ----------------------------------------------------------------------------------

    @property
    def filter_history(self) -> list[str]:
        """Filters applied before (shared by the filter bars, remembered in the preferences)."""
        return self.prefs.prefs.filter_history

    def url_for(self, gateway_id: str) -> str:
        return f"{self.base_url}/v1/{self.account_id}/{gateway_id}"

    def _build_view(self, spec: ViewSpec, gateway_id: str) -> Widget:
        """Construct a view with the keyword arguments its constructor names."""
        try:
            view_class = load_view(spec)
        except (ImportError, AttributeError) as exc:
            log.info("view %s not available: %s", spec.target, exc)
            return UnavailableView(f"{spec.title} is not available in this build yet.", markup=False)
        offered: dict[str, Any] = {
            "clock": self.clock, "feed": self.feed, "tz": self.tz, "export_dir": self.export_dir,
            "evaluator_status": self.evaluator_status, "log_health": self.log_health,
        }  # fmt: skip
        try:
            parameters = inspect.signature(view_class).parameters
            takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
            kwargs = {name: value for name, value in offered.items() if takes_all or name in parameters}
            return view_class(self.services, gateway_id, **kwargs)
        except Exception as exc:  # a broken view must not take the console down
            log.exception("view %s failed to start", spec.target)
            return UnavailableView(f"{spec.title} failed to start: {exc}", markup=False)

    def on_mount(self) -> None:
        self.switch_mode(VIEWS[0].mode)
        for problem in self.theme_problems:
            self.notify(problem, title="Theme file skipped", severity="warning", timeout=15, markup=False)
        if not self.console_themes:
            self.notify("No console theme found in themes/; using Textual's own.", severity="warning", markup=False)
        self.refresh_gateways()

    async def on_unmount(self) -> None:
        await settle()  # store calls of cancelled workers finish before the loop may close

    # -- views and gateways ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "detach":
            return True if self.on_detach is not None and not self.attached else None
        if action == "show_view" and parameters and parameters[0] == self.current_mode:
            return True if isinstance(self.screen, LogPager) else None  # from the pager, back to its Logs
        return True

    def action_help_quit(self) -> None:
        leave = "ctrl+q to quit, ctrl+d to detach" if self.on_detach is not None and not self.attached else "ctrl+q to quit"
        self.notify(f"Nothing to go back to. Press {leave}.", title="Leaving?", markup=False)

    async def action_show_view(self, mode: str) -> None:
        """Switch views; a view key pressed in the log pager closes the pager first, so it is not
        left waiting on top of Logs for the next visit (the pager reads one log; the key means
        "go there")."""
        while isinstance(self.screen, LogPager):
            await self.pop_screen()
        if mode != self.current_mode:
            await self.switch_mode(mode)

    def switch_mode(self, mode: str) -> Any:
        """Switch views, remembering the one left for ``q`` / escape."""
        current = self.current_mode
        if mode != current and current in _MODES:
            if mode in self.view_history:
                self.view_history.remove(mode)
            self.view_history.append(current)
            del self.view_history[:-len(VIEWS)]
        return super().switch_mode(mode)

    def action_back(self) -> None:
        screen = self.screen
        if isinstance(screen, ModalScreen) or not isinstance(screen, ViewScreen):
            if len(self.screen_stack) > 1:
                screen.dismiss(None)
            return
        if not self.view_history:
            self.action_help_quit()
            return
        super().switch_mode(self.view_history.pop())  # not remembered: going back is not a new visit

    async def show_log(self, gateway_id: str, log_id: str) -> None:
        """Open one log in the Logs view (from the live tail)."""
        view = await self._logs_of(gateway_id)
        show = getattr(view, "show_log", None)
        if callable(show):
            show(log_id)

    async def show_logs(self, gateway_id: str, filter_text: str) -> None:
        """The Logs view of ``gateway_id`` with ``filter_text`` applied (e.g. a category's hits)."""
        view = await self._logs_of(gateway_id)
        bar = view.query(FilterBar) if view is not None else None
        if bar:
            bar.first().set_text(filter_text, apply=True)

    async def _logs_of(self, gateway_id: str) -> Widget | None:
        """Switch to the Logs view showing ``gateway_id``; the view (``None`` if it is not there)."""
        self.gateway_id = gateway_id
        await self.switch_mode("logs")
        screen = self.screen
        if not isinstance(screen, ViewScreen):
            return None
        await screen.follow_gateway(gateway_id)
        return screen.view

    async def watch_gateway_id(self, gateway_id: str) -> None:
        self.proxy_url = self.url_for(gateway_id)
        screen = self.screen
        if isinstance(screen, ViewScreen):
            await screen.follow_gateway(gateway_id)

    def action_pick_gateway(self) -> None:
        self._list_gateways()

    async def _read_gateways(self) -> list[tuple[str, str]] | None:
        """The account's gateways as ``(id, label)``, remembered in :attr:`gateway_ids`; ``None``
        (after a notification) when the store cannot be read."""
        try:
            page = await finish(self.services.gateways.list(per_page=1000))
        except Exception as exc:  # the store may be down; say so and carry on
            report_failure(self, "Cannot list gateways", exc)
            return None
        self.gateway_ids = tuple(g.id for g in page.items)
        self.default_gateway_id = next((g.id for g in page.items if g.is_default), self.default_gateway_id)
        return [(g.id, g.id + ("  (default)" if g.is_default else "")) for g in page.items]

    @work(exclusive=True, group="app-gateways", exit_on_error=False)
    async def _list_gateways(self) -> None:
        choices = await self._read_gateways()
        if choices is None:
            return
        if not choices:
            self.notify("No gateways yet.", markup=False)
            return
        choice = await self.push_screen_wait(ChoiceDialog("Show gateway", choices, current=self.gateway_id))
        if choice:
            self.gateway_id = choice

    @work(exclusive=True, group="app-gateways-refresh", exit_on_error=False)
    async def refresh_gateways(self) -> None:
        """Re-read the account's gateways; when the one shown is gone, show the default one."""
        if await self._read_gateways() is None:
            return
        if self.gateway_ids and self.gateway_id not in self.gateway_ids:
            gone = self.gateway_id
            self.gateway_id = self.default_gateway_id if self.default_gateway_id in self.gateway_ids else self.gateway_ids[0]
            self.notify(f"Gateway {gone} is gone; showing {self.gateway_id}.", markup=False)

    def on_gateways_view_gateways_changed(self, message: Any) -> None:
        """The Gateways view created or deleted a gateway: the list the picker offers follows."""
        self.refresh_gateways()

    def gateway_unreachable(self, since_ms: int | None) -> None:
        """The link lost the gateway at ``since_ms`` (``None``: it is back); see :attr:`unreachable_since`."""
        self.unreachable_since = since_ms

    def action_copy_url(self) -> None:
        self.copy_to_clipboard(self.proxy_url)
        self.notify(f"Copied {self.proxy_url}", title="Proxy URL", markup=False)

    # -- help, themes, palette -------------------------------------------------------------------

    def action_help(self) -> None:
        title = find_view(self.current_mode).title if self.current_mode != "_default" else "Console"
        title = getattr(self.screen, "HELP_TITLE", title)  # e.g. the log pager
        self.push_screen(HelpScreen(collect_bindings(self.screen, title)))

    def action_next_theme(self) -> None:
        names = self.console_themes
        index = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[index % len(names)]
        self.notify(f"Theme: {self.theme}", markup=False)

    def watch_theme(self, theme: str) -> None:
        if self.prefs.prefs.theme != theme:
            self.prefs.prefs.theme = theme
            self.prefs.save()

    @on(FilterBar.Applied)
    def _remember_filter(self, event: FilterBar.Applied) -> None:
        if event.text.strip():
            self.prefs.prefs.remember_filter(event.text)
            self.prefs.save()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every enabled key binding of ours on the screen (not Textual's generic widget keys), the
        console's themes, then Textual's own commands."""
        seen: set[str] = set()
        for key, (node, binding, enabled, tooltip) in screen.active_bindings.items():
            if not enabled or not binding.description or binding.action in seen or binding.system or binding.id is None:
                continue
            seen.add(binding.action)
            spec = _VIEW_ACTIONS.get(binding.action)
            title = f"View: {spec.title}" if spec is not None else binding.description
            help_text = f"{tooltip or binding.tooltip or binding.description} ({self.get_key_display(binding)})"
            yield SystemCommand(title, help_text, partial(self.run_action, binding.action, node))
        if "pick_gateway" not in seen:  # a view may use g for itself: the picker stays in the palette
            yield SystemCommand("Gateway", "Choose which gateway the views show", self.action_pick_gateway)
        for name in self.console_themes:
            yield SystemCommand(f"Theme: {name}", "Switch the console theme (remembered)", partial(setattr, self, "theme", name))
        yield from super().get_system_commands(screen)

    # -- leaving ---------------------------------------------------------------------------------

    def action_quit_console(self) -> None:
        if self.attached or self.on_detach is None:
            self.exit(QUIT)
            return

        def answered(stop: bool | None) -> None:
            if stop:
                self.exit(QUIT)

        message = (
            f"The gateway at {self.proxy_url} runs in this process: quitting stops it, and apps "
            "using it will fail to connect. Press ctrl+d instead to close only the console."
        )
        self.push_screen(ConfirmDialog("Quit and stop the gateway?", message, confirm="Quit", danger=True), answered)

    def action_detach(self) -> None:
        if self.on_detach is None or self.attached:
            return

        def answered(detach: bool | None) -> None:
            if detach and self.on_detach is not None:
                self.on_detach()
                self.exit(DETACH)

        message = (
            f"The console closes; the gateway keeps serving {self.proxy_url} in this process "
            f"(pid {os.getpid()}). Stop it later with: kill -TERM {os.getpid()}"
        )
        self.push_screen(ConfirmDialog("Detach the console?", message, confirm="Detach"), answered)


def make_console(
    services: Services,
    feed: LiveFeed | None,
    *,
    gateway_url: str,
    account_id: str,
    gateway_id: str = "default",
    clock: Clock = system_clock,
    tz: tzinfo | None = None,
    on_detach: Callable[[], None] | None = None,
    attached: bool = False,
    prefs_path: Path | None = None,
    data_dir: Path | None = None,
    export_dir: Path | None = None,
    evaluator_status: EvaluatorStatus | None = None,
    log_health: LogHealth | None = None,
) -> AigwConsole:
    """The console App, wired to ``services`` and the gateway's live ``feed`` (``None``: no live tail).

    ``gateway_url`` is the proxy's base URL (``http://HOST:PORT``; a full gateway URL is
    accepted, its ``/v1/…`` path is dropped). ``clock`` returns Unix ms and ``tz`` the zone
    times are shown in (``None`` = the machine's), both fixed in tests. ``on_detach`` is called
    when the operator detaches (ctrl+d); without it detaching is unavailable. ``attached`` says
    the console joined a gateway run by another process: quitting then never stops it.
    ``prefs_path`` is the console preferences file (``None`` = keep them in memory).
    ``data_dir`` is the gateway's data directory (``None``: the preferences file's directory, if
    any): operator themes are read from ``<data_dir>/themes/*.toml`` and exports are written
    there unless ``export_dir`` says otherwise (neither known: the working directory).
    ``evaluator_status`` reports the guardrails evaluator's name and health for the Guardrails
    view (a :class:`console.link.GatewayLink`'s ``evaluator_status``); ``None`` when this console
    cannot know it.
    ``log_health`` returns the gateway's log pipeline stats (:class:`~proxy_core.logpipe.PipeStats`,
    sync or async) for the Live view's status line; ``None`` when this console cannot know them.
    """
    return AigwConsole(
        services, feed, gateway_url=gateway_url, account_id=account_id, gateway_id=gateway_id, clock=clock,
        tz=tz, on_detach=on_detach, attached=attached, prefs_path=prefs_path, data_dir=data_dir,
        export_dir=export_dir, evaluator_status=evaluator_status, log_health=log_health,
    )  # fmt: skip
