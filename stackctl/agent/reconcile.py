"""One pass over one stack: ask git, decide, plan, apply only a non-empty plan, report.

Reads per idle pass are constant per stack (not per service): the agent-state
config, the revision list, and the stack's observation. Writes happen only
when something changes: an apply (under the stack lock) and the agent state's
labels when the reported outcome, commit or message changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from stackctl.agent import deploy
from stackctl.agent.config import StackConfig
from stackctl.agent.decide import Action, decide, sync_key
from stackctl.agent.git_source import GitError, GitSource
from stackctl.agent.state import AgentState, state_from_labels, state_to_labels
from stackctl.core.history.revision import GitOrigin, current_number
from stackctl.core.plan.plan_model import Effect, Plan
from stackctl.core.render.finding_text import format_finding
from stackctl.engine.agent_state import read_state_labels, update_state_labels
from stackctl.engine.client import EngineClient
from stackctl.engine.revisions import RevisionStore, RevisionSummary
from stackctl.errors import (
    EngineError,
    ExitCode,
    Finding,
    LockHeldError,
    Severity,
    StackctlError,
    StackFileError,
)
from stackctl.rollout.events import Event

# Every outcome of a pass, with the exit code ``agent --once`` gives it.
EXIT_CODES: dict[str, int] = {
    "applied": ExitCode.OK,
    "no_change": ExitCode.OK,
    "suspended": ExitCode.OK,
    "paused": ExitCode.OK,  # a person rolled back: standing still is the right answer
    "held": ExitCode.OK,  # reported (with its exit code) on the pass that failed
    "locked": ExitCode.OK,  # another apply holds the lock; the next pass looks again
    "drift_detected": ExitCode.CHANGES_PENDING,
    "error": ExitCode.ERROR,
    "rolled_back": ExitCode.ROLLED_BACK,
    "failed": ExitCode.FAILED,
    "interrupted": ExitCode.FAILED,
    "timed_out": ExitCode.TIMED_OUT,
}
# A rollout's own outcome values, as a pass reports them.
_ROLLOUT = {
    "applied": "applied",
    "submitted": "applied",
    "rolled_back": "rolled_back",
    "paused": "failed",  # on_failure: pause; the stack is left paused, not "paused by a person"
    "failed": "failed",
    "timed_out": "timed_out",
    "interrupted": "interrupted",
    "not_applied": "error",
    "no_change": "no_change",
}
MAX_FINDINGS_SHOWN = 5
PLACEMENT_CODES = "SC4"


@dataclass(frozen=True)
class PassResult:
    """How one stack's pass ended (also the JSON line ``agent --once --json`` prints)."""

    stack: str
    outcome: str
    commit: str = ""
    message: str = ""
    revision: int | None = None
    duration: float = 0.0
    api_calls: int = 0
    api_writes: int = 0
    # what an ``error`` pass (or a failed state write) ran into: git, engine,
    # stack_files or other; "" when nothing did. Metrics count git and engine errors
    # from it instead of parsing messages.
    error_kind: str = ""
    services: tuple[str, ...] = ()  # the services an apply changed

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]

    @property
    def is_error(self) -> bool:
        return self.outcome == "error"

    def to_json(self) -> dict[str, object]:
        return {
            "stack": self.stack,
            "outcome": self.outcome,
            "commit": self.commit,
            "message": self.message,
            "revision": self.revision,
            "duration": round(self.duration, 3),
            "engineCalls": self.api_calls,
            "engineWrites": self.api_writes,
            "servicesChanged": list(self.services),
        }

    def describe(self) -> str:
        at = f" at {self.commit[:12]}" if self.commit else ""
        rev = f" (revision {self.revision})" if self.revision else ""
        text = f"stack {self.stack}: {self.outcome}{at}{rev}"
        return f"{text}: {self.message}" if self.message else text


@dataclass
class StackMemory:
    """What a stack's passes remember in this process (nothing here is needed to restart)."""

    planned: str = ""  # commit + sources + live fingerprint of the last empty-plan pass
    failures: int = 0  # consecutive error passes, for the backoff
    last: PassResult | None = None
    extra: dict[str, str] = field(default_factory=dict)


def describe_findings(commit: str, findings: list[Finding]) -> str:
    """The first few errors, each as the CLI prints it, after what refused the commit:
    ``invalid stack files in commit 1a2b3c4d5e6f: shop/stack.yml:12:5: error SC201 ...``.
    """
    errors = [f for f in findings if f.severity is Severity.ERROR] or findings
    shown = [format_finding(f) for f in errors[:MAX_FINDINGS_SHOWN]]
    more = len(errors) - len(shown)
    # SC4xx codes are the plan's placement preflight (stackctl.errors.Finding.code):
    # the files are valid, the cluster's nodes cannot run them
    preflight = all(f.code.startswith(PLACEMENT_CODES) for f in errors)
    what = (
        f"the placement preflight refused commit {commit[:12]} (nothing was written)"
        if preflight
        else f"invalid stack files in commit {commit[:12]}"
    )
    text = f"{what}: " + "; ".join(shown)
    return text + (f" (and {more} more)" if more > 0 else "")


class StackPass:
    """Runs one pass of one stack; ``run()`` never raises a ``StackctlError``."""

    def __init__(
        self,
        config: StackConfig,
        client: EngineClient,
        git: GitSource,
        memory: StackMemory,
        *,
        should_stop: Callable[[], bool],
        emit: Callable[[str, Event], None],
    ) -> None:
        self.config = config
        self.client = client
        self.git = git
        self.memory = memory
        self.should_stop = should_stop
        self.emit = emit
        self.commit = ""
        self.changed: tuple[str, ...] = ()

    def run(self) -> PassResult:
        started = time.monotonic()
        before = self.client.api_calls()
        error_kind = ""
        try:
            outcome, message, revision = self._run()
        except StackFileError as error:
            outcome, message, revision = (
                "error",
                describe_findings(self.commit, error.findings),
                None,
            )
            error_kind = "stack_files"
        except StackctlError as error:
            prefix = f"commit {self.commit[:12]}: " if self.commit else ""
            kind = "git" if isinstance(error, GitError) else "error"
            outcome, message, revision = "error", f"{kind}: {prefix}{error.message}", None
            error_kind = _error_kind(error)
        result = self._finish(outcome, message, revision)
        after = self.client.api_calls()
        return replace(
            result,
            error_kind=result.error_kind or error_kind,
            duration=time.monotonic() - started,
            api_calls=after.total - before.total,
            api_writes=after.writes - before.writes,
        )

    def _finish(self, outcome: str, message: str, revision: int | None) -> PassResult:
        self.memory.failures = self.memory.failures + 1 if outcome == "error" else 0
        result = PassResult(
            self.config.name, outcome, self.commit, message, revision, services=self.changed
        )
        try:
            self._report(result)
        except StackctlError as error:  # the engine went away: the result still stands
            result = replace(
                result,
                message=f"{message} (state not stored: {error.message})",
                error_kind=_error_kind(error),
            )
        self.memory.last = result
        return result

    def _report(self, result: PassResult) -> None:
        def change(labels: object) -> dict[str, str]:
            state = state_from_labels(labels)  # type: ignore[arg-type]
            new = state.reported(result.outcome, result.commit, result.message)
            if result.outcome in ("applied", "no_change") and self.commit:
                new = replace(new, synced=sync_key(self.commit, self.config.files))
            return state_to_labels(new)

        update_state_labels(self.client, self.config.name, change)

    def _state(self) -> AgentState:
        return state_from_labels(read_state_labels(self.client, self.config.name))

    def _run(self) -> tuple[str, str, int | None]:
        name = self.config.name
        self.commit = self.git.remote_commit()
        state = self._state()
        revisions = RevisionStore(self.client, name).list()
        decision = decide(self.commit, self.config.files, revisions, state)
        if decision.action in (Action.SUSPENDED, Action.PAUSED, Action.HELD):
            return decision.action.value, decision.reason, decision.revision
        checkout = self.git.checkout(self.commit)
        self.commit = checkout.commit
        loaded = deploy.load(
            checkout.path,
            self.config.files,
            self.config.env_files,
            self.config.age_identity_files,
        )
        stack = loaded.stack
        assert stack is not None  # load raises on errors
        live = deploy.observe(self.client, name, stack)
        seen = "|".join(
            (
                self.commit,
                stack.source_digest or "",
                decision.action.value,
                deploy.fingerprint(live),
            )
        )
        # An apply of ours that was cut short (killed, or stopped) may have written all
        # its specs: the plan is empty, yet the revision never said "applied". Deploying
        # again finishes it (health gates, then a revision marked with the outcome).
        finishing = decision.action is Action.DEPLOY and _unfinished(revisions)
        if seen == self.memory.planned and not finishing:
            return "no_change", "", None  # nothing moved since the last empty plan
        planned = deploy.plan(
            self.client,
            name,
            loaded,
            prune=self.config.prune,
            resolve_image=self.config.apply.resolve_image,
        )
        if not planned.has_changes and not finishing:
            self.memory.planned = seen
            return "no_change", "", None
        self.memory.planned = ""
        if decision.action is Action.CHECK and self.config.drift == "report":
            return "drift_detected", _drift_message(planned.plan), None
        origin = GitOrigin(
            repo=self.git.shown,
            commit=self.commit,
            ref=self.config.branch or self.config.ref or "",
            files=self.config.files,
        )
        try:
            applied = deploy.apply(
                self.client,
                planned,
                self.config.apply,
                origin=origin,
                should_stop=self.should_stop,
                emit=lambda event: self.emit(name, event),
            )
        except LockHeldError as error:
            return "locked", error.message, None
        self.changed = applied.services
        prefix = "drift corrected: " if decision.action is Action.CHECK else ""
        return _ROLLOUT[applied.outcome], prefix + applied.message, applied.revision


def _error_kind(error: StackctlError) -> str:
    if isinstance(error, GitError):
        return "git"
    return "engine" if isinstance(error, EngineError) else "other"


def _unfinished(revisions: Sequence[RevisionSummary]) -> bool:
    """The revision the cluster runs never finished its rollout (interrupted, or running)."""
    current = current_number((r.number, r.outcome) for r in revisions)
    return any(
        r.number == current and r.outcome is not None and r.outcome.unfinished for r in revisions
    )


def _drift_message(plan: Plan) -> str:
    names = sorted(
        f"{c.kind.value} {c.name}"
        for c in plan.changes
        if c.effect not in (Effect.NONE, Effect.ORPHAN)
    )
    shown = ", ".join(names[:10]) + (f" (and {len(names) - 10} more)" if len(names) > 10 else "")
    return f"the cluster differs from the applied commit: {shown} (drift: report)"
