"""``aigw-console``: the command line entry point (proxy + console, or the proxy alone)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Sequence

from console.commands import add_subcommands, run_subcommand
from proxy_core.config import ConfigError, Settings, load_settings
from proxy_core.gateway_thread import run_loop
from proxy_core.log_hygiene import install_log_hygiene
from proxy_core.runner import RunningGateway, pipe_report, print_access_log, settle_heap, start_gateway
from proxy_core.store.engine import display_url
from proxy_core.worker_group import WorkerGroup, check_store

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aigw-console",
        description="A self-hosted AI gateway with a terminal operator console.",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8787)")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy async database URL (default: SQLite in the data dir)")
    parser.add_argument("--data-dir", metavar="DIR", help="data directory (default ~/.local/share/aigw-console)")
    parser.add_argument("--headless", action="store_true", help="run the proxy alone, logging requests to stdout")
    parser.add_argument("--demo", action="store_true", help="wire the embedded mock provider: no API key needed")
    parser.add_argument(
        "--no-demo-traffic", action="store_true", help="with --demo, do not run the synthetic client"
    )
    parser.add_argument("--quiet", action="store_true", help="in --headless mode, do not print a line per request")
    parser.add_argument(
        "--workers", type=int, metavar="N",
        help="with --headless: N gateway processes on one port (SO_REUSEPORT) under a supervisor; needs PostgreSQL",
    )  # fmt: skip
    parser.add_argument(
        "--force-sqlite-workers", action="store_true",
        help="allow --workers on a SQLite file (one writer at a time, one machine only)",
    )  # fmt: skip
    parser.add_argument("--worker-id", help=argparse.SUPPRESS)  # set by the supervisor in each worker it starts
    add_subcommands(parser)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        "server": {"host": args.host, "port": args.port},
        "store": {"url": args.db, "data_dir": args.data_dir},
    }
    return load_settings(
        args.config, overrides=overrides, demo=args.demo, demo_traffic=not args.no_demo_traffic,
        headless=args.headless or bool(args.worker_id), worker_id=args.worker_id or "",
    )  # fmt: skip


async def run_headless(settings: Settings, *, quiet: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then flush the log queue and exit."""
    gateway = await start_gateway(settings)
    settle_heap()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    printer = None
    if not quiet and settings.server.access_log:
        printer = asyncio.create_task(print_access_log(gateway.bus.subscribe()))
    if settings.worker_id:  # the supervisor prints the group's lines
        print(f"aigw-console: worker {settings.worker_id} (pid {os.getpid()}) listening on {gateway.gateway_url}", flush=True)
        orphaned = asyncio.create_task(_watch_supervisor(stop))
        try:
            await _serve_until(stop, gateway, printer)
        finally:
            orphaned.cancel()
        return
    mode = " (demo: embedded mock provider)" if settings.demo else ""
    print(f"aigw-console: gateway listening on {gateway.gateway_url}{mode}", flush=True)
    print(f"aigw-console: store {display_url(gateway.settings.store_url)}", flush=True)
    token_note = f"token in {gateway.admin_token_file}" if gateway.admin_token_file else "token from configuration"
    print(f"aigw-console: management API {gateway.api_url} ({token_note})", flush=True)
    await _serve_until(stop, gateway, printer)


async def _watch_supervisor(stop: asyncio.Event) -> None:
    """A worker whose supervisor died (``kill -9``) stops too, instead of holding the port alone."""
    supervisor = os.getppid()
    while os.getppid() == supervisor:
        await asyncio.sleep(1.0)
    print("aigw-console: the supervisor is gone: stopping this worker", flush=True)
    stop.set()


async def _serve_until(stop: asyncio.Event, gateway: RunningGateway, printer: asyncio.Task[None] | None) -> None:
    """Serve until ``stop``, then flush the log queue and say what was written (a worker names itself)."""
    worker = gateway.settings.worker_id
    try:
        await stop.wait()
    finally:
        if not worker:
            print("aigw-console: stopping, flushing the log queue…", flush=True)
        await gateway.stop()
        if printer is not None:
            await asyncio.sleep(0)
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
        who = f"worker {worker} " if worker else ""
        print(f"aigw-console: {who}stopped ({pipe_report(gateway)})", flush=True)


async def run_group(settings: Settings, count: int, argv: Sequence[str]) -> int:
    """``--workers N``: the supervisor; each worker is this command again with ``--worker-id``."""

    def command(worker_id: str, port: int) -> list[str]:
        return [sys.executable, "-m", "console.cli", *argv, "--worker-id", worker_id, "--port", str(port)]

    group = WorkerGroup(settings, count, command)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, group.stop)
    return await group.run()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="aigw-console: %(levelname)s %(name)s: %(message)s")
    install_log_hygiene()  # redacts every record; one line per malformed request, rate-limited
    try:
        settings = settings_from_args(args)
        if args.command is not None:
            return run_loop(run_subcommand(args, settings))
        if args.workers is not None and not args.worker_id:
            if not args.headless:
                raise ConfigError("--workers runs the gateway alone: add --headless (then attach a console with aigw-console)")
            check_store(settings, args.workers, force_sqlite=args.force_sqlite_workers)
            return run_loop(run_group(settings, args.workers, argv))
        if not settings.headless and not (sys.stdin.isatty() and sys.stderr.isatty()):
            print("aigw-console: no terminal for the console: running headless (--headless says so)", flush=True)
        elif not settings.headless:
            from console.launch import run_console  # Textual is imported only when a console runs

            return run_loop(run_console(settings))
        run_loop(run_headless(settings, quiet=args.quiet))
    except ConfigError as exc:
        print(f"aigw-console: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"aigw-console: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
