"""Our hand-made SigV4 matches botocore's signer (installed with moto) for the same S3 PUT."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from proxy_core.logpush.sinks.sigv4 import sign_request

botocore_auth = pytest.importorskip("botocore.auth", reason="botocore comes with moto, the test extra")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("host", ["127.0.0.1:9000", "logs.s3.eu-west-1.amazonaws.com"])
def test_signature_matches_botocore(host: str) -> None:
    path = "/logs/aigw/local/default/20260102/default_20260102T030405Z_00000001.log.gz"
    payload = b"\x1f\x8b gzipped bytes"
    request = AWSRequest(method="PUT", url=f"http://{host}{path}", data=payload,
                         headers={"x-amz-content-sha256": hashlib.sha256(payload).hexdigest()})  # fmt: skip
    botocore_auth.S3SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "s3", "eu-west-1").add_auth(request)
    signed_at = datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    ours = sign_request("PUT", host, path, payload, region="eu-west-1", access_key_id="AKIDEXAMPLE",
                        secret_access_key=SECRET, now=signed_at)  # fmt: skip
    assert ours["x-amz-date"] == request.headers["X-Amz-Date"]
    assert ours["Authorization"] == request.headers["Authorization"]
