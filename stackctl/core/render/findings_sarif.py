"""Validation findings as a SARIF 2.1.0 log, for code-scanning dashboards (pure).

One run whose tool is stackctl; one rule per finding code (id, title and
explanation from the catalogue of finding codes when it has the code), one
result per finding with its file, line and column as a physical location and
its document path (``services.web.deploy.replicas``) as a logical location.
File paths are relative URIs against ``%SRCROOT%`` (the checkout), as GitHub
code scanning expects; ``tests/unit/validate_formats`` checks the output against
the OASIS SARIF 2.1.0 JSON schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from stackctl.core.render.findings_github import finding_message
from stackctl.errors import Finding, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


@dataclass(frozen=True)
class RuleText:
    """What the catalogue says about one finding code."""

    title: str
    explanation: str | None = None


RuleOf = Callable[[str], RuleText | None]


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def _rule(code: str, first: Finding, rule_of: RuleOf | None) -> dict[str, Any]:
    text = rule_of(code) if rule_of is not None else None
    title = text.title if text is not None else first.message
    rule: dict[str, Any] = {
        "id": code,
        "shortDescription": {"text": title},
        "defaultConfiguration": {"level": _level(first.severity)},
    }
    if text is not None and text.explanation:
        rule["fullDescription"] = {"text": text.explanation}
        rule["help"] = {"text": text.explanation}
    return rule


def _location(finding: Finding) -> list[dict[str, Any]]:
    where = finding.location
    location: dict[str, Any] = {}
    if where.file and not where.file.startswith("<"):
        physical: dict[str, Any] = {
            "artifactLocation": {
                "uri": quote(where.file.replace("\\", "/")),
                "uriBaseId": "%SRCROOT%",
            }
        }
        if where.line is not None and where.line >= 1:
            region: dict[str, Any] = {"startLine": where.line}
            if where.column is not None and where.column >= 1:
                region["startColumn"] = where.column
            physical["region"] = region
        location["physicalLocation"] = physical
    if finding.path:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.path, "kind": "member"}]
    return [location] if location else []


def sarif_log(
    findings: Sequence[Finding], *, version: str, rule_of: RuleOf | None = None
) -> dict[str, Any]:
    """The SARIF log of ``findings`` as JSON-ready data."""
    first_of: dict[str, Finding] = {}
    for finding in findings:
        first_of.setdefault(finding.code, finding)
    codes = sorted(first_of)
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for finding in findings:
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": _level(finding.severity),
            "message": {"text": finding_message(finding)},
        }
        locations = _location(finding)
        if locations:
            result["locations"] = locations
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "stackctl",
                        "version": version,
                        "rules": [_rule(code, first_of[code], rule_of) for code in codes],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the checkout"}}},
                "results": results,
            }
        ],
    }
