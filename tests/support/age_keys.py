"""Real age keys for the age tests (made with pyrage), and the passphrase test values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyrage

PASSPHRASE = "correct horse battery"
SECRET_TEXT = b"passphrase-protected-value"


@dataclass(frozen=True)
class Key:
    identity_file: Path
    public: str

    def encrypt(self, plaintext: bytes, *, armor: bool = False) -> bytes:
        recipient = pyrage.x25519.Recipient.from_str(self.public)
        return bytes(pyrage.encrypt(plaintext, [recipient], armored=armor))
