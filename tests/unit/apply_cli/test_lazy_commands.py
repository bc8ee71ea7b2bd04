"""A run of one command registers only that command's module, and says exactly what
the application with every command registered says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stackctl.cli.app import COMMAND_MODULES, _modules_to_register
from stackctl.cli.entry import single_command

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
# the same argv through the whole application (every command registered)
FULL_APP = "import sys; from stackctl.cli.app import main; sys.argv[0] = 'stackctl'; main()"
# the console entry point (registers the command it runs, or every command)
ENTRY = "import sys; from stackctl.cli.entry import main; sys.argv[0] = 'stackctl'; main()"


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["apply", "s", "-c", "f.yml"], "apply"),
        (["-v", "--no-color", "diff", "s"], "diff"),
        (["agent", "run", "--help"], "agent"),
        (["apply", "--help"], "apply"),
        (["--help"], None),
        (["-v", "--help", "apply"], None),
        (["-q"], None),
        ([], None),
    ],
)
def test_the_command_word(args: list[str], command: str | None) -> None:
    assert single_command(args) == command


def test_completion_needs_every_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_STACKCTL_COMPLETE", "complete_bash")
    assert single_command(["apply"]) is None


def test_modules_to_register() -> None:
    assert _modules_to_register("apply") == ("stackctl.cli.cmd_apply",)
    assert _modules_to_register("agent") == ("stackctl.cli.cmd_agent",)
    assert _modules_to_register("appyl") == COMMAND_MODULES
    assert _modules_to_register(None) == COMMAND_MODULES


def _stackctl(args: list[str], *, full: bool) -> tuple[int, str, str]:
    prefix = ["-c", FULL_APP if full else ENTRY]
    done = subprocess.run(
        [sys.executable, *prefix, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=ENV,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "--help"],
        ["diff", "--help"],
        ["agent", "--help"],
        ["secret", "--help"],
        ["validate", "-c", "no-such-file.yml"],
        ["apply", "--bogus-option"],
        ["history"],
        ["appyl"],
    ],
    ids=" ".join,
)
def test_same_output_as_with_every_command(args: list[str]) -> None:
    assert _stackctl(args, full=False) == _stackctl(args, full=True)


def test_a_run_imports_only_its_command(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text("services:\n  web:\n    image: nginx:1\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from stackctl.cli.entry import main\n"
        f"sys.argv = ['stackctl', 'validate', '-c', {str(stack)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    commands = [m for m in sys.modules if m.startswith('stackctl.cli.cmd_')]\n"
        "    print(done.code, sorted(commands))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == "0 ['stackctl.cli.cmd_validate']", (
        done.stdout + done.stderr
    )
