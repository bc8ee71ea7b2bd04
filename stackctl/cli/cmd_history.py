"""``stackctl history STACK``: the revisions recorded in the cluster."""

from __future__ import annotations

import json

import typer

from stackctl.cli.stack_views import CONTEXT_HELP, connect, table, when
from stackctl.json_documents import history_document


def register(app: typer.Typer) -> None:
    app.command("history")(history)


def history(
    stack: str = typer.Argument(..., help="Stack name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """List the stack's revisions (oldest first); the one running now is marked with *."""
    # lazy: help listings import every command module; load this on use
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    # lazy: help listings import every command module; load this on use
    from stackctl import api  # noqa: PLC0415

    recorded = api.history(connect(context), stack)
    summaries, current = recorded.revisions, recorded.current
    completed_by = {s.completes: s.number for s in summaries if s.completes is not None}
    if as_json:
        typer.echo(json.dumps(history_document(stack, recorded), indent=2))
        return
    if not summaries:
        typer.echo(f"stack {stack} has no recorded revisions", err=True)
        return
    rows = [
        [
            ("* " if s.number == current else "  ") + str(s.number),
            when(s.created_at),
            s.who or "-",
            s.git.describe() if s.git else (s.source_digest or "-")[:12],
            s.changes or "-",
            (s.outcome.value if s.outcome else "?")
            + (f" (completed by {completed_by[s.number]})" if s.number in completed_by else ""),
        ]
        for s in summaries
    ]
    typer.echo(table(["REV", "WHEN (UTC)", "WHO", "SOURCE", "CHANGES", "OUTCOME"], rows))
