"""The operations the bench measures, each contender in turn, on the live Swarm."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cluster import (
    count_changed,
    live_images,
    remove_stack,
    service_versions,
    stack_progress,
    stack_quiet,
    stack_settled,
    wait_until,
)
from bench.contenders import DOCKER, FLOOR, STACKCTL, Toolbox
from bench.gen import StackShape, service_names, write_stack_file
from bench.measure import run_timed
from bench.results import Results, Sample

SETTLE_GRACE = 120.0  # how long a stack may take to settle after a tool says it is done

# Exit codes each contender should give; the broken release is expected to fail.
EXPECTED_EXIT: dict[str, dict[str, frozenset[int]]] = {
    "broken": {STACKCTL: frozenset({3}), DOCKER: frozenset({0, 1}), FLOOR: frozenset({3})},
    "diff": {STACKCTL: frozenset({0, 2})},
}
DEFAULT_EXIT = frozenset({0})


@dataclass(frozen=True)
class Images:
    """The demo image tags: v1, v2 and a release whose health check never passes."""

    v1: str
    v2: str
    broken: str

    @classmethod
    def of_repo(cls, repo: str) -> Images:
        return cls(f"{repo}:1", f"{repo}:2", f"{repo}:broken")


@dataclass(frozen=True)
class Step:
    op: str
    shape: StackShape
    expected: StackShape  # what the stack should run afterwards


def rotated(items: Sequence[str], run: int) -> list[str]:
    """Alternate who goes first from one run to the next."""
    shift = run % len(items)
    return list(items[shift:]) + list(items[:shift])


def expected_images(shape: StackShape, stack: str) -> dict[str, str]:
    return {
        f"{stack}_{name}": shape.image_of(i) for i, name in enumerate(service_names(shape.services))
    }


def deploy_steps(
    size: int,
    images: Images,
    *,
    with_updates: bool,
    with_single_service_ops: bool,
    health_interval_ns: int,
    skip_ops: Sequence[str] = (),
) -> list[Step]:
    """deploy v1 -> redeploy v1 [-> everything to v2 [-> one service to v1 -> it to broken]].

    Each step starts from what the previous one left, so leaving one out (``skip_ops``)
    keeps the rest meaningful. The first deploy is never left out.
    """
    v1 = StackShape(size, images.v1, health_interval_ns=health_interval_ns)
    wanted: list[tuple[str, StackShape | None]] = [("deploy", v1), ("redeploy", v1)]
    if with_updates:
        v2 = v1.with_image(images.v2)
        wanted.append(("update_all", v2))
        if with_single_service_ops:
            wanted.append(("update_one", None))  # the first service to the other version
            wanted.append(("broken", None))  # the first service to broken; expect no change
    steps: list[Step] = []
    current = v1
    for op, shape in wanted:
        if op in skip_ops and op != "deploy":
            continue
        if op == "update_one":
            other = images.v2 if current.image_of(0) == images.v1 else images.v1
            shape = current.with_service_image(0, other)
        elif shape is None:
            steps.append(Step(op, current.with_service_image(0, images.broken), current))
            continue
        steps.append(Step(op, shape, shape))
        current = shape
    return steps


class Bench:
    """Runs measurements and appends them to ``results``."""

    def __init__(
        self,
        *,
        api: Any,
        tools: Toolbox,
        results: Results,
        workdir: Path,
        logdir: Path,
        prefix: str,
        count_calls: bool,
        log: Callable[[str], None],
        health_interval_ns: int,
    ) -> None:
        self.health_interval_ns = health_interval_ns
        self.api = api
        self.tools = tools
        self.results = results
        self.workdir = workdir
        self.logdir = logdir
        self.prefix = prefix
        self.count_calls = count_calls
        self.log = log

    # -- one measurement --------------------------------------------------

    def _measure(
        self,
        op: str,
        size: int,
        contender: str,
        run: int,
        command: list[str],
        *,
        stack: str | None = None,
        expected: Mapping[str, str] | None = None,
        watch: Callable[[], bool] | None = None,
        allow_rolled_back: bool = False,
    ) -> Sample:
        before = None
        if stack is not None:
            # Start from a quiet stack: Swarm closing an earlier update would move
            # version indices and be counted against this operation.
            wait_until(lambda: stack_quiet(self.api, stack), SETTLE_GRACE)
            before = service_versions(self.api, stack)
        log = self.logdir / f"{op}-{size}-{contender}-{run}.log"
        measured = run_timed(
            command,
            log=log,
            count_calls=self.count_calls,
            cwd=self.tools.repo,
            watch=watch,
        )
        sample = Sample(
            op=op,
            size=size,
            contender=contender,
            run=run,
            seconds=round(measured.seconds, 3),
            exit_code=measured.exit_code,
            ok=False,
            extra=dict(measured.extra),
        )
        if measured.api is not None:
            sample.api_total = int(measured.api["total"])
            sample.api_writes = int(measured.api["writes"])
            sample.extra["api_by_endpoint"] = measured.api["by_endpoint"]
        wanted_codes = EXPECTED_EXIT.get(op, {}).get(contender, DEFAULT_EXIT)
        code_ok = measured.exit_code in wanted_codes
        settled = True
        if stack is not None and expected is not None and code_ok:
            settle_seconds = self._seen_settled(stack, expected, allow_rolled_back)
            settled = settle_seconds is not None
            sample.extra["settled_after_exit_seconds"] = settle_seconds
        if stack is not None:
            sample.services_changed = count_changed(before or {}, service_versions(self.api, stack))
        if watch is not None and measured.extra.get("condition_seconds") is None:
            settled = False
        sample.ok = code_ok and settled
        if not code_ok:
            sample.note = f"exit code {measured.exit_code}, expected {sorted(wanted_codes)}"
        elif not settled:
            sample.note = "the stack did not reach the expected state"
        if not sample.ok:
            sample.note += f" (log: {log.name})"
        self.results.add(sample)
        self.log(
            f"  {op:<10} n={size:<5} {contender:<8} run {run}: {sample.seconds:8.2f}s "
            f"exit={sample.exit_code} changed={sample.services_changed} "
            f"api={sample.api_total}/{sample.api_writes}w {'ok' if sample.ok else sample.note}"
        )
        return sample

    def _seen_settled(
        self, stack: str, expected: Mapping[str, str], allow_rolled_back: bool
    ) -> float | None:
        """Seconds until every service was seen settled at least once (None: not in time).

        Each service only has to be seen settled once, not all at the same instant: on
        an overloaded machine health checks time out and tasks restart now and then,
        which says nothing about the tool. A tool that exits before its stack converged
        shows up as a large value here.
        """
        ok_states = {"converged", "rolled_back"} if allow_rolled_back else {"converged"}
        seen: set[str] = set()
        started = time.monotonic()

        def all_seen() -> bool:
            progress = stack_progress(self.api, stack, expected)
            seen.update(name for name, p in progress.items() if p.state in ok_states)
            return seen >= set(expected)

        if wait_until(all_seen, SETTLE_GRACE):
            return round(time.monotonic() - started, 3)
        return None

    def _unavailable(self, contender: str, op: str, command: str) -> bool:
        reason = self.tools.unavailable_reason(contender, command)
        if reason is not None:
            self.results.unavailable[f"{contender} {op}"] = reason
            self.results.save()
            return True
        return False

    # -- deploy / update chain ---------------------------------------------

    def stack_name(self, tag: str) -> str:
        return f"{self.prefix}{tag}"

    def deploy_chain(
        self,
        size: int,
        run: int,
        contender: str,
        images: Images,
        *,
        updates: bool,
        single_service_ops: bool,
        skip_ops: Sequence[str] = (),
    ) -> None:
        """Every deploy-type operation for one contender on one fresh stack."""
        steps = deploy_steps(
            size,
            images,
            with_updates=updates,
            with_single_service_ops=single_service_ops,
            health_interval_ns=self.health_interval_ns,
            skip_ops=skip_ops,
        )
        unavailable = [self._unavailable(contender, step.op, "apply") for step in steps]
        if any(unavailable):
            return
        stack = self.stack_name(f"{contender[0]}{size}r{run}")
        files = self.workdir / stack
        self.log(f"[{contender}] stack {stack}: {len(steps)} operations on {size} services")
        try:
            for index, step in enumerate(steps):
                file = write_stack_file(step.shape, files, f"{index}-{step.op}.yml")
                command = self.tools.apply_command(
                    contender, stack, file, step.shape, first=index == 0
                )
                watch = None
                if step.op == "broken":
                    watch = self._back_on_old_release(stack, step, images.broken)
                sample = self._measure(
                    step.op,
                    size,
                    contender,
                    run,
                    command,
                    stack=stack,
                    expected=expected_images(step.expected, stack),
                    watch=watch,
                    allow_rolled_back=step.op == "broken",
                )
                if not sample.ok:
                    self.log(f"  stopping this chain: {step.op} failed")
                    break
        finally:
            if not remove_stack(self.api, stack):
                self.log(f"  warning: stack {stack} did not go away cleanly")

    def _back_on_old_release(self, stack: str, step: Step, broken: str) -> Callable[[], bool]:
        """True once the broken image reached the cluster and the stack is back as before."""
        target = f"{stack}_{service_names(step.shape.services)[0]}"
        old_image = step.expected.image_of(0)
        wanted = expected_images(step.expected, stack)

        def back() -> bool:
            tasks = self.api.tasks(filters={"service": target})
            # (a resolving deploy runs broken@sha256:...: compare the tags)
            if not any(
                t["Spec"]["ContainerSpec"]["Image"].partition("@")[0] == broken for t in tasks
            ):
                return False
            if live_images(self.api, stack).get(target) != old_image:
                return False
            return stack_settled(self.api, stack, wanted, allow_rolled_back=True)

        return back

    # -- diff / validate / help ---------------------------------------------

    def validate_and_diff(self, size: int, runs: int, images: Images) -> None:
        """validate (stackctl vs `docker stack config`) and diff for ``size`` services."""
        shape = StackShape(size, images.v1, replicas=0, health_interval_ns=self.health_interval_ns)
        stack = self.stack_name(f"d{size}")
        file = write_stack_file(shape, self.workdir / stack, "stack.yml")
        contenders = [
            c for c in (STACKCTL, DOCKER) if not self._unavailable(c, "validate", "validate")
        ]
        for run in range(1, runs + 1):
            for contender in rotated(contenders, run):
                self._measure(
                    "validate", size, contender, run, self.tools.validate_command(contender, file)
                )
        if self._unavailable(STACKCTL, "diff", "diff"):
            return
        self.log(f"[setup] deploying {size} services with 0 replicas through the API")
        setup = subprocess.run(
            self.tools.floor_command("deploy", stack, shape, "--workers", "8", "--no-wait"),
            cwd=self.tools.repo,
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            if setup.returncode != 0:
                self.log(f"  setup failed: {setup.stderr.strip()[-500:]}")
                return
            for run in range(1, runs + 1):
                self._measure("diff", size, STACKCTL, run, self.tools.diff_command(stack, file))
        finally:
            remove_stack(self.api, stack)

    def help_startup(self, runs: int) -> None:
        contenders = [STACKCTL, DOCKER]
        if not self.tools.stackctl:
            self.results.unavailable[f"{STACKCTL} help"] = "the stackctl console script is missing"
            contenders = [DOCKER]
        for run in range(1, runs + 1):
            for contender in rotated(contenders, run):
                self._measure("help", 0, contender, run, self.tools.help_command(contender))
