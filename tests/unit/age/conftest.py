"""Keys and files for the age tests: real age keys and files made with pyrage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyrage
import pytest


@dataclass(frozen=True)
class Key:
    identity_file: Path
    public: str

    def encrypt(self, plaintext: bytes, *, armor: bool = False) -> bytes:
        recipient = pyrage.x25519.Recipient.from_str(self.public)
        return bytes(pyrage.encrypt(plaintext, [recipient], armored=armor))


@pytest.fixture
def new_key(tmp_path: Path) -> Callable[[str], Key]:
    """new_key("name") -> a fresh age key whose identity file is tmp_path/name.key."""

    def make(name: str = "deploy") -> Key:
        identity = pyrage.x25519.Identity.generate()
        path = tmp_path / f"{name}.key"
        path.write_text(f"# created by a test\n{identity}\n", encoding="utf-8")
        return Key(path, str(identity.to_public()))

    return make


@pytest.fixture
def key(new_key: Callable[[str], Key]) -> Key:
    return new_key("deploy")


PASSPHRASE = "correct horse battery"


@pytest.fixture(scope="session")
def passphrase_encrypted() -> bytes:
    """SECRET_TEXT encrypted with PASSPHRASE (scrypt is slow on purpose: made once)."""
    return bytes(pyrage.passphrase.encrypt(SECRET_TEXT, PASSPHRASE))


SECRET_TEXT = b"passphrase-protected-value"
