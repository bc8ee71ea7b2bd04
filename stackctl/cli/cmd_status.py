"""``stackctl status STACK``: what runs now, against what was last applied."""

from __future__ import annotations

import json
from typing import Any

import typer

from stackctl.cli.stack_views import CONTEXT_HELP
from stackctl.core.model.state import ResourceKind


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
    summary = next((s for s in summaries if s.number == current), None)
    cut: dict[str, Any] | None = None
    if current is not None and summary is not None:
        drifted, orphans = _compare(client, store.get(current))
        if summary.outcome is not None and summary.outcome.unfinished:
            cut, drifted = _unfinished(client, store, summaries, summary, drifted)

    if as_json:
        typer.echo(
            json.dumps(
                {
                    "stack": stack,
                    "revision": current,
                    "outcome": summary.outcome.value if summary and summary.outcome else None,
                    "drift": None if drifted is None else bool(drifted),
                    "drifted": drifted,
                    "interrupted": cut,
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
    elif cut is not None:
        state = "IN PROGRESS" if cut["running"] else "INTERRUPTED"
        head = (
            f"stack {stack}: revision {current} {state} (started {when(summary.created_at)} "
            f"UTC by {summary.who}; "
            + ("an apply is running it now)" if cut["running"] else "its apply never finished)")
        )
    else:
        outcome = summary.outcome.value if summary.outcome else "?"
        head = f"stack {stack}: revision {current} ({outcome} {when(summary.created_at)} UTC"
        head += f" by {summary.who})"
    typer.echo(head)
    if cut is not None:
        typer.echo(_unfinished_lines(stack, current, cut))
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


_KINDS = tuple(ResourceKind)


def _unfinished(
    client: Any, store: Any, summaries: list[Any], summary: Any, differs: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """An apply cut short (or running now): how far it got, and the real drift.

    Live differing from the unfinished revision is not drift when it still matches
    what stackctl wrote before: the last applied revision, or an interrupted apply
    since then. That part was simply not rolled out yet. Only what matches none of
    them was changed outside stackctl.
    """
    from stackctl.core.history.basis import matching_resources
    from stackctl.core.history.revision import Outcome
    from stackctl.engine.observe import observe_stack

    earlier = [
        s.number for s in summaries if s.number < summary.number and s.outcome is Outcome.APPLIED
    ]
    previous = earlier[-1] if earlier else None
    since = [
        s.number
        for s in summaries
        if (previous or 0) < s.number < summary.number and s.outcome and s.outcome.unfinished
    ]
    live_state = observe_stack(client, store.stack)
    matched: set[str] = set()
    known: set[str] = set()  # what stackctl had written before this revision
    previous_complete = False
    for number in ([previous] if previous is not None else []) + since:
        state = store.get(number).state
        names = {name for _, name in matching_resources(state, live_state)}
        if number == previous:
            previous_complete = len(names) == sum(len(state.of_kind(k)) for k in _KINDS)
        matched |= names
        known |= {name for kind in _KINDS for name in state.of_kind(kind)}
    # not there yet, and nothing before it had it: this revision was about to create it
    to_create = {
        name
        for name in differs
        if name not in known and all(name not in live_state.of_kind(k) for k in _KINDS)
    }
    drifted = sorted(set(differs) - matched - to_create)
    pending = sorted((set(differs) & matched) | to_create)
    if not differs:
        live = "full"
    elif previous_complete and not drifted:
        live = "none"
    else:
        live = "partial"
    cut = {
        "revision": summary.number,
        "startedAt": summary.created_at.isoformat() if summary.created_at else None,
        "who": summary.who,
        "running": summary.outcome is Outcome.IN_PROGRESS,
        "live": live,
        "notRolledOut": pending,
        "previous": previous,
    }
    return cut, drifted


def _unfinished_lines(stack: str, number: int | None, cut: dict[str, Any]) -> str:
    previous = cut["previous"]
    if cut["live"] == "full":
        lines = [f"live matches revision {number} fully"]
    elif cut["live"] == "none":
        lines = [f"live matches revision {number} not at all: it still runs revision {previous}"]
    else:
        lines = [
            f"live matches revision {number} partly; not rolled out yet: "
            + (", ".join(cut["notRolledOut"]) or "-")
        ]
    if not cut["running"]:
        back = f"; `stackctl rollback {stack}` goes back to revision {previous}" if previous else ""
        lines.append(
            f"next: `stackctl apply {stack} -c FILE` finishes it (recorded as a new revision)"
            + back
        )
    return "\n".join(lines)


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
