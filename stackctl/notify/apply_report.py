"""``stackctl apply --notify URL``: the same notification a pipeline's apply sends.

The document is the agent's (``payload.Notification``, ``source: apply``). The
commit comes from the CI's own variable when there is one, so the notification
names what was deployed without a new option. Delivery is synchronous (the
command is ending anyway) and bounded: three attempts, a few seconds each; a
notification that does not land is a warning, never a different exit code.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence

from stackctl.core.history.revision import Outcome
from stackctl.errors import Severity, StackctlError, StackFileError
from stackctl.notify.delivery import RetryPolicy, deliver
from stackctl.notify.payload import Notification
from stackctl.notify.sinks import JsonWebhook
from stackctl.rollout.options import ApplyOutcome

# Where CI systems put the commit being built: GitHub Actions, GitLab CI, Buildkite,
# Jenkins (git plugin), CircleCI, Drone/Woodpecker; STACKCTL_COMMIT wins over them.
COMMIT_VARIABLES = (
    "STACKCTL_COMMIT",
    "GITHUB_SHA",
    "CI_COMMIT_SHA",
    "BUILDKITE_COMMIT",
    "GIT_COMMIT",
    "CIRCLE_SHA1",
    "DRONE_COMMIT_SHA",
)
APPLY_POLICY = RetryPolicy(attempts=3, first_delay=1.0, max_delay=2.0)
ATTEMPT_TIMEOUT = 5.0

_SENT_AS = {
    Outcome.APPLIED: "applied",
    Outcome.SUBMITTED: "applied",
    Outcome.ROLLED_BACK: "rolled_back",
    Outcome.PAUSED: "failed",
    Outcome.FAILED: "failed",
    Outcome.TIMED_OUT: "timed_out",
    Outcome.INTERRUPTED: "failed",
    Outcome.NOT_APPLIED: "error",
    Outcome.IN_PROGRESS: "failed",  # never the end of a rollout; mapped for completeness
}


def _sent_as(outcome: ApplyOutcome) -> str:
    if outcome.outcome is Outcome.APPLIED and not outcome.changed:
        return "no_change"  # only watched Swarm finish what was already written
    return _SENT_AS.get(outcome.outcome, "error")


def error_message(error: StackctlError) -> str:
    """The error as one line; invalid stack files by their first located error."""
    if isinstance(error, StackFileError) and error.findings:
        errors = [f for f in error.findings if f.severity is Severity.ERROR] or error.findings
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"{errors[0].location}: {errors[0].message}{more}"
    return error.message


def commit_from(env: Mapping[str, str]) -> str:
    return next((env[name] for name in COMMIT_VARIABLES if env.get(name)), "")


def apply_notification(
    stack: str,
    outcome: ApplyOutcome | None,
    exit_code: int,
    duration: float,
    *,
    error: str = "",
    env: Mapping[str, str] | None = None,
) -> Notification:
    """What an apply ended with. ``outcome`` None: no rollout ran (nothing to do, or
    an error before any write, given as ``error``)."""
    commit = commit_from(os.environ if env is None else env)
    if outcome is None:
        kind = "no_change" if exit_code == 0 and not error else "error"
        return Notification(stack, kind, "apply", commit, duration=duration, message=error)
    changed = tuple(s.name for s in outcome.services if s.effect != "none")
    return Notification(
        stack=stack,
        outcome=_sent_as(outcome),
        source="apply",
        commit=commit,
        revision=outcome.revision,
        services_changed=changed,
        duration=duration,
        message=outcome.message,
    )


def send_apply_notification(
    urls: Sequence[str], notification: Notification, warn: Callable[[str], None]
) -> None:
    """POST ``notification`` to each URL; a failure is a warning naming the sink's host."""
    for url in urls:
        sink = JsonWebhook(url, ATTEMPT_TIMEOUT)
        failed = deliver(sink, notification, APPLY_POLICY, _pause)
        if failed is not None:
            warn(f"notify: {failed}; the apply's exit code is unchanged")


def _pause(seconds: float) -> bool:
    """Wait between attempts (the command has nothing else to do); never stops early."""
    threading.Event().wait(seconds)
    return False
