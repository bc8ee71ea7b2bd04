"""Drive a plan through an engine: objects first, then services wave by wave.

Each service's own rolling update is Swarm's (its ``update_config``); the
runner submits the new spec and *watches* it, gating on convergence (see
``convergence``). On failure it follows ``ApplyOptions.on_failure``. It never
prints; it emits events. It reads no files, so ``stackctl rollback`` can feed
it a plan built from a stored revision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from stackctl.core.model.state import ResourceKind
from stackctl.core.plan.hooks import is_job_spec
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange
from stackctl.errors import StackctlError
from stackctl.rollout.adapter import EngineAdapter
from stackctl.rollout.checkpoints import checkpoint
from stackctl.rollout.convergence import SWARM_ROLLED_BACK, Phase, Verdict
from stackctl.rollout.events import (
    ApplyFinished,
    ApplyStarted,
    ApplyWarning,
    Event,
    Outcome,
    ResourceCreated,
    ResourceRemoved,
    ResourceUpdated,
    ServiceFailed,
    ServiceSkipped,
)
from stackctl.rollout.options import (
    ApplyOptions,
    ApplyOutcome,
    FailurePolicy,
    ServiceResult,
    ServiceStatus,
)
from stackctl.rollout.rollback import Undo, roll_back
from stackctl.rollout.watcher import DeadlineExceeded, StopRequested, Watch, Watcher
from stackctl.rollout.waves import full_name, plan_waves

OBJECT_KINDS = (ResourceKind.NETWORK, ResourceKind.CONFIG, ResourceKind.SECRET)
WRITING_EFFECTS = (Effect.CREATE, Effect.ROLLING, Effect.IN_PLACE, Effect.REPLACE)
PRUNE_PATIENCE = 30.0  # seconds to wait for a pruned service's tasks to let go of objects


class _Failed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_apply(
    adapter: EngineAdapter,
    plan: Plan,
    options: ApplyOptions,
    emit: Callable[[Event], None],
) -> ApplyOutcome:
    """Apply ``plan`` and return how it ended (never raises for rollout failures;
    raises ``StackctlError`` only for problems found before anything is written,
    such as a ``depends_on`` cycle)."""
    return _Apply(adapter, plan, options, emit).run()


class _Apply:
    def __init__(
        self,
        adapter: EngineAdapter,
        plan: Plan,
        options: ApplyOptions,
        emit: Callable[[Event], None],
    ) -> None:
        self.adapter = adapter
        self.plan = plan
        self.options = options
        self.emit = emit
        self.start = options.clock()
        self.deadline = self.start + options.timeout
        self.watcher = Watcher(adapter, plan.stack, options, emit, self.elapsed)
        self.undo = Undo()
        self.results: dict[str, ServiceResult] = {}
        self.changes = {c.name: c for c in plan.of_effect(*WRITING_EFFECTS)}
        self.submitted = 0

    def elapsed(self) -> float:
        return self.options.clock() - self.start

    # -- the whole apply ---------------------------------------------------

    def run(self) -> ApplyOutcome:
        service_changes = [c for c in self.changes.values() if c.kind is ResourceKind.SERVICE]
        waves = plan_waves(
            self.plan.stack, [c.name for c in service_changes], self.options.dependencies
        )
        writes = len(self.changes) + len(self.plan.of_effect(Effect.DELETE))
        self.emit(ApplyStarted(self.elapsed(), self.plan.stack, writes, waves))
        settle = () if self.options.detach else self.options.settle
        if writes == 0 and not self.plan.in_progress and not settle:
            return self._finish(Outcome.APPLIED, "nothing to do")
        for change in service_changes:
            self._result(change, ServiceStatus.NOT_STARTED)

        try:
            self.watcher.remember_current_tasks()
            # what an interrupted apply wrote passes its health gate before we write more
            unsettled = self._await(
                settle, "written before this apply, not yet seen converged", settling=True
            )
            if unsettled:
                return self._finish(
                    Outcome.FAILED,
                    "; ".join(self._reasons(unsettled))
                    + " (written by an apply that never finished) did not converge; "
                    "nothing was written",
                )
            self._apply_objects()
            failed = self._apply_waves(waves)
            unfinished = [] if failed or self.options.detach else self._await_in_progress()
        except _Failed as failure:
            return self._on_failure(failure.reason)
        except DeadlineExceeded:
            self._mark_in_progress()
            return self._finish(
                Outcome.TIMED_OUT, f"not converged within {self.options.timeout:g}s"
            )
        except StopRequested:
            self._mark_in_progress()
            return self._finish(Outcome.INTERRUPTED, "stopped by a signal")
        except StackctlError as error:  # the engine failed us outside a service's own step
            if not self.submitted:  # nothing written yet: say so, and end the event stream
                return self._finish(Outcome.NOT_APPLIED, f"{error.message}; nothing was changed")
            self._mark_in_progress()
            return self._finish(Outcome.FAILED, f"stopped part-way: {error.message}")
        if failed:  # only with --on-failure continue
            return self._finish(
                Outcome.FAILED, f"{len(failed)} service(s) failed: " + ", ".join(failed)
            )
        if unfinished:  # not this apply's changes: nothing of ours to roll back
            return self._finish(
                Outcome.FAILED,
                "Swarm's update of "
                + "; ".join(self._reasons(unfinished))
                + " (in progress before this apply) did not finish; `stackctl apply` again "
                "resumes it once the cause is fixed",
            )
        if self.options.detach:
            return self._finish(Outcome.SUBMITTED, "submitted without waiting (--detach)")
        self._prune()
        return self._finish(Outcome.APPLIED, "")

    # -- networks, configs, secrets -----------------------------------------

    def _apply_objects(self) -> None:
        for kind in OBJECT_KINDS:
            for change in self.plan.changes:
                if change.kind is kind and change.effect in WRITING_EFFECTS:
                    try:
                        self._apply_object(change)
                    except StackctlError as error:
                        raise _Failed(f"{kind.value} {change.name}: {error.message}") from error
            if kind is ResourceKind.NETWORK:
                checkpoint("networks-created")
        checkpoint("objects-created")

    def _apply_object(self, change: ResourceChange) -> None:
        desired = change.desired
        if desired is None or desired.external:
            return
        if change.effect is Effect.IN_PLACE and change.kind is not ResourceKind.NETWORK:
            assert change.live is not None and change.live.id is not None
            self.adapter.update_object_labels(desired, change.live.id, change.live.version or 0)
            self.submitted += 1
            self.emit(ResourceUpdated(self.elapsed(), change.kind.value, change.name, "in-place"))
            return
        if change.live is not None:  # replace: engines cannot update these objects
            self.adapter.remove_object(change.kind, change.live.id or change.name)
            self.emit(ResourceRemoved(self.elapsed(), change.kind.value, change.name, "replace"))
        content = self.options.contents.get(change.name)
        if change.kind is not ResourceKind.NETWORK and content is None:
            raise StackctlError(f"no content was loaded for {change.kind.value} {change.name}")
        self.adapter.create_object(desired, content)
        self.submitted += 1
        if change.live is None:
            self.undo.created_objects.append((change.kind, change.name))
        self.emit(ResourceCreated(self.elapsed(), change.kind.value, change.name))

    # -- services, wave by wave ---------------------------------------------

    def _apply_waves(self, waves: tuple[tuple[str, ...], ...]) -> list[str]:
        failed: list[str] = []
        for wave in waves:
            blocked = {n for n in wave if self._depends_on_any(n, failed)}
            for name in sorted(blocked):
                self.emit(ServiceSkipped(self.elapsed(), name, "a dependency failed"))
            failed += self._roll_wave([self.changes[n] for n in wave if n not in blocked])
            checkpoint("wave-finished")
            if failed and self.options.on_failure is FailurePolicy.PAUSE:
                raise _Failed("; ".join(self._reasons(failed)))
        return failed

    def _roll_wave(self, queue: list[ResourceChange]) -> list[str]:
        """Submit the wave's services (at most max_concurrent rolling at once)
        and watch them; return the names that failed (with policy continue)."""
        limit = self.options.max_concurrent or len(queue) or 1
        watches: dict[str, Watch] = {}
        failed: list[str] = []
        policy = self.options.on_failure
        while queue or watches:
            stop_submitting = failed and policy is not FailurePolicy.CONTINUE
            while queue and len(watches) < limit and not stop_submitting:
                self.watcher.check(self.deadline)
                change = queue.pop(0)
                try:
                    watches[change.name] = self._submit_service(change)
                except StackctlError as error:
                    self._fail(change.name, error.message, "")
                    failed.append(change.name)
                    stop_submitting = policy is not FailurePolicy.CONTINUE
            if failed and policy is FailurePolicy.ROLLBACK:
                raise _Failed("; ".join(self._reasons(failed)))
            if self.options.detach:
                for name in watches:
                    self._result(self.changes[name], ServiceStatus.SUBMITTED)
                watches.clear()
                continue
            if not watches:
                break
            try:
                finished = self.watcher.wait(watches, self.deadline)
            except DeadlineExceeded:
                jobs = sorted(n for n in watches if self._is_job(n))
                if not jobs:
                    raise
                # A release cannot go on without its migration (or past a smoke test
                # that never finished): a job still running at the deadline failed.
                for name in jobs:
                    reason = f"the job did not complete within --timeout {self.options.timeout:g}s"
                    self._fail(name, reason, "")
                    failed.append(name)
                    del watches[name]
                if policy is not FailurePolicy.CONTINUE:
                    raise _Failed("; ".join(self._reasons(failed))) from None
                continue
            for name, verdict in finished.items():
                del watches[name]
                if verdict.phase is Phase.CONVERGED:
                    self._result(self.changes[name], ServiceStatus.CONVERGED)
                else:
                    self._record_failure(name, verdict)
                    failed.append(name)
        if failed and policy is FailurePolicy.ROLLBACK:
            raise _Failed("; ".join(self._reasons(failed)))
        return failed

    def _submit_service(self, change: ResourceChange) -> Watch:
        desired = change.desired
        assert desired is not None
        live = change.live
        if change.effect in (Effect.CREATE, Effect.REPLACE):
            if change.effect is Effect.REPLACE and live is not None and live.id:
                self.adapter.remove_service(live.id)
                self.undo.replaced_services[change.name] = change
                self.emit(ResourceRemoved(self.elapsed(), "service", change.name, "replace"))
            service_id = self.adapter.create_service(desired.spec)
            self.undo.new_service_ids[change.name] = service_id
            self.emit(ResourceCreated(self.elapsed(), "service", change.name))
        else:
            assert live is not None and live.id is not None
            self.adapter.update_service(live.id, live.version or 0, desired.spec)
            self.undo.updated_services.append(change)
            service_id = live.id
            self.emit(ResourceUpdated(self.elapsed(), "service", change.name, change.effect.value))
        self.submitted += 1
        self._result(change, ServiceStatus.IN_PROGRESS)
        checkpoint("service-submitted")
        return Watch(change.name, service_id)

    # -- failure -------------------------------------------------------------

    def _on_failure(self, reason: str) -> ApplyOutcome:
        policy = self.options.on_failure
        if not self.submitted:  # e.g. the first write met a version conflict
            return self._finish(Outcome.NOT_APPLIED, f"{reason}; nothing was changed")
        if policy is FailurePolicy.ROLLBACK:
            untouched = sorted(
                n for n, r in self.results.items() if r.status is ServiceStatus.NOT_STARTED
            )
            if untouched:  # e.g. what waited on a failed migration (depends_on)
                reason += "; not started, left as they were: " + ", ".join(untouched)
            return self._roll_back(reason)
        self._mark_in_progress()
        outcome = Outcome.PAUSED if policy is FailurePolicy.PAUSE else Outcome.FAILED
        return self._finish(outcome, reason)

    def _roll_back(self, reason: str) -> ApplyOutcome:
        deadline = self.options.clock() + self.options.timeout
        try:
            statuses = roll_back(
                self.adapter, self.plan.stack, self.undo, self.watcher, reason, deadline
            )
        except StopRequested:
            self._mark_in_progress()
            return self._finish(Outcome.INTERRUPTED, "stopped by a signal during rollback")
        except StackctlError as error:
            self._mark_in_progress()
            return self._finish(
                Outcome.FAILED, f"{reason}; the rollback could not run: {error.message}"
            )
        for name, (status, why) in statuses.items():
            change = self.changes.get(name)
            if change is not None:
                self._result(change, status, why or self.results[name].reason)
        for change in self.undo.updated_services:
            if change.name not in statuses and change.live and is_job_spec(change.live.spec):
                result = self.results[change.name]
                kept = "left as it ran: a rollback does not run jobs again"
                self._result(change, result.status, _join_reasons(result.reason, kept))
        if all(s is not ServiceStatus.ROLLBACK_FAILED for s, _ in statuses.values()):
            return self._finish(Outcome.ROLLED_BACK, reason)
        return self._finish(Outcome.FAILED, f"{reason}; the rollback failed too")

    def _fail(self, name: str, reason: str, task_error: str) -> None:
        self.emit(ServiceFailed(self.elapsed(), name, reason, task_error))
        self._result(self.changes[name], ServiceStatus.FAILED, _join(reason, task_error))

    def _record_failure(self, name: str, verdict: Verdict) -> None:
        self._result(
            self.changes[name], ServiceStatus.FAILED, _join(verdict.reason, verdict.task_error)
        )

    def _reasons(self, names: list[str]) -> list[str]:
        return [f"{n}: {self.results[n].reason}" for n in names]

    def _is_job(self, name: str) -> bool:
        change = self.changes[name]
        return change.desired is not None and is_job_spec(change.desired.spec)

    def _depends_on_any(self, name: str, failed: list[str]) -> bool:
        deps = self.options.dependencies.get(name, ())
        return any(full_name(self.plan.stack, d.service) in failed for d in deps)

    def _await_in_progress(self) -> list[str]:
        """Wait for the services Swarm was still rolling out to this very spec when
        the plan was made (``Plan.in_progress``): the apply converges only when they
        do. Returns those that failed; their update is Swarm's, not this apply's."""
        settled = () if self.options.detach else self.options.settle
        names = tuple(n for n in self.plan.in_progress if n not in settled)
        return self._await(names, "being rolled out by Swarm")

    def _await(self, names: tuple[str, ...], why: str, *, settling: bool = False) -> list[str]:
        """Watch services this apply does not write until each converges or fails;
        return those that failed.

        ``settling``: their spec already is the desired one, so a Swarm rollback
        state means Swarm returned them to it (``failure_action: rollback`` during
        the interrupted apply), not a failure.
        """
        if not names:
            return []
        live = {s.name: s for s in self.adapter.list_services(self.plan.stack)}
        watches = {
            n: Watch(
                n,
                live[n].id,
                rolling_back=settling and live[n].update_state in SWARM_ROLLED_BACK,
            )
            for n in names
            if n in live
        }
        for name in watches:
            self.results[name] = ServiceResult(
                name, Effect.NONE.value, ServiceStatus.IN_PROGRESS, why
            )
        failed: list[str] = []
        while watches:
            for name, verdict in self.watcher.wait(watches, self.deadline).items():
                del watches[name]
                converged = verdict.phase is Phase.CONVERGED
                status = ServiceStatus.CONVERGED if converged else ServiceStatus.FAILED
                reason = "" if converged else _join(verdict.reason, verdict.task_error)
                self.results[name] = ServiceResult(name, Effect.NONE.value, status, reason)
                if not converged:
                    failed.append(name)
        return failed

    # -- prune and bookkeeping -------------------------------------------------

    def _prune(self) -> None:
        """Remove undeclared resources (planned only with --prune), services first."""
        deletions = self.plan.of_effect(Effect.DELETE)
        order = (
            ResourceKind.SERVICE,
            ResourceKind.SECRET,
            ResourceKind.CONFIG,
            ResourceKind.NETWORK,
        )
        for kind in order:
            for change in deletions:
                if change.kind is not kind or change.live is None:
                    continue
                try:
                    if kind is ResourceKind.SERVICE:
                        self.adapter.remove_service(change.live.id or change.name)
                    else:
                        self._remove_when_free(kind, change.live.id or change.name)
                except StackctlError as error:
                    self.emit(
                        ApplyWarning(
                            self.elapsed(),
                            f"could not prune {kind.value} {change.name}: {error.message}",
                        )
                    )
                    continue
                self.submitted += 1
                self.emit(ResourceRemoved(self.elapsed(), kind.value, change.name, "prune"))
                if kind is ResourceKind.SERVICE:
                    self.results[change.name] = ServiceResult(
                        change.name, change.effect.value, ServiceStatus.REMOVED, "pruned"
                    )

    def _remove_when_free(self, kind: ResourceKind, name_or_id: str) -> None:
        """Remove an object; while the tasks of a just-removed service still hold
        it (networks, mostly), the engine refuses: retry for a little while."""
        give_up = min(self.deadline, self.options.clock() + PRUNE_PATIENCE)
        while True:
            try:
                self.adapter.remove_object(kind, name_or_id)
                return
            except StackctlError:
                if self.options.clock() >= give_up:
                    raise
                self.options.sleep(self.options.poll_interval)

    def _mark_in_progress(self) -> None:
        """Submitted services whose fate is unknown stay 'in progress' as Swarm left them."""
        for name, result in self.results.items():
            if result.status is ServiceStatus.IN_PROGRESS:
                self.results[name] = replace(result, reason="left as Swarm has it")

    def _result(self, change: ResourceChange, status: ServiceStatus, reason: str = "") -> None:
        self.results[change.name] = ServiceResult(change.name, change.effect.value, status, reason)

    def _finish(self, outcome: Outcome, message: str) -> ApplyOutcome:
        duration = self.elapsed()
        services = tuple(self.results[n] for n in sorted(self.results))
        self.emit(ApplyFinished(duration, outcome, int(outcome.exit_code), message, services))
        return ApplyOutcome(outcome, services, duration, message, self.submitted)


def _join_reasons(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second


def _join(reason: str, task_error: str) -> str:
    return f"{reason} (task error: {task_error})" if task_error else reason
