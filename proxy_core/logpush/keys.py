"""The operator's RSA public key: read from PEM and held to Logpush's minimum strength."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = ["MIN_RSA_BITS", "load_public_key", "load_private_key"]

MIN_RSA_BITS = 2048
"""Smaller RSA keys no longer protect data for long; the reference generates 4096."""


def load_public_key(pem: str) -> RSAPublicKey:
    """The RSA public key in ``pem`` (SPKI ``PUBLIC KEY`` or PKCS#1 ``RSA PUBLIC KEY``); a
    :class:`ValueError` saying what is wrong otherwise."""
    data = pem.strip().encode()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        if b"PRIVATE KEY" in data:
            raise ValueError("this is a private key: upload the public one (openssl rsa -pubout)") from None
        raise ValueError("not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ValueError("not an RSA public key")
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"an RSA key of {key.key_size} bits: at least {MIN_RSA_BITS} are needed")
    return key


def load_private_key(pem: bytes) -> RSAPrivateKey:
    """The RSA private key in ``pem`` (PKCS#8 or PKCS#1, unencrypted), for decrypting pushed logs."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key
