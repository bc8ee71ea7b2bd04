"""``stackctl status STACK``: what runs now, against what was last applied."""

from __future__ import annotations

import json
from typing import Any

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
    from stackctl.cli.stack_views import connect, table, when
    from stackctl.core.history.revision import current_number
    from stackctl.engine.revisions import RevisionStore
    from stackctl.engine.stacks import service_statuses
    from stackctl.errors import StackctlError

    client = connect(context)
    services = service_statuses(client, stack)
    store = RevisionStore(client, stack)
    summaries = store.list()
    current = current_number((s.number, s.outcome) for s in summaries)
    if not services and not summaries:
        raise StackctlError(
            f"stack {stack} not found (no services and no recorded revisions)",
            hint="`stackctl ls` lists the stacks in this cluster",
        )
    drifted: list[str] | None = None
    orphans: list[str] = []
    if current is not None:
        drifted, orphans = _compare(client, store.get(current))
    summary = next((s for s in summaries if s.number == current), None)

    if as_json:
        typer.echo(
            json.dumps(
                {
                    "stack": stack,
                    "revision": current,
                    "outcome": summary.outcome.value if summary and summary.outcome else None,
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

    if summary is None:
        head = f"stack {stack}: no recorded revision (deployed without stackctl?)"
    else:
        outcome = summary.outcome.value if summary.outcome else "?"
        head = f"stack {stack}: revision {current} ({outcome} {when(summary.created_at)} UTC"
        head += f" by {summary.who})"
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


def _compare(client: Any, revision: Any) -> tuple[list[str], list[str]]:
    """(drifted, orphaned) resource names: live vs ``revision``'s snapshot.

    Orphans (left by an apply without --prune) are listed apart: stackctl left
    them knowingly, so they are not drift.
    """
    from stackctl.core.plan.plan_model import Effect
    from stackctl.engine.revision_plans import plan_against_revision

    result = plan_against_revision(client, revision, prune=False, last_applied=revision.state)
    changes = result.plan.changes
    drifted = {c.name for c in changes if c.effect not in (Effect.NONE, Effect.ORPHAN)}
    orphans = sorted(c.name for c in changes if c.effect is Effect.ORPHAN)
    return sorted(drifted | set(result.missing)), orphans
