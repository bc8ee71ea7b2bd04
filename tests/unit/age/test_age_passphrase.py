"""A passphrase-encrypted file: asked for at a terminal, a clear error anywhere else."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from support.age_keys import PASSPHRASE

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
