"""Release hooks: jobs ordered by ``depends_on`` around the services of a release.

A *hook* is a job (``deploy.mode: replicated-job`` or ``global-job``) in the
``depends_on`` graph:

- a job that other services depend on (``condition: service_completed_successfully``,
  a migration) runs when its own spec changes (typically its image, the release);
  the rollout waits for it to complete before it touches what depends on it;
- a job that depends on services (``condition: service_healthy``, a smoke test)
  runs *again* whenever this release writes one of them, directly or through the
  chain, even when its own spec did not change: the plan lists it as a re-run
  (``Effect.ROLLING``, no field changes, a reason). Swarm runs a job again on
  every update of its service, even with an identical spec (``JobIteration``
  increments; checked on Engine 20.10), so writing the spec is the re-run.

``with_hook_runs`` adds those re-runs and, when the release touches a job, the
release order in words (``Plan.order``) that the renderers print. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from stackctl.core.model.model import DependsOn
from stackctl.core.model.state import APPLY_ORDER, ClusterState, ResourceKind
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange

# Full engine service name -> its depends_on (``DependsOn.service`` is the key under
# ``services:``), as ``stackctl.core.convert.rollout_inputs.dependencies_of`` makes it.
Dependencies = Mapping[str, tuple[DependsOn, ...]]

JOB_MODE_KEYS = ("ReplicatedJob", "GlobalJob")
WRITING = (Effect.CREATE, Effect.ROLLING, Effect.IN_PLACE, Effect.REPLACE)
RERUN_REASON = "job runs again: it depends on {what}, which this release changes"


def is_job_spec(spec: Mapping[str, Any] | None) -> bool:
    """A service spec in one of Swarm's job modes."""
    mode = (spec or {}).get("Mode") or {}
    return any(key in mode for key in JOB_MODE_KEYS)


def is_rerun(change: ResourceChange) -> bool:
    """A job written only to run it again (no field of it changed)."""
    return change.reason is not None and change.reason.startswith("job runs again")


def with_hook_runs(
    plan: Plan, desired: ClusterState, live: ClusterState, dependencies: Dependencies
) -> Plan:
    """``plan`` plus the re-runs of jobs that depend on what it writes, and its order.

    Idempotent: a job already written by the plan is left as it is.
    """
    stack = plan.stack
    graph = {name: {f"{stack}_{d.service}" for d in deps} for name, deps in dependencies.items()}
    changes = {c.name: c for c in plan.changes if c.kind is ResourceKind.SERVICE}
    written = {name for name, c in changes.items() if c.effect in WRITING}
    added: list[ResourceChange] = []
    for name in sorted(desired.services):
        if name in written or not is_job_spec(desired.services[name].spec):
            continue
        current = live.services.get(name)
        if current is None or current.id is None:
            continue
        below = _below(name, graph) & written
        if not below:
            continue
        # name what it depends on directly when that is written, else the chain's
        direct = graph.get(name, set()) & written
        what = ", ".join(_short(stack, n) for n in sorted(direct or below))
        added.append(
            ResourceChange(
                ResourceKind.SERVICE,
                name,
                Effect.ROLLING,
                desired=desired.services[name],
                live=current,
                reason=RERUN_REASON.format(what=what),
            )
        )
    if added:
        rerun = {a.name for a in added}
        kept = [c for c in plan.changes if not (c.kind is ResourceKind.SERVICE and c.name in rerun)]
        order = {kind: i for i, kind in enumerate(APPLY_ORDER)}
        merged = sorted([*kept, *added], key=lambda c: (order[c.kind], c.name))
        plan = replace(plan, changes=tuple(merged))
    return replace(plan, order=release_order(plan, desired, graph))


def release_order(
    plan: Plan, desired: ClusterState, graph: Mapping[str, set[str]]
) -> tuple[str, ...]:
    """The release in words, step by step, when it writes a job that is part of the
    ``depends_on`` graph (else nothing: an ordinary plan reads as before)."""
    stack = plan.stack
    written = {
        c.name: c for c in plan.changes if c.kind is ResourceKind.SERVICE and c.effect in WRITING
    }
    in_graph = set(graph) | {d for deps in graph.values() for d in deps}
    jobs = {n for n, c in written.items() if n in in_graph and _is_job(c)}
    if not jobs:
        return ()
    depth: dict[str, int] = {}
    try:
        for name in written:
            _depth(name, graph, depth, ())
    except ValueError:  # a cycle: the rollout refuses it with its own message
        return ()
    steps: dict[int, list[str]] = {}
    for name in written:
        steps.setdefault(depth[name], []).append(name)
    lines = []
    for number, level in enumerate(sorted(steps), start=1):
        parts = [_step(stack, name, written[name], graph, written) for name in sorted(steps[level])]
        lines.append(f"{number}. " + "; ".join(parts))
    lines.append(
        "A job that fails or does not complete stops the release here and rolls it back "
        "(exit 3); what a job already did to data is not undone."
    )
    return tuple(lines)


def _step(
    stack: str,
    name: str,
    change: ResourceChange,
    graph: Mapping[str, set[str]],
    written: Mapping[str, ResourceChange],
) -> str:
    short = _short(stack, name)
    dependants = sorted(
        _short(stack, other) for other, deps in graph.items() if name in deps and other in written
    )
    after = sorted(_short(stack, d) for d in graph.get(name, ()) if d in written)
    if _is_job(change):
        verb = "runs again" if is_rerun(change) else "runs"
        text = f"{short} (job) {verb} to completion"
        if after:
            text += f", after {', '.join(after)} is healthy"
        if dependants:
            text += f", before {', '.join(dependants)}"
        return text
    what = {
        Effect.CREATE: "is created",
        Effect.ROLLING: "rolls out",
        Effect.IN_PLACE: "is updated in place",
        Effect.REPLACE: "is recreated",
    }.get(change.effect, "is updated")
    text = f"{short} {what}, gated on health"
    if after:
        text += f", after {', '.join(after)}"
    return text


def _is_job(change: ResourceChange) -> bool:
    state = change.desired if change.desired is not None else change.live
    return state is not None and is_job_spec(state.spec)


def _below(name: str, graph: Mapping[str, set[str]]) -> set[str]:
    """Every service ``name`` depends on, directly or through others."""
    seen: set[str] = set()
    todo = list(graph.get(name, ()))
    while todo:
        current = todo.pop()
        if current in seen or current == name:
            continue
        seen.add(current)
        todo.extend(graph.get(current, ()))
    return seen


def _depth(
    name: str, graph: Mapping[str, set[str]], depth: dict[str, int], path: tuple[str, ...]
) -> int:
    if name in depth:
        return depth[name]
    if name in path:
        raise ValueError(name)
    below = [_depth(d, graph, depth, (*path, name)) for d in sorted(graph.get(name, ()))]
    depth[name] = 1 + max(below) if below else 0
    return depth[name]


def _short(stack: str, name: str) -> str:
    return name.removeprefix(f"{stack}_")
