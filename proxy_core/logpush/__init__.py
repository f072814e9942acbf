"""Logpush: stored logs exported, encrypted for the operator's RSA key, to a directory, an HTTP
endpoint or an S3-compatible bucket, at least once.

Rooms: :mod:`~proxy_core.logpush.keys` (the public key and its strength),
:mod:`~proxy_core.logpush.encryption` (one sealed field), :mod:`~proxy_core.logpush.records` (a
log → a JSON line, lines → a gzipped file), :mod:`~proxy_core.logpush.sinks` (destinations),
:mod:`~proxy_core.logpush.spool` (files waiting for delivery), :mod:`~proxy_core.logpush.state`
(sequences and figures in the store), :mod:`~proxy_core.logpush.pusher` (batches and delivery) and
:mod:`~proxy_core.logpush.decrypt` (reading pushed files back with the private key).
"""

from proxy_core.logpush.decrypt import decrypt_file, decrypt_record
from proxy_core.logpush.encryption import open_sealed, seal
from proxy_core.logpush.keys import MIN_RSA_BITS, load_private_key, load_public_key
from proxy_core.logpush.pusher import LogPusher
from proxy_core.logpush.records import BODY_LIMIT, encode_file, encode_record, file_name
from proxy_core.logpush.sinks import FILE_HEADER, SinkError, open_sink
from proxy_core.logpush.state import LogpushStatus, read_status

__all__ = [
    "BODY_LIMIT",
    "FILE_HEADER",
    "LogPusher",
    "LogpushStatus",
    "MIN_RSA_BITS",
    "SinkError",
    "decrypt_file",
    "decrypt_record",
    "encode_file",
    "encode_record",
    "file_name",
    "load_private_key",
    "load_public_key",
    "open_sealed",
    "open_sink",
    "read_status",
    "seal",
]
