"""What a change costs: the effect of applying it, and why.

Classification rules, checked on Docker Engine 20.10 (API 1.41) by updating a
running 2-replica service one field at a time and comparing task IDs before and
after (``tests/integration/diffplan_live/test_task_restarts.py`` keeps them honest):

- no task is replaced when only these change: service ``Labels``,
  ``Mode.Replicated.Replicas`` (tasks are added or removed, the others keep
  running), ``UpdateConfig``, ``RollbackConfig``, and ``TaskTemplate.Placement``
  (swarmkit leaves a task where it is while its node still satisfies the
  constraints; tasks on nodes that no longer match are moved);
- every other ``TaskTemplate`` change (image, env, labels of the container,
  resources, restart policy, log driver, networks, ``ForceUpdate``...) replaces the
  tasks, and so does every ``EndpointSpec`` change (ports, ``vip`` <-> ``dnsrr``):
  swarmkit compares the task's endpoint with the service's;
- the mode kind (replicated, global, replicated-job, global-job) cannot be
  updated: the service is removed and created again;
- networks cannot be updated at all (the Engine API has no network update), so any
  change recreates them, and the services attached to them are updated with them;
- configs and secrets: only labels can be updated; a content or other spec change
  means a new object, and the services that reference it are updated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stackctl.core.model.state import ResourceKind
from stackctl.core.plan.compose_keys import compose_key
from stackctl.core.plan.diff_tree import service_mode
from stackctl.core.plan.plan_model import Effect

# Service fields that change without replacing tasks (prefixes of tree paths).
_IN_PLACE_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("Labels",),
    ("Mode", "Replicated", "Replicas"),
    ("UpdateConfig",),
    ("RollbackConfig",),
    ("TaskTemplate", "Placement"),
)

_MODE_NAMES = {
    "Replicated": "replicated",
    "Global": "global",
    "ReplicatedJob": "replicated-job",
    "GlobalJob": "global-job",
}

# Effects ordered by cost, for merging several reasons into one.
_COST = {Effect.NONE: 0, Effect.IN_PLACE: 1, Effect.ROLLING: 2, Effect.REPLACE: 3}


def costlier(a: Effect, b: Effect) -> Effect:
    """The more expensive of two update effects."""
    return a if _COST.get(a, 0) >= _COST.get(b, 0) else b


def _starts_with(path: Sequence[str], prefix: Sequence[str]) -> bool:
    return tuple(path[: len(prefix)]) == tuple(prefix)


def _what_changed(paths: Sequence[Sequence[str]]) -> str:
    """``environment, image`` (the file's keys), or engine names where no key writes the field."""
    names = set()
    for path in paths:
        parts = compose_key(ResourceKind.SERVICE, "_", tuple(path), stack="")
        if parts is not None and parts[0] == "services":
            rest = [p for p in parts[2:] if not p.startswith("[")]
            names.add(".".join(rest[:2] if rest[:1] == ["deploy"] else rest[:1]) or "service")
            continue
        depth = 3 if tuple(path[:2]) == ("TaskTemplate", "ContainerSpec") else 2
        names.add(str(path[min(depth, len(path)) - 1]).split("[")[0])
    shown = sorted(names)
    return ", ".join(shown[:4]) + (f" and {len(shown) - 4} more" if len(shown) > 4 else "")


def classify_service(
    changed: Sequence[Sequence[str]],
    desired_tree: Mapping[str, Any],
    live_tree: Mapping[str, Any],
) -> tuple[Effect, str]:
    """Effect and reason of a service update whose changed tree paths are ``changed``."""
    old_mode, new_mode = service_mode(live_tree), service_mode(desired_tree)
    if old_mode != new_mode:
        return Effect.REPLACE, (
            f"mode {_MODE_NAMES.get(old_mode, old_mode)} -> "
            f"{_MODE_NAMES.get(new_mode, new_mode)} cannot be updated"
        )
    restarting = [p for p in changed if not any(_starts_with(p, x) for x in _IN_PLACE_PREFIXES)]
    if restarting:
        return Effect.ROLLING, f"{_what_changed(restarting)} changed: tasks are replaced"
    if any(_starts_with(p, ("TaskTemplate", "Placement")) for p in changed):
        return Effect.IN_PLACE, (
            "placement changed: tasks move only off nodes that no longer satisfy it"
        )
    return Effect.IN_PLACE, "no task restarts"


def classify_object(
    kind: ResourceKind,
    changed: Sequence[Sequence[str]],
    *,
    content_changed: bool,
) -> tuple[Effect, str]:
    """Effect and reason of a change to a network, config or secret."""
    if kind is ResourceKind.NETWORK:
        return Effect.REPLACE, "networks cannot be updated: removed and created again"
    if content_changed:
        return Effect.REPLACE, "content changed: a new object replaces the old one"
    if all(_starts_with(p, ("Labels",)) for p in changed):
        return Effect.IN_PLACE, "only labels changed"
    return Effect.REPLACE, f"{kind.value}s can only have their labels updated"
