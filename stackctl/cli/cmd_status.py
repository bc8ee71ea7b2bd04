"""``stackctl status STACK``: what runs now, against what was last applied."""

from __future__ import annotations

import json
from typing import Any

import typer

from stackctl.cli.stack_views import CONTEXT_HELP, connect, table, when
from stackctl.json_documents import status_document


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    stack: str = typer.Argument(..., help="Stack name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """Per service: replicas running/desired, healthy, update state, image; plus the
    current revision and whether the live stack drifted from it."""
    # lazy: help listings import every command module; load this on use
    from stackctl.core.validate.stack_name import check_stack_name  # noqa: PLC0415

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    # lazy: help listings import every command module; load this on use
    from stackctl import api  # noqa: PLC0415

    result = api.status(connect(context), stack)
    services = result.services
    current = result.revision
    drifted = None if result.drifted is None else list(result.drifted)
    orphans = list(result.orphans)
    cut = result.interrupted

    if as_json:
        typer.echo(json.dumps(status_document(result), indent=2))
        return

    if current is None:
        head = f"stack {stack}: no recorded revision (deployed without stackctl?)"
    elif cut is not None:
        state = "IN PROGRESS" if cut.running else "INTERRUPTED"
        head = (
            f"stack {stack}: revision {current} {state} (started {when(result.created_at)} "
            f"UTC by {result.who}; "
            + ("an apply is running it now)" if cut.running else "its apply never finished)")
        )
    else:
        outcome = result.outcome.value if result.outcome else "?"
        head = f"stack {stack}: revision {current} ({outcome} {when(result.created_at)} UTC"
        head += f" by {result.who})"
        if result.completes is not None:  # a re-run finished an interrupted apply
            head += f"; it completes interrupted revision {result.completes}"
    typer.echo(head)
    if cut is not None:
        typer.echo(_cut_lines(stack, cut))
    if drifted is None:
        typer.echo("drift: unknown (no revision to compare with)")
    elif drifted:
        typer.echo(f"drift: YES, live differs from revision {current} in: {', '.join(drifted)}")
    else:
        basis = f"revision {current}" if cut is None else "what stackctl wrote"
        typer.echo(f"drift: no (live matches {basis})")
    if orphans:
        typer.echo(f"orphaned (kept, not in revision {current}): {', '.join(orphans)}")
    rows = [
        [
            s.name,
            s.mode,
            f"{s.running}/{s.desired}",
            "-" if s.healthy is None else f"{s.healthy}/{s.desired}",
            s.update_state or "-",
            s.image,
        ]
        for s in services
    ]
    typer.echo(table(["SERVICE", "MODE", "REPLICAS", "HEALTHY", "UPDATE", "IMAGE"], rows))
    for s in services:
        for error in s.task_errors:
            typer.echo(f"  {s.name}: {error}")


def _cut_lines(stack: str, cut: Any) -> str:
    """How much of an unfinished revision runs, and what resolves it."""
    number, previous = cut.revision, cut.previous
    if cut.live == "full":
        lines = [f"live matches revision {number} fully"]
    elif cut.live == "none":
        lines = [f"live matches revision {number} not at all: it still runs revision {previous}"]
    else:
        lines = [
            f"live matches revision {number} partly; not rolled out yet: "
            + (", ".join(cut.not_rolled_out) or "-")
        ]
    if not cut.running:
        back = f"; `stackctl rollback {stack}` goes back to revision {previous}" if previous else ""
        lines.append(
            f"next: `stackctl apply {stack} -c FILE` finishes it (recorded as a new revision)"
            + back
        )
    return "\n".join(lines)
