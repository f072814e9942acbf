"""``aigw-console`` without ``--headless``: the gateway and the console in one process, on two loops.

The gateway starts first, on a thread of its own with its own event loop and store engine
(:class:`proxy_core.gateway_thread.GatewayThread`); the Textual App owns the main thread and its
loop, with a service layer on a store engine of its own. The console reaches the gateway only
through an :class:`console.link.InProcessLink` (thread-safe hand-offs, no sockets), the same
interface an attached console has to a gateway in another process: both are built by the same code
(:func:`_open_console`). Textual owns the terminal (it draws on stderr), so log records go to
``console.log`` in the data directory. Signals arrive on the main thread, which stops the gateway
thread when the gateway should stop.

Leaving:

* quitting the console (ctrl+q, or SIGTERM) stops the gateway, flushing the log queue;
* detaching (ctrl+d) closes the console and keeps the gateway serving in this process, headless,
  until SIGTERM or SIGINT; the terminal may then go away (SIGHUP is ignored);
* losing the terminal (SIGHUP: an SSH session dropped, a tmux pane killed) detaches too: a dropped
  session drops the console, never the gateway.

Attaching: when a live gateway already serves the data directory (``gateway.json``, written by
every gateway, ``--headless`` ones too), the console attaches to it instead of starting a second
one (:func:`run_attached`): it opens the shared store with its own service layer and receives the
live tail over the gateway's event stream (:mod:`console.attach`). Quitting an attached console
leaves the gateway alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

from console.app import DETACH, QUIT, AigwConsole, make_console
from console.attach import AttachedLink, AttachError
from console.link import GatewayLink, InProcessLink
from console.prefs import PREFS_FILE_NAME
from console.terminal import terminal_may_vanish
from proxy_core.api import read_admin_token
from proxy_core.config import Settings
from proxy_core.gateway_thread import GatewayThread
from proxy_core.log_hygiene import install_log_hygiene
from proxy_core.providers import ProviderRegistry
from proxy_core.runner import RunningGateway, pipe_report, settle_heap
from proxy_core.runtime_file import RuntimeInfo, read_runtime
from proxy_core.services import Services
from proxy_core.services.types import system_clock
from proxy_core.store.engine import Store, open_store

__all__ = ["run_attached", "run_console", "LOG_FILE_NAME"]

LOG_FILE_NAME = "console.log"
_WATCH_TERMINAL_S = 2.0

log = logging.getLogger(__name__)


def _say(message: str) -> None:
    """Print a line for the operator; the terminal may be gone, which is not an error."""
    with contextlib.suppress(OSError, ValueError):
        print(f"aigw-console: {message}", flush=True)


def _log_to_file(data_dir: Path) -> Path:
    """Send log records to ``console.log`` (the terminal belongs to Textual while it runs)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOG_FILE_NAME
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    install_log_hygiene()  # the new handler redacts like the terminal's did
    return path


async def _watch_parent() -> None:
    """Return when the process that started us is gone (and its terminal with it)."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(_WATCH_TERMINAL_S)


async def _serve_detached(gateway: RunningGateway, *, terminal: bool) -> None:
    """Keep the gateway serving until SIGTERM or SIGINT (SIGHUP is ignored: the terminal may close)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: None)
    if terminal:
        pid = os.getpid()
        _say(f"console detached; the gateway keeps serving {gateway.gateway_url}")
        _say(f"management API {gateway.api_url}; logs in {gateway.settings.data_dir / LOG_FILE_NAME}")
        _say(f"stop it with: kill -TERM {pid}   (you may close this terminal)")
    log.warning("console detached; gateway serving %s (pid %d)", gateway.gateway_url, os.getpid())
    await stop.wait()


async def _open_console(
    settings: Settings, link: GatewayLink, *, base_url: str, account_id: str, attached: bool
) -> tuple[AigwConsole, Store]:
    """The console on ``link``: its own store engine and service layer (which tell the gateway what
    they changed through the link), the live tail, the evaluator and the log pipeline from it. The
    service layer replays logged requests to ``base_url``, the gateway's HTTP endpoint."""
    store = await open_store(settings.store_url)
    services = Services(
        store, account_id=account_id, directory=link, bus=link.bus, on_logs_deleted=link.logs_deleted,
        providers=ProviderRegistry(settings.providers), gateway_url=base_url,
    )  # replays go to the gateway's own HTTP endpoint, like any client's request
    app = make_console(
        services, link.feed, gateway_url=base_url, account_id=account_id, attached=attached,
        on_detach=None if attached else (lambda: log.warning("operator detached the console")),
        prefs_path=settings.data_dir / PREFS_FILE_NAME, data_dir=settings.data_dir,
        evaluator_status=link.evaluator_status, log_health=link.log_health,
    )  # fmt: skip
    return app, store


async def run_console(settings: Settings) -> int:
    """Run the gateway with the console until the operator quits (or detaches and it is stopped);
    attach to the gateway already serving the data directory if there is one."""
    running = read_runtime(settings.data_dir)
    if running is not None:
        return await run_attached(settings, running)
    log_file = _log_to_file(settings.data_dir)
    thread = GatewayThread(settings, clock=system_clock)
    try:
        gateway = await thread.start()
    except BaseException:
        await thread.stop()
        raise
    settle_heap()
    loop = asyncio.get_running_loop()
    hung_up = False
    store: Store | None = None
    try:
        app, store = await _open_console(
            settings, InProcessLink(thread), base_url=gateway.base_url, account_id=settings.server.account_id,
            attached=False,
        )  # fmt: skip

        def hang_up() -> None:
            nonlocal hung_up
            hung_up = True
            app.exit(DETACH)

        loop.add_signal_handler(signal.SIGHUP, hang_up)
        loop.add_signal_handler(signal.SIGTERM, lambda: app.exit(QUIT))
        # Textual's driver installs SIGTSTP/SIGCONT handlers that restart its input thread; once the
        # console is gone they must not (a closing terminal sends SIGCONT after SIGHUP).
        job_control = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}
        orphan_watch = asyncio.create_task(_watch_parent())
        orphan_watch.add_done_callback(lambda task: task.cancelled() or hang_up())
        try:
            with terminal_may_vanish():
                result = await app.run_async()
        except OSError:  # the terminal vanished under Textual
            log.warning("the terminal went away", exc_info=True)
            result = DETACH
        finally:
            orphan_watch.cancel()
            loop.remove_signal_handler(signal.SIGTERM)
            for sig, handler in job_control.items():
                signal.signal(sig, handler)
        await store.close()
        store = None
        if app.return_code not in (None, 0) and result != QUIT:
            # The console failed (Textual printed why): the proxy must not go down with it.
            log.error("the console stopped with an error; the gateway keeps serving")
            _say("the console stopped with an error (above); the gateway keeps serving")
            result = DETACH
        if result == DETACH or hung_up:
            await _serve_detached(gateway, terminal=not hung_up)
    finally:
        if store is not None:
            await store.close()
        if not hung_up:
            _say("stopping, flushing the log queue…")
        await thread.stop()
        log.warning("gateway stopped (%s)", pipe_report(gateway))
        if not hung_up:
            _say(f"stopped ({pipe_report(gateway)}); console log in {log_file}")
    return 0


async def run_attached(settings: Settings, info: RuntimeInfo) -> int:
    """A console on the gateway that ``info`` describes, until the operator quits; the gateway
    keeps serving. Returns 1 (with the reason printed) if the gateway cannot be attached."""
    if settings.demo:
        _say("a gateway already serves this data directory: attaching to it (--demo does not apply)")
    token = read_admin_token(settings)
    if token is None:
        _say(f"error: no admin token to attach with: {settings.data_dir / 'admin_token'} is missing; "
             "set AIGW_ADMIN_TOKEN to the running gateway's token")  # fmt: skip
        return 1
    link = AttachedLink(info, token)
    try:
        await link.connect()
    except AttachError as exc:
        _say(f"error: a gateway is recorded in {settings.data_dir} (pid {info.pid}) but {exc}")
        return 1
    log_file = _log_to_file(settings.data_dir)
    app, store = await _open_console(settings, link, base_url=info.base_url, account_id=info.account_id, attached=True)
    link.on_state = lambda message, good: app.notify(
        message, title="Gateway", severity="information" if good else "warning", markup=False
    )
    link.on_reachability = app.gateway_unreachable
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(sig, app.exit)
    try:
        try:
            with terminal_may_vanish():
                await app.run_async()
        except OSError:  # the terminal vanished under Textual
            log.warning("the terminal went away", exc_info=True)
    finally:
        for sig in (signal.SIGHUP, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await link.close()
        await store.close()
    _say(f"console closed; the gateway (pid {info.pid}) keeps serving {info.base_url}; console log in {log_file}")
    return 0
