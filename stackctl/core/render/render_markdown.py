"""The plan as Markdown for pull-request comments: a summary and a collapsible table."""

from __future__ import annotations

from stackctl.core.plan.plan_model import SENSITIVE, Effect, FieldChange, FieldOp, Plan
from stackctl.core.plan.plan_summary import (
    ENGINE_ONLY,
    MARKERS,
    NO_CHANGES,
    count,
    effect_phrase,
    format_value,
    in_progress_line,
    shown_fields,
    where,
)
from stackctl.core.render.plan_findings import HEADING, blocked_line, finding_line
from stackctl.errors import Severity


def _cell(text: str) -> str:
    # Pipes end a table cell and newlines a row; backticks would end the code span.
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def _value(field: FieldChange, value: object) -> str:
    if value is None:
        return ""
    if field.sensitive:
        return f"_{SENSITIVE}_"
    return _code(format_value(field.path, value))


def render_markdown(plan: Plan) -> str:
    counts = count(plan)
    lines = [f"### stackctl plan for `{_cell(plan.stack)}`", ""]
    lines.append(f"**{counts.line() if plan.has_changes else NO_CHANGES}**")
    busy = in_progress_line(plan)
    if busy:
        lines += ["", _cell(busy)]
    if counts.drift:
        lines += [
            "",
            f"⚠️ {counts.drift} resource(s) changed outside stackctl since the last apply.",
        ]
    if plan.order:  # a release with jobs in its depends_on graph (docs/hooks.md)
        lines += ["", "Release order (depends_on):", ""]
        lines += [_cell(step) for step in plan.order[:-1]]
        lines += ["", _cell(plan.order[-1])]
    if plan.findings:
        lines += ["", f"**{HEADING}**", ""]
        icon = {Severity.ERROR: "❌", Severity.WARNING: "⚠️"}
        lines += [f"- {icon[f.severity]} {_cell(finding_line(f))}" for f in plan.findings]
        blocked = blocked_line(plan)
        if blocked:
            lines += ["", f"**{_cell(blocked)}**"]
    if not plan.changes:
        return "\n".join(lines) + "\n"
    lines += ["", "| | Resource | Effect | Fields | Drift |", "|---|---|---|---|---|"]
    for change in plan.changes:
        effect = effect_phrase(change)
        if change.reason and change.effect is not Effect.ORPHAN:
            effect += f" ({change.reason})"
        lines.append(
            f"| `{MARKERS[change.effect]}` | {change.kind.value} {_code(change.name)} "
            f"| {_cell(effect)} | {len(shown_fields(change))} | {'yes' if change.drift else ''} |"
        )
    with_fields = [c for c in plan.changes if c.fields]
    if with_fields:
        lines += ["", "<details><summary>Field changes</summary>", ""]
        lines += [
            "| Resource | Key | Change | Old | New | Where | Drift |",
            "|---|---|---|---|---|---|---|",
        ]
        for change in with_fields:
            for shown in shown_fields(change):
                field = shown.field
                op = {FieldOp.ADDED: "added", FieldOp.REMOVED: "removed"}.get(field.op, "changed")
                place = where(field)
                key = _code(field.shown_path)
                if field.compose_path is None:
                    key += f" _({ENGINE_ONLY})_"
                lines.append(
                    f"| {_code(change.name)} | {key} | {op} "
                    f"| {_value(field, field.old)} | {_value(field, field.new)} "
                    f"| {_code(place) if place else ''} | {'yes' if shown.drift else ''} |"
                )
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
