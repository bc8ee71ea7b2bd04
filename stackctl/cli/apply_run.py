"""The part of ``stackctl apply`` that runs under the stack lock.

Under the lock the stack is observed again: if it moved since the plan was
shown (another apply finished while we waited), the approved plan no longer
describes what would happen, so nothing is applied (exit 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from stackctl.cli.apply_flow import dependencies_of, file_contents, plan_signature
from stackctl.core.model import Stack
from stackctl.core.plan_model import Plan
from stackctl.core.state import ClusterState, ResourceKind
from stackctl.errors import StackctlError, StalePlanError
from stackctl.rollout.checkpoints import checkpoint
from stackctl.rollout.events import ApplyWarning, Event, Outcome, ResourceRemoved
from stackctl.rollout.options import ApplyOptions, ApplyOutcome, FailurePolicy

if TYPE_CHECKING:
    from stackctl.cli.apply_flow import _Session
    from stackctl.cli.apply_view import EventView


def locked_rollout(
    session: _Session, stack: Stack, desired: ClusterState, plan: Plan, policy: FailurePolicy
) -> int:
    from stackctl.engine.lock import StackLock

    request = session.request
    lock = StackLock(session.client, request.stack)
    lock.acquire(request.lock_timeout)
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
    from stackctl.cli.apply_view import make_view, summary_lines
    from stackctl.cli.cmd_apply import stop_on_signals
    from stackctl.engine.writer import SwarmWriter
    from stackctl.rollout.runner import run_apply

    request = session.request
    started = time.monotonic()
    view = make_view(as_json=request.as_json, no_color=request.no_color)

    def warn(message: str) -> None:
        view(ApplyWarning(time.monotonic() - started, message))

    try:
        writer = SwarmWriter(session.client, resolve_image=request.resolve_image, warn=warn)
        with stop_on_signals() as stop:
            options = ApplyOptions(
                on_failure=policy,
                max_concurrent=request.max_concurrent,
                timeout=request.timeout,
                pending_timeout=request.pending_timeout,
                detach=request.detach,
                dependencies=dependencies_of(stack, request.stack),
                contents=file_contents(stack, desired),
                should_stop=stop.is_set,
            )
            outcome = run_apply(writer, plan, options, view)
        _record(session, stack, desired, plan, outcome, warn)
        if outcome.outcome is Outcome.APPLIED and outcome.changed:  # only under the lock
            _remove_superseded(session, desired, view, started, warn)
    finally:
        view.close()
    if not request.as_json:
        for line in summary_lines(outcome):
            typer.echo(line)
    return int(outcome.exit_code)


def _record(
    session: _Session,
    stack: Stack,
    desired: ClusterState,
    plan: Plan,
    outcome: ApplyOutcome,
    warn: Callable[[str], None],
) -> None:
    """Record a revision whenever something was written (history must show failures too)."""
    from stackctl.engine.client import engine_errors
    from stackctl.engine.recording import record_apply

    if outcome.changed == 0:
        return
    try:
        checkpoint("recording")
        with engine_errors(session.client.endpoint, "record the revision"):  # engine gone
            record_apply(
                session.client,
                desired=desired,
                plan=plan,
                outcome=outcome.outcome.value,
                source_digest=stack.source_digest,
                dependencies=dependencies_of(stack, session.request.stack),
                image_digests=_running_digests(session, desired, outcome),
                history_max=session.request.history_max,
            )
        checkpoint("revision-recorded")
    except StackctlError as error:
        warn(f"could not record the revision: {error.message}")


def _running_digests(
    session: _Session, desired: ClusterState, outcome: ApplyOutcome
) -> dict[str, str] | None:
    """The image digests services run, once known: after a converged apply whose
    images were pinned (``--resolve-image always|changed`` with a reachable registry)."""
    if outcome.outcome is not Outcome.APPLIED or session.request.resolve_image == "never":
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


def _remove_superseded(
    session: _Session,
    desired: ClusterState,
    view: EventView,
    started: float,
    warn: Callable[[str], None],
) -> None:
    from stackctl.engine.cleanup import remove_superseded
    from stackctl.engine.revisions import RevisionStore

    def removed(kind: ResourceKind, name: str) -> None:
        event: Event = ResourceRemoved(time.monotonic() - started, kind.value, name, "superseded")
        view(event)

    try:
        keep = RevisionStore(session.client, session.request.stack).referenced_objects()
        remove_superseded(session.client, desired, keep=keep, removed=removed)
    except StackctlError as error:
        warn(f"could not clean up superseded configs/secrets: {error.message}")
