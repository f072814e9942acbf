"""``aigw-console logpush decrypt --key PRIVATE.pem FILE…``: pushed files back to readable JSON
lines, on the operator's machine (needs no gateway and no store, only the private key)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

import orjson
from cryptography.exceptions import InvalidTag

from proxy_core.logpush import decrypt_file, load_private_key

__all__ = ["add_logpush_command", "run_logpush"]


def add_logpush_command(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``logpush decrypt`` with the subparsers' ``add_parser``."""
    logpush = add_parser("logpush", help="read files Logpush delivered")
    actions = logpush.add_subparsers(dest="action", metavar="ACTION", required=True)
    decrypt = actions.add_parser("decrypt", help="print the records of pushed files, decrypted, as JSON lines")
    decrypt.add_argument("--key", required=True, metavar="PRIVATE.pem", help="the RSA private key (PEM)")
    decrypt.add_argument("files", nargs="+", metavar="FILE", help="files as delivered (.log.gz, or plain JSON lines)")


def run_logpush(args: argparse.Namespace) -> int:
    """Decrypt every file to stdout; a file that cannot be read or opened is an error naming it."""
    try:
        private_key = load_private_key(Path(args.key).read_bytes())
    except (OSError, ValueError) as exc:
        print(f"aigw-console: error: --key {args.key}: {exc}", file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    for name in args.files:
        try:
            for record in decrypt_file(Path(name).read_bytes(), private_key):
                out.write(orjson.dumps(record) + b"\n")
        except OSError as exc:
            print(f"aigw-console: error: {name}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        except (InvalidTag, ValueError, KeyError, EOFError) as exc:
            detail = "altered, or encrypted for another key" if isinstance(exc, (InvalidTag, ValueError)) else exc
            print(f"aigw-console: error: {name}: cannot decrypt: {detail}", file=sys.stderr)
            return 1
    out.flush()
    return 0
