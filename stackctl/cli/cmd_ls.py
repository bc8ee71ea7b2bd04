"""``stackctl ls``: every stack in the cluster with its revision, age and status."""

from __future__ import annotations

import json

import typer

from stackctl.cli.stack_views import CONTEXT_HELP, age, connect, table
from stackctl.json_documents import stack_list_document


def register(app: typer.Typer) -> None:
    app.command("ls")(list_stacks)


def list_stacks(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """List every stack (services labelled com.docker.stack.namespace)."""
    # lazy: help listings import every command module; load this on use
    from stackctl.engine.stacks import list_stacks as read_stacks  # noqa: PLC0415

    stacks = read_stacks(connect(context))
    if as_json:
        typer.echo(json.dumps(stack_list_document(stacks), indent=2))
        return
    rows = [
        [
            s.name,
            str(s.services),
            f"{s.running}/{s.desired}",
            str(s.revision) if s.revision is not None else "-",
            age(s.created_at),
            s.status,
        ]
        for s in stacks
    ]
    typer.echo(table(["NAME", "SERVICES", "REPLICAS", "REVISION", "AGE", "STATUS"], rows))
