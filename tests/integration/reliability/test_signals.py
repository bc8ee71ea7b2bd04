"""SIGINT/SIGTERM during an apply: a clean stop that releases the lock, says what
state each service was left in, exits non-zero; a re-run then converges.

The signal is sent while the apply is paused at an exact point (the checkpoint
test hook), so the test never races the rollout.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from support.checkpoints import go_on, pause_at, wait_for_checkpoint
from support.reliability import (
    BROKEN,
    V1,
    V2,
    apply,
    assert_converged,
    assert_history_consistent,
    spawn,
)
from support.testkit import LineCollector

from stackctl.engine.client import EngineClient, connect
from stackctl.engine.lock import read_lock

pytestmark = pytest.mark.usefixtures("demo_images")


@pytest.fixture
def client() -> EngineClient:
    return connect()


def interrupt_at(
    stack: str, file: str, point: str, signum: signal.Signals, workdir: Path
) -> tuple[int, str]:
    """Apply ``file``, pause at ``point``, deliver ``signum``, let it go on; return
    (exit code, stdout + stderr)."""
    proc = spawn(
        "apply", stack, "-c", file, "--yes", "--pending-timeout", "60s",
        env=pause_at(point, workdir),
    )  # fmt: skip
    reached = wait_for_checkpoint(proc, workdir, point, timeout=90)
    stderr = LineCollector(proc.stderr)
    proc.send_signal(signum)
    # the handler runs in the paused main thread and says so: only then let it go on
    stderr.wait_for(f"{signum.name}: stopping after the current step", timeout=30)
    go_on(workdir, point)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=120)
    reached.unlink()
    (workdir / f"{point}.go").unlink()
    return proc.returncode, out + stderr.text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_waiting_on_health_stops_cleanly(
    signum: signal.Signals, stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    assert apply(stack_name, V1.write(tmp_path)).exit_code == 0
    code, output = interrupt_at(stack_name, V2.write(tmp_path), "watching", signum, tmp_path)

    assert code == 4, output
    assert f"{signum.name}: stopping after the current step" in output
    assert "interrupted" in output
    # the summary accounts for every service: the one rolling, the one never started
    assert f"{stack_name}_db (rolling): in_progress" in output
    assert f"{stack_name}_api (rolling): not_started" in output
    assert read_lock(client, stack_name) is None  # released at once, not by lease expiry
    history = assert_history_consistent(client, stack_name)
    assert history[-1]["outcome"] == "interrupted"

    rerun = apply(stack_name, V2.write(tmp_path))
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert_converged(stack_name, V2.write(tmp_path))


def test_sigterm_during_rollback_stops_cleanly(
    stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    assert apply(stack_name, V1.write(tmp_path)).exit_code == 0
    code, output = interrupt_at(
        stack_name, BROKEN.write(tmp_path), "rollback-submitted", signal.SIGTERM, tmp_path
    )

    assert code == 4, output
    assert "stopped by a signal during rollback" in output
    assert f"{stack_name}_db" in output
    assert read_lock(client, stack_name) is None
    assert_history_consistent(client, stack_name)

    rerun = apply(stack_name, V1.write(tmp_path))
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert_converged(stack_name, V1.write(tmp_path))
