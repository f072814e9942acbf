"""Reading pushed files back: each line with its sealed fields opened, as the reference's script
prints them (plaintext as text), for ``aigw-console logpush decrypt``."""

from __future__ import annotations

import gzip
from typing import Any, Iterator

import orjson
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from proxy_core.logpush.encryption import open_sealed
from proxy_core.logpush.records import SEALED_FIELDS

__all__ = ["decrypt_record", "decrypt_file"]

_GZIP_MAGIC = b"\x1f\x8b"


def decrypt_record(record: dict[str, Any], private_key: RSAPrivateKey) -> dict[str, Any]:
    """``record`` with each sealed field replaced by its plaintext (a field not sealed is left as is)."""
    out = dict(record)
    for name in SEALED_FIELDS:
        value = record.get(name)
        if isinstance(value, dict) and "key" in value:
            out[name] = open_sealed(value, private_key).decode("utf-8", errors="replace")
    return out


def decrypt_file(data: bytes, private_key: RSAPrivateKey) -> Iterator[dict[str, Any]]:
    """The decrypted records of a file as any sink delivers it: gzipped JSON lines, or plain ones
    (an HTTP receiver that undid the ``Content-Encoding``)."""
    text = gzip.decompress(data) if data[:2] == _GZIP_MAGIC else data
    for line in text.splitlines():
        if line.strip():
            yield decrypt_record(orjson.loads(line), private_key)
