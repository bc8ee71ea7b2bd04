"""The machine-readable plan (``diff --json``), documented in docs/json-formats.md.

Versioned with ``apiVersion: stackctl/v1`` and ``kind: Plan``. Each field has
``path`` (the stack-file key, e.g. ``services.web.image``; the engine path when no
key writes it, then ``engineOnly`` is true) and ``engine_path`` side by side. Values are the
plan's own, already redacted: a sensitive env value is the string ``(sensitive)``
with ``"sensitive": true``.
"""

from __future__ import annotations

from typing import Any

from stackctl.core.plan.plan_model import (
    PLAN_API_VERSION,
    PLAN_KIND,
    FieldChange,
    Plan,
    ResourceChange,
)
from stackctl.core.plan.plan_summary import count, live_replicas
from stackctl.core.render.plan_findings import finding_json


def _field_json(field: FieldChange) -> dict[str, Any]:
    location = field.location
    return {
        "path": field.shown_path,
        "engine_path": field.path,
        "engineOnly": field.compose_path is None,
        "echo": field.echo,
        "location": None
        if location is None or location.file is None
        else {"file": location.file, "line": location.line, "column": location.column},
        "op": field.op.value,
        "old": field.old,
        "new": field.new,
        "sensitive": field.sensitive,
        "drift": field.drift,
    }


def _change_json(change: ResourceChange) -> dict[str, Any]:
    return {
        "kind": change.kind.value,
        "name": change.name,
        "effect": change.effect.value,
        "restartsTasks": change.restarts_tasks,
        "liveReplicas": live_replicas(change),
        "drift": change.drift,
        "reason": change.reason,
        "fields": [_field_json(f) for f in change.fields],
    }


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data (``json.dumps`` it with ``sort_keys`` for stable output)."""
    counts = count(plan)
    return {
        "apiVersion": PLAN_API_VERSION,
        "kind": PLAN_KIND,
        "stack": plan.stack,
        "prune": plan.prune,
        "hasChanges": plan.has_changes,
        "summary": {
            "create": counts.create,
            "update": counts.update,
            "rolling": counts.rolling,
            "inPlace": counts.in_place,
            "replace": counts.replace,
            "delete": counts.delete,
            "orphan": counts.orphan,
            "drift": counts.drift,
        },
        "changes": [_change_json(c) for c in plan.changes],
        "inProgress": list(plan.in_progress),
        "order": list(plan.order),
        "findings": [finding_json(f) for f in plan.findings],
    }
