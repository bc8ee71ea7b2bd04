"""``stackctl rm STACK``: remove a stack's services, networks, configs, secrets and history."""

from __future__ import annotations

import typer

from stackctl.cli.stack_views import CONTEXT_HELP, confirm_or_abort, connect
from stackctl.errors import ExitCode


def register(app: typer.Typer) -> None:
    app.command("rm")(remove)


def remove(
    stack: str = typer.Argument(..., help="Stack name."),
    keep_history: bool = typer.Option(
        False, "--keep-history", help="Keep the stack's recorded revisions."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """Remove the stack. Exit 0 when removed (or nothing was there), 4 if some objects remain."""
    # lazy: help listings import every command module; load this on use
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    # lazy: help listings import every command module; load this on use
    from stackctl.engine.stacks import remove_stack  # noqa: PLC0415

    client = connect(context)
    what = "its services, networks, configs and secrets"
    if not keep_history:
        what += ", and its revision history"
    confirm_or_abort(f"Remove stack {stack} ({what})?", yes=yes)
    # lazy: help listings import every command module; load this on use
    from stackctl.engine.lock import StackLock  # noqa: PLC0415

    # Under the stack's lock, so a removal never interleaves with an apply/rollback.
    lock = StackLock(client, stack)
    lock.acquire(0.0)
    try:
        report = remove_stack(
            client,
            stack,
            keep_history=keep_history,
            progress=lambda message: typer.echo(f"stackctl: {message}", err=True),
        )
    finally:
        lock.release()
    removed = [
        ("service", report.services),
        ("network", report.networks),
        ("config", report.configs),
        ("secret", report.secrets),
    ]
    total = sum(len(names) for _, names in removed) + report.revisions
    if total == 0:
        typer.echo(f"nothing found for stack {stack}")
        return
    for kind, names in removed:
        for name in names:
            typer.echo(f"removed {kind} {name}")
    if report.revisions:
        typer.echo(f"removed {report.revisions} revision(s) of history")
    for leftover in report.leftovers:
        typer.echo(f"stackctl: could not remove {leftover}", err=True)
    if report.leftovers:
        raise typer.Exit(int(ExitCode.FAILED))
