"""Counts and per-change facts every plan renderer shows the same way."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from stackctl.core.model.state import ResourceKind
from stackctl.core.plan.hooks import is_job_spec
from stackctl.core.plan.plan_model import Effect, FieldChange, Plan, ResourceChange


@dataclass(frozen=True)
class PlanCounts:
    create: int
    rolling: int
    in_place: int
    replace: int
    delete: int
    orphan: int
    drift: int  # resources with changes made outside stackctl

    @property
    def update(self) -> int:
        return self.rolling + self.in_place + self.replace

    def line(self) -> str:
        """``Plan: 1 to create, 3 to update (2 rolling, 1 in place), 0 to delete.``"""
        parts = [f"{self.rolling} rolling", f"{self.in_place} in place"]
        if self.replace:
            parts.append(f"{self.replace} recreate")
        return (
            f"Plan: {self.create} to create, {self.update} to update ({', '.join(parts)}), "
            f"{self.delete} to delete."
        )


NO_CHANGES = "No changes. The stack matches the file."


def in_progress_line(plan: Plan) -> str | None:
    """The note for services Swarm is still rolling out to the file's spec, if any."""
    if not plan.in_progress:
        return None
    return (
        f"Still rolling out: {', '.join(plan.in_progress)} (Swarm is updating them to this "
        "spec; apply waits for them)."
    )


def count(plan: Plan) -> PlanCounts:
    def n(effect: Effect) -> int:
        return len(plan.of_effect(effect))

    return PlanCounts(
        create=n(Effect.CREATE),
        rolling=n(Effect.ROLLING),
        in_place=n(Effect.IN_PLACE),
        replace=n(Effect.REPLACE),
        delete=n(Effect.DELETE),
        orphan=n(Effect.ORPHAN),
        drift=sum(1 for c in plan.changes if c.drift),
    )


def live_replicas(change: ResourceChange) -> int | None:
    """Replicas of the live service (the tasks an update restarts); None if global/unknown."""
    if change.kind is not ResourceKind.SERVICE or change.live is None:
        return None
    replicated = (change.live.spec.get("Mode") or {}).get("Replicated")
    if not isinstance(replicated, dict):
        return None
    replicas = replicated.get("Replicas", 1)
    return replicas if isinstance(replicas, int) else None


def effect_phrase(change: ResourceChange) -> str:
    """``restarts 3 tasks``, ``in place``, ``recreate``, ``create``..."""
    effect = change.effect
    state = change.desired or change.live
    if effect is Effect.ROLLING and state is not None and is_job_spec(state.spec):
        return "runs the job"  # any update of a job runs it again (docs/hooks.md)
    if effect is Effect.ROLLING:
        n = live_replicas(change)
        if n is None:
            return "restarts all tasks"
        return f"restarts {n} task{'s' if n != 1 else ''}"
    return {
        Effect.CREATE: "create",
        Effect.DELETE: "delete",
        Effect.ORPHAN: "orphaned, kept",
        Effect.IN_PLACE: "in place",
        Effect.REPLACE: "recreate",
        Effect.NONE: "no change",
    }[effect]


MARKERS = {
    Effect.CREATE: "+",
    Effect.DELETE: "-",
    Effect.ROLLING: "~",
    Effect.IN_PLACE: "~",
    Effect.REPLACE: "-/+",
    Effect.ORPHAN: "?",
    Effect.NONE: " ",
}

# Fields the Engine API holds in nanoseconds: shown as durations.
_DURATION_FIELD = re.compile(
    r"(Delay|Monitor|Interval|Timeout|StartPeriod|StopGracePeriod|Window)$"
)


def _duration(ns: int) -> str:
    if ns == 0:
        return "0s"
    for unit, size in (("h", 3_600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def format_value(path: str, value: Any) -> str:
    """One value as a plan shows it: strings quoted, durations humanised, JSON otherwise."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and _DURATION_FIELD.search(path):
        return _duration(value)
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


ENGINE_ONLY = "engine field: no key of the file sets it"


@dataclass(frozen=True)
class ShownField:
    """One line of a plan in the file's words: a compose key (or an engine-only field)
    and the engine fields behind it (several when a key writes more than one)."""

    field: FieldChange  # the field whose values are shown
    engine: tuple[FieldChange, ...]  # every engine field of this key, in engine-path order

    @property
    def drift(self) -> bool:
        return any(f.drift for f in self.engine)


def shown_fields(change: ResourceChange) -> list[ShownField]:
    """The change's fields grouped by compose key, sorted by what is shown.

    Echo fields (``FieldChange.echo``) are listed under the key they echo but
    their values are not shown; engine-only fields stand alone.
    """
    groups: dict[str, list[FieldChange]] = {}
    for field in change.fields:
        key = field.compose_path if field.compose_path is not None else f"\0{field.path}"
        groups.setdefault(key, []).append(field)
    out = []
    for key in sorted(groups, key=lambda k: k.lstrip("\0")):
        members = groups[key]
        shown = next((f for f in members if not f.echo), members[0])
        out.append(ShownField(shown, tuple(members)))
    return out


def where(field: FieldChange) -> str | None:
    """``stack.yml:12`` for a field whose key the files hold, else None."""
    location = field.location
    if location is None or location.file is None:
        return None
    return f"{location.file}:{location.line}" if location.line is not None else location.file
