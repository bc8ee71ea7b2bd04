"""``validate --format github|sarif``: findings where CI shows them.

Paths are made relative to the working directory (a CI job runs from the
checkout, which is what GitHub resolves annotation and SARIF paths against).
Rule titles and explanations come from the catalogue of finding codes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from stackctl import __version__
from stackctl.errors import Finding

if TYPE_CHECKING:
    from stackctl.core.render.findings_sarif import RuleText

CI_FORMATS = ("github", "sarif")


def _relative(finding: Finding, cwd: str) -> Finding:
    file = finding.location.file
    if file is None or not os.path.isabs(file) or not file.startswith(cwd + os.sep):
        return finding
    return replace(finding, location=replace(finding.location, file=os.path.relpath(file, cwd)))


def render_findings(fmt: str, findings: Sequence[Finding], cwd: str) -> str:
    """The findings in ``fmt`` (``github`` or ``sarif``)."""

    relative = [_relative(f, cwd) for f in findings]
    if fmt == "github":
        from stackctl.core.render.findings_github import render_github  # noqa: PLC0415 - validate imports this module for CI_FORMATS; load the renderer on use

        return render_github(relative, _title_of)
    from stackctl.core.render.findings_sarif import sarif_log  # noqa: PLC0415 - as above

    log = sarif_log(relative, version=__version__, rule_of=_rule_of)
    return json.dumps(log, indent=2)


def _title_of(code: str) -> str | None:
    rule = _rule_of(code)
    return None if rule is None else rule.title


def _rule_of(code: str) -> RuleText | None:
    """The catalogue's title and explanation of ``code`` (None: not catalogued)."""
    # lazy: help listings import every command module; load this on use
    from stackctl.core.render.findings_sarif import RuleText  # noqa: PLC0415 - as render_github
    from stackctl.core.validate.catalogue import rule  # noqa: PLC0415

    entry = rule(code)
    return None if entry is None else RuleText(entry.title, entry.explanation)
