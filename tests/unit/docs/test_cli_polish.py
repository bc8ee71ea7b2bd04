"""Global options, help examples and completion, as a user runs them."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from support.testkit import REPO_ROOT as REPO

from stackctl import __version__
from stackctl.cli import global_options
from stackctl.cli.app import app
from stackctl.cli.common import use_color
from stackctl.cli.examples import EXAMPLES, reflow_docstring

STACKCTL = str(Path(sys.executable).with_name("stackctl"))
DEMO = str(REPO / "stacks" / "demo" / "stack.yml")
COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return subprocess.run(
        [STACKCTL, *args], capture_output=True, text=True, env={**environment, **env}, timeout=60
    )


def test_every_command_help_ends_with_examples_of_itself() -> None:
    for name, command in COMMANDS.items():
        assert command.epilog, f"{name} --help has no example"
        assert f"stackctl {name}" in command.epilog


def test_examples_use_only_real_options() -> None:
    assert set(EXAMPLES) == set(COMMANDS), "examples for unknown or missing commands"
    for name, lines in EXAMPLES.items():
        for line in lines:
            words = shlex.split(line.split(">")[0])
            assert words[:2] == ["stackctl", name], line
            command = COMMANDS[name]
            # a group: the options are its subcommand's, or its own (``agent --config``)
            if hasattr(command, "commands") and words[2:3] and words[2] in command.commands:
                command = command.commands[words.pop(2)]
            known = {opt for p in command.params for opt in p.opts}
            for word in words[2:]:
                if word.startswith("-") and word != "-":
                    assert word in known, f"{line!r}: {name} has no option {word}"


def test_help_shows_the_example() -> None:
    result = run("diff", "--help")
    assert result.returncode == 0
    assert "stackctl diff web -c stack.yml --format markdown" in result.stdout


def test_version() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"stackctl {__version__}")


def test_quiet_prints_nothing_on_stdout_but_keeps_errors_and_exit_code(tmp_path: Path) -> None:
    ok = run("-q", "validate", "-c", DEMO)
    assert (ok.returncode, ok.stdout) == (0, "")
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  web:\n    image: x:1\n    deploy:\n      replica: 2\n")
    failed = run("-q", "validate", "-c", str(bad))
    assert failed.returncode == 1 and failed.stdout == ""
    assert "SC010" in failed.stderr


def test_no_color_sets_no_color_for_every_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert use_color() is True
    global_options.set_global_options(verbose=False, quiet=False, no_color=True)
    try:
        assert os.environ.get("NO_COLOR") == "1"
        assert use_color() is False
    finally:
        global_options.finish()


def test_shell_completion_completes_commands_and_options() -> None:
    words = run(_STACKCTL_COMPLETE="complete_bash", COMP_WORDS="stackctl di", COMP_CWORD="1")
    assert words.stdout.split() == ["diff"]
    options = run(
        _STACKCTL_COMPLETE="complete_bash", COMP_WORDS="stackctl diff web --for", COMP_CWORD="3"
    )
    assert options.stdout.split() == ["--format"]


def test_docstring_help_is_reflowed() -> None:
    text = """First line
        continues here.

        Second paragraph."""
    assert reflow_docstring(text) == "First line continues here.\n\nSecond paragraph."
