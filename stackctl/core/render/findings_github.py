"""Validation findings as GitHub Actions workflow commands (annotations), pure.

One line per finding, which GitHub shows on the file and line of a pull request
and in the job summary::

    ::error file=stack.yml,line=12,col=5,title=SC201 unknown network::services.web.networks[0]: ...

Escaping follows the Actions toolkit (``@actions/core`` ``command.ts``): in the
message ``%``, CR and LF become ``%25``, ``%0D``, ``%0A``; in property values
``:`` and ``,`` also become ``%3A`` and ``%2C``, so a value can never end the
property list or the command early.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stackctl.errors import Finding, Severity

TitleOf = Callable[[str], str | None]
"""The catalogue title of a finding code (None when the code has none)."""


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def finding_message(finding: Finding) -> str:
    """``path: message (hint)``: the finding's words without its location."""
    text = f"{finding.path}: {finding.message}" if finding.path else finding.message
    return f"{text} ({finding.hint})" if finding.hint else text


def annotation(finding: Finding, title_of: TitleOf | None = None) -> str:
    """One finding as a ``::error``/``::warning`` workflow command."""
    command = "error" if finding.severity is Severity.ERROR else "warning"
    where = finding.location
    props: list[tuple[str, str]] = []
    if where.file:
        props.append(("file", where.file))
        if where.line is not None:
            props.append(("line", str(where.line)))
            if where.column is not None:
                props.append(("col", str(where.column)))
    title = title_of(finding.code) if title_of is not None else None
    props.append(("title", f"{finding.code} {title}" if title else finding.code))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{command} {rendered}::{escape_data(finding_message(finding))}"


def render_github(findings: Sequence[Finding], title_of: TitleOf | None = None) -> str:
    """Every finding as an annotation, one per line (empty when there are none)."""
    return "\n".join(annotation(f, title_of) for f in findings)
