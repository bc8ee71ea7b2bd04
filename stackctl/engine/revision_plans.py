"""Plan a revision against the live stack (rollback, ``status`` drift, ``diff --revision``).

A revision names its configs and secrets by content (``<stack>_<name>-<hash>``)
and stores only hashes, never payloads. Re-applying it therefore needs those
exact objects to still exist in the cluster: apply's cleanup keeps every object
a retained revision refers to (``RevisionStore.referenced_objects``). When one
is gone anyway, ``MissingObjectsError`` says which, instead of failing half-way.

Sensitive env values are stored sealed (``stackctl.core.history.sealed_env``) and
restored from the live services while planning; one that no longer runs
anywhere cannot be restored, and ``SealedValuesError`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from stackctl.core.history.revision import Revision, state_for_rollback
from stackctl.core.history.sealed_env import restore_sealed, unrestored
from stackctl.core.model.state import ClusterState, ResourceKind
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange
from stackctl.errors import StackctlError

_FILE_KINDS = (ResourceKind.CONFIG, ResourceKind.SECRET)


class MissingObjectsError(StackctlError):
    """Configs/secrets a revision needs are gone; stackctl cannot recreate them."""


class SealedValuesError(StackctlError):
    """Sensitive env values a revision needs run nowhere any more; stackctl never stored them."""


@dataclass(frozen=True)
class RevisionPlan:
    revision: Revision
    desired: ClusterState
    live: ClusterState
    plan: Plan
    missing: tuple[str, ...]  # config/secret objects the revision needs that no longer exist
    sealed: tuple[tuple[str, str], ...] = ()  # (service, env variable) it cannot restore


def _keeps_history(change: ResourceChange) -> bool:
    """Older config/secret versions are kept on purpose (other revisions need them):
    they are neither drift nor something a rollback should delete."""
    return change.kind in _FILE_KINDS and change.effect in (Effect.ORPHAN, Effect.DELETE)


def plan_against_revision(
    client: Any,
    revision: Revision,
    *,
    prune: bool,
    last_applied: ClusterState | None = None,
) -> RevisionPlan:
    """The plan that would make the live stack match ``revision`` (recorded digests pinned).

    ``last_applied`` is what stackctl last wrote (the current revision's state), so
    fields changed behind its back are marked as drift; for ``status`` that is
    ``revision`` itself.
    """
    from stackctl.core.convert.comparable import align_live_to_desired
    from stackctl.core.plan.diff import plan_changes
    from stackctl.engine.observe import observe_stack

    externals = [
        (kind, name)
        for kind in (ResourceKind.NETWORK, *_FILE_KINDS)
        for name, resource in revision.state.of_kind(kind).items()
        if resource.external
    ]
    observed = observe_stack(client, revision.stack, external=externals)
    running = {
        name: str(service.status["ImageDigest"])
        for name, service in observed.services.items()
        if service.status.get("ImageDigest")
    }
    desired = state_for_rollback(revision, live_digests=running)
    live = align_live_to_desired(desired, observed)
    desired = restore_sealed(desired, live)
    plan = plan_changes(desired, live, last_applied=last_applied, prune=prune)
    plan = replace(plan, changes=tuple(c for c in plan.changes if not _keeps_history(c)))
    missing = tuple(
        sorted(
            name
            for kind in _FILE_KINDS
            for name, resource in desired.of_kind(kind).items()
            if name not in live.of_kind(kind)
        )
    )
    written = [c.desired for c in plan.changes if c.desired is not None]
    sealed = tuple(unrestored(written))
    return RevisionPlan(
        revision=revision, desired=desired, live=live, plan=plan, missing=missing, sealed=sealed
    )


def require_restorable(revision_plan: RevisionPlan) -> None:
    """Raise when the revision needs what the cluster no longer holds: configs or
    secrets (``MissingObjectsError``), or sensitive env values (``SealedValuesError``)."""
    number = revision_plan.revision.number
    if revision_plan.sealed:
        where = ", ".join(f"{name} of {service}" for service, name in revision_plan.sealed)
        raise SealedValuesError(
            f"revision {number} needs sensitive env value(s) that no longer run in the "
            f"cluster: {where}",
            hint=(
                "stackctl stores only digests of sensitive env values, never the values, and "
                "restores them from the live services (their current or previous spec); "
                "re-apply the stack file of that release instead (`stackctl apply -c FILE`); "
                "values kept as Swarm secrets (`secrets:`) are restored by rollback"
            ),
        )
    if not revision_plan.missing:
        return
    raise MissingObjectsError(
        f"revision {number} needs config/secret object(s) that no longer exist: "
        f"{', '.join(revision_plan.missing)}",
        hint=(
            "stackctl stores only content hashes, never config/secret values, so it cannot "
            "recreate them; re-apply the stack file of that release instead "
            "(`stackctl apply -c FILE`), or recreate the objects with the same names"
        ),
    )


def revision_desired(client: Any, stack: str, number: int) -> ClusterState:
    """The desired state of revision ``number`` (``diff --revision N``), as declared."""
    from stackctl.engine.revisions import RevisionStore

    return RevisionStore(client, stack).get(number).state
