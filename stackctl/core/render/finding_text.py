"""A finding as one plain line, the same wherever it is shown (pure).

The CLI prints it on stderr; the agent puts it in a pass's message, which its
log, ``agent status``, the JSON API, the status page and notifications show.
"""

from __future__ import annotations

from stackctl.errors import Finding


def format_finding(finding: Finding) -> str:
    """``file:line:col: error SC001 path: message (hint)``."""
    where = str(finding.location)
    text = f"{where}: {finding.severity.value} {finding.code}"
    if finding.path:
        text += f" {finding.path}"
    text += f": {finding.message}"
    if finding.hint:
        text += f" ({finding.hint})"
    return text
