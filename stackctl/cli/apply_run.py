"""The part of ``stackctl apply`` that runs under the stack lock.

Under the lock the stack is observed again: if it moved since the plan was
shown (another apply finished while we waited), the approved plan no longer
describes what would happen, so nothing is applied (exit 1). The rest is the
one rollout path (``stackctl.rollout.session``) that rollback runs too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stackctl.cli.rollout_session import options_for, run_locked, run_unlocked
from stackctl.core.convert.rollout_inputs import dependencies_of, file_contents
from stackctl.core.model.model import Stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.plan_model import Plan
from stackctl.engine.client import EngineClient
from stackctl.engine.planning import plan_signature
from stackctl.engine.revisions import RevisionStore
from stackctl.errors import StackctlError, StalePlanError
from stackctl.rollout.options import FailurePolicy
from stackctl.rollout.session import Release

if TYPE_CHECKING:
    from stackctl.cli.apply_flow import _Session


def locked_rollout(
    session: _Session, stack: Stack, desired: ClusterState, plan: Plan, policy: FailurePolicy
) -> int:
    request = session.request
    dependencies = dependencies_of(stack, request.stack)
    options = options_for(
        request,
        policy,
        dependencies=dependencies,
        detach=request.detach,
        contents=file_contents(stack, desired),
    )
    release = Release(desired=desired, source_digest=stack.source_digest, dependencies=dependencies)
    return run_locked(
        session.client,
        request,
        release,
        lambda: _recheck(session, desired, plan),
        options,
        resolve_image=request.resolve_image,
        registry_auth=session.registry_auth,
        nothing_left=f"stack {request.stack}: nothing left to do (applied meanwhile).",
        on_outcome=request.on_outcome,
    )


def wait_for_swarm(
    session: _Session, stack: Stack, desired: ClusterState, plan: Plan, policy: FailurePolicy
) -> int:
    """Nothing to write, but Swarm is still rolling services out to the file's spec
    (``Plan.in_progress``): watch them like an apply's own, so exit 0 still means
    the cluster runs the file. Writes nothing, so it takes no lock and records no
    revision."""

    request = session.request
    options = options_for(request, policy, dependencies=dependencies_of(stack, request.stack))
    return run_unlocked(
        session.client, request, plan, options, request.resolve_image, request.on_outcome
    )


def refuse_saved_plan_over_interrupted(client: EngineClient, request: Any) -> None:
    """A plan saved by ``diff --out`` was made against a cluster an interrupted
    apply left half-written: applying it would bury that apply. The files are
    re-planned instead, which supersedes the interrupted revision."""

    unfinished = RevisionStore(client, request.stack).unfinished()
    if unfinished is None or unfinished.outcome is None:
        return
    files = "".join(f" -c {f}" for f in request.files)
    raise StackctlError(
        f"stack {request.stack}: revision {unfinished.number} is "
        f"{unfinished.outcome.value.replace('_', ' ')} (its apply never finished); "
        "a saved plan is not applied over it; nothing was changed",
        hint=(
            f"finish it with `stackctl apply {request.stack}{files}` (or go back with "
            f"`stackctl rollback {request.stack}`), then save a new plan with "
            f"`stackctl diff {request.stack}{files} --out {request.plan_file}`"
        ),
    )


def _recheck(session: _Session, desired: ClusterState, approved: Plan) -> Plan:
    live, fresh = session.observe_and_plan(desired)
    if session.request.plan_file:
        refuse_saved_plan_over_interrupted(session.client, session.request)
        return session.saved_plan(desired, live)
    if not fresh.has_changes:
        return fresh  # someone applied the same changes while we waited for the lock
    if plan_signature(fresh) != plan_signature(approved):
        raise StalePlanError(
            f"stack {session.request.stack} changed in the cluster since the plan was shown; "
            "nothing was applied",
            hint="run `stackctl apply` again to see (and approve) the current plan",
        )
    return fresh  # same changes, with the version indexes as of now
