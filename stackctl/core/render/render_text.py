"""The human plan, read like Terraform's or Nomad's.

::

    ~ service shop_web  (restarts 3 tasks)
        ~ services.web.deploy.replicas: 5 -> 3   (stack.yml:14)   # drift: changed outside stackctl
        + services.web.environment[FEATURE_X]: "on"   (stack.yml:9)
        ~ services.web.image: "shop/web:1" -> "shop/web:2"   (stack.yml:3)

    Plan: 0 to create, 1 to update (1 rolling, 0 in place), 0 to delete.

Fields are named by the stack-file key that writes them and where it is written
(``stackctl.core.plan.compose_words``); a field no key writes is named by its
engine path and marked so. ``engine_paths=True`` (``diff -v``) lists, under each
key, the Engine API fields it changes.

Pure: returns a string. ``color=True`` adds ANSI colours (the CLI decides, from
the TTY, ``NO_COLOR`` and ``--no-color``).
"""

from __future__ import annotations

from stackctl.core.convert.pinning import (
    DIGEST_FIELD,
    image_of,
    pinned_digest,
    short_digest,
    unpinned,
)
from stackctl.core.plan.plan_model import (
    NOT_IN_FILES,
    SENSITIVE,
    Effect,
    FieldChange,
    FieldOp,
    Plan,
    ResourceChange,
)
from stackctl.core.plan.plan_summary import (
    ENGINE_ONLY,
    MARKERS,
    NO_CHANGES,
    count,
    effect_phrase,
    format_value,
    in_progress_line,
    live_replicas,
    shown_fields,
    where,
)
from stackctl.core.render.plan_findings import HEADING, blocked_line, finding_line
from stackctl.errors import Severity

_ANSI = {
    "green": "\033[32m",
    "red": "\033[31m",
    "yellow": "\033[33m",
    "magenta": "\033[35m",
    "cyan": "\033[36m",
    "bold": "\033[1m",
    "dim": "\033[2m",
}
_RESET = "\033[0m"

_EFFECT_COLOR = {
    Effect.CREATE: "green",
    Effect.DELETE: "red",
    Effect.ROLLING: "yellow",
    Effect.IN_PLACE: "yellow",
    Effect.REPLACE: "magenta",
    Effect.ORPHAN: "dim",
    Effect.NONE: "dim",
}
_OP_MARK = {FieldOp.ADDED: "+", FieldOp.REMOVED: "-", FieldOp.CHANGED: "~"}
_OP_COLOR = {FieldOp.ADDED: "green", FieldOp.REMOVED: "red", FieldOp.CHANGED: "yellow"}
DRIFT_NOTE = "# drift: changed outside stackctl"
DIGEST_PATH = ".".join(DIGEST_FIELD)
IMAGE_PATH = "TaskTemplate.ContainerSpec.Image"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_ANSI[style]}{text}{_RESET}" if color else text


def _value(field: FieldChange, value: object) -> str:
    if field.sensitive and value is not None:
        return SENSITIVE
    return format_value(field.path, value)


def _change_text(path: str, field: FieldChange) -> str:
    if field.op is FieldOp.ADDED:
        return f"{path}: {_value(field, field.new)}"
    if field.op is FieldOp.REMOVED:
        return f"{path}: {_value(field, field.old)}"
    return f"{path}: {_value(field, field.old)} -> {_value(field, field.new)}"


def _field_lines(change: ResourceChange, color: bool, engine_paths: bool) -> list[str]:
    lines = []
    for shown in shown_fields(change):
        field = shown.field
        if field.path == DIGEST_PATH:
            continue  # shown apart, next to the declared image (_digest_line)
        mark = _paint(_OP_MARK[field.op], _OP_COLOR[field.op], color)
        line = f"    {mark} {_change_text(field.shown_path, field)}"
        place = where(field)
        if place is not None:
            line += "   " + _paint(f"({place})", "dim", color)
        elif field.compose_path is None:
            line += "   " + _paint(f"({ENGINE_ONLY})", "dim", color)
        if shown.drift:
            line += "   " + _paint(DRIFT_NOTE, "cyan", color)
        lines.append(line)
        if engine_paths and field.compose_path is not None:
            lines += [
                "        " + _paint(f"engine {_change_text(f.path, f)}", "dim", color)
                for f in shown.engine
            ]
    return lines


def _create_details(change: ResourceChange) -> list[str]:
    if change.desired is None or change.kind.value != "service":
        return []
    spec = change.desired.spec
    image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
    mode = spec.get("Mode") or {"Replicated": {"Replicas": 1}}
    if "Replicated" in mode:
        n = (mode.get("Replicated") or {}).get("Replicas", 1)
        what = f"{n} replica{'s' if n != 1 else ''}"
    elif "ReplicatedJob" in mode:
        n = (mode.get("ReplicatedJob") or {}).get("TotalCompletions", 1)
        what = f"job, {n} completion{'s' if n != 1 else ''}"
    elif "GlobalJob" in mode:
        what = "job, one task per node"
    else:
        what = next(iter(mode), "global").lower()
    digest = pinned_digest(spec)
    if digest is not None:
        image = f"{image_of(unpinned(spec))} ({short_digest(digest)})"
    return [f"      image {image}, {what}"]


def _resource_lines(change: ResourceChange, color: bool, engine_paths: bool) -> list[str]:
    style = _EFFECT_COLOR[change.effect]
    marker = MARKERS[change.effect]
    head = f"{marker} {change.kind.value} {change.name}"
    detail = effect_phrase(change)
    if change.effect is Effect.REPLACE and change.kind.value == "service":
        n = live_replicas(change)
        detail += f", restarts {n} task{'s' if n != 1 else ''}" if n is not None else ""
    notes = [detail]
    if change.reason:
        notes.append(change.reason)
    line = f"  {_paint(head, style, color)}  ({'; '.join(notes)})"
    if change.drift:
        line += "  " + _paint("[drift]", "cyan", color)
    lines = [line]
    if change.effect is Effect.CREATE:
        lines += _create_details(change)
    lines += _field_lines(change, color, engine_paths)
    lines += [_digest_line(change, f, color) for f in change.fields if f.path == DIGEST_PATH]
    return lines


def _digest_line(change: ResourceChange, field: FieldChange, color: bool) -> str:
    """The declared image, and separately where its digest went (a pseudo field)."""
    image = image_of(unpinned(change.desired.spec)) if change.desired is not None else None
    old = field.old if isinstance(field.old, str) else None
    new = field.new if isinstance(field.new, str) else None
    mark = _paint("~", _OP_COLOR[FieldOp.CHANGED], color)
    if any(f.path == IMAGE_PATH for f in change.fields):  # the tag changed too
        return f"    {mark} image digest: {short_digest(old)} \u2192 {short_digest(new)}"
    if old is None:
        what = f"tag unchanged, pinned to its registry digest {short_digest(new)}"
    else:
        what = f"tag unchanged, digest moved: {short_digest(old)} \u2192 {short_digest(new)}"
    return f"    {mark} image {image}: {what}"


def _finding_lines(plan: Plan, color: bool) -> list[str]:
    """The placement preflight's findings, errors red, warnings yellow."""
    if not plan.findings:
        return []
    lines = [HEADING]
    for finding in plan.findings:
        style = "red" if finding.severity is Severity.ERROR else "yellow"
        lines.append("  " + _paint(finding_line(finding), style, color))
    blocked = blocked_line(plan)
    if blocked:
        lines.append(_paint(blocked, "red", color))
    lines.append("")
    return lines


def render_text(plan: Plan, *, color: bool = False, engine_paths: bool = False) -> str:
    """The whole plan as text, ending with the summary line (no trailing newline).

    ``engine_paths``: also list the Engine API fields under each compose key.
    """
    counts = count(plan)
    acting = [c for c in plan.changes if c.effect not in (Effect.ORPHAN, Effect.NONE)]
    orphans = plan.of_effect(Effect.ORPHAN)
    lines: list[str] = []
    if acting:
        lines.append(f"Stack {plan.stack}:")
        lines.append("")
        for change in acting:
            lines += _resource_lines(change, color, engine_paths)
            lines.append("")
    if orphans:
        # --prune deletes those without a reason; a reason says why one stays
        # (a retained revision needs it), and under --prune only those are left
        why = {c.name: c.reason for c in orphans if c.reason not in (None, NOT_IN_FILES)}
        prunable = not plan.prune and len(why) < len(orphans)
        pruned = ""
        if prunable:  # name which ones when a retained revision keeps some of them
            pruned = "; `--prune` deletes " + ("the ones without a reason" if why else "them")
        lines.append(f"No longer in the file (kept{pruned}):")
        lines += [
            f"  {_paint('?', 'dim', color)} {c.kind.value} {c.name}"
            + (f"  ({why[c.name]})" if c.name in why else "")
            for c in orphans
        ]
        lines.append("")
    if counts.drift:
        lines.append(
            _paint(
                f"Drift: {counts.drift} resource(s) changed outside stackctl since the last apply.",
                "cyan",
                color,
            )
        )
    if plan.order:  # a release with jobs in its depends_on graph (docs/hooks.md)
        lines.append("Release order (depends_on):")
        lines += [f"  {step}" for step in plan.order[:-1]]
        lines.append(plan.order[-1])
        lines.append("")
    busy = in_progress_line(plan)
    if busy:
        lines.append(_paint(busy, "cyan", color))
    lines += _finding_lines(plan, color)
    if plan.has_changes:
        lines.append(_paint(counts.line(), "bold", color))
    else:
        lines.append(NO_CHANGES)
    return "\n".join(lines)
