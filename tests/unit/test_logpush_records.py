"""Logpush records: sealed as the reference's format says, opened by an independent decryptor built
from ``cryptography``'s primitives (AES-GCM with the tag split off by hand), never by our own code;
one flipped bit anywhere fails; keys are held to RSA ≥ 2048; bodies are cut at 1 MB and flagged."""

from __future__ import annotations

import base64
import gzip

import orjson
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from proxy_core.logpush import BODY_LIMIT, encode_file, encode_record, file_name, load_public_key
from proxy_core.logpush.records import pending_log


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def independent_open(field: dict[str, str], private_key: rsa.RSAPrivateKey) -> bytes:
    """RSA-OAEP(SHA-256, MGF1-SHA-256) unwrap, then AES-256-GCM with the last 16 bytes as the tag."""
    aes_key = private_key.decrypt(
        base64.b64decode(field["key"]),
        padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    assert len(aes_key) == 32
    iv = base64.b64decode(field["iv"])
    assert len(iv) == 12
    blob = base64.b64decode(field["data"])
    ciphertext, tag = blob[:-16], blob[-16:]
    decryptor = Cipher(algorithms.AES(aes_key), modes.GCM(iv, tag)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


ROW = {
    "id": "01JLOGPUSH0000000000000001", "account_id": "local", "gateway_id": "default", "created_at": 1_767_225_600_123,
    "provider": "openai", "model": "gpt-4o-mini", "model_type": "text", "path": "/v1/chat/completions",
    "method": "POST", "request_type": "provider", "status_code": 200, "success": True, "error_code": None,
    "error": None, "cached": False, "step": 0, "event_id": "checkout-42", "duration": 120, "ttfb": 80,
    "tokens_in": 12, "tokens_out": 7, "cost": 0.000012, "custom_cost": False, "metadata": {"user": "alice"},
    "streamed": False, "request_content_type": "application/json", "response_content_type": "application/json",
    "request_size": 40, "response_size": 60, "body_truncated": False,
}  # fmt: skip
BODY = {"log_id": ROW["id"], "request_body": b'{"messages":"secret prompt"}', "response_body": b'{"answer":"secret reply"}'}


def test_each_field_opens_with_an_independent_decryptor(private_key: rsa.RSAPrivateKey) -> None:
    record = orjson.loads(encode_record(pending_log(ROW, BODY), load_public_key(_pem(private_key))))
    assert independent_open(record["Metadata"], private_key) == b'{"user":"alice"}'
    assert independent_open(record["RequestBody"], private_key) == BODY["request_body"]
    assert independent_open(record["ResponseBody"], private_key) == BODY["response_body"]
    assert record["ID"] == ROW["id"] and record["Timestamp"] == "2026-01-01T00:00:00.123Z"
    assert (record["Gateway"], record["Provider"], record["Model"], record["StatusCode"]) == ("default", "openai", "gpt-4o-mini", 200)
    assert (record["TokensIn"], record["TokensOut"], record["Cost"], record["EventID"]) == (12, 7, 0.000012, "checkout-42")
    assert record["BodyTruncated"] is False and record["Cached"] is False


def test_keys_and_ivs_are_fresh_per_field_and_nothing_is_in_clear(private_key: rsa.RSAPrivateKey) -> None:
    public = load_public_key(_pem(private_key))
    line = encode_record(pending_log(ROW, BODY), public)
    assert b"secret" not in line and b"alice" not in line
    record = orjson.loads(line)
    sealed = [record[name] for name in ("Metadata", "RequestBody", "ResponseBody")]
    assert len({s["key"] for s in sealed}) == 3 and len({s["iv"] for s in sealed}) == 3
    again = orjson.loads(encode_record(pending_log(ROW, BODY), public))
    assert again["RequestBody"]["data"] != record["RequestBody"]["data"]


def _flip(b64: str, bit: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[bit // 8] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("part", ["data", "iv", "key"])
@pytest.mark.parametrize("bit", [0, 77])
def test_one_flipped_bit_fails(private_key: rsa.RSAPrivateKey, part: str, bit: int) -> None:
    record = orjson.loads(encode_record(pending_log(ROW, BODY), load_public_key(_pem(private_key))))
    field = dict(record["RequestBody"], **{part: _flip(record["RequestBody"][part], bit)})
    with pytest.raises((InvalidTag, ValueError)):
        independent_open(field, private_key)


def test_a_file_is_gzipped_json_lines_named_by_gateway_day_and_sequence(private_key: rsa.RSAPrivateKey) -> None:
    logs = [pending_log({**ROW, "id": f"01JLOGPUSH000000000000000{i}"}, BODY) for i in range(3)]
    lines = gzip.decompress(encode_file(logs, load_public_key(_pem(private_key)))).splitlines()
    assert [orjson.loads(line)["ID"] for line in lines] == [log.row["id"] for log in logs]
    assert file_name("local", "default", ROW["created_at"], 7) == "local/default/20260101/default_20260101T000000Z_00000007.log.gz"


def test_bodies_over_one_megabyte_are_cut_and_flagged(private_key: rsa.RSAPrivateKey) -> None:
    big = {**BODY, "request_body": b"q" * (BODY_LIMIT * 2), "response_body": b"r" * BODY_LIMIT}
    record = orjson.loads(encode_record(pending_log(ROW, big), load_public_key(_pem(private_key))))
    request = independent_open(record["RequestBody"], private_key)
    response = independent_open(record["ResponseBody"], private_key)
    assert record["BodyTruncated"] is True
    assert len(request) + len(response) == BODY_LIMIT and len(request) == len(response) == BODY_LIMIT // 2
    small_response = {**BODY, "request_body": b"q" * (BODY_LIMIT * 2)}
    cut = pending_log(ROW, small_response)
    assert cut.response_body == BODY["response_body"] and len(cut.request_body) == BODY_LIMIT - len(BODY["response_body"])
    assert pending_log(ROW, BODY).truncated is False


def test_a_log_without_bodies_still_seals_all_three_fields(private_key: rsa.RSAPrivateKey) -> None:
    record = orjson.loads(encode_record(pending_log({**ROW, "metadata": None}, None), load_public_key(_pem(private_key))))
    assert [independent_open(record[n], private_key) for n in ("Metadata", "RequestBody", "ResponseBody")] == [b"{}", b"", b""]


def test_public_keys_must_be_rsa_of_at_least_2048_bits(private_key: rsa.RSAPrivateKey) -> None:
    pkcs1 = private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()
    assert load_public_key(pkcs1).key_size == 2048
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="1024 bits: at least 2048"):
        load_public_key(_pem(weak))
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_pem = ec_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(ValueError, match="not an RSA public key"):
        load_public_key(ec_pem)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(ValueError, match="private key"):
        load_public_key(private_pem)
    with pytest.raises(ValueError, match="not a PEM public key"):
        load_public_key("hello")
