"""The steps of ``stackctl rollback``, kept out of the typer command.

Everything comes from the cluster: the revision (desired specs, depends_on),
and the content-addressed configs/secrets it names. The rollout machinery is
apply's: same lock, plan re-check under the lock, runner, health gates, event
views, exit codes, revision recording and superseded-object cleanup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from stackctl.cli.apply_flow import failure_policy, plan_signature
from stackctl.cli.common import use_color
from stackctl.cli.rollout_session import options_for, run_locked
from stackctl.cli.stack_views import connect, when
from stackctl.core.history.revision import Outcome as RevisionOutcome
from stackctl.core.history.revision import Revision, current_number, default_rollback_target
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.placement import refuse_placement_errors
from stackctl.core.plan.plan_model import Plan
from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_text import render_text
from stackctl.engine.client import EngineClient
from stackctl.engine.revision_plans import plan_against_revision, require_restorable
from stackctl.engine.revisions import RevisionStore
from stackctl.errors import StackctlError, StalePlanError, UserAbort
from stackctl.rollout.options import FailurePolicy
from stackctl.rollout.session import Release


@dataclass(frozen=True)
class RollbackRequest:
    stack: str
    to: int | None = None
    yes: bool = False
    on_failure: str = "rollback"
    max_concurrent: int | None = None
    timeout: float = 600.0
    pending_timeout: float = 120.0
    lock_timeout: float = 0.0
    history_max: int = 10
    as_json: bool = False
    no_color: bool = False
    context: str | None = None


def choose_revision(
    client: EngineClient, request: RollbackRequest
) -> tuple[Revision, Revision | None]:
    """Revision ``--to N`` (or the last applied one before the current), and the current."""

    store = RevisionStore(client, request.stack)
    summaries = store.list()
    if not summaries:
        raise StackctlError(
            f"stack {request.stack} has no recorded revisions to roll back to",
            hint="revisions are recorded by `stackctl apply`; `stackctl ls` lists the stacks",
        )
    number = request.to
    if number is None:
        number = default_rollback_target((s.number, s.outcome) for s in summaries)
        if number is None:
            raise StackctlError(
                f"stack {request.stack} has no applied revision before the current one",
                hint=f"see `stackctl history {request.stack}` and pick one with --to N",
            )
    current = current_number((s.number, s.outcome) for s in summaries)
    return store.get(number), (store.get(current) if current is not None else None)


def _unfinished(client: EngineClient, stack: str) -> Any:
    """The current revision when its apply never finished (the rollback supersedes it)."""

    return RevisionStore(client, stack).unfinished()


def _plan_text(plan: Plan, *, no_color: bool) -> str:
    # One rule for colour everywhere (a TTY, no --no-color, no NO_COLOR).
    return render_text(plan, color=use_color(no_color))


def _plan_json(plan: Plan) -> Any:
    return plan_to_json(plan)


def _confirm(question: str, *, yes: bool) -> None:
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserAbort(
            "not rolling back without confirmation: no terminal to ask on",
            hint="pass --yes to roll back without asking (e.g. in CI)",
        )
    if not typer.confirm(question, default=False):
        raise UserAbort("rollback declined; nothing was changed")


def run_rollback_command(request: RollbackRequest, out: Callable[[str], None] | None = None) -> int:
    """Run ``stackctl rollback``; return the exit code (StackctlError propagates: exit 1)."""

    write = out or (lambda line: typer.echo(line))
    policy = failure_policy(request.on_failure)
    client = connect(request.context)
    revision, current = choose_revision(client, request)
    last_applied = current.state if current is not None else None
    if current is not None and current.outcome.unfinished:
        typer.echo(
            f"stackctl: note: revision {current.number} never finished "
            f"({current.outcome.value}); this rollback supersedes it",
            err=True,
        )
        last_applied = RevisionStore(client, request.stack).drift_basis()
    if revision.outcome is not RevisionOutcome.APPLIED:
        typer.echo(
            f"stackctl: warning: revision {revision.number} ended {revision.outcome.value}; "
            "re-applying it may fail the same way",
            err=True,
        )
    planned = plan_against_revision(client, revision, prune=True, last_applied=last_applied)
    require_restorable(planned)
    plan = planned.plan
    if request.as_json:
        write(json.dumps({"event": "plan", "plan": _plan_json(plan)}, sort_keys=True))
    else:
        write(
            f"Rolling back stack {request.stack} to revision {revision.number} "
            f"({when(revision.created_at)} UTC by {revision.actor.describe()})"
        )
        write(_plan_text(plan, no_color=request.no_color))

    refuse_placement_errors(plan)  # as apply: exit 1, nothing written
    unfinished = _unfinished(client, request.stack)
    if not plan.has_changes and unfinished is None:
        if not request.as_json:
            write(
                f"stack {request.stack}: nothing to do; it already matches revision "
                f"{revision.number}."
            )
        return 0
    _confirm(f"Roll back to revision {revision.number}?", yes=request.yes)
    return _locked_rollback(client, request, revision, last_applied, plan, policy)


def _locked_rollback(
    client: EngineClient,
    request: RollbackRequest,
    revision: Revision,
    last_applied: ClusterState | None,
    approved: Plan,
    policy: FailurePolicy,
) -> int:
    """The one rollout path (``stackctl.rollout.session``), as apply runs it: the
    rollback is a new revision with the target's content ("rollback to N")."""

    def recheck() -> Plan:
        planned = plan_against_revision(client, revision, prune=True, last_applied=last_applied)
        require_restorable(planned)
        if plan_signature(planned.plan) != plan_signature(approved):
            raise StalePlanError(
                f"stack {request.stack} changed in the cluster since the plan was shown; "
                "nothing was changed",
                hint="run `stackctl rollback` again to see (and approve) the current plan",
            )
        return planned.plan

    release = Release(
        desired=revision.state,
        source_digest=revision.source_digest,
        rollback_to=revision.number,
        image_digests=revision.image_digests,
        dependencies=revision.dependencies,
    )
    options = options_for(request, policy, dependencies=revision.dependencies)
    return run_locked(client, request, release, recheck, options)
