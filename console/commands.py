"""CLI subcommands that work on the store through the service layer (no running gateway needed):
``token create|list|revoke`` and ``dataset export``."""

from __future__ import annotations

import argparse
import sys
from typing import BinaryIO

from proxy_core.config import Settings
from proxy_core.services import Actor, Services, ServiceError
from proxy_core.store.engine import open_store
from proxy_core.store.filters import FilterError, LogFilter, parse_text

__all__ = ["add_subcommands", "run_subcommand"]

CLI_ACTOR = Actor("cli", "CLI")


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
    revoke.add_argument("--gateway", required=True)
    revoke.add_argument("token_id")
    dataset = commands.add_parser("dataset", help="export a dataset or a filter as JSON lines")
    dataset_commands = dataset.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = dataset_commands.add_parser("export", help="request/response pairs with feedback and score, as JSONL")
    export.add_argument("--gateway", default="default")
    source = export.add_mutually_exclusive_group()
    source.add_argument("--dataset", metavar="ID", help="a dataset id")
    source.add_argument("--filter", metavar="TEXT", help='a filter in the text form, e.g. "provider:openai feedback:1"')
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")


async def run_subcommand(args: argparse.Namespace, settings: Settings) -> int:
    store = await open_store(settings.store_url)
    services = Services(store, account_id=settings.server.account_id)
    try:
        if args.command == "token":
            return await _token(args, services)
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
        for token in await services.tokens.list(args.gateway):
            state = "active" if token.active else "revoked"
            print(f"{token.id}  …{token.hint}  {state:8}  {token.name}")
    else:
        token = await services.tokens.revoke(args.gateway, args.token_id, CLI_ACTOR)
        print(f"revoked {token.id}")
    return 0


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


