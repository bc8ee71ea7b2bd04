"""The one error hierarchy of stackctl.

Every error carries what a user needs to act on it: where (file:line:column and
the path inside the document), what (a plain message) and what to do (a hint).
The CLI turns these into messages and exit codes; a traceback reaching a user is
a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """Exit codes shared by every command (documented in docs/exit-codes.md)."""

    OK = 0
    """Success: valid, converged, or nothing to do."""
    ERROR = 1
    """Nothing was changed: invalid input, engine unreachable, lock held, stale plan."""
    CHANGES_PENDING = 2
    """`diff` only: the cluster differs from the file."""
    ROLLED_BACK = 3
    """The apply failed and every changed service was returned to its previous state."""
    FAILED = 4
    """The apply failed and was left paused or partially applied."""
    TIMED_OUT = 5
    """Changes were submitted but did not converge in time."""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Location:
    """Where something is in the user's input. Every part is optional."""

    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class Finding:
    """One problem (or warning) found in the user's stack files."""

    severity: Severity
    message: str
    code: str = "SC000"
    """Stable id: SC0xx syntax/schema, SC1xx rollout-safety lints,
    SC2xx semantic checks, SC3xx ignored keys, SC4xx the plan's placement preflight."""
    location: Location = field(default_factory=Location)
    path: str = ""
    """Dotted path in the document, e.g. ``services.web.deploy.replicas``."""
    hint: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "hint": self.hint,
        }


class StackctlError(Exception):
    """Base of every error stackctl reports to a user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        location: Location | None = None,
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location
        self.path = path


class StackFileError(StackctlError):
    """The stack files are invalid; carries every finding at once."""

    def __init__(self, findings: list[Finding]) -> None:
        errors = [f for f in findings if f.severity is Severity.ERROR]
        first = errors[0] if errors else (findings[0] if findings else None)
        summary = f"{len(errors)} error(s) in stack files"
        super().__init__(
            summary if first is None else f"{summary}; first: {first.message}",
            location=first.location if first else None,
            path=first.path if first else "",
        )
        self.findings = findings


class EngineError(StackctlError):
    """The Docker engine could not be reached or refused a request."""


class LockHeldError(StackctlError):
    """Another stackctl process holds the stack's lock."""


class StalePlanError(StackctlError):
    """A saved plan no longer matches the cluster."""


class UserAbort(StackctlError):
    """The user declined a confirmation prompt (or none could be shown)."""
