"""``stackctl status STACK``: what runs now, against what was last applied."""

from __future__ import annotations

import json

import typer

from stackctl.cli.stack_views import CONTEXT_HELP


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    stack: str = typer.Argument(..., help="Stack name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    context: str | None = typer.Option(None, "--context", help=CONTEXT_HELP),
) -> None:
    """Per service: replicas running/desired, healthy, update state, image; plus the
    current revision and whether the live stack drifted from it."""
    from stackctl.core.validate.stack_name import check_stack_name

    check_stack_name(stack)  # first: nothing is read or written for a bad name
    from stackctl import api
    from stackctl.cli.stack_views import connect, table, when

    result = api.status(connect(context), stack)
    services = result.services
    current = result.revision
    drifted = None if result.drifted is None else list(result.drifted)
    orphans = list(result.orphans)

    if as_json:
        typer.echo(
            json.dumps(
                {
                    "stack": stack,
                    "revision": current,
                    "outcome": result.outcome.value if result.outcome else None,
                    "drift": None if drifted is None else bool(drifted),
                    "drifted": drifted,
                    "orphans": orphans,
                    "services": [
                        {
                            "name": s.name,
                            "mode": s.mode,
                            "running": s.running,
                            "desired": s.desired,
                            "healthy": s.healthy,
                            "updateState": s.update_state,
                            "updateMessage": s.update_message,
                            "image": s.image,
                            "errors": list(s.task_errors),
                        }
                        for s in services
                    ],
                },
                indent=2,
            )
        )
        return

    if current is None:
        head = f"stack {stack}: no recorded revision (deployed without stackctl?)"
    else:
        outcome = result.outcome.value if result.outcome else "?"
        head = f"stack {stack}: revision {current} ({outcome} {when(result.created_at)} UTC"
        head += f" by {result.who})"
    typer.echo(head)
    if drifted is None:
        typer.echo("drift: unknown (no revision to compare with)")
    elif drifted:
        typer.echo(f"drift: YES, live differs from revision {current} in: {', '.join(drifted)}")
    else:
        typer.echo(f"drift: no (live matches revision {current})")
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
