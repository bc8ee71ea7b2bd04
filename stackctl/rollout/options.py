"""Inputs and results of ``run_apply``: options and outcome.

``ServiceResult``/``ServiceStatus`` live in ``events`` (the final event carries
them) and ``FailurePolicy`` in ``policy``; all are re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from stackctl.errors import ExitCode
from stackctl.rollout.events import Outcome, ServiceResult, ServiceStatus
from stackctl.rollout.policy import FailurePolicy
from stackctl.rollout.waves import Dependencies


def _never() -> bool:
    return False


@dataclass(frozen=True)
class ApplyOptions:
    """How to drive a plan. Times are in seconds."""

    on_failure: FailurePolicy = FailurePolicy.ROLLBACK
    max_concurrent: int | None = None  # services rolling out at once; None: no limit
    timeout: float = 600.0  # the whole apply (a rollback gets the same budget again)
    pending_timeout: float = 120.0  # a task that does not start within this fails the service
    max_task_failures: int = 3  # failed attempts of the new spec before the service fails
    poll_interval: float = 0.5
    detach: bool = False  # submit and return without waiting
    dependencies: Dependencies = field(default_factory=lambda: MappingProxyType({}))
    contents: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    """Config/secret payloads by full engine name; never part of a plan."""
    settle: tuple[str, ...] = ()
    """Services the plan does not write that must be seen converged (health gates)
    before anything is written: a re-run over an interrupted apply, whose services
    that apply may have submitted without seeing them healthy."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    should_stop: Callable[[], bool] = _never
    """Polled between steps; True (SIGINT/SIGTERM) ends the apply cleanly."""


@dataclass(frozen=True)
class ApplyOutcome:
    """What an apply did; the CLI renders it and records a revision from it."""

    outcome: Outcome
    services: tuple[ServiceResult, ...]
    duration: float
    message: str = ""
    changed: int = 0  # resource changes submitted (0: nothing written)
    revision: int | None = None  # the revision recorded for it (set by the rollout session)

    @property
    def exit_code(self) -> ExitCode:
        return self.outcome.exit_code


__all__ = ["ApplyOptions", "ApplyOutcome", "FailurePolicy", "ServiceResult", "ServiceStatus"]
