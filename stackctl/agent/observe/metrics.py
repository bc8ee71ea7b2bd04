"""The agent's Prometheus metrics, fed by its pass and event listeners.

Every agent owns a ``CollectorRegistry`` (not prometheus-client's global one),
so two agents in one process (tests) never share counters, and ``/metrics``
shows only the agent's own series (no process/platform collectors that would
differ between machines). Every configured stack's series exist from the start
at zero, so alert expressions and ``rate()`` work before the first pass ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from stackctl.agent.config import StackConfig
from stackctl.agent.reconcile import EXIT_CODES, PassResult
from stackctl.rollout.events import Event, RollbackStarted

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Outcomes after which the cluster runs what git says (the stack is in sync).
IN_SYNC = frozenset({"applied", "no_change"})
# A pass can last from milliseconds (idle) to an apply's timeout (minutes).
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class AgentMetrics:
    """The ``stackctl_agent_*`` series; ``observe_pass``/``observe_event`` are the listeners."""

    def __init__(
        self, stacks: Iterable[StackConfig], *, wall: Callable[[], float] = time.time
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._wall = wall
        # one pass's updates land together: a scrape never sees a pass counted in
        # passes_total but not yet in the duration histogram
        self._lock = threading.Lock()
        r = self.registry
        self.passes = Counter(
            "stackctl_agent_passes",
            "Passes that ended, by stack and outcome.",
            ["stack", "outcome"],
            registry=r,
        )
        self.duration = Histogram(
            "stackctl_agent_pass_duration_seconds",
            "How long each pass took (git, plan and any apply).",
            ["stack"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.git_errors = Counter(
            "stackctl_agent_git_errors",
            "Passes that ended in a git error (unreachable repository, bad ref, timeout).",
            ["stack"],
            registry=r,
        )
        self.engine_errors = Counter(
            "stackctl_agent_engine_errors",
            "Passes that hit an engine error (unreachable, refused, state not stored).",
            ["stack"],
            registry=r,
        )
        self.engine_calls = Counter(
            "stackctl_agent_engine_calls",
            "Engine API calls made by passes (divide by passes for calls per pass).",
            ["stack"],
            registry=r,
        )
        self.engine_writes = Counter(
            "stackctl_agent_engine_writes",
            "Engine API calls that write (POST/PUT/DELETE) made by passes.",
            ["stack"],
            registry=r,
        )
        self.rollbacks = Counter(
            "stackctl_agent_rollbacks",
            "Automatic rollbacks started by the agent's applies.",
            ["stack"],
            registry=r,
        )
        self.last_pass = Gauge(
            "stackctl_agent_last_pass_timestamp_seconds",
            "Unix time the stack's last pass ended (0: none yet).",
            ["stack"],
            registry=r,
        )
        self.last_success = Gauge(
            "stackctl_agent_last_success_timestamp_seconds",
            "Unix time of the stack's last pass that left it in sync with git "
            "(applied or no_change; 0: none yet).",
            ["stack"],
            registry=r,
        )
        self.last_apply = Gauge(
            "stackctl_agent_last_apply_timestamp_seconds",
            "Unix time of the stack's last successful apply (outcome applied; 0: none yet).",
            ["stack"],
            registry=r,
        )
        self.drift = Gauge(
            "stackctl_agent_drift",
            "1 while the cluster differs from the applied commit (drift: report), else 0.",
            ["stack"],
            registry=r,
        )
        self.outcome = Gauge(
            "stackctl_agent_outcome",
            "1 for the outcome of the stack's last pass, 0 for every other outcome.",
            ["stack", "outcome"],
            registry=r,
        )
        self.interval = Gauge(
            "stackctl_agent_interval_seconds",
            "The stack's configured poll interval (for staleness alerts).",
            ["stack"],
            registry=r,
        )
        for stack in stacks:
            self._declare(stack)

    def _declare(self, stack: StackConfig) -> None:
        name = stack.name
        for outcome in EXIT_CODES:
            self.passes.labels(name, outcome)
            self.outcome.labels(name, outcome).set(0)
        self.duration.labels(name)
        for counter in (
            self.git_errors,
            self.engine_errors,
            self.engine_calls,
            self.engine_writes,
            self.rollbacks,
        ):
            counter.labels(name)
        for gauge in (self.last_pass, self.last_success, self.last_apply, self.drift):
            gauge.labels(name).set(0)
        self.interval.labels(name).set(stack.interval)

    def observe_pass(self, result: PassResult) -> None:
        """Pass listener: count one ended pass."""
        with self._lock:
            self._count(result)

    def _count(self, result: PassResult) -> None:
        name, outcome = result.stack, result.outcome
        now = self._wall()
        self.passes.labels(name, outcome).inc()
        self.duration.labels(name).observe(result.duration)
        self.engine_calls.labels(name).inc(result.api_calls)
        self.engine_writes.labels(name).inc(result.api_writes)
        if result.error_kind == "git":
            self.git_errors.labels(name).inc()
        elif result.error_kind == "engine":
            self.engine_errors.labels(name).inc()
        self.last_pass.labels(name).set(now)
        if outcome in IN_SYNC:
            self.last_success.labels(name).set(now)
            self.drift.labels(name).set(0)
        if outcome == "applied":
            self.last_apply.labels(name).set(now)
        elif outcome == "drift_detected":
            self.drift.labels(name).set(1)
        for known in EXIT_CODES:
            self.outcome.labels(name, known).set(1 if known == outcome else 0)

    def observe_event(self, stack: str, event: Event) -> None:
        """Event listener: count the rollbacks the agent's applies start."""
        if isinstance(event, RollbackStarted):
            self.rollbacks.labels(stack).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (``CONTENT_TYPE``)."""
        with self._lock:
            return generate_latest(self.registry)
