"""Group findings that say the same thing at many places (pure).

A generated file with 1,000 services can carry the same warning on every one
(SC103 with Swarm's default monitor): text output prints it once, with its
count and the first few locations; JSON output keeps every finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stackctl.errors import Finding, Severity


@dataclass(frozen=True)
class FindingGroup:
    """Findings equal but for their place, in file order (``findings[0]`` first)."""

    findings: tuple[Finding, ...]

    @property
    def first(self) -> Finding:
        return self.findings[0]


def group_repeated(findings: Iterable[Finding]) -> list[FindingGroup]:
    """Warnings with the same code, message and hint form one group, placed where the
    first of them was; every error stays on its own (each one must be fixed)."""
    groups: dict[object, list[Finding]] = {}
    for index, finding in enumerate(findings):
        key: object = (
            (finding.severity, finding.code, finding.message, finding.hint)
            if finding.severity is Severity.WARNING
            else index
        )
        groups.setdefault(key, []).append(finding)
    return [FindingGroup(tuple(members)) for members in groups.values()]
