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

from stackctl.core.history.revision import Revision, current_number, default_rollback_target
from stackctl.core.model.state import ClusterState
from stackctl.engine.client import EngineClient
from stackctl.engine.planning import ClusterPlan, plan_against_cluster
from stackctl.engine.revisions import RevisionStore
from stackctl.errors import StackctlError

RevisionPlan = ClusterPlan
"""A revision planned against the live stack (``ClusterPlan.revision`` is set)."""


class MissingObjectsError(StackctlError):
    """Configs/secrets a revision needs are gone; stackctl cannot recreate them."""


class SealedValuesError(StackctlError):
    """Sensitive env values a revision needs run nowhere any more; stackctl never stored them."""


def plan_against_revision(
    client: EngineClient,
    revision: Revision,
    *,
    prune: bool,
    last_applied: ClusterState | None = None,
) -> ClusterPlan:
    """The plan that would make the live stack match ``revision`` (recorded digests pinned).

    ``last_applied`` is what stackctl last wrote (the current revision's state), so
    fields changed behind its back are marked as drift; for ``status`` that is
    ``revision`` itself. (``plan_against_cluster`` with a revision as the target.)
    """
    return plan_against_cluster(client, revision, prune=prune, last_applied=last_applied)


def require_restorable(revision_plan: RevisionPlan) -> None:
    """Raise when the revision needs what the cluster no longer holds: configs or
    secrets (``MissingObjectsError``), or sensitive env values (``SealedValuesError``)."""
    assert revision_plan.revision is not None, "a plan of a stored revision"
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


def revision_desired(client: EngineClient, stack: str, number: int) -> ClusterState:
    """The desired state of revision ``number`` (``diff --revision N``), as declared."""

    return RevisionStore(client, stack).get(number).state


def choose_revision(
    client: EngineClient, stack: str, to: int | None = None
) -> tuple[Revision, Revision | None]:
    """Revision ``to`` (default: the last applied one before the current), and the
    current one (None when no revision took effect)."""

    store = RevisionStore(client, stack)
    summaries = store.list()
    if not summaries:
        raise StackctlError(
            f"stack {stack} has no recorded revisions to roll back to",
            hint="revisions are recorded by `stackctl apply`; `stackctl ls` lists the stacks",
        )
    number = to
    if number is None:
        number = default_rollback_target((s.number, s.outcome) for s in summaries)
        if number is None:
            raise StackctlError(
                f"stack {stack} has no applied revision before the current one",
                hint=f"see `stackctl history {stack}` and pick one with --to N",
            )
    current = current_number((s.number, s.outcome) for s in summaries)
    return store.get(number), (store.get(current) if current is not None else None)
