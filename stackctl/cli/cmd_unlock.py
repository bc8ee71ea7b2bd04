"""``stackctl unlock STACK``: break a stack's apply lock deliberately."""

from __future__ import annotations

import typer

from stackctl.cli.stack_views import CONTEXT_HELP, connect


def register(app: typer.Typer) -> None:
    app.command("unlock")(unlock)


def unlock(
    stack: str = typer.Argument(..., help="Stack name."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """Remove the stack's apply lock, whoever holds it. A lock whose holder was killed
    expires on its own after its lease; use this when you cannot wait for that and are
    sure no apply is running. Exit 0 when a lock was removed or none was held."""
    # lazy: help listings import every command module; load this on use
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    # lazy: help listings import every command module; load this on use
    from stackctl.engine.lock import break_lock  # noqa: PLC0415

    client = connect(context)
    info = break_lock(client, stack)
    if info is None:
        typer.echo(f"stack {stack} was not locked")
    else:
        typer.echo(f"removed the lock on stack {stack} held by {info.describe()}")
