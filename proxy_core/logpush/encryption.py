"""One field of a Logpush record, sealed as ``{"key", "iv", "data"}`` the way the reference's
decryption script opens it.

A fresh AES-256-GCM key per field encrypts the plaintext (12-byte IV, the 16-byte tag appended to
the ciphertext, as WebCrypto expects); the key itself is wrapped with the operator's RSA public key
using RSA-OAEP with SHA-256 for both the hash and MGF1 (what Node's ``privateDecrypt`` with
``oaepHash: "SHA256"`` undoes). All three parts are base64. Only the holder of the private key can
read a field; any change to any byte of it makes decryption fail.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["EncryptedField", "seal", "open_sealed"]

EncryptedField = dict[str, str]
"""``{"key": b64(RSA-OAEP(aes key)), "iv": b64(12 bytes), "data": b64(ciphertext ‖ tag)}``."""

_IV_BYTES = 12


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(plaintext: bytes, public_key: RSAPublicKey) -> EncryptedField:
    """Encrypt ``plaintext`` under a key made for it alone."""
    key = AESGCM.generate_key(bit_length=256)
    iv = os.urandom(_IV_BYTES)
    data = AESGCM(key).encrypt(iv, plaintext, None)
    return {"key": _b64(public_key.encrypt(key, _oaep())), "iv": _b64(iv), "data": _b64(data)}


def open_sealed(field: EncryptedField, private_key: RSAPrivateKey) -> bytes:
    """The plaintext of a sealed field; raises (``ValueError`` or ``InvalidTag``) if it was altered
    or sealed for another key."""
    key = private_key.decrypt(base64.b64decode(field["key"], validate=True), _oaep())
    iv = base64.b64decode(field["iv"], validate=True)
    return AESGCM(key).decrypt(iv, base64.b64decode(field["data"], validate=True), None)
