"""``stackctl rollback STACK [--to N]``: re-apply an earlier revision from the cluster."""

from __future__ import annotations

import typer

from stackctl.cli.cmd_apply import _seconds
from stackctl.cli.stack_views import CONTEXT_HELP

_HELP = (
    "Roll the stack back to revision N (default: the last applied revision before the "
    "current one), using only what the cluster holds: no files needed. Shows the plan, "
    "then rolls out with the same health gates, lock and failure handling as apply; "
    "services added since are removed, services removed since come back, and the exact "
    "config/secret versions of that revision are restored. Recorded as a new revision."
    "\n\nExit codes: as apply (0 converged or nothing to do, 1 nothing changed, "
    "3 failed and rolled back, 4 failed and left paused/partial, 5 timed out)."
)


def register(app: typer.Typer) -> None:
    app.command("rollback", help=_HELP)(rollback)


def rollback(
    stack: str = typer.Argument(..., help="Stack name."),
    to: int | None = typer.Option(None, "--to", help="Revision number (see `stackctl history`)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask; required off a TTY."),
    on_failure: str = typer.Option("rollback", "--on-failure", help="rollback | pause | continue"),
    max_concurrent: int = typer.Option(
        0, "--max-concurrent", help="Services rolling out at once (0: no limit)."
    ),
    timeout: str = typer.Option("10m", "--timeout", help="Give up waiting after this (exit 5)."),
    pending_timeout: str = typer.Option(
        "2m", "--pending-timeout", help="A task not started after this fails its service."
    ),
    lock_timeout: str = typer.Option(
        "0s", "--lock-timeout", help="Wait this long for another apply's lock (then exit 1)."
    ),
    history_max: int = typer.Option(
        10, "--history-max", min=1, help="Revisions to keep (older ones are deleted)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Stream events as JSON lines."),
    no_color: bool = typer.Option(False, "--no-color", help="No colour."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    # lazy: help listings import every command module; load this on use
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.rollback_flow import RollbackRequest, run_rollback_command  # noqa: PLC0415

    request = RollbackRequest(
        stack=stack,
        to=to,
        yes=yes,
        on_failure=on_failure,
        max_concurrent=max_concurrent or None,
        timeout=_seconds(timeout, "--timeout"),
        pending_timeout=_seconds(pending_timeout, "--pending-timeout"),
        lock_timeout=_seconds(lock_timeout, "--lock-timeout"),
        history_max=history_max,
        as_json=as_json,
        no_color=no_color,
        context=context,
    )
    raise typer.Exit(run_rollback_command(request))
