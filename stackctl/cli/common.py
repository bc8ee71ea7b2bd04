"""Shared CLI plumbing: error-to-exit-code mapping and output helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import typer
from typer.exceptions import TyperException

from stackctl.core.render.finding_text import format_finding
from stackctl.core.validate.repeated import group_repeated
from stackctl.errors import ExitCode, Severity, StackctlError, StackFileError

if TYPE_CHECKING:
    from rich.console import Console

    from stackctl.errors import Finding


def use_color(no_color_flag: bool = False) -> bool:
    """Colour only on a TTY, and never when NO_COLOR is set or --no-color given."""
    if no_color_flag or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def make_console(*, stderr: bool = False, no_color: bool = False) -> Console:
    # lazy: rich only when something is printed (every command imports this module)
    from rich.console import Console  # noqa: PLC0415

    color = use_color(no_color)
    return Console(
        stderr=stderr,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=True,
    )


SHOWN_LOCATIONS = 3


def format_findings(findings: Iterable[Finding]) -> list[str]:
    """One line per finding, except that a warning repeated at many places is one line
    with its count and its first few places (``--json`` keeps every finding)."""

    lines = []
    for group in group_repeated(findings):
        line = format_finding(group.first)
        count = len(group.findings)
        if count > 1:
            places = ", ".join(
                f"{f.path} ({f.location})" if f.path else str(f.location)
                for f in group.findings[:SHOWN_LOCATIONS]
            )
            more = f", and {count - SHOWN_LOCATIONS} more" if count > SHOWN_LOCATIONS else ""
            line += f" [{count} times: {places}{more}; --json lists each]"
        lines.append(line)
    return lines


def report_error(error: StackctlError) -> None:
    """Print a StackctlError for a person, on stderr."""
    if isinstance(error, StackFileError):
        for line in format_findings(error.findings):
            typer.echo(line, err=True)
        n_err = sum(1 for f in error.findings if f.severity is Severity.ERROR)
        typer.echo(f"stackctl: {n_err} error(s); nothing was changed.", err=True)
        return
    prefix = f"{error.location}: " if error.location else ""
    path = f"{error.path}: " if error.path else ""
    typer.echo(f"stackctl: error: {prefix}{path}{error.message}", err=True)
    if error.hint:
        typer.echo(f"hint: {error.hint}", err=True)


def run_app(app: Any) -> int:
    """Run the typer app, turning every error into a message and an exit code.

    Usage errors exit 1, not click's customary 2: for ``diff``, 2 means "changes
    pending", and a pipeline must never mistake a typo for drift.
    """

    try:
        result = app(standalone_mode=False)
    except StackctlError as error:
        report_error(error)
        return int(error.exit_code)
    except TyperException as error:  # usage errors: bad option, missing argument
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"Error: {error.format_message()}", err=True)
        return int(ExitCode.ERROR)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return int(ExitCode.ERROR)
    except KeyboardInterrupt:
        typer.echo("stackctl: interrupted", err=True)
        return 130
    return result if isinstance(result, int) else int(ExitCode.OK)
