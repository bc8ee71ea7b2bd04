"""The part of ``stackctl apply`` that runs under the stack lock.

Under the lock the stack is observed again: if it moved since the plan was
shown (another apply finished while we waited), the approved plan no longer
describes what would happen, so nothing is applied (exit 1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from stackctl.cli.apply_flow import dependencies_of, file_contents, plan_signature
from stackctl.core.model.model import Stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.plan_model import Plan
from stackctl.errors import StackctlError, StalePlanError
from stackctl.rollout.checkpoints import checkpoint
from stackctl.rollout.events import Outcome
from stackctl.rollout.options import FailurePolicy

if TYPE_CHECKING:
    from stackctl.cli.apply_flow import ApplyRequest, _Session
    from stackctl.engine.lock import LockInfo


def locked_rollout(
    session: _Session, stack: Stack, desired: ClusterState, plan: Plan, policy: FailurePolicy
) -> int:
    from stackctl.engine.lock import StackLock

    request = session.request
    lock = StackLock(session.client, request.stack)
    lock.acquire(request.lock_timeout, on_wait=lambda holder: _say_waiting(request, holder))
    try:
        checkpoint("lock-acquired")
        lock.start_heartbeat()
        plan = _recheck(session, desired, plan)
        if not plan.has_changes and not plan.in_progress:
            session.out(f"stack {request.stack}: nothing left to do (applied meanwhile).")
            return 0
        checkpoint("plan-rechecked")
        return _roll_out(session, stack, desired, plan, policy)
    finally:
        checkpoint("releasing")
        try:
            lock.release()
        except StackctlError as error:  # the engine is gone: keep the apply's own exit code
            typer.echo(
                f"stackctl: warning: could not release the lock on stack {request.stack} "
                f"({error.message}); it expires with its lease",
                err=True,
            )
        if lock.lost:
            typer.echo(
                f"stackctl: warning: the lock on stack {request.stack} was broken or taken "
                "over while this apply ran; another apply may have interleaved",
                err=True,
            )


def _say_waiting(request: ApplyRequest, holder: LockInfo) -> None:
    typer.echo(
        f"stackctl: stack {request.stack} is locked by {holder.describe()}; "
        f"waiting up to {request.lock_timeout:g}s for it (--lock-timeout)",
        err=True,
    )


def wait_for_swarm(
    session: _Session, stack: Stack, desired: ClusterState, plan: Plan, policy: FailurePolicy
) -> int:
    """Nothing to write, but Swarm is still rolling services out to the file's spec
    (``Plan.in_progress``): watch them like an apply's own, so exit 0 still means
    the cluster runs the file. Writes nothing, so it takes no lock and records no
    revision."""
    return _roll_out(session, stack, desired, plan, policy)


def _recheck(session: _Session, desired: ClusterState, approved: Plan) -> Plan:
    live, fresh = session.observe_and_plan(desired)
    if session.request.plan_file:
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


def _roll_out(
    session: _Session, stack: Stack, desired: ClusterState, plan: Plan, policy: FailurePolicy
) -> int:
    from stackctl.cli.rollout_session import Warn, run_rollout, settings_for
    from stackctl.engine.recording import record_apply

    request = session.request
    settings = settings_for(
        request,
        policy,
        detach=request.detach,
        resolve_image=request.resolve_image,
        dependencies=dependencies_of(stack, request.stack),
        contents=file_contents(stack, desired),
    )

    def record(outcome: str, warn: Warn) -> None:
        record_apply(
            session.client,
            desired=desired,
            plan=plan,
            outcome=outcome,
            source_digest=stack.source_digest,
            dependencies=settings.dependencies,
            image_digests=_running_digests(session, desired, outcome),
            history_max=request.history_max,
        )

    return run_rollout(session.client, plan, desired, settings, record)


def _running_digests(
    session: _Session, desired: ClusterState, outcome: str
) -> dict[str, str] | None:
    """The image digests services run, once known: after a converged apply whose
    images were pinned (``--resolve-image always|changed`` with a reachable registry)."""
    if outcome != Outcome.APPLIED.value or session.request.resolve_image == "never":
        return None
    from stackctl.engine.observe import observe_stack

    live = observe_stack(session.client, desired.stack)
    digests = {}  # the full pinned reference, as revisions re-apply it: image@sha256:...
    for name, state in live.services.items():
        digest = state.status.get("ImageDigest")
        if digest:
            image = state.spec["TaskTemplate"]["ContainerSpec"]["Image"]
            digests[name] = f"{image}@{digest}"
    return digests or None
