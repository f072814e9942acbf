"""``s3://BUCKET/PREFIX``: one signed ``PUT`` per file to AWS S3 or any S3-compatible store
(MinIO, R2, Ceph, moto), path-style when an ``endpoint`` is configured."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

import aiohttp
from yarl import URL

from proxy_core.logpush.sinks.base import SinkError
from proxy_core.logpush.sinks.sigv4 import sign_request

__all__ = ["S3Sink"]


class S3Sink:
    def __init__(
        self,
        bucket: str,
        prefix: str,
        session: aiohttp.ClientSession,
        *,
        endpoint: str,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        timeout: float,
    ) -> None:
        self._session = session
        self._region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._prefix = prefix.strip("/")
        if endpoint:
            base = URL(endpoint.rstrip("/"))
            self._base = base
            self._path_prefix = f"{base.path.rstrip('/')}/{bucket}"
        else:
            self._base = URL(f"https://{bucket}.s3.{region}.amazonaws.com")
            self._path_prefix = ""
        self.description = f"s3://{bucket}/{self._prefix} at {self._base}"

    async def put(self, key: str, data: bytes) -> None:
        object_key = f"{self._prefix}/{key}" if self._prefix else key
        path = f"{self._path_prefix}/{object_key}"
        host = self._base.host or ""
        if self._base.explicit_port:
            host = f"{host}:{self._base.port}"
        headers = sign_request(
            "PUT", host, path, data, region=self._region, access_key_id=self._access_key_id,
            secret_access_key=self._secret_access_key, now=datetime.now(timezone.utc),
        )  # fmt: skip
        headers["Content-Type"] = "application/gzip"
        url = self._base.with_path(quote(path, safe="/-_.~"), encoded=True)
        try:
            async with self._session.put(url, data=data, headers=headers, timeout=self._timeout) as resp:
                if resp.status // 100 != 2:
                    detail = (await resp.text(errors="replace"))[:300]
                    raise SinkError(f"{self.description} answered {resp.status} for {object_key}: {detail}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SinkError(f"{self.description} unreachable: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        pass
