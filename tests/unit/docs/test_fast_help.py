"""``stackctl --help``/``--version``/``version`` answer without typer, and say what
the typer application says."""

from __future__ import annotations

import subprocess
import sys

import typer.main

from stackctl import __version__
from stackctl.cli.app import app
from stackctl.cli.fast_help import COMMAND_SUMMARIES, ROOT_OPTIONS, root_help

HEAVY = ("typer", "click", "rich", "docker", "jsonschema", "yaml", "deepdiff")


def _words(text: str) -> str:
    return " ".join(text.split())


def _first_paragraph(text: str | None) -> str:
    return _words((text or "").split("\n\n")[0])


def test_root_help_lists_every_command_with_its_own_words() -> None:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert [name for name, _ in COMMAND_SUMMARIES] == list(commands)
    for name, summary in COMMAND_SUMMARIES:
        assert _words(summary) == _first_paragraph(commands[name].help), name


def test_root_help_lists_every_root_option_with_its_help() -> None:
    group = typer.main.get_command(app)
    ours = {opts: _words(text) for opts, text in ROOT_OPTIONS if opts != "--help"}
    theirs = {
        ", ".join(param.opts): _words(param.help or "")
        for param in group.params
        if isinstance(param, typer.core.TyperOption)
    }
    assert ours == theirs
    assert _words(str(group.help)) in _words(root_help(100)).replace("  ", " ")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stackctl", *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )


def _imported(stderr: str) -> set[str]:
    return {
        line.split("|")[-1].strip().split(".")[0] for line in stderr.splitlines() if "|" in line
    }


def test_help_and_version_load_no_heavy_library() -> None:
    for args, expected in (
        (("--help",), root_help(100) + "\n"),
        (("--version",), f"stackctl {__version__}\n"),
        (("version",), f"stackctl {__version__}\n"),
    ):
        done = _run(*args)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout == expected
        assert not set(HEAVY) & _imported(done.stderr), args


def test_a_command_help_still_comes_from_typer() -> None:
    done = _run("version", "--help")
    assert done.returncode == 0
    assert "stackctl version" in done.stdout  # the examples epilog
    assert "typer" in _imported(done.stderr)
