"""A passphrase-encrypted file: asked for at a terminal, a clear error anywhere else.

The files are made at scrypt work factor 2^10 (support/age_scrypt.py), which rage
accepts whatever the machine's load; one made at 2^40 is refused by rage on any
machine, which is how the "work factor too high here" error is tested.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from support.age_keys import PASSPHRASE, SECRET_TEXT
from support.age_scrypt import encrypt_with_passphrase

from stackctl.core.load.age_files import AgeFileError, Decryptor

STACKCTL = str(Path(sys.executable).with_name("stackctl"))
STACK = "services:\n  web:\n    image: stackctl-demo/web:1\n    secrets: [s]\n"
STACK += "secrets:\n  s:\n    file: s.age\n"


@pytest.fixture
def project(tmp_path: Path, passphrase_encrypted: bytes) -> Path:
    (tmp_path / "stack.yml").write_text(STACK)
    (tmp_path / "s.age").write_bytes(passphrase_encrypted)
    return tmp_path


def _in_terminal(project: Path, answer: str) -> tuple[int, str]:
    """Run `stackctl config` on a pseudo-terminal, answering the passphrase prompt."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.chdir(project)
        os.execv(STACKCTL, [STACKCTL, "config"])
    seen = b""
    answered = False
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"Passphrase for" in seen:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_non_interactive_run_is_a_clear_error(project: Path) -> None:
    result = subprocess.run(
        [STACKCTL, "config"],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 1
    assert "stack.yml:7:" in result.stderr
    assert "encrypted with a passphrase, which a non-interactive run cannot ask for" in (
        result.stderr
    )


def test_terminal_run_asks_for_the_passphrase(project: Path) -> None:
    code, output = _in_terminal(project, PASSPHRASE)
    assert code == 0, output
    assert "file: " in output and PASSPHRASE not in output  # not echoed


def test_wrong_passphrase_is_a_clear_error(project: Path) -> None:
    code, output = _in_terminal(project, "not it")
    assert code == 1
    assert "wrong passphrase" in output and "Traceback" not in output


def test_a_work_factor_above_this_machines_limit_is_not_called_a_wrong_passphrase(
    project: Path,
) -> None:
    (project / "s.age").write_bytes(encrypt_with_passphrase(SECRET_TEXT, PASSPHRASE, log_n=40))
    code, output = _in_terminal(project, PASSPHRASE)
    assert code == 1, output
    assert "stack.yml:7:" in output, output
    assert "work factor (scrypt N = 2^40) is above the limit age sets" in output, output
    assert "the passphrase was not checked" in output
    assert "wrong passphrase" not in output and "Traceback" not in output
    assert PASSPHRASE not in output


def _decrypt(data: bytes, passphrase: str) -> bytes | None:
    decryptor = Decryptor((), lambda path: b"", ask_passphrase=lambda name: passphrase)
    return decryptor.decrypt(data, "s.age")


def test_each_way_rage_refuses_a_passphrase_file_has_its_own_message(
    passphrase_encrypted: bytes,
) -> None:
    assert _decrypt(passphrase_encrypted, PASSPHRASE) == SECRET_TEXT
    with pytest.raises(AgeFileError, match="wrong passphrase, or the file is corrupt"):
        _decrypt(passphrase_encrypted, "not it")
    # the header's MAC altered: the passphrase opened the key, the file is damaged
    at = passphrase_encrypted.index(b"\n--- ") + 5
    flipped = b"B" if passphrase_encrypted[at : at + 1] == b"A" else b"A"
    damaged = passphrase_encrypted[:at] + flipped + passphrase_encrypted[at + 1 :]
    with pytest.raises(AgeFileError, match=r"corrupt or truncated \(the passphrase was accepted"):
        _decrypt(damaged, PASSPHRASE)
    costly = encrypt_with_passphrase(SECRET_TEXT, PASSPHRASE, log_n=40)
    with pytest.raises(AgeFileError) as caught:
        _decrypt(costly, PASSPHRASE)
    assert "2^40" in caught.value.message and "about " in caught.value.message
    assert caught.value.hint is not None and "less loaded" in caught.value.hint
