"""History and status: a stack's recorded revisions, and what runs now against the
last applied one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackctl.api.plans import _check_name
from stackctl.core.history.revision import Outcome as RevisionOutcome
from stackctl.core.history.revision import current_number
from stackctl.core.model.state import ResourceKind
from stackctl.core.plan.plan_model import Effect
from stackctl.errors import StackctlError

if TYPE_CHECKING:
    from stackctl.engine.client import EngineClient
    from stackctl.engine.revisions import RevisionSummary
    from stackctl.engine.stacks import LiveService


@dataclass(frozen=True)
class History:
    """A stack's revisions, oldest first, and the number of the one running now."""

    revisions: tuple[RevisionSummary, ...]
    current: int | None


def history(client: EngineClient, stack: str) -> History:
    """The revisions recorded in the cluster for ``stack`` (empty when none)."""
    _check_name(stack)
    # lazy: each call loads only its own layers
    from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415

    summaries = tuple(RevisionStore(client, stack).list())
    return History(summaries, current_number((s.number, s.outcome) for s in summaries))


@dataclass(frozen=True)
class Interrupted:
    """The current revision's apply never finished (killed or stopped), or runs now.

    ``live`` says how much of the revision the live stack runs: ``full``,
    ``partial`` or ``none`` (still the ``previous`` applied revision).
    ``not_rolled_out``: resources still as stackctl wrote them before (or not
    created yet). Drift excludes them: only what matches none of stackctl's own
    writes was changed outside stackctl.
    """

    revision: int
    started_at: Any  # datetime or None
    who: str
    running: bool  # an apply holding the stack lock runs it now
    live: str
    not_rolled_out: tuple[str, ...]
    previous: int | None  # the applied revision before it


@dataclass(frozen=True)
class StackStatus:
    """What runs now, against the revision that was last applied."""

    stack: str
    revision: int | None  # the current revision (None: none recorded)
    outcome: RevisionOutcome | None  # how that revision's apply ended
    created_at: Any  # datetime of that revision, or None
    who: str | None
    drifted: tuple[str, ...] | None  # resources that differ from it; None: no revision
    orphans: tuple[str, ...]  # left by an apply without prune: known, so not drift
    services: tuple[LiveService, ...]
    interrupted: Interrupted | None = None  # the current revision's apply never finished
    # the current revision finished the rollout of this interrupted revision (same release)
    completes: int | None = None

    @property
    def drift(self) -> bool | None:
        return None if self.drifted is None else bool(self.drifted)


def status(client: EngineClient, stack: str) -> StackStatus:
    """Per service replicas, health, update state and image, plus the current
    revision and what drifted from it. ``StackctlError`` when the stack has neither
    services nor revisions."""
    _check_name(stack)
    # lazy: each call loads only its own layers
    from stackctl.core.plan.hooks import is_rerun  # noqa: PLC0415
    from stackctl.engine.revision_plans import plan_against_revision  # noqa: PLC0415
    from stackctl.engine.revisions import RevisionStore  # noqa: PLC0415
    from stackctl.engine.stacks import service_statuses  # noqa: PLC0415

    services = tuple(service_statuses(client, stack))
    store = RevisionStore(client, stack)
    summaries = tuple(store.list())
    recorded = History(summaries, current_number((s.number, s.outcome) for s in summaries))
    if not services and not recorded.revisions:
        raise StackctlError(
            f"stack {stack} not found (no services and no recorded revisions)",
            hint="`stackctl ls` lists the stacks in this cluster",
        )
    drifted: tuple[str, ...] | None = None
    orphans: tuple[str, ...] = ()
    if recorded.current is not None:
        revision = store.get(recorded.current)
        # Orphans (left by an apply without --prune) are listed apart: stackctl left
        # them knowingly, so they are not drift.
        result = plan_against_revision(client, revision, prune=False, last_applied=revision.state)
        changes = result.plan.changes
        changed = {
            c.name
            for c in changes
            if c.effect not in (Effect.NONE, Effect.ORPHAN) and not is_rerun(c)
        }  # a job that would only run again (a release hook) did not drift
        drifted = tuple(sorted(changed | set(result.missing)))
        orphans = tuple(sorted(c.name for c in changes if c.effect is Effect.ORPHAN))
    summary = next((s for s in recorded.revisions if s.number == recorded.current), None)
    cut: Interrupted | None = None
    if (
        summary is not None
        and drifted is not None
        and summary.outcome
        and summary.outcome.unfinished
    ):
        cut, drifted = _interrupted(client, store, summaries, summary, drifted)
    return StackStatus(
        stack=stack,
        revision=recorded.current,
        outcome=summary.outcome if summary else None,
        created_at=summary.created_at if summary else None,
        who=summary.who if summary else None,
        drifted=drifted,
        orphans=orphans,
        services=services,
        interrupted=cut,
        completes=summary.completes if summary else None,
    )


def _interrupted(
    client: EngineClient, store: Any, summaries: Sequence[Any], summary: Any, differs: Sequence[str]
) -> tuple[Interrupted, tuple[str, ...]]:
    """How far an unfinished apply got, and the real drift.

    Live differing from the unfinished revision is not drift when it still matches
    what stackctl wrote before: the last applied revision, or an interrupted apply
    since then (that part was not rolled out yet), or when the revision was about to
    create it. Only what matches none of them was changed outside stackctl.
    """
    # lazy: each call loads only its own layers
    from stackctl.core.history.basis import matching_resources  # noqa: PLC0415
    from stackctl.engine.observe import observe_stack  # noqa: PLC0415

    kinds = tuple(ResourceKind)
    earlier = [
        s.number
        for s in summaries
        if s.number < summary.number and s.outcome is RevisionOutcome.APPLIED
    ]
    previous = earlier[-1] if earlier else None
    since = [
        s.number
        for s in summaries
        if (previous or 0) < s.number < summary.number and s.outcome and s.outcome.unfinished
    ]
    live = observe_stack(client, store.stack)
    matched: set[str] = set()
    known: set[str] = set()  # what stackctl had written before this revision
    previous_complete = False
    for number in ([previous] if previous is not None else []) + since:
        state = store.get(number).state
        names = {name for _, name in matching_resources(state, live)}
        if number == previous:
            previous_complete = len(names) == sum(len(state.of_kind(k)) for k in kinds)
        matched |= names
        known |= {name for kind in kinds for name in state.of_kind(kind)}
    to_create = {
        name
        for name in differs
        if name not in known and all(name not in live.of_kind(k) for k in kinds)
    }
    drifted = tuple(sorted(set(differs) - matched - to_create))
    pending = tuple(sorted((set(differs) & matched) | to_create))
    if not differs:
        how = "full"
    elif previous_complete and not drifted:
        how = "none"
    else:
        how = "partial"
    cut = Interrupted(
        revision=summary.number,
        started_at=summary.created_at,
        who=summary.who,
        running=summary.outcome is RevisionOutcome.IN_PROGRESS,
        live=how,
        not_rolled_out=pending,
        previous=previous,
    )
    return cut, drifted
