"""Rollouts: apply a plan while an event callback watches, and roll back."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackctl.api.plans import StackPlan, plan, plan_rollback
from stackctl.errors import StackctlError, StalePlanError
from stackctl.rollout.events import ApplyWarning, Event, Outcome
from stackctl.rollout.options import ApplyOptions, ApplyOutcome, FailurePolicy

if TYPE_CHECKING:
    from stackctl.core.history.revision import GitOrigin
    from stackctl.core.plan.plan_model import Plan
    from stackctl.engine.client import EngineClient

EventCallback = Callable[[Event], None]


@dataclass(frozen=True)
class ApplySettings:
    """How ``apply``/``rollback`` roll out (the CLI options of the same names). Seconds."""

    on_failure: FailurePolicy = FailurePolicy.ROLLBACK
    max_concurrent: int | None = None  # services rolling out at once; None: no limit
    timeout: float = 600.0
    pending_timeout: float = 120.0  # a task not started after this fails its service
    lock_timeout: float = 0.0  # wait this long for another apply's lock
    detach: bool = False  # submit the changes and return
    resolve_image: str = "never"  # always | changed | never
    history_max: int = 10  # revisions kept


@dataclass(frozen=True)
class ApplyResult:
    """How an apply or rollback ended, and the revision it recorded (if it wrote)."""

    rollout: ApplyOutcome
    revision: int | None = None

    @property
    def outcome(self) -> Outcome:
        return self.rollout.outcome

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this outcome (docs/exit-codes.md)."""
        return int(self.rollout.exit_code)


def apply(
    client: EngineClient,
    planned: StackPlan,
    *,
    settings: ApplySettings | None = None,
    on_event: EventCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    origin: GitOrigin | None = None,
) -> ApplyResult:
    """Carry out ``planned`` (from ``plan`` or ``plan_rollback``).

    Nothing to do writes nothing. Otherwise, under the stack's lock, the stack is
    planned again: if the changes differ from ``planned`` (it moved meanwhile),
    ``StalePlanError`` is raised and nothing is written. Then the changes roll out
    wave by wave, gated on health; every event goes to ``on_event``; a revision is
    recorded; superseded configs/secrets are removed. ``should_stop`` is polled
    between steps: True ends the rollout cleanly (outcome ``interrupted``).
    A rollout failure is an outcome, not an exception. ``origin`` (the git commit
    the files came from) is stored in the revision and shown by ``history``.
    """
    settings = settings or ApplySettings()
    emit = on_event or _ignore
    started = time.monotonic()

    def warn(message: str) -> None:
        emit(ApplyWarning(time.monotonic() - started, message))

    # lazy: each call loads only its own layers
    from stackctl.core.plan.placement import refuse_placement_errors  # noqa: PLC0415
    from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415
    from stackctl.rollout.session import LockSettings, locked_rollout, unlocked_watch  # noqa: PLC0415

    refuse_placement_errors(planned.plan)  # the preflight's errors: nothing is written
    unfinished = RevisionStore(client, planned.stack).unfinished()
    if planned.saved_plan is not None and unfinished is not None:
        _refuse_saved_plan(planned.stack, unfinished)
    options = _options(planned, settings, should_stop)
    if not planned.has_changes and unfinished is None:
        if planned.plan.in_progress and not settings.detach and planned.revision is None:
            # Swarm is still rolling out the file's spec: watch it; nothing is written
            return ApplyResult(
                unlocked_watch(client, planned.plan, options, emit, settings.resolve_image)
            )
        return ApplyResult(ApplyOutcome(Outcome.APPLIED, (), 0.0))

    def recheck() -> Plan:
        if planned.saved_plan is not None:
            again = RevisionStore(client, planned.stack).unfinished()
            if again is not None:
                _refuse_saved_plan(planned.stack, again)
        return _recheck(client, planned).plan

    outcome = locked_rollout(
        client,
        _release(planned, origin),
        recheck,
        options,
        LockSettings(
            lock_timeout=settings.lock_timeout,
            history_max=settings.history_max,
            resolve_image=settings.resolve_image,
        ),
        emit,
        warn,
    )
    if outcome is None:  # applied meanwhile
        return ApplyResult(ApplyOutcome(Outcome.APPLIED, (), 0.0))
    return ApplyResult(outcome, outcome.revision)


def _refuse_saved_plan(stack: str, unfinished: Any) -> None:
    raise StackctlError(
        f"stack {stack}: revision {unfinished.number} is {unfinished.outcome.value} (its "
        "apply never finished); a saved plan is not applied over it; nothing was changed",
        hint="apply the stack files again (or roll back), then save a new plan",
    )


def _options(
    planned: StackPlan, settings: ApplySettings, should_stop: Callable[[], bool] | None
) -> Any:
    """The runner's options, built once."""
    # lazy: each call loads only its own layers
    from stackctl.core.convert.rollout_inputs import dependencies_of, file_contents  # noqa: PLC0415

    source = planned.source
    if planned.revision is not None:
        dependencies: Mapping[str, Any] = planned.revision.dependencies
        contents: dict[str, bytes] = {}
    else:
        dependencies = dependencies_of(source, planned.stack) if source is not None else {}
        contents = file_contents(source, planned.desired) if source is not None else {}
    return ApplyOptions(
        on_failure=settings.on_failure,
        max_concurrent=settings.max_concurrent,
        timeout=settings.timeout,
        pending_timeout=settings.pending_timeout,
        detach=settings.detach,
        dependencies=dependencies,
        contents=contents,
        should_stop=should_stop or (lambda: False),
    )


def _release(planned: StackPlan, origin: GitOrigin | None = None) -> Any:
    """What the rollout's revision records: the files' desired state, or (a rollback)
    the target revision's content as "rollback to N"."""
    # lazy: each call loads only its own layers
    from stackctl.core.convert.rollout_inputs import dependencies_of  # noqa: PLC0415
    from stackctl.rollout.session import Release  # noqa: PLC0415

    revision = planned.revision
    if revision is not None:
        return Release(
            desired=revision.state,
            source_digest=revision.source_digest,
            rollback_to=revision.number,
            image_digests=revision.image_digests,
            dependencies=revision.dependencies,
        )
    source = planned.source
    return Release(
        desired=planned.desired,
        source_digest=source.source_digest if source is not None else None,
        dependencies=dependencies_of(source, planned.stack) if source is not None else {},
        git=origin,
    )


def rollback(
    client: EngineClient,
    stack: str,
    *,
    to: int | None = None,
    settings: ApplySettings | None = None,
    on_event: EventCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApplyResult:
    """Roll ``stack`` back to revision ``to`` (default: the last applied one before
    the current): ``apply(client, plan_rollback(client, stack, to=to), ...)``.
    Recorded as a new revision ("rollback to N")."""
    return apply(
        client,
        plan_rollback(client, stack, to=to),
        settings=settings,
        on_event=on_event,
        should_stop=should_stop,
    )


def _ignore(event: Event) -> None:
    del event


def _recheck(client: EngineClient, approved: StackPlan) -> StackPlan:
    """``approved`` planned again under the lock; StalePlanError when its changes moved."""
    # lazy: each call loads only its own layers
    from stackctl.engine.planning import plan_signature  # noqa: PLC0415

    if approved.revision is not None:
        # lazy: each call loads only its own layers
        from stackctl.engine.revision_plans import plan_against_revision, require_restorable  # noqa: PLC0415

        again = plan_against_revision(
            client, approved.revision, prune=True, last_applied=approved.last_applied
        )
        require_restorable(again)
        fresh = StackPlan(
            approved.stack,
            again.plan,
            again.desired,
            again.live,
            revision=approved.revision,
            last_applied=approved.last_applied,
        )
    else:
        # lazy: each call loads only its own layers
        from stackctl.engine.images import pinned_like  # noqa: PLC0415

        fresh = plan(
            client,
            approved.stack,
            approved.source if approved.source is not None else approved.desired,
            prune=approved.plan.prune,
            saved_plan=approved.saved_plan,
            resolve=pinned_like(approved.desired),  # the digests that were approved
        )
    if approved.saved_plan is not None or not fresh.has_changes:
        return fresh  # a saved plan was checked against the cluster again; or applied meanwhile
    if plan_signature(fresh.plan) != plan_signature(approved.plan):
        raise StalePlanError(
            f"stack {approved.stack} changed in the cluster since the plan was made; "
            "nothing was applied",
            hint="plan again to see (and approve) the current changes",
        )
    return fresh  # same changes, with the version indexes as of now
