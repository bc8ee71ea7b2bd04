"""A plan in the words of the stack file: compose keys and where they are written (pure).

``in_compose_words`` names every changed field of a resource change by the
compose key that writes it (``stackctl.core.plan.compose_keys``) and marks
fields that only echo another changed field's key; ``plan_changes`` applies it
to every change. ``locate_plan`` adds, when the plan was made from files, the
file, line and column where each key is written (the last of several merged
files that set it).
"""

from __future__ import annotations

from dataclasses import replace

from stackctl.core.load.source_map import SourceMap
from stackctl.core.plan.compose_keys import compose_key, echoed_by, is_from_stack_name
from stackctl.core.plan.diff_tree import split_path
from stackctl.core.plan.plan_model import FieldChange, Plan, ResourceChange


def in_compose_words(change: ResourceChange, stack: str) -> ResourceChange:
    """``change`` with each field's compose key filled in (echoes marked)."""
    if not change.fields:
        return change
    state = change.desired or change.live
    spec = state.spec if state is not None else None
    keyed: list[tuple[tuple[str, ...], FieldChange]] = []
    for field in change.fields:
        keys = split_path(field.path)
        parts = None
        if not is_from_stack_name(keys):
            parts = compose_key(change.kind, change.name, keys, stack=stack, spec=spec)
        keyed.append((keys, replace(field, compose_parts=parts)))
    primaries = {field.compose_parts for keys, field in keyed if echoed_by(keys) is None}
    fields = tuple(
        replace(field, echo=True)
        if echoed_by(keys) is not None and field.compose_parts in primaries
        else field
        for keys, field in keyed
    )
    return replace(change, fields=fields)


def locate_plan(plan: Plan, source_map: SourceMap) -> Plan:
    """``plan`` with the file location of every field (and preflight finding) that
    has a compose key."""
    changes = tuple(
        replace(
            change,
            fields=tuple(
                field
                if field.compose_parts is None
                else replace(field, location=source_map.locate(field.compose_parts))
                for field in change.fields
            ),
        )
        for change in plan.changes
    )
    findings = tuple(
        finding
        if finding.compose_parts is None
        else replace(finding, location=source_map.locate(finding.compose_parts))
        for finding in plan.findings
    )
    return replace(plan, changes=changes, findings=findings)
