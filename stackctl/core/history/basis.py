"""What stackctl itself last wrote, for drift marks, when applies were interrupted.

Drift means "changed outside stackctl": live differs from what stackctl wrote.
Normally that is the last applied revision. An interrupted apply (killed, or
stopped by a signal) wrote part of its own revision first: those resources
match the interrupted revision, not the last applied one, and are still
stackctl's writes. So the basis takes, resource by resource, the newest
unfinished revision the live resource matches, and the last applied revision
for everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Effect
from stackctl.errors import StackctlError


def matching_resources(state: ClusterState, live: ClusterState) -> set[tuple[ResourceKind, str]]:
    """The resources of ``state`` that ``live`` holds exactly as ``state`` describes them."""
    try:
        plan = plan_changes(state, live)
    except StackctlError:  # e.g. an external object gone: nothing can be said to match
        return set()
    differs = {
        (c.kind, c.name) for c in plan.changes if c.effect not in (Effect.NONE, Effect.ORPHAN)
    }
    return {
        (kind, name)
        for kind in ResourceKind
        for name in state.of_kind(kind)
        if (kind, name) not in differs
    }


def drift_basis(
    applied: ClusterState | None,
    unfinished: Sequence[ClusterState],
    live: ClusterState,
) -> ClusterState | None:
    """The state stackctl last wrote: ``applied`` overlaid, oldest first, with each
    resource of an ``unfinished`` revision that ``live`` matches."""
    if not unfinished:
        return applied
    by_kind: dict[ResourceKind, dict[str, ResourceState]] = {
        kind: dict(applied.of_kind(kind)) if applied is not None else {} for kind in ResourceKind
    }
    for state in unfinished:
        for kind, name in matching_resources(state, live):
            by_kind[kind][name] = state.of_kind(kind)[name]
    return ClusterState(
        stack=unfinished[-1].stack,
        networks=MappingProxyType(by_kind[ResourceKind.NETWORK]),
        configs=MappingProxyType(by_kind[ResourceKind.CONFIG]),
        secrets=MappingProxyType(by_kind[ResourceKind.SECRET]),
        services=MappingProxyType(by_kind[ResourceKind.SERVICE]),
    )
