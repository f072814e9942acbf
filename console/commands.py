"""CLI subcommands that work on the store through the service layer (no running gateway needed):
``token create|list|revoke`` and ``dataset export``; and ``logpush decrypt``, which needs no store.

A gateway serving the same data directory holds tokens in memory; after a token change the CLI
asks it to re-read them at once (the events WebSocket's ``refresh``), so a revoked token is refused
from the next request, not after the gateway's periodic re-read."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import BinaryIO

import aiohttp
import orjson

from console.attach import events_url
from console.logpush_command import add_logpush_command, run_logpush
from proxy_core.api import read_admin_token
from proxy_core.config import Settings
from proxy_core.runtime_file import read_runtime
from proxy_core.services import Actor, Services, ServiceError
from proxy_core.store.engine import open_store
from proxy_core.store.filters import FilterError, LogFilter, parse_text

__all__ = ["add_subcommands", "run_subcommand"]

CLI_ACTOR = Actor("cli", "CLI")
_REFRESH_TIMEOUT = 10.0


def add_subcommands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    token = commands.add_parser("token", help="create, list or revoke a gateway's authentication tokens")
    token_commands = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = token_commands.add_parser("create", help="create a token; it is printed once and never stored")
    create.add_argument("--gateway", required=True, help="gateway id")
    create.add_argument("--name", default="", help="a label to tell tokens apart")
    listing = token_commands.add_parser("list", help="list a gateway's tokens (never the secrets)")
    listing.add_argument("--gateway", required=True)
    revoke = token_commands.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("--gateway", help="gateway id (default: the token's own)")
    revoke.add_argument("token_id")
    dataset = commands.add_parser("dataset", help="export a dataset or a filter as JSON lines")
    dataset_commands = dataset.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = dataset_commands.add_parser("export", help="request/response pairs with feedback and score, as JSONL")
    export.add_argument("--gateway", default="default")
    source = export.add_mutually_exclusive_group()
    source.add_argument("--dataset", metavar="ID", help="a dataset id")
    source.add_argument("--filter", metavar="TEXT", help='a filter in the text form, e.g. "provider:openai feedback:1"')
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    add_logpush_command(commands.add_parser)


async def run_subcommand(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "logpush":
        return run_logpush(args)
    store = await open_store(settings.store_url)
    services = Services(store, account_id=settings.server.account_id)
    try:
        if args.command == "token":
            status = await _token(args, services)
            if args.action != "list":
                await _tell_running_gateway(settings)
            return status
        return await _export(args, services)
    except (ServiceError, FilterError) as exc:
        print(f"aigw-console: error: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()


async def _token(args: argparse.Namespace, services: Services) -> int:
    if args.action == "create":
        created = await services.tokens.create(args.gateway, CLI_ACTOR, name=args.name)
        print(created.secret)
        print(
            f"token {created.info.id} for gateway '{args.gateway}': shown once, store it now "
            f"(send it as 'cf-aig-authorization: Bearer <token>')",
            file=sys.stderr,
        )
    elif args.action == "list":
        await services.gateways.get(args.gateway)  # an unknown gateway is an error, not an empty list
        for token in await services.tokens.list(args.gateway):
            state = "active" if token.active else "revoked"
            print(f"{token.id}  …{token.hint}  {state:8}  {token.name}")
    else:
        gateway_id = args.gateway or (await services.tokens.find(args.token_id)).gateway_id
        token = await services.tokens.revoke(gateway_id, args.token_id, CLI_ACTOR)
        print(f"revoked {token.id} (gateway '{gateway_id}')")
    return 0


async def _tell_running_gateway(settings: Settings) -> None:
    """Have the gateway serving this data directory, if any, re-read tokens and settings now."""
    info = read_runtime(settings.data_dir)
    if info is None:
        return
    admin_token = read_admin_token(settings)
    try:
        if admin_token is None:
            raise ValueError("no admin token in the data directory")
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {admin_token}"}) as session:
            async with asyncio.timeout(_REFRESH_TIMEOUT):
                async with session.ws_connect(events_url(info)) as ws:
                    await ws.send_str('{"type":"refresh"}')
                    async for message in ws:  # event frames may come first
                        if message.type == aiohttp.WSMsgType.TEXT and orjson.loads(message.data).get("type") == "refreshed":
                            return
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        print(
            f"aigw-console: warning: the gateway at {info.base_url} (pid {info.pid}) did not confirm it re-read "
            f"its tokens ({type(exc).__name__}); it will within a few seconds",
            file=sys.stderr,
        )
        return
    print(f"aigw-console: warning: the gateway at {info.base_url} (pid {info.pid}) closed without confirming", file=sys.stderr)


async def _export(args: argparse.Namespace, services: Services) -> int:
    await services.gateways.get(args.gateway)
    log_filter: LogFilter
    if args.dataset:
        log_filter = (await services.datasets.get(args.gateway, args.dataset)).filter
    else:
        log_filter = parse_text(args.filter or "")
    out: BinaryIO
    if args.output:
        out = open(args.output, "wb")  # noqa: SIM115 - closed below
    else:
        out = sys.stdout.buffer
    count = 0
    try:
        async for line in services.logs.export_jsonl(args.gateway, log_filter):
            out.write(line)
            count += 1
    finally:
        if args.output:
            out.close()
        else:
            out.flush()
    print(f"exported {count} logs", file=sys.stderr)
    return 0


