"""The placement preflight's findings as plan text lines (shared by the text and
markdown plans; the JSON plan lists them as data)."""

from __future__ import annotations

from typing import Any

from stackctl.core.plan.plan_model import Plan, PlanFinding

HEADING = "Placement preflight (docs/placement.md):"


def finding_where(finding: PlanFinding) -> str | None:
    """``stack.yml:12`` when the finding was located in the files, else None."""
    location = finding.location
    if location is None or location.file is None:
        return None
    return f"{location.file}:{location.line}" if location.line is not None else location.file


def finding_line(finding: PlanFinding) -> str:
    """``error SC401 services.web.deploy.placement.constraints[...] (stack.yml:12): ...``."""
    key = finding.compose_path or f"service {finding.service}"
    place = finding_where(finding)
    located = f" ({place})" if place else ""
    return f"{finding.severity.value} {finding.code} {key}{located}: {finding.message}"


def blocked_line(plan: Plan) -> str | None:
    """The note that apply will refuse this plan, if it will."""
    errors = len(plan.errors)
    if not errors:
        return None
    return f"apply refuses this plan: {errors} placement error(s); nothing would be written."


def finding_json(finding: PlanFinding) -> dict[str, Any]:
    location = finding.location
    return {
        "severity": finding.severity.value,
        "code": finding.code,
        "service": finding.service,
        "path": finding.compose_path,
        "message": finding.message,
        "hint": finding.hint,
        "file": location.file if location else None,
        "line": location.line if location else None,
        "column": location.column if location else None,
    }
