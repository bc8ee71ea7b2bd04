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
from collections.abc import Callable, Iterable
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
    sync_requested: bool = False  # asked to pass again as soon as the running pass ends
    started: int = 0  # passes started by run(); while one runs, its number (runs track it)


# Listeners see every pass result and rollout event; they run on the pass's thread,
# so they must return quickly (a sink that talks to the network queues its work).
PassListener = Callable[[PassResult], None]
EventListener = Callable[[str, Event], None]


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
        self._schedule_lock = threading.Lock()
        self._pass_listeners: list[PassListener] = []
        self._event_listeners: list[EventListener] = []
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

    def add_pass_listener(self, listener: PassListener) -> None:
        """Call ``listener`` with every pass result (after the agent's own log line)."""
        self._pass_listeners.append(listener)

    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener(stack, event)`` with every rollout event of every pass."""
        self._event_listeners.append(listener)

    def request_sync(self, names: Iterable[str]) -> list[str]:
        """Make the named stacks due now (a webhook, ``POST .../sync``); the known ones.

        A stack whose pass is running passes once more right after it, so a push
        that lands during a pass is never missed.
        """
        accepted: list[str] = []
        with self._schedule_lock:
            for name in names:
                schedule = self.stacks.get(name)
                if schedule is None:
                    continue
                if schedule.running:
                    schedule.sync_requested = True
                else:
                    schedule.next_due = 0.0
                accepted.append(name)
        self._wake.set()
        return accepted

    def new_client(self) -> EngineClient:
        """A new engine connection (for the HTTP threads; passes keep their own)."""
        return self._connect()

    def _notify(self, listeners: list[Callable[..., None]], *args: object) -> None:
        for listener in listeners:
            try:
                listener(*args)
            except Exception as error:  # an observer must never break a pass
                self._print(f"stackctl agent: listener {listener!r} failed: {error}")

    # -- output ----------------------------------------------------------------

    def _print(self, line: str) -> None:
        with self._print_lock:
            self._out(line)

    def _event(self, stack: str, event: Event) -> None:
        if self.as_json:
            self._print(json.dumps({"stack": stack, **event.to_json()}, sort_keys=True))
        else:
            self._print(f"stack {stack}: {event.describe()}")
        self._notify(self._event_listeners, stack, event)

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
            result = PassResult(
                name, "error", message=f"engine: {error.message}", error_kind="engine"
            )
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
            if result.error_kind == "engine":
                self._local.client = None  # reconnect next time
        self._result(result, previous)
        self._notify(self._pass_listeners, result)
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
        lock = self._schedule_lock
        wake = self._wake

        def done(name: str, future: Future[PassResult]) -> None:
            schedule = self.stacks[name]
            with lock:
                schedule.running = False
                if schedule.sync_requested:
                    schedule.sync_requested = False
                    schedule.next_due = 0.0
                else:
                    schedule.next_due = self.clock() + self.delay_after(schedule)
            wake.set()

        try:
            while not self.stop.is_set():
                now = self.clock()
                with lock:
                    due = [s for s in self.stacks.values() if not s.running and s.next_due <= now]
                    for schedule in due:
                        schedule.running = True
                        schedule.started += 1
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
