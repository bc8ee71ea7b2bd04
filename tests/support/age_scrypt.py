"""Passphrase-encrypted age files with a chosen scrypt work factor (tests only).

rage (behind pyrage) picks the work factor of ``age -p`` files by timing scrypt on
the machine at that moment (about 1 s of work), and refuses on decryption any
factor above the one it measures then plus 4. A file made on a quiet machine can
so be refused on a loaded one, which made tests flaky. This writes the same
format (https://age-encryption.org/v1, "scrypt recipient stanza") with the factor
given: ``log_n=10`` is always accepted, since rage's own measure starts at 10; a
factor such as 40 is always refused (rage refuses it before deriving any key,
so its stanza need not open).

The primitives are the ``cryptography`` package's ChaCha20-Poly1305 and the
standard library's scrypt, HMAC and SHA-256; that rage decrypts these files is
itself checked by the tests that use them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
CHUNK = 64 * 1024


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256 (RFC 5869) of 32 bytes: one block of the expand step."""
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def _stanza(file_key: bytes, passphrase: str, log_n: int) -> bytes:
    salt = os.urandom(16)
    if log_n <= 20:
        key = hashlib.scrypt(
            passphrase.encode(),
            salt=SCRYPT_LABEL + salt,
            n=2**log_n,
            r=8,
            p=1,
            maxmem=2**31 - 1,
            dklen=32,
        )
        body = ChaCha20Poly1305(key).encrypt(bytes(12), file_key, None)
    else:  # too costly to derive here; rage refuses such a factor before opening it
        body = os.urandom(32)
    return b"-> scrypt " + _b64(salt) + b" " + str(log_n).encode() + b"\n" + _b64(body) + b"\n"


def encrypt_with_passphrase(plaintext: bytes, passphrase: str, *, log_n: int) -> bytes:
    """``plaintext`` as a binary age file that ``passphrase`` opens at work factor 2**log_n."""
    file_key = os.urandom(16)
    header = b"age-encryption.org/v1\n" + _stanza(file_key, passphrase, log_n) + b"---"
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    nonce = os.urandom(16)
    aead = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunks = [plaintext[i : i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    sealed = b"".join(
        aead.encrypt(
            index.to_bytes(11, "big") + (b"\x01" if index == len(chunks) - 1 else b"\x00"),
            chunk,
            None,
        )
        for index, chunk in enumerate(chunks)
    )
    return header + b" " + _b64(mac) + b"\n" + nonce + sealed
