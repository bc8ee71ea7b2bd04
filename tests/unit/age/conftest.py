"""Fixtures for the age tests: fresh real age keys, a passphrase-encrypted file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyrage
import pytest
from support.age_keys import PASSPHRASE, SECRET_TEXT, Key
from support.age_scrypt import encrypt_with_passphrase


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


@pytest.fixture(scope="session")
def passphrase_encrypted() -> bytes:
    """SECRET_TEXT encrypted with PASSPHRASE at scrypt work factor 2^10.

    Not by pyrage: rage picks the factor from how fast scrypt runs at that moment
    and refuses, when decrypting, a factor far above what runs in about 1 s then,
    so a file made on a quiet machine could be refused on a loaded one. Rage
    accepts 2^10 whatever the load (support/age_scrypt.py says why).
    """
    return encrypt_with_passphrase(SECRET_TEXT, PASSPHRASE, log_n=10)


@pytest.fixture(scope="session")
def pyrage_passphrase_encrypted() -> bytes:
    """SECRET_TEXT encrypted with PASSPHRASE by pyrage (for its header; decrypting it
    depends on the machine's load, see ``passphrase_encrypted``)."""
    return bytes(pyrage.passphrase.encrypt(SECRET_TEXT, PASSPHRASE))
