"""The agent's notifications: each pass's outcome, in the words of ``notify:`` sinks.

A pass outcome maps onto a notification outcome (docs/agent.md has the table):
``suspended`` is sent as ``paused`` (a person stopped the agent for the stack),
``interrupted`` as ``failed`` (the apply did not finish; the next start applies
the commit again), and ``held`` and ``locked`` are not sent: a held commit's
failure was sent when it failed, and a lock held by another apply is looked at
again on the next pass. When a stack the agent had paused or suspended is
managed again, ``resumed`` is sent before the outcome of that pass.
"""

from __future__ import annotations

from collections.abc import Callable

from stackctl.agent.config import AgentConfig, NotifySinkConfig
from stackctl.agent.reconcile import PassResult
from stackctl.errors import StackctlError
from stackctl.notify.delivery import Notifier, RetryPolicy, SinkWorker
from stackctl.notify.payload import Notification
from stackctl.notify.sinks import Command, JsonWebhook, Sink, SlackWebhook

SENT_AS: dict[str, str | None] = {
    "applied": "applied",
    "no_change": "no_change",
    "rolled_back": "rolled_back",
    "failed": "failed",
    "timed_out": "timed_out",
    "interrupted": "failed",
    "paused": "paused",
    "suspended": "paused",
    "drift_detected": "drift_detected",
    "error": "error",
    "held": None,
    "locked": None,
}
_STANDING_STILL = frozenset({"paused", "suspended"})
# Passes that say nothing about whether the stack is managed again.
_UNDECIDED = frozenset({"held", "locked", "error"})


def build_sink(config: NotifySinkConfig) -> Sink:
    """The sink for one ``notify:`` entry; a ``url_file`` is read now (clear error if not)."""
    if config.type == "command":
        return Command(config.command, config.timeout)
    url = config.url
    if config.url_file is not None:
        try:
            with open(config.url_file, encoding="utf-8") as handle:
                url = handle.read().strip()
        except OSError as error:
            raise StackctlError(
                f"cannot read the notify url_file {config.url_file}: {error.strerror}"
            ) from None
        if not url.startswith(("http://", "https://")):
            raise StackctlError(f"the notify url_file {config.url_file} holds no http(s) URL")
    assert url is not None  # the config check requires url or url_file
    if config.type == "slack":
        return SlackWebhook(url, config.timeout)
    return JsonWebhook(url, config.timeout)


class PassNotifier:
    """A pass listener (``Agent.add_pass_listener``): maps, tracks pauses, queues."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._standing: dict[str, PassResult] = {}  # stacks paused or suspended now

    def __call__(self, result: PassResult) -> None:
        stopped = self._standing.get(result.stack)
        if result.outcome in _STANDING_STILL:
            self._standing[result.stack] = result
        elif stopped is not None and result.outcome not in _UNDECIDED:
            del self._standing[result.stack]
            self.notifier.notify(
                Notification(
                    stack=result.stack,
                    outcome="resumed",
                    source="agent",
                    commit=result.commit,
                    revision=stopped.revision,
                    message=f"managed again after: {stopped.message}",
                )
            )
        outcome = SENT_AS[result.outcome]
        if outcome is None:
            return
        self.notifier.notify(
            Notification(
                stack=result.stack,
                outcome=outcome,
                source="agent",
                commit=result.commit,
                revision=result.revision,
                services_changed=result.services,
                duration=result.duration,
                message=result.message,
            )
        )


def agent_notifier(config: AgentConfig, report: Callable[[str], None]) -> Notifier | None:
    """One worker per ``notify:`` sink, or None when there is none."""
    if not config.notify:
        return None
    workers = [
        SinkWorker(build_sink(sink), outcomes=sink.outcomes, policy=RetryPolicy(), report=report)
        for sink in config.notify
    ]
    return Notifier(workers)
