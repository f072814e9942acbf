"""AWS Signature Version 4 for one S3 request, by hand: four HMACs are all a PUT needs, and an SDK
(botocore) would be a heavy, blocking dependency for them."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote

__all__ = ["sign_request"]

_ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign_request(
    method: str,
    host: str,
    path: str,
    payload: bytes,
    *,
    region: str,
    access_key_id: str,
    secret_access_key: str,
    now: datetime,
    service: str = "s3",
) -> dict[str, str]:
    """The headers that sign ``method host path`` with ``payload`` (no query string) at ``now`` (UTC)."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(payload).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([
        method,
        quote(path, safe="/-_.~"),
        "",
        "".join(f"{name}:{headers[name]}\n" for name in sorted(headers)),
        signed,
        payload_hash,
    ])  # fmt: skip
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([_ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_access_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-content-sha256": payload_hash,
        "x-amz-date": amz_date,
        "Authorization": f"{_ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={signature}",
    }
