"""stackctl's public Python API: what the CLI does, as typed functions that never print.

Load and validate stack files, plan them against a cluster, apply a plan while
an event callback watches the rollout, roll back to a stored revision, and read
a stack's history and status. Every function takes the engine connection as its
first argument (``connect()`` makes one from the environment, like the CLI);
problems are raised as ``StackctlError`` (``StackFileError`` carries every
finding of invalid files). Reference and example: docs/reference/python-api.md.

These functions run the same code paths as the commands: stack files go through
``stackctl.core.load``, plans through ``stackctl.engine.planning``, rollouts
through ``stackctl.rollout.runner`` under the stack's in-cluster lock, and every
rollout that writes is recorded as a revision.

The functions live in ``files`` (load, validate), ``plans`` (connect, plan,
observe, rollback plans), ``rollouts`` (apply, rollback) and ``stack_status`` (history,
status); each is imported on first use of one of its names, so ``stackctl
validate`` never loads the planning and rollout layers (start-up time).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stackctl.errors import (
    ExitCode,
    Finding,
    Severity,
    StackctlError,
    StackFileError,
    StalePlanError,
)

if TYPE_CHECKING:
    from stackctl.api.files import Validation, load, validate
    from stackctl.api.plans import StackPlan, connect, observe, plan, plan_rollback, revision_state
    from stackctl.api.rollouts import ApplyResult, ApplySettings, apply, rollback
    from stackctl.api.stack_status import History, Interrupted, StackStatus, history, status
    from stackctl.core.history.revision import GitOrigin
    from stackctl.core.model.model import Stack
    from stackctl.core.plan.plan_model import Plan
    from stackctl.rollout.events import Event, Outcome
    from stackctl.rollout.options import ServiceResult
    from stackctl.rollout.policy import FailurePolicy

__all__ = [
    "ApplyResult",
    "ApplySettings",
    "Event",
    "ExitCode",
    "FailurePolicy",
    "Finding",
    "GitOrigin",
    "History",
    "Interrupted",
    "Outcome",
    "Plan",
    "ServiceResult",
    "Severity",
    "Stack",
    "StackFileError",
    "StackPlan",
    "StackStatus",
    "StackctlError",
    "StalePlanError",
    "Validation",
    "apply",
    "connect",
    "history",
    "load",
    "observe",
    "plan",
    "plan_rollback",
    "revision_state",
    "rollback",
    "status",
    "validate",
]

# Where each lazily imported name is defined (every name of __all__ but the errors).
_HOMES: dict[str, str] = {
    "Validation": "stackctl.api.files",
    "load": "stackctl.api.files",
    "validate": "stackctl.api.files",
    "StackPlan": "stackctl.api.plans",
    "connect": "stackctl.api.plans",
    "observe": "stackctl.api.plans",
    "plan": "stackctl.api.plans",
    "plan_rollback": "stackctl.api.plans",
    "revision_state": "stackctl.api.plans",
    "ApplyResult": "stackctl.api.rollouts",
    "ApplySettings": "stackctl.api.rollouts",
    "apply": "stackctl.api.rollouts",
    "rollback": "stackctl.api.rollouts",
    "History": "stackctl.api.stack_status",
    "Interrupted": "stackctl.api.stack_status",
    "StackStatus": "stackctl.api.stack_status",
    "history": "stackctl.api.stack_status",
    "status": "stackctl.api.stack_status",
    "GitOrigin": "stackctl.core.history.revision",
    "Stack": "stackctl.core.model.model",
    "Plan": "stackctl.core.plan.plan_model",
    "Event": "stackctl.rollout.events",
    "Outcome": "stackctl.rollout.events",
    "FailurePolicy": "stackctl.rollout.policy",
    "ServiceResult": "stackctl.rollout.options",
}


if not TYPE_CHECKING:  # type checkers see the imports above; at run time, on first use

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # later uses are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
