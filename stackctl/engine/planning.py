"""Plan a desired state against what the cluster runs: the one planning path.

``diff``, ``apply`` (first look, re-check under the lock, ``--plan FILE``),
``rollback``, ``status`` drift and ``diff --revision`` all come here:

observe the stack (and the external objects the desired state names) -> for a
stored revision, pin recorded digests, align the live specs and restore sealed
env values -> the last applied revision (for drift marks) -> ``plan_changes``
(or a saved plan checked against files and cluster) -> the placement preflight
on the services it writes (``stackctl.engine.nodes``) -> drop deletions that
would lose what a rollback still needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum

from stackctl.core.convert.adopt import adopt_docker_configs
from stackctl.core.convert.comparable import align_live_to_desired
from stackctl.core.history.revision import Revision, keep_retained_objects, state_for_rollback
from stackctl.core.history.sealed_env import restore_sealed, unrestored
from stackctl.core.model.state import LABEL_LOGICAL_NAME, ClusterState, ResourceKind
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.hooks import Dependencies, with_hook_runs
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange
from stackctl.core.plan.saved_plan import (
    check_plan_fresh,
    check_plan_matches,
    load_saved_plan,
    with_current_specs,
)
from stackctl.core.validate.external_networks import check_external_networks
from stackctl.engine.client import EngineClient
from stackctl.engine.nodes import placement_preflight
from stackctl.engine.observe import external_references, observe_stack
from stackctl.engine.revisions import RevisionStore
from stackctl.errors import StackctlError

_FILE_KINDS = (ResourceKind.CONFIG, ResourceKind.SECRET)

Warn = Callable[[str], None]


class _FromHistory(Enum):
    FROM_HISTORY = "from-history"


FROM_HISTORY = _FromHistory.FROM_HISTORY
"""``last_applied`` default: read the stack's last applied revision from the cluster."""


@dataclass(frozen=True)
class ClusterPlan:
    """A plan and the two states it was made from."""

    desired: ClusterState  # what would be written (for a revision: digests pinned, sealed restored)
    live: ClusterState  # the cluster as observed (for a revision: aligned to ``desired``)
    plan: Plan
    revision: Revision | None = None  # set when planning a stored revision
    missing: tuple[str, ...] = ()  # config/secret objects the revision needs that are gone
    sealed: tuple[tuple[str, str], ...] = ()  # (service, env variable) it cannot restore


def last_applied_state(
    client: EngineClient, stack: str, *, warn: Warn | None = None
) -> ClusterState | None:
    """The desired state recorded by the last apply, or None (no history, or unreadable:
    then ``warn`` is told, and the plan simply has no drift marks)."""

    try:
        # the last applied revision, plus what interrupted applies visibly wrote since
        return RevisionStore(client, stack).drift_basis()
    except StackctlError as error:
        if warn is not None:
            warn(f"history unreadable, no drift marks: {error}")
        return None


def plan_against_cluster(
    client: EngineClient,
    target: ClusterState | Revision,
    *,
    prune: bool = False,
    last_applied: ClusterState | _FromHistory | None = FROM_HISTORY,
    saved_plan: str | None = None,
    keep_rollback_objects: bool = True,
    warn: Warn | None = None,
    resolve: Callable[[ClusterState, ClusterState], ClusterState] | None = None,
    dependencies: Dependencies | None = None,
) -> ClusterPlan:
    """The plan that makes the live stack match ``target`` (a converted stack file, or
    a stored revision whose recorded image digests are pinned).

    ``dependencies`` (the files' ``depends_on``; a revision's own by default) adds
    the release hooks: jobs that depend on what the plan writes run again, and the
    plan says the release order in words (``stackctl.core.plan.hooks``).

    ``last_applied`` marks fields changed behind stackctl's back as drift; by
    default it is the stack's last applied revision. ``saved_plan`` is the text of
    a plan saved by ``diff --out``: it is used instead of a fresh one when it still
    holds for ``target`` and the cluster (else ``StalePlanError``).
    ``keep_rollback_objects`` keeps the config/secret versions a retained revision
    may need: their ``--prune`` deletion becomes "kept" with the reason (``diff``,
    ``apply``, saved plans: what is shown is what apply does).
    ``resolve(desired, live)`` pins a stack file's images to registry digests
    (``stackctl.engine.images``, ``--resolve-image``) before the plan; a revision's
    recorded digests are pinned instead, without asking a registry.
    """

    revision = target if isinstance(target, Revision) else None
    declared = target.state if isinstance(target, Revision) else target
    observed = observe_stack(client, declared.stack, external=external_references(declared))
    if revision is not None:
        desired, live = _revision_states(revision, observed)
    else:
        desired, live = declared, observed
        check_external_networks(desired, live)  # before anything is planned or written
        if resolve is not None:  # needs the live labels (changed/never keep running digests)
            desired = resolve(desired, live)
        # docker-named configs holding the file's content are used as they are (no restart)
        desired = adopt_docker_configs(desired, live)
    if isinstance(last_applied, _FromHistory):
        last_applied = last_applied_state(client, desired.stack, warn=warn)
    if saved_plan is not None:
        plan = checked_saved_plan(saved_plan, desired, live)
    else:
        plan = plan_changes(desired, live, last_applied=last_applied, prune=prune)
    if revision is not None and dependencies is None:
        dependencies = revision.dependencies
    plan = with_hook_runs(plan, desired, live, dependencies or {})
    # can the nodes run what it writes? (docs/placement.md; errors stop apply)
    plan = placement_preflight(client, plan)
    if revision is not None:
        return _revision_plan(revision, desired, live, plan)
    if keep_rollback_objects:
        plan = without_protected_deletes(client, plan, desired)
    return ClusterPlan(desired=desired, live=live, plan=plan)


def _revision_states(
    revision: Revision, observed: ClusterState
) -> tuple[ClusterState, ClusterState]:
    """A revision's desired state as re-applied now, and the live state aligned to it."""

    running = {
        name: str(service.status["ImageDigest"])
        for name, service in observed.services.items()
        if service.status.get("ImageDigest")
    }
    desired = state_for_rollback(revision, live_digests=running)
    live = align_live_to_desired(desired, observed)
    return restore_sealed(desired, live), live


def _keeps_history(change: ResourceChange) -> bool:
    """Older config/secret versions are kept on purpose (other revisions need them):
    they are neither drift nor something a rollback should delete."""
    return change.kind in _FILE_KINDS and change.effect in (Effect.ORPHAN, Effect.DELETE)


def _revision_plan(
    revision: Revision, desired: ClusterState, live: ClusterState, plan: Plan
) -> ClusterPlan:
    plan = replace(plan, changes=tuple(c for c in plan.changes if not _keeps_history(c)))
    missing = tuple(
        sorted(
            name
            for kind in _FILE_KINDS
            for name in desired.of_kind(kind)
            if name not in live.of_kind(kind)
        )
    )
    written = [c.desired for c in plan.changes if c.desired is not None]
    return ClusterPlan(
        desired=desired,
        live=live,
        plan=plan,
        revision=revision,
        missing=missing,
        sealed=tuple(unrestored(written)),
    )


def checked_saved_plan(text: str, desired: ClusterState, live: ClusterState) -> Plan:
    """The plan saved by ``diff --out``, if it still holds for these files and this cluster."""

    saved = load_saved_plan(text)
    check_plan_matches(saved, desired)
    check_plan_fresh(saved, live)
    # the file holds sensitive env values redacted: specs come from files and cluster
    return with_current_specs(saved, desired, live)


def without_protected_deletes(client: EngineClient, plan: Plan, desired: ClusterState) -> Plan:
    """Never prune configs/secrets a rollback may still need, and say so.

    Older versions the file still declares are left to the post-apply cleanup;
    objects the file dropped entirely are kept while a retained revision names
    them, because stackctl cannot recreate content it never stored: the plan
    shows them as kept (an orphan whose reason names the revisions), with or
    without ``--prune``, so ``diff`` shows exactly what ``apply`` does.
    """

    plan = without_superseded_deletes(plan, desired)
    if not any(_keeps_history(c) for c in plan.changes):
        return plan  # nothing to protect: the history is not read
    needed = RevisionStore(client, desired.stack).objects_needed()
    return keep_retained_objects(plan, needed)


def without_superseded_deletes(plan: Plan, desired: ClusterState) -> Plan:
    """Drop --prune deletions of older versions of configs/secrets the file still declares.

    They are superseded content versions, which the post-apply cleanup removes
    only when no retained revision needs them (a rollback would).
    """
    declared = {
        (kind, (state.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME))
        for kind in _FILE_KINDS
        for state in desired.of_kind(kind).values()
    }

    def superseded(change: ResourceChange) -> bool:
        if change.effect is not Effect.DELETE or change.live is None:
            return False
        logical = (change.live.spec.get("Labels") or {}).get(LABEL_LOGICAL_NAME)
        return logical is not None and (change.kind, logical) in declared

    kept = tuple(c for c in plan.changes if not superseded(c))
    return plan if len(kept) == len(plan.changes) else replace(plan, changes=kept)


def plan_signature(plan: Plan) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """What a person approved: each change and its changed fields."""
    return tuple(
        (c.kind.value, c.name, c.effect.value, tuple(f.path for f in c.fields))
        for c in plan.changes
        if c.effect not in (Effect.NONE, Effect.ORPHAN)
    )
