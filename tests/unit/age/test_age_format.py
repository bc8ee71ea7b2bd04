"""Reading the age header without any key: well-formed, armoured, passphrase, corrupt."""

from __future__ import annotations

import pytest
from support.age_keys import Key

from stackctl.core.load.age_format import AgeFormatError, parse_header


def test_binary_and_armoured_files_parse(key: Key) -> None:
    binary = parse_header(key.encrypt(b"s3cret"))
    armoured = parse_header(key.encrypt(b"s3cret", armor=True))
    assert (binary.recipients, binary.armored) == (("X25519",), False)
    assert (armoured.recipients, armoured.armored) == (("X25519",), True)


def test_empty_plaintext_parses(key: Key) -> None:
    assert parse_header(key.encrypt(b"")).recipients == ("X25519",)


def test_passphrase_file_is_recognised(
    passphrase_encrypted: bytes, pyrage_passphrase_encrypted: bytes
) -> None:
    header = parse_header(passphrase_encrypted)
    assert (header.passphrase_only, header.work_factor) == (True, 10)
    made_by_rage = parse_header(pyrage_passphrase_encrypted)
    assert made_by_rage.passphrase_only and made_by_rage.work_factor is not None
    assert made_by_rage.work_factor >= 10  # rage's timing starts at 2^10


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: b"", "empty"),
        (lambda d: b"hello world\n", "not an age file"),
        (lambda d: b"age-encryption.org/v2\n" + d[22:], "version"),
        (lambda d: d[:40], "truncated"),
        (lambda d: d[: d.index(b"\n---") + 1], "truncated"),
        (lambda d: d[: d.index(b"\n---") + 50], "payload is truncated"),
        (lambda d: d.replace(b"--- ", b"--- !!"), "MAC"),
        (lambda d: d.replace(b"-> X25519 ", b"->X25519 "), "corrupt"),
    ],
)
def test_corrupt_binary_files_are_refused(key: Key, mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AgeFormatError, match=message):
        parse_header(mangle(key.encrypt(b"s3cret value")))


def test_truncated_armour_is_refused(key: Key) -> None:
    text = key.encrypt(b"s3cret", armor=True)
    with pytest.raises(AgeFormatError, match="truncated"):
        parse_header(text[: len(text) // 2])
    with pytest.raises(AgeFormatError, match="armour"):
        parse_header(text.replace(b"\n", b"\n*", 2))
