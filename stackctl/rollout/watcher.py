"""Watch submitted services until each converges or fails.

One poll is two list calls for the whole stack (services, and tasks on their
current spec), whatever the number of services: tasks are grouped by service
ID client-side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stackctl.errors import EngineError
from stackctl.rollout.adapter import PENDING_STATES, EngineAdapter, ServiceInfo, TaskInfo
from stackctl.rollout.checkpoints import checkpoint
from stackctl.rollout.convergence import Phase, Verdict, WatchLimits, evaluate
from stackctl.rollout.events import (
    ApplyWarning,
    Event,
    ServiceConverged,
    ServiceFailed,
    ServiceProgress,
)
from stackctl.rollout.options import ApplyOptions


class DeadlineExceeded(Exception):
    """The apply ran out of time while waiting."""


class StopRequested(Exception):
    """SIGINT/SIGTERM arrived while waiting."""


@dataclass
class Watch:
    """One service being watched."""

    name: str
    service_id: str
    rolling_back: bool = False
    last_shown: tuple[object, ...] | None = None


@dataclass
class TaskMemory:
    """What the watcher remembers across polls."""

    seen_before: set[str] = field(default_factory=set)  # tasks older than the change
    pending_since: dict[str, float] = field(default_factory=dict)
    all_seen: set[str] = field(default_factory=set)


class Watcher:
    def __init__(
        self,
        adapter: EngineAdapter,
        stack: str,
        options: ApplyOptions,
        emit: Callable[[Event], None],
        elapsed: Callable[[], float],
    ) -> None:
        self.adapter = adapter
        self.stack = stack
        self.options = options
        self.emit = emit
        self.elapsed = elapsed
        self.memory = TaskMemory()
        self.limits = WatchLimits(options.max_task_failures, options.pending_timeout)

    def remember_current_tasks(self) -> None:
        """Mark every task that exists now as history (its failures are not ours).

        All tasks, not only those on the current spec: the engine counts a task as
        "up to date" whenever its spec equals the service's, so failed tasks of an
        earlier attempt at the very spec this apply submits would otherwise look
        like fresh failures of this apply (seen after a manager restart).
        """
        tasks = self.adapter.list_tasks(self.stack, current_only=False)
        self.memory.all_seen.update(t.id for t in tasks)
        self.memory.seen_before.update(self.memory.all_seen)

    def poll(self, watches: dict[str, Watch]) -> dict[str, Verdict]:
        """One round: judge every watched service, emit progress, return verdicts
        of the services that converged or failed (they stop being watched)."""
        now = self.options.clock()
        services = {s.id: s for s in self.adapter.list_services(self.stack)}
        by_service: dict[str, list[TaskInfo]] = {}
        for task in self.adapter.list_tasks(self.stack):
            by_service.setdefault(task.service_id, []).append(task)
            self.memory.all_seen.add(task.id)
            if task.state in PENDING_STATES:
                self.memory.pending_since.setdefault(task.id, now)

        finished: dict[str, Verdict] = {}
        for name, watch in sorted(watches.items()):
            info = services.get(watch.service_id)
            verdict = (
                self._judge(info, by_service.get(watch.service_id, []), now, watch)
                if info is not None
                else Verdict(Phase.FAILED, 0, 0, 0, "the service was removed during the apply")
            )
            self._report(watch, verdict)
            if verdict.phase is not Phase.PROGRESSING:
                finished[name] = verdict
        return finished

    def wait(self, watches: dict[str, Watch], deadline: float) -> dict[str, Verdict]:
        """Poll until at least one watched service finishes; return the finished ones.

        The engine failing to answer a poll (dockerd restarting, a manager
        election) does not end the wait: the changes are already submitted, so
        the watcher says so once and keeps polling until the deadline.
        """
        unreachable = False
        while True:
            self.check(deadline)
            try:
                finished = self.poll(watches)
            except EngineError as error:
                if not unreachable:
                    message = f"lost the engine while watching, retrying: {error.message}"
                    self.emit(ApplyWarning(self.elapsed(), message))
                unreachable = True
                self.options.sleep(max(self.options.poll_interval, 1.0))
                continue
            if unreachable:
                self.emit(ApplyWarning(self.elapsed(), "the engine answers again; watching"))
                unreachable = False
            if finished:
                return finished
            checkpoint("watching")
            self.options.sleep(self.options.poll_interval)

    def check(self, deadline: float) -> None:
        if self.options.should_stop():
            raise StopRequested
        if self.options.clock() >= deadline:
            raise DeadlineExceeded

    def _judge(self, info: ServiceInfo, tasks: list[TaskInfo], now: float, watch: Watch) -> Verdict:
        return evaluate(
            info,
            tasks,
            now=now,
            seen_before=self.memory.seen_before,
            pending_since=self.memory.pending_since,
            limits=self.limits,
            rolling_back=watch.rolling_back,
        )

    def _report(self, watch: Watch, verdict: Verdict) -> None:
        at = self.elapsed()
        if verdict.phase is Phase.CONVERGED:
            self.emit(ServiceConverged(at, watch.name))
            return
        if verdict.phase is Phase.FAILED:
            self.emit(ServiceFailed(at, watch.name, verdict.reason, verdict.task_error))
            return
        shown = (verdict.updated, verdict.desired, verdict.failed, verdict.reason)
        if shown == watch.last_shown:
            return  # only changes are worth an event
        watch.last_shown = shown
        phase = "rolling_back" if watch.rolling_back else "updating"
        message = verdict.reason or verdict.task_error
        self.emit(
            ServiceProgress(
                at,
                watch.name,
                phase,
                verdict.updated,
                verdict.desired,
                verdict.updated,
                verdict.failed,
                message,
            )
        )
