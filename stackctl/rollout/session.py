"""The one rollout path of ``apply`` and ``rollback``.

lock -> mark revisions dead applies left in progress as interrupted ->
re-check the approved plan -> record the revision *before the first write*
(write-ahead, outcome ``in_progress``) -> roll out -> mark how it ended ->
remove superseded config/secret versions -> release the lock.

Both commands come here with what differs between them: the plan re-check, and
the release their revision records (a file's desired state, or a stored
revision rolled back to). Same lease, same events, same warnings, same
revision bookkeeping. The caller owns presentation (the event view, the
summary) and signal handling (``ApplyOptions.should_stop``).

A kill at any point leaves a revision that says what was being done: the
lock and re-check write nothing; from the intent record on, the revision
exists and stays ``in_progress`` until it is marked. ``RevisionStore`` reads
an ``in_progress`` revision without a live lock as ``interrupted``; the next
apply or rollback records it so durably and supersedes it with its own
revision (also when nothing is left to write: the re-run then records that
the cluster now runs its file, so ``status`` stops saying interrupted).
Before it writes, such a re-run watches every service it does not write pass
its health gate (``ApplyOptions.settle``): the dead apply may have submitted
them without seeing them converge. When the re-run applies the very release
of the interrupted revision N (same desired state), its revision *completes*
N (``Revision.completes``): it records N's changes, not "no changes".
The CLI and the agent both come here (the agent through ``stackctl.api``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from stackctl.core.convert.pinning import image_of, pinned_digest
from stackctl.core.history.revision import GitOrigin, Revision, completing, same_release
from stackctl.core.model.model import DependsOn
from stackctl.core.model.state import ClusterState, ResourceKind
from stackctl.core.plan.hooks import is_job_spec
from stackctl.core.plan.plan_model import Plan
from stackctl.engine.cleanup import remove_superseded
from stackctl.engine.client import EngineClient, engine_errors
from stackctl.engine.lock import StackLock
from stackctl.engine.recording import intent_revision
from stackctl.engine.revisions import RevisionStore
from stackctl.engine.writer import SwarmWriter
from stackctl.errors import StackctlError
from stackctl.rollout.checkpoints import checkpoint
from stackctl.rollout.events import ApplyWarning, Event, Outcome, ResourceRemoved
from stackctl.rollout.options import ApplyOptions, ApplyOutcome
from stackctl.rollout.runner import WRITING_EFFECTS, run_apply

Emit = Callable[[Event], None]
Notice = Callable[[str], None]


@dataclass(frozen=True)
class Release:
    """What a rollout writes, as its revision records it."""

    desired: ClusterState  # the state the revision holds (never payloads)
    source_digest: str | None = None
    rollback_to: int | None = None  # set by rollback: "rollback to N"
    # Pinned image references known before the rollout (a rollback re-pins its
    # target's); None: learned after a converged apply when images were resolved.
    image_digests: Mapping[str, str] | None = None
    dependencies: Mapping[str, tuple[DependsOn, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    git: GitOrigin | None = None  # the commit it was applied from (the GitOps agent)


@dataclass(frozen=True)
class LockSettings:
    """The options of the locked part that the runner does not take."""

    lock_timeout: float = 0.0  # wait this long for another rollout's lock
    history_max: int = 10  # revisions kept after recording
    # digests are resolved before the plan (stackctl.engine.images); kept for callers
    resolve_image: str = "never"
    # image -> encoded X-Registry-Auth for the service writes (--with-registry-auth)
    registry_auth: Callable[[str], str | None] = field(
        default=lambda image: None, repr=False, compare=False
    )


def locked_rollout(
    client: EngineClient,
    release: Release,
    recheck: Callable[[], Plan],
    options: ApplyOptions,
    settings: LockSettings,
    emit: Emit,
    notice: Notice,
) -> ApplyOutcome | None:
    """Run ``lock -> re-check -> record intent -> roll out -> mark``.

    ``recheck`` re-plans under the lock and raises ``StalePlanError`` when the
    approved plan no longer holds. Returns None when nothing was left to do
    (another rollout did it meanwhile); raises ``StackctlError`` when nothing was
    written (lock held, stale plan, intent not recordable). ``notice`` gets what is
    said about the lock outside the rollout's events: waiting for it, and warnings.
    """

    stack = release.desired.stack
    lock = StackLock(client, stack)

    def waiting(holder: Any) -> None:
        notice(
            f"stack {stack} is locked by {holder.describe()}; "
            f"waiting up to {settings.lock_timeout:g}s for it (--lock-timeout)"
        )

    lock.acquire(settings.lock_timeout, on_wait=waiting)
    try:
        checkpoint("lock-acquired")
        lock.start_heartbeat()
        store = RevisionStore(client, stack, history_max=settings.history_max)
        store.mark_interrupted()  # under the lock: their applies are gone
        plan = recheck()
        unfinished = store.unfinished()
        if not plan.has_changes and not plan.in_progress and unfinished is None:
            return None
        checkpoint("plan-rechecked")
        completes = None
        if unfinished is not None:
            # what the dead apply wrote passes the health gates before this one
            # records that the cluster runs its release
            options = replace(options, settle=_to_settle(release.desired, plan))
            completes = _completed(store, unfinished.number, release)
        return _recorded_rollout(
            client, store, release, plan, options, settings, emit, completes=completes
        )
    finally:
        checkpoint("releasing")
        try:
            lock.release()
        except StackctlError as error:  # the engine is gone: keep the rollout's own exit code
            notice(
                f"warning: could not release the lock on stack {stack} ({error.message}); "
                "it expires with its lease"
            )
        if lock.lost:
            notice(
                f"warning: the lock on stack {stack} was broken or taken over while this "
                "rollout ran; another apply may have interleaved"
            )


def unlocked_watch(
    client: EngineClient,
    plan: Plan,
    options: ApplyOptions,
    emit: Emit,
    resolve_image: str = "never",
) -> ApplyOutcome:
    """Watch what Swarm still rolls out to the file's spec (``Plan.in_progress``):
    writes nothing, so no lock and no revision."""

    started = options.clock()

    def warn(message: str) -> None:
        emit(ApplyWarning(options.clock() - started, message))

    del resolve_image  # nothing is written here; digests were resolved before the plan
    writer = SwarmWriter(client, warn=warn)
    return run_apply(writer, plan, options, emit)


def _recorded_rollout(
    client: EngineClient,
    store: Any,
    release: Release,
    plan: Plan,
    options: ApplyOptions,
    settings: LockSettings,
    emit: Emit,
    *,
    completes: Revision | None = None,
) -> ApplyOutcome:
    started = options.clock()

    def warn(message: str) -> None:
        emit(ApplyWarning(options.clock() - started, message))

    revision = intent_revision(
        release.desired,
        plan,
        source_digest=release.source_digest,
        rollback_to=release.rollback_to,
        image_digests=release.image_digests,
        dependencies=release.dependencies,
        git=release.git,
    )
    if completes is not None:  # the same release as the interrupted one: finish it
        revision = completing(revision, completes)
    try:
        with engine_errors(client.endpoint, "record the revision"):
            number = store.begin(revision)
    except StackctlError as error:
        raise StackctlError(
            f"could not record the revision before writing ({error.message}); nothing was changed",
            hint="stackctl records what it is about to do before it writes; retry",
        ) from None
    checkpoint("intent-recorded")
    # the desired networks: one still being removed is created afresh once it is gone
    writer = SwarmWriter(
        client,
        registry_auth=settings.registry_auth,
        warn=warn,
        networks=release.desired.networks,
    )
    try:
        outcome = run_apply(writer, plan, options, emit)
    except StackctlError:  # refused before any write (e.g. a depends_on cycle)
        _discard(store, number, warn)
        raise
    checkpoint("recording")
    if outcome.changed == 0 and outcome.outcome is not Outcome.APPLIED:
        # nothing reached the cluster: no release to list. (Applied with nothing to
        # write is a re-run superseding an interrupted revision: that one is kept.)
        _discard(store, number, warn)
        return outcome
    digests = release.image_digests
    if digests is None and outcome.outcome is Outcome.APPLIED:
        digests = _running_digests(release.desired)
    try:
        with engine_errors(client.endpoint, "record how the rollout ended"):
            store.finish(number, outcome.outcome, image_digests=digests)
        checkpoint("revision-recorded")
    except StackctlError as error:
        warn(
            f"could not record how revision {number} ended ({error.message}); it reads as "
            "interrupted until the next apply supersedes it"
        )
    # only under the lock; a re-run over an interrupted apply also does that apply's cleanup
    if outcome.outcome is Outcome.APPLIED and (outcome.changed or options.settle):
        _remove_superseded(client, store, release.desired, started, options, emit, warn)
    return replace(outcome, revision=number)


def _to_settle(desired: ClusterState, plan: Plan) -> tuple[str, ...]:
    """The desired services this plan does not write: an interrupted apply may have
    submitted them without seeing them converge. Jobs are left out: they ran (or run)
    as their release hooks say, and a job is never re-run to be checked."""
    written = {c.name for c in plan.of_effect(*WRITING_EFFECTS) if c.kind is ResourceKind.SERVICE}
    return tuple(
        sorted(
            name
            for name, service in desired.services.items()
            if name not in written and not is_job_spec(service.spec)
        )
    )


def _completed(store: Any, number: int, release: Release) -> Revision | None:
    """Interrupted revision ``number`` when ``release`` is that very release applied
    again (the re-run then completes it), else None (the re-run supersedes it)."""
    try:
        interrupted: Revision = store.get(number)
    except StackctlError:  # unreadable: recorded as a plain new revision
        return None
    if interrupted.rollback_to != release.rollback_to:
        return None
    return interrupted if same_release(interrupted, release.desired) else None


def _discard(store: Any, number: int, warn: Callable[[str], None]) -> None:
    try:
        store.discard(number)
    except StackctlError as error:
        warn(f"could not remove revision {number} of a rollout that wrote nothing: {error}")


def _running_digests(desired: ClusterState) -> dict[str, str] | None:
    """The pinned image references (``image:tag@sha256:...``) of a converged apply:
    what a rollback to its revision re-applies exactly."""

    digests = {
        name: str(image_of(state.spec))
        for name, state in desired.services.items()
        if pinned_digest(state.spec) is not None
    }
    return digests or None


def _remove_superseded(
    client: EngineClient,
    store: Any,
    desired: ClusterState,
    started: float,
    options: ApplyOptions,
    emit: Emit,
    warn: Callable[[str], None],
) -> None:
    """Config/secret versions neither the desired state nor a kept revision names."""

    def removed(kind: ResourceKind, name: str) -> None:
        emit(ResourceRemoved(options.clock() - started, kind.value, name, "superseded"))

    try:
        remove_superseded(client, desired, keep=store.referenced_objects(), removed=removed)
    except StackctlError as error:
        warn(f"could not clean up superseded configs/secrets: {error.message}")
