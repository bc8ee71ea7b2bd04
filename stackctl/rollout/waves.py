"""Group services into waves by ``depends_on``.

A service's wave is the length of the longest dependency chain below it, so a
service always rolls out after everything it depends on, directly or through
services this apply does not touch. Every wave waits for the previous one to
converge: convergence includes the health gate (``service_healthy``) and job
completion (``service_completed_successfully``), so it satisfies all three
Compose conditions, ``service_started`` included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stackctl.core.model.model import DependsOn
from stackctl.errors import StackctlError

# Full engine service name -> what it depends on (``DependsOn.service`` is the
# short name, the key under ``services:``).
Dependencies = Mapping[str, tuple[DependsOn, ...]]


class DependencyCycleError(StackctlError):
    """``depends_on`` forms a cycle, so there is no order to roll out in."""


def full_name(stack: str, service: str) -> str:
    return f"{stack}_{service}"


def plan_waves(
    stack: str, services: Iterable[str], dependencies: Dependencies
) -> tuple[tuple[str, ...], ...]:
    """Order ``services`` (full names) into waves; each wave is sorted by name.

    Dependencies on services outside ``services`` still order the ones inside
    (through the chain), but produce no wave of their own.
    """
    graph: dict[str, set[str]] = {}
    for name, deps in dependencies.items():
        graph.setdefault(name, set()).update(full_name(stack, d.service) for d in deps)
    wanted = set(services)
    for name in wanted:
        graph.setdefault(name, set())

    depth: dict[str, int] = {}
    for name in sorted(graph):
        _depth_of(name, graph, depth, [])

    levels: dict[int, list[str]] = {}
    for name in wanted:
        levels.setdefault(depth[name], []).append(name)
    return tuple(tuple(sorted(levels[level])) for level in sorted(levels))


def _depth_of(name: str, graph: dict[str, set[str]], depth: dict[str, int], path: list[str]) -> int:
    if name in depth:
        return depth[name]
    if name in path:
        cycle = [*path[path.index(name) :], name]
        raise DependencyCycleError(
            "depends_on forms a cycle: " + " -> ".join(cycle),
            hint="remove one of these depends_on entries",
        )
    path.append(name)
    below = [_depth_of(dep, graph, depth, path) for dep in sorted(graph.get(name, ()))]
    path.pop()
    depth[name] = 1 + max(below) if below else 0
    return depth[name]
