"""The agent process: schedule every stack's passes, bounded and independent.

Each stack has its own due time (its interval, or a backoff after an error
that doubles up to ``backoff_max``). Due stacks run on a thread pool of
``concurrency`` workers, so one stack's slow rollout or dead git server never
delays another beyond that bound. ``Agent.stacks`` holds what each stack's last
pass found and when its next pass is due: the state a status API reads.

Stopping (SIGTERM/SIGINT sets the stop event): no new pass starts; running
rollouts see ``should_stop`` and end cleanly at their next step (recorded
as ``interrupted``, not held: the next start applies the commit again).
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from stackctl.agent.config import AgentConfig, StackConfig
from stackctl.agent.git_source import GitSource
from stackctl.agent.reconcile import EXIT_CODES, PassResult, StackMemory, StackPass
from stackctl.engine.client import EngineClient
from stackctl.errors import StackctlError
from stackctl.rollout.events import Event


@dataclass
class StackSchedule:
    config: StackConfig
    git: GitSource
    memory: StackMemory = field(default_factory=StackMemory)
    next_due: float = 0.0  # time.monotonic()
    running: bool = False


class Agent:
    """Runs passes; ``run_once()`` for ``--once``, ``run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        connect: Callable[[], EngineClient],
        out: Callable[[str], None],
        as_json: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._connect = connect
        self._out = out
        self.as_json = as_json
        self.clock = clock
        self.stop = threading.Event()
        self._wake = threading.Event()
        self._local = threading.local()
        self._print_lock = threading.Lock()
        self.stacks: dict[str, StackSchedule] = {
            stack.name: StackSchedule(
                stack,
                GitSource(
                    stack.repo,
                    os.path.join(config.state_dir, "git", stack.name),
                    branch=stack.branch,
                    ref=stack.ref,
                    timeout=config.git_timeout,
                    credentials=stack.credentials,
                ),
            )
            for stack in config.stacks
        }

    def request_stop(self) -> None:
        """Stop after the running passes (signal handlers call this)."""
        self.stop.set()
        self._wake.set()

    # -- output ----------------------------------------------------------------

    def _print(self, line: str) -> None:
        with self._print_lock:
            self._out(line)

    def _event(self, stack: str, event: Event) -> None:
        if self.as_json:
            self._print(json.dumps({"stack": stack, **event.to_json()}, sort_keys=True))
        else:
            self._print(f"stack {stack}: {event.describe()}")

    def _result(self, result: PassResult, previous: PassResult | None) -> None:
        same = previous is not None and (previous.outcome, previous.commit, previous.message) == (
            result.outcome,
            result.commit,
            result.message,
        )
        if same:
            return  # an idle agent's log stays quiet
        if self.as_json:
            self._print(json.dumps({"event": "pass", **result.to_json()}, sort_keys=True))
        else:
            self._print(result.describe())

    # -- passes ----------------------------------------------------------------

    def _client(self) -> EngineClient:
        client: EngineClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._connect()
            self._local.client = client
        return client

    def run_pass(self, name: str) -> PassResult:
        """One pass of one stack (on the calling thread)."""
        schedule = self.stacks[name]
        previous = schedule.memory.last
        try:
            client = self._client()
        except StackctlError as error:
            result = PassResult(name, "error", message=f"engine: {error.message}")
            schedule.memory.failures += 1
            schedule.memory.last = result
        else:
            result = StackPass(
                schedule.config,
                client,
                schedule.git,
                schedule.memory,
                should_stop=self.stop.is_set,
                emit=self._event,
            ).run()
            if result.is_error and "engine" in result.message:
                self._local.client = None  # reconnect next time
        self._result(result, previous)
        return result

    def delay_after(self, schedule: StackSchedule) -> float:
        """Seconds until the stack's next pass: its interval, or the backoff after errors."""
        interval = schedule.config.interval
        failures = schedule.memory.failures
        if failures == 0:
            return interval
        backoff: float = interval * 2.0 ** min(failures, 30)
        return min(backoff, max(self.config.backoff_max, interval))

    def run_once(self) -> int:
        """One pass over every stack (concurrently, bounded); the worst exit code."""
        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="pass") as pool:
            results = list(pool.map(self.run_pass, list(self.stacks)))
        return max((EXIT_CODES[r.outcome] for r in results), default=0)

    def run(self) -> None:
        """Pass after pass until ``self.stop`` is set; then let running passes end."""
        pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="pass")
        lock = threading.Lock()
        wake = self._wake

        def done(name: str, future: Future[PassResult]) -> None:
            schedule = self.stacks[name]
            with lock:
                schedule.running = False
                schedule.next_due = self.clock() + self.delay_after(schedule)
            wake.set()

        try:
            while not self.stop.is_set():
                now = self.clock()
                with lock:
                    due = [s for s in self.stacks.values() if not s.running and s.next_due <= now]
                    for schedule in due:
                        schedule.running = True
                for schedule in due:
                    name = schedule.config.name
                    future = pool.submit(self.run_pass, name)
                    future.add_done_callback(functools.partial(done, name))
                with lock:
                    waiting = [s.next_due for s in self.stacks.values() if not s.running]
                timeout = max(0.05, min(waiting, default=now + 1.0) - self.clock())
                wake.wait(timeout)
                wake.clear()
                if self.stop.is_set():
                    break
        finally:
            pool.shutdown(wait=True)  # running passes see should_stop and end cleanly
