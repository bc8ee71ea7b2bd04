"""Applies racing each other, and an apply racing a manual ``docker service update``."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.checkpoints import go_on, pause_at, wait_for_checkpoint
from support.reliability import (
    V1,
    V2,
    Release,
    apply,
    assert_converged,
    assert_history_consistent,
    spawn,
)
from support.testkit import LineCollector

from stackctl.engine.client import EngineClient, connect
from stackctl.engine.lock import read_lock

pytestmark = pytest.mark.usefixtures("demo_images")

HOLDER = re.compile(r"is locked by \S+ \(pid (\d+)\) since ")
STALE = "changed in the cluster since the plan was shown"


@pytest.fixture
def client() -> EngineClient:
    return connect()


@dataclass
class Run:
    """One apply process, its JSON-lines events stamped with when they arrived."""

    proc: subprocess.Popen[str]
    events: list[tuple[float, dict[str, object]]] = field(default_factory=list)
    stderr: str = ""

    def window(self) -> tuple[float, float] | None:
        """When its rollout ran (apply_started .. apply_finished), if it ran one."""
        times = {str(e["event"]): t for t, e in self.events}
        if "apply_started" not in times:
            return None
        # every apply_started must be closed by an apply_finished, whatever happened
        assert "apply_finished" in times, (self.proc.returncode, self.events, self.stderr)
        return times["apply_started"], times["apply_finished"]

    def finished(self) -> dict[str, object] | None:
        return next((e for _, e in self.events if e["event"] == "apply_finished"), None)


def start_all(stack: str, files: list[str], *extra: str) -> list[Run]:
    """Start one ``apply --json`` per file at once; read every stdout line as it comes."""
    runs = [
        Run(spawn("apply", stack, "-c", f, "--yes", "--json", "--pending-timeout", "60s", *extra))
        for f in files
    ]

    def read(run: Run) -> None:
        assert run.proc.stdout is not None and run.proc.stderr is not None
        for line in run.proc.stdout:  # the only reader of this pipe
            if line.startswith("{"):
                run.events.append((time.monotonic(), json.loads(line)))
        run.stderr = run.proc.stderr.read()

    readers = [threading.Thread(target=read, args=(r,)) for r in runs]
    for reader in readers:
        reader.start()
    for run in runs:
        run.proc.wait(timeout=300)
    for reader in readers:
        reader.join(timeout=30)
    return runs


def assert_refusals_name_a_holder(runs: list[Run]) -> None:
    pids = {str(r.proc.pid) for r in runs}
    for run in runs:
        if run.proc.returncode != 1:
            continue
        match = HOLDER.search(run.stderr)
        if match is None:
            assert STALE in run.stderr, run.stderr
            continue
        assert match.group(1) in pids - {str(run.proc.pid)}, run.stderr


def assert_never_interleaved(runs: list[Run]) -> list[tuple[float, float]]:
    windows = sorted(w for w in (r.window() for r in runs) if w is not None)
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert end <= start, windows
    return windows


def test_five_applies_of_one_file_at_once(
    stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    file = V1.write(tmp_path)
    runs = start_all(stack_name, [file] * 5)

    codes = [r.proc.returncode for r in runs]
    assert set(codes) <= {0, 1}, [(r.proc.returncode, r.stderr) for r in runs]
    assert_refusals_name_a_holder(runs)
    windows = assert_never_interleaved(runs)
    applied = [r for r in runs if (r.finished() or {}).get("outcome") == "applied"]
    assert len(windows) == len(applied) == 1, [(r.proc.returncode, r.stderr) for r in runs]
    # the others saw nothing left to do (exit 0) or were refused naming the holder (exit 1)
    assert_converged(stack_name, file)
    history = assert_history_consistent(client, stack_name)
    assert [e["outcome"] for e in history] == ["applied"]
    assert read_lock(client, stack_name) is None


def test_five_different_releases_waiting_for_the_lock_run_one_at_a_time(
    stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    """Five releases, each planned against the one before it and then waiting for
    the lock that one still holds (paused at ``releasing``, its rollout done): none
    is stale, so all five roll out, strictly one after the other, and each leaves
    exactly one revision."""
    releases = [Release(f"r{i}", "stackctl-demo/web:1") for i in range(5)]
    files = [r.write(tmp_path) for r in releases]
    runs: list[SerialRun] = []
    released_at: list[float] = []  # when each holder was let go to release the lock
    for i, file in enumerate(files):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        run = SerialRun.start(stack_name, file, folder)
        runs.append(run)
        run.stdout.wait_for('"event": "plan"', timeout=120)  # planned on the previous release
        if i > 0:
            previous = runs[i - 1]
            # it found the lock held by the previous apply and says it waits for it
            run.stderr.wait_for(f"(pid {previous.proc.pid})", timeout=60)
            assert "waiting up to 120s" in "".join(run.stderr.lines), run.stderr.lines
            holder = read_lock(client, stack_name)
            assert holder is not None and holder.pid == str(previous.proc.pid), holder
            assert "apply_started" not in run.event_times()  # still waiting
            released_at.append(time.monotonic())
            go_on(previous.folder, "releasing")
        run.wait_reached("releasing")
    released_at.append(time.monotonic())
    go_on(runs[-1].folder, "releasing")
    for run in runs:
        run.proc.wait(timeout=120)

    outcomes = [(r.proc.returncode, (r.finished() or {}).get("outcome")) for r in runs]
    assert outcomes == [(0, "applied")] * 5, [
        (o, r.stderr.text()) for o, r in zip(outcomes, runs, strict=True)
    ]
    windows = [r.window() for r in runs]
    for i in range(1, 5):
        # the next rollout started only after its predecessor was allowed to release
        # the lock, although it was waiting for it all along
        assert windows[i][0] > released_at[i - 1] > windows[i - 1][1], (i, windows, released_at)
    history = assert_history_consistent(client, stack_name)
    assert [e["outcome"] for e in history] == ["applied"] * 5  # one revision per rollout
    assert_converged(stack_name, files[-1])
    assert read_lock(client, stack_name) is None


def test_a_plan_made_before_another_apply_wrote_is_refused_under_the_lock(
    stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    """The first apply holds the lock (paused after its re-check, heartbeat
    running, nothing written); the second plans against the cluster as it is, then
    waits for the lock. The first then rolls out: the second's approved plan no longer describes
    what would happen, so under the lock it is refused, and writes nothing."""
    first_file, second_file = (Release(n, "stackctl-demo/web:1").write(tmp_path) for n in "ab")
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    # not "lock-acquired": the lease heartbeat starts only after that point, so a
    # lock held there expires after one lease (3 s) and the second apply takes it
    first = SerialRun.start(stack_name, first_file, tmp_path / "first", "plan-rechecked")
    first.wait_reached("plan-rechecked")
    # (held after its re-check, if it ever got past it: a refused plan never does)
    second = SerialRun.start(stack_name, second_file, tmp_path / "second", "plan-rechecked")
    second.stdout.wait_for('"event": "plan"', timeout=120)  # planned on the empty stack
    second.stderr.wait_for(f"(pid {first.proc.pid})", timeout=60)  # and waits for the lock
    go_on(tmp_path / "first", "plan-rechecked")
    assert first.proc.wait(timeout=180) == 0, first.stdout.text() + first.stderr.text()
    try:
        second.proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        second.proc.kill()
        raise AssertionError(
            "the second apply did not end: "
            + "".join(second.stdout.lines[-5:] + second.stderr.lines)
        ) from None
    assert second.proc.returncode == 1, second.stdout.text() + second.stderr.text()
    assert STALE in second.stderr.text(), second.stdout.text() + second.stderr.text()
    assert "apply_started" not in second.event_times()  # it never rolled anything out
    assert not (tmp_path / "second" / "plan-rechecked.reached").exists()  # refused at recheck
    history = assert_history_consistent(client, stack_name)
    assert [e["outcome"] for e in history] == ["applied"]  # the first apply's only
    assert_converged(stack_name, first_file)
    assert read_lock(client, stack_name) is None


@dataclass
class SerialRun:
    """One ``apply --json`` paused at ``releasing``, its lines read as they come."""

    proc: subprocess.Popen[str]
    folder: Path
    stdout: LineCollector
    stderr: LineCollector

    @classmethod
    def start(cls, stack: str, file: str, folder: Path, point: str = "releasing") -> SerialRun:
        proc = spawn(
            "apply", stack, "-c", file, "--yes", "--json", "--pending-timeout", "60s",
            "--lock-timeout", "120s",
            # the test, not the hook's 120 s default, decides when it goes on
            env=pause_at(point, folder, max_seconds=900),
        )  # fmt: skip
        return cls(proc, folder, LineCollector(proc.stdout), LineCollector(proc.stderr))

    def wait_reached(self, point: str) -> None:
        wait_for_checkpoint(
            self.proc,
            self.folder,
            point,
            timeout=120,
            output=lambda: self.stdout.text() + self.stderr.text(),
        )

    def event_times(self) -> dict[str, float]:
        return {
            json.loads(line)["event"]: stamp
            for line, stamp in zip(self.stdout.lines, self.stdout.stamps, strict=True)
            if line.startswith("{")
        }

    def window(self) -> tuple[float, float]:
        times = self.event_times()
        return times["apply_started"], times["apply_finished"]

    def finished(self) -> dict[str, object] | None:
        found = [json.loads(line) for line in self.stdout.lines if '"apply_finished"' in line]
        return found[-1] if found else None


def test_manual_update_between_plan_and_write_is_not_overwritten(
    stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    assert apply(stack_name, V1.write(tmp_path)).exit_code == 0
    service = f"{stack_name}_db"
    proc = spawn(
        "apply", stack_name, "-c", V2.write(tmp_path), "--yes", "--pending-timeout", "60s",
        env=pause_at("plan-rechecked", tmp_path),
    )  # fmt: skip
    wait_for_checkpoint(proc, tmp_path, "plan-rechecked", timeout=60)
    # the plan is made (and re-checked under the lock); someone updates by hand now
    manual = subprocess.run(
        ["docker", "service", "update", "--detach", "--no-resolve-image",
         "--env-add", "HOTFIX=by-hand", service],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert manual.returncode == 0, manual.stderr
    go_on(tmp_path, "plan-rechecked")
    out, err = proc.communicate(timeout=120)

    assert proc.returncode not in (0, 2), out + err
    assert "changed in the cluster since it was planned" in out + err
    spec = client.api.inspect_service(service)["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert "HOTFIX=by-hand" in spec["Env"]  # the manual change survived
    assert spec["Image"] == V1.image  # and the planned one was not forced over it
    api = client.api.inspect_service(f"{stack_name}_api")["Spec"]["TaskTemplate"]
    assert api["ContainerSpec"]["Image"] == V1.image  # later waves never started
    assert read_lock(client, stack_name) is None
    assert_history_consistent(client, stack_name)
