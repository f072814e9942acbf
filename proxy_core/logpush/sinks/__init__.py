"""Logpush destinations: a local directory, an HTTP endpoint, an S3-compatible bucket."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp

from proxy_core.config import LogpushSettings
from proxy_core.logpush.sinks.base import Sink, SinkError
from proxy_core.logpush.sinks.file import FileSink
from proxy_core.logpush.sinks.http import FILE_HEADER, HttpSink
from proxy_core.logpush.sinks.s3 import S3Sink

__all__ = ["FILE_HEADER", "FileSink", "HttpSink", "S3Sink", "Sink", "SinkError", "open_sink"]


def open_sink(settings: LogpushSettings, session: aiohttp.ClientSession) -> Sink:
    """The sink ``[logpush] destination`` names (validated by the config loader). S3 credentials
    fall back to ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, as every S3 client does."""
    destination = settings.destination
    if destination.startswith("file://"):
        return FileSink(Path(destination[len("file://"):]))
    if destination.startswith("s3://"):
        bucket, _, prefix = destination[len("s3://"):].partition("/")
        return S3Sink(
            bucket, prefix, session, endpoint=settings.endpoint, region=settings.region,
            access_key_id=settings.access_key_id or os.environ.get("AWS_ACCESS_KEY_ID", ""),
            secret_access_key=settings.secret_access_key or os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
            timeout=settings.timeout,
        )  # fmt: skip
    return HttpSink(destination, session, authorization=settings.authorization, timeout=settings.timeout)
