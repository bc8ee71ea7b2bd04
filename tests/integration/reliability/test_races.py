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

from stackctl.engine.client import EngineClient, connect
from stackctl.engine.lock import read_lock
from stackctl.rollout.checkpoints import PAUSE_DIR_ENV, PAUSE_ENV

from .kit import (
    V1,
    V2,
    Release,
    apply,
    assert_converged,
    assert_history_consistent,
    spawn,
)

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
    releases = [Release(f"r{i}", "stackctl-demo/web:1") for i in range(5)]
    files = [r.write(tmp_path) for r in releases]
    runs = start_all(stack_name, files, "--lock-timeout", "120s")

    assert {r.proc.returncode for r in runs} <= {0, 1}, [r.stderr for r in runs]
    for run in runs:
        if run.proc.returncode == 1:
            # a plan approved against a cluster that another apply then changed is
            # never applied: it is refused under the lock
            assert STALE in run.stderr, run.stderr
    windows = assert_never_interleaved(runs)
    appliers = [r for r in runs if r.window() is not None]
    assert len(windows) >= 1
    assert all((r.finished() or {}).get("outcome") == "applied" for r in appliers)
    history = assert_history_consistent(client, stack_name)
    assert len(history) == len(appliers)  # one revision per rollout, none lost or merged
    # the cluster holds the release of whichever apply ran last
    last = max(appliers, key=lambda r: r.window() or (0.0, 0.0))
    assert_converged(stack_name, files[runs.index(last)])
    assert read_lock(client, stack_name) is None


def test_manual_update_between_plan_and_write_is_not_overwritten(
    stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    assert apply(stack_name, V1.write(tmp_path)).exit_code == 0
    service = f"{stack_name}_db"
    pause = {PAUSE_ENV: "plan-rechecked", PAUSE_DIR_ENV: str(tmp_path)}
    proc = spawn(
        "apply", stack_name, "-c", V2.write(tmp_path), "--yes", "--pending-timeout", "60s",
        env=pause,
    )  # fmt: skip
    reached = tmp_path / "plan-rechecked.reached"
    deadline = time.monotonic() + 60
    while not reached.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    # the plan is made (and re-checked under the lock); someone updates by hand now
    manual = subprocess.run(
        ["docker", "service", "update", "--detach", "--no-resolve-image",
         "--env-add", "HOTFIX=by-hand", service],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert manual.returncode == 0, manual.stderr
    (tmp_path / "plan-rechecked.go").touch()
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
