"""The work behind ``stackctl secret encrypt``: read, encrypt in memory, write atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import Any

from stackctl.core.load.age_files import AgeFileError, encrypt, parse_recipients
from stackctl.errors import Location, StackctlError

_MAX_PLAINTEXT = 20 * 1024 * 1024


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_PLAINTEXT + 1)
    except FileNotFoundError:
        raise StackctlError(f"{what} {path} does not exist", location=Location(path)) from None
    except IsADirectoryError:
        raise StackctlError(f"{what} {path} is a directory", location=Location(path)) from None
    except OSError as exc:
        raise StackctlError(
            f"{what} {path} cannot be read: {exc.strerror or exc}", location=Location(path)
        ) from None
    if len(data) > _MAX_PLAINTEXT:
        raise StackctlError(f"{what} {path} is larger than 20 MB", location=Location(path))
    return data


def _recipients(given: Sequence[str], files: Sequence[str]) -> list[Any]:
    found: list[Any] = []
    try:
        for line in given:
            found += parse_recipients(line, "")
        for path in files:
            text = _read(path, "recipients file").decode("utf-8", errors="replace")
            found += parse_recipients(text, path)
    except AgeFileError as exc:
        raise StackctlError(exc.message, hint=exc.hint) from None
    if not found:
        raise StackctlError(
            "no recipient given",
            hint="pass --recipient age1... (age-keygen -y KEYFILE prints it) or --recipients-file",
        )
    return found


def encrypt_file(
    source: str,
    target: str,
    recipients: Sequence[str],
    recipients_files: Sequence[str],
    *,
    armor: bool,
    force: bool,
) -> int:
    """Encrypt ``source`` to the recipients into ``target``; returns the recipient count."""

    keys = _recipients(recipients, recipients_files)
    plaintext = _read(source, "file")
    if os.path.exists(target) and not force:
        raise StackctlError(
            f"{target} already exists", hint="pass --force to replace it", location=Location(target)
        )
    ciphertext = encrypt(plaintext, keys, armor=armor)
    folder = os.path.dirname(os.path.abspath(target))
    # Written beside the target and renamed: a reader never sees half a file.
    try:
        handle, temporary = tempfile.mkstemp(prefix=".stackctl-", suffix=".age", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(ciphertext)
            os.chmod(temporary, 0o644)  # ciphertext: meant to be committed and read
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise StackctlError(
            f"cannot write {target}: {exc.strerror or exc}", location=Location(target)
        ) from None
    return len(keys)
