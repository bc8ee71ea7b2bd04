"""``/readyz``: is the agent doing its job? (``/healthz`` only says the process answers.)

Ready means both:

- the engine answers a ``/_ping`` within ``PING_TIMEOUT`` (the answer is
  cached for ``ENGINE_CACHE`` seconds, so a scrape every second costs the
  engine one ping per few seconds, and concurrent probes share one ping; a
  probe never waits much longer than the timeout, see ``engine_problem``);
- every stack's last pass ended within three of its intervals (a running pass
  counts as fresh: a long rollout is work, not silence). Before a stack's first
  pass ends, the agent's start time stands in for it. A stack backing off after
  repeated errors goes stale too, on purpose: it is not being kept in sync.

Otherwise ``/readyz`` answers 503 with every reason in the body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from stackctl.agent.loop import Agent
from stackctl.agent.reconcile import PassResult
from stackctl.engine.client import EngineClient
from stackctl.engine.ping import ping
from stackctl.errors import StackctlError

PING_TIMEOUT = 2.0
ENGINE_CACHE = 3.0
STALE_INTERVALS = 3


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reasons: tuple[str, ...]


class ReadinessProbe:
    """Computes readiness; ``record_pass`` is a pass listener (when each stack last passed)."""

    def __init__(
        self,
        agent: Agent,
        connect: Callable[[], EngineClient],
        *,
        clock: Callable[[], float] = time.monotonic,
        ping_timeout: float = PING_TIMEOUT,
        engine_cache: float = ENGINE_CACHE,
    ) -> None:
        self._agent = agent
        self._connect = connect
        self._clock = clock
        self._ping_timeout = ping_timeout
        self._engine_cache = engine_cache
        self._started = clock()
        self._last_pass: dict[str, float] = {}
        self._client: EngineClient | None = None
        self._engine_lock = threading.Lock()
        self._engine_checked = -float("inf")
        self._engine_problem: str | None = None
        self._checking: threading.Thread | None = None

    def record_pass(self, result: PassResult) -> None:
        self._last_pass[result.stack] = self._clock()

    def engine_problem(self) -> str | None:
        """Why the engine is not reachable (None: it answered), at most ``engine_cache`` old.

        The check runs on its own thread and the probe waits for it at most
        ``ping_timeout`` + 1s: connecting (the first time, or after a failure) uses
        the client's long default timeout, and an engine that accepts connections
        but never answers must not hold ``/readyz`` for a minute. At most one check
        is in flight; concurrent probes share it.
        """
        with self._engine_lock:
            if self._clock() - self._engine_checked < self._engine_cache:
                return self._engine_problem
            if self._checking is None:
                self._checking = threading.Thread(
                    target=self._check_engine, name="readyz-ping", daemon=True
                )
                self._checking.start()
            checking = self._checking
        checking.join(self._ping_timeout + 1.0)
        with self._engine_lock:
            if checking.is_alive():
                return f"engine: no answer within {self._ping_timeout + 1.0:g}s"
            return self._engine_problem

    def _check_engine(self) -> None:
        problem = self._ping()
        with self._engine_lock:
            self._engine_problem = problem
            self._engine_checked = self._clock()
            self._checking = None

    def _ping(self) -> str | None:
        try:
            if self._client is None:
                self._client = self._connect()
            ping(self._client, self._ping_timeout)
        except StackctlError as error:
            if self._client is not None:
                self._client.close()
            self._client = None  # connect afresh: the engine may come back elsewhere
            return f"engine: {error.message}"
        return None

    def stale_stacks(self) -> list[str]:
        """A reason per stack whose last pass ended more than three intervals ago."""
        now = self._clock()
        reasons = []
        for name, schedule in self._agent.stacks.items():
            if schedule.running:
                continue
            ended = self._last_pass.get(name)
            age = now - (self._started if ended is None else ended)
            limit = STALE_INTERVALS * schedule.config.interval
            if age > limit:
                what = "no pass has ended" if ended is None else "the last pass ended"
                reasons.append(
                    f"stack {name}: {what} {age:.0f}s ago, more than {STALE_INTERVALS} "
                    f"intervals ({limit:g}s)"
                )
        return reasons

    def check(self) -> Readiness:
        reasons = []
        problem = self.engine_problem()
        if problem is not None:
            reasons.append(problem)
        reasons.extend(self.stale_stacks())
        return Readiness(not reasons, tuple(reasons))
