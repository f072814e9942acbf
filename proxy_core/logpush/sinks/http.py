"""``http(s)://…``: one POST per file, gzipped JSON lines, the file's name in a header."""

from __future__ import annotations

import aiohttp
from yarl import URL

from proxy_core.logpush.sinks.base import SinkError

__all__ = ["HttpSink", "FILE_HEADER"]

FILE_HEADER = "X-Logpush-File"
"""Names the file a POST carries (``account/gateway/day/name.log.gz``), so a receiver can store it as one."""


class HttpSink:
    def __init__(self, url: str, session: aiohttp.ClientSession, *, authorization: str = "", timeout: float) -> None:
        self._url = url
        self._session = session
        self._authorization = authorization
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        parsed = URL(url)
        self.description = str(parsed.with_user(None).with_query(None))

    async def put(self, key: str, data: bytes) -> None:
        headers = {
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
            FILE_HEADER: key,
        }
        if self._authorization:
            headers["Authorization"] = self._authorization
        try:
            async with self._session.post(self._url, data=data, headers=headers, timeout=self._timeout) as resp:
                if resp.status // 100 != 2:
                    raise SinkError(f"{self.description} answered {resp.status} {resp.reason or ''}".rstrip())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SinkError(f"{self.description} unreachable: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        pass
