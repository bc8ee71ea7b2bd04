"""Fixtures for the age tests: fresh real age keys, a passphrase-encrypted file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyrage
import pytest
from support.age_keys import PASSPHRASE, SECRET_TEXT, Key


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
    """SECRET_TEXT encrypted with PASSPHRASE (scrypt is slow on purpose: made once)."""
    return bytes(pyrage.passphrase.encrypt(SECRET_TEXT, PASSPHRASE))
