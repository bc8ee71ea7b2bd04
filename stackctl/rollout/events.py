"""Typed events the rollout emits while it applies a plan.

The runner never prints: it calls ``emit(event)`` and the CLI decides how to
show it (a live table on a TTY, one plain line per event in CI, JSON lines
with ``--json``). Every event can describe itself as a line and as JSON.
Events never carry config or secret content.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

# The one outcome type lives with the revision model; re-exported for event consumers.
from stackctl.core.history.revision import Outcome as Outcome


class ServiceStatus(StrEnum):
    CONVERGED = "converged"
    SUBMITTED = "submitted"  # --detach
    FAILED = "failed"
    IN_PROGRESS = "in_progress"  # left rolling (timeout, interrupt, pause)
    NOT_STARTED = "not_started"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    REMOVED = "removed"  # pruned, or created by this apply and removed by its rollback


@dataclass(frozen=True)
class ServiceResult:
    name: str
    effect: str  # planned: create | rolling | in-place | replace | delete; none: only waited for
    status: ServiceStatus
    reason: str = ""


@dataclass(frozen=True)
class Event:
    """Base of every rollout event."""

    elapsed: float  # seconds since the apply started

    @property
    def kind(self) -> str:
        """Stable snake_case event name used in JSON output."""
        name = type(self).__name__
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, StrEnum):
                value = value.value
            elif isinstance(value, tuple):
                value = [asdict(v) if hasattr(v, "__dataclass_fields__") else v for v in value]
            data[f.name] = round(value, 3) if f.name == "elapsed" else value
        return data

    def describe(self) -> str:
        """One plain line for logs (no colour, no timestamp)."""
        return self.kind.replace("_", " ")


@dataclass(frozen=True)
class ApplyStarted(Event):
    stack: str
    changes: int  # resource changes that write something
    waves: tuple[tuple[str, ...], ...]  # services, grouped into waves

    def describe(self) -> str:
        wave_text = " -> ".join("[" + ", ".join(w) + "]" for w in self.waves) or "none"
        return f"apply {self.stack}: {self.changes} change(s); service waves: {wave_text}"


@dataclass(frozen=True)
class ResourceCreated(Event):
    resource_kind: str
    name: str

    def describe(self) -> str:
        return f"{self.resource_kind} {self.name}: created"


@dataclass(frozen=True)
class ResourceUpdated(Event):
    resource_kind: str
    name: str
    effect: str  # rolling | in-place | replace

    def describe(self) -> str:
        return f"{self.resource_kind} {self.name}: update submitted ({self.effect})"


@dataclass(frozen=True)
class ResourceRemoved(Event):
    resource_kind: str
    name: str
    reason: str  # prune | superseded | rollback | replace

    def describe(self) -> str:
        return f"{self.resource_kind} {self.name}: removed ({self.reason})"


@dataclass(frozen=True)
class ServiceProgress(Event):
    service: str
    phase: str  # pending | updating | rolling_back | converging
    updated: int  # tasks running the new spec
    desired: int  # replicas (or eligible nodes, or job completions)
    healthy: int  # running tasks that passed their health check (Swarm reports
    # a health-checked task as running only once it is healthy)
    failed: int  # tasks of the new spec that failed or were rejected
    message: str = ""

    def describe(self) -> str:
        text = (
            f"service {self.service}: {self.phase} {self.updated}/{self.desired} updated, "
            f"{self.healthy}/{self.desired} healthy"
        )
        if self.failed:
            text += f", {self.failed} failed"
        if self.message:
            text += f" ({self.message})"
        return text


@dataclass(frozen=True)
class ServiceConverged(Event):
    service: str

    def describe(self) -> str:
        return f"service {self.service}: converged"


@dataclass(frozen=True)
class ServiceFailed(Event):
    service: str
    reason: str
    task_error: str = ""

    def describe(self) -> str:
        text = f"service {self.service}: FAILED: {self.reason}"
        if self.task_error:
            text += f" (task error: {self.task_error})"
        return text


@dataclass(frozen=True)
class ServiceSkipped(Event):
    service: str
    reason: str

    def describe(self) -> str:
        return f"service {self.service}: not started ({self.reason})"


@dataclass(frozen=True)
class ApplyWarning(Event):
    message: str

    def describe(self) -> str:
        return f"warning: {self.message}"


@dataclass(frozen=True)
class RollbackStarted(Event):
    services: tuple[str, ...]
    reason: str

    def describe(self) -> str:
        return f"rolling back {len(self.services)} service(s): {self.reason}"


@dataclass(frozen=True)
class RollbackFinished(Event):
    succeeded: bool
    message: str = ""

    def describe(self) -> str:
        state = "rollback finished" if self.succeeded else "rollback FAILED"
        return f"{state}{': ' + self.message if self.message else ''}"


@dataclass(frozen=True)
class ApplyFinished(Event):
    outcome: Outcome
    exit_code: int
    message: str = ""
    services: tuple[ServiceResult, ...] = ()  # the state each service was left in

    def describe(self) -> str:
        text = f"apply {self.outcome.value} (exit {self.exit_code}) in {self.elapsed:.1f}s"
        return f"{text}: {self.message}" if self.message else text
