"""``stackctl apply`` / ``unlock`` as a user runs them, on the real Swarm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.checkpoints import go_on, pause_at, wait_for_checkpoint
from support.import_probe import imported_by
from support.testkit import REPO_ROOT, LineCollector, RunStackctl

from stackctl.cli.apply_flow import ApplyRequest, run_apply_command
from stackctl.engine.client import EngineClient, connect
from stackctl.engine.lock import StackLock, read_lock

pytestmark = pytest.mark.usefixtures("demo_images")


def stack_file(directory: Path, image: str, *, name: str = "stack.yml") -> str:
    path = directory / name
    path.write_text(
        f"""
services:
  web:
    image: {image}
    stop_grace_period: 1s
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 1s}}
x-stackctl:
  ignore: [SC102]
"""
    )
    return str(path)


@pytest.fixture
def client() -> Iterator[EngineClient]:
    engine = connect()
    yield engine
    engine.close()


def spawn_apply(
    stack: str, file: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stackctl", "apply", stack, "-c", file, "--yes", *extra],
        cwd=REPO_ROOT,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_unchanged_reapply_makes_zero_write_calls(
    client: EngineClient,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: RunStackctl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = stack_file(tmp_path, "stackctl-demo/web:1")
    first = run_stackctl("apply", stack_name, "-c", file, "--yes")
    assert first.exit_code == 0, first.stderr
    monkeypatch.setattr("stackctl.cli.apply_flow.connect", lambda context: client)
    client.reset_api_calls()
    code = run_apply_command(ApplyRequest(stack=stack_name, files=(file,)), out=lambda line: None)
    assert code == 0
    calls = client.api_calls()
    assert calls.writes == 0, calls.by_method
    assert calls.total > 0  # it did look at the cluster
    assert read_lock(client, stack_name) is None
    # and a no-op run of the command loads no rollout machinery (start-up time)
    code, modules = imported_by(["apply", stack_name, "-c", file, "--yes"], REPO_ROOT)
    assert code == 0
    assert "stackctl.engine.planning" in modules  # it did plan against the cluster
    loaded = [m for m in modules if m.split(".")[0] == "rich" or m in NOT_FOR_A_NO_OP_APPLY]
    assert loaded == []


# what a no-op apply must not import: it writes nothing and watches nothing
NOT_FOR_A_NO_OP_APPLY = (
    "stackctl.cli.apply_run",
    "stackctl.cli.apply_view",
    "stackctl.rollout.events",
    "stackctl.rollout.runner",
    "stackctl.rollout.session",
)


def test_off_a_tty_apply_needs_yes(
    stack_name: str, tmp_path: Path, run_stackctl: RunStackctl
) -> None:
    file = stack_file(tmp_path, "stackctl-demo/web:1")
    result = run_stackctl("apply", stack_name, "-c", file)
    assert result.exit_code == 1
    assert "--yes" in result.stderr
    assert run_stackctl("ls").stdout.count(stack_name) == 0


def test_broken_release_exits_3_and_the_previous_file_diffs_clean(
    stack_name: str, tmp_path: Path, run_stackctl: RunStackctl
) -> None:
    v1 = stack_file(tmp_path, "stackctl-demo/web:1")
    assert run_stackctl("apply", stack_name, "-c", v1, "--yes").exit_code == 0
    broken = stack_file(tmp_path, "stackctl-demo/web:broken", name="broken.yml")
    result = run_stackctl("apply", stack_name, "-c", broken, "--yes", "--json")
    assert result.exit_code == 3, result.stdout + result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert "service_failed" in kinds and "rollback_started" in kinds
    assert events[-1]["event"] == "apply_finished" and events[-1]["exit_code"] == 3
    diff = run_stackctl("diff", stack_name, "-c", v1)
    assert diff.exit_code == 0, diff.stdout


def test_two_applies_at_once_one_proceeds_the_other_names_the_holder(
    stack_name: str, tmp_path: Path, run_stackctl: RunStackctl, client: EngineClient
) -> None:
    # the first apply is held at a checkpoint while it owns the lock, so the second
    # one always meets a held lock (it could otherwise start after the first ended)
    pause = pause_at("watching", tmp_path)
    first = spawn_apply(stack_name, stack_file(tmp_path, "stackctl-demo/web:1"), env=pause)
    try:
        wait_for_checkpoint(first, tmp_path, "watching", timeout=60)
        second = run_stackctl(
            "apply",
            stack_name,
            "-c",
            stack_file(tmp_path, "stackctl-demo/web:2", name="v2.yml"),
            "--yes",
        )
        assert second.exit_code == 1
        assert "locked by" in second.stderr and f"pid {first.pid}" in second.stderr
        go_on(tmp_path, "watching")
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            first.kill()
    assert read_lock(client, stack_name) is None


def test_lock_of_a_killed_apply_expires_and_the_next_apply_proceeds(
    stack_name: str, tmp_path: Path, run_stackctl: RunStackctl, client: EngineClient
) -> None:
    file = stack_file(tmp_path, "stackctl-demo/web:1")
    # killed at a checkpoint where it surely holds the lock (mid-rollout)
    pause = {**pause_at("watching", tmp_path), "STACKCTL_LOCK_LEASE": "3"}
    victim = spawn_apply(stack_name, file, env=pause)
    wait_for_checkpoint(victim, tmp_path, "watching", timeout=60)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert read_lock(client, stack_name) is not None  # left behind by the killed process
    # a release with changes needs the lock: it waits for the lease to run out
    v2 = stack_file(tmp_path, "stackctl-demo/web:2", name="v2.yml")
    again = run_stackctl("apply", stack_name, "-c", v2, "--yes", "--lock-timeout", "60s")
    assert again.exit_code == 0, again.stderr
    assert read_lock(client, stack_name) is None
    assert run_stackctl("diff", stack_name, "-c", v2).exit_code == 0


def test_sigterm_stops_cleanly_releases_the_lock_and_reports_each_service(
    stack_name: str, tmp_path: Path, client: EngineClient
) -> None:
    file = stack_file(tmp_path, "stackctl-demo/web:1")
    # held where the service is submitted and its health gate is awaited: the
    # signal always lands mid-rollout (no race with a fast convergence)
    proc = spawn_apply(stack_name, file, env=pause_at("watching", tmp_path))
    wait_for_checkpoint(proc, tmp_path, "watching", timeout=60)
    stderr = LineCollector(proc.stderr)
    proc.send_signal(signal.SIGTERM)
    stderr.wait_for("SIGTERM: stopping after the current step", timeout=30)
    go_on(tmp_path, "watching")
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=60)
    err = stderr.text()
    assert proc.returncode == 4, out + err
    assert "interrupted" in out
    assert f"{stack_name}_web (create):" in out  # the account of each service
    assert read_lock(client, stack_name) is None


def test_saved_plan_applies_and_a_stale_one_is_refused(
    stack_name: str, tmp_path: Path, run_stackctl: RunStackctl
) -> None:
    v1 = stack_file(tmp_path, "stackctl-demo/web:1")
    plan = str(tmp_path / "plan.json")
    assert run_stackctl("diff", stack_name, "-c", v1, "--out", plan).exit_code == 2
    applied = run_stackctl("apply", stack_name, "-c", v1, "--plan", plan, "--yes")
    assert applied.exit_code == 0, applied.stderr
    stale = run_stackctl("apply", stack_name, "-c", v1, "--plan", plan, "--yes")
    assert stale.exit_code == 1
    assert "changed since the plan was made" in stale.stderr


def test_unlock_breaks_a_held_lock(
    stack_name: str, run_stackctl: RunStackctl, client: EngineClient
) -> None:
    holder = StackLock(client, stack_name)
    holder.acquire()
    result = run_stackctl("unlock", stack_name)
    assert result.exit_code == 0
    assert f"pid {os.getpid()}" in result.stdout
    assert read_lock(client, stack_name) is None
    assert "was not locked" in run_stackctl("unlock", stack_name).stdout


# Five applies of one file at once: tests/integration/reliability/test_races.py
# (test_five_applies_of_one_file_at_once) checks their rollout windows.


def test_resolve_image_without_a_registry_warns_like_docker_and_uses_the_tags(
    stack_name: str, tmp_path: Path, run_stackctl: RunStackctl, client: EngineClient
) -> None:
    path = tmp_path / "two.yml"
    path.write_text(
        """
services:
  a:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
  b:
    image: stackctl-demo/web:2
    stop_grace_period: 1s
"""
    )
    result = run_stackctl(
        "apply", stack_name, "-c", str(path), "--yes", "--resolve-image", "always"
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    # docker's own warning, word for word, once per image; the tags are deployed as is
    for image in ("stackctl-demo/web:1", "stackctl-demo/web:2"):
        warning = (
            f"image {image} could not be accessed on a registry to record\n"
            f"its digest. Each node will access {image} independently,\n"
        )
        assert result.stderr.count(warning) == 1, result.stderr
    images = {
        s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        for s in client.api.services(filters={"label": f"com.docker.stack.namespace={stack_name}"})
    }
    assert images == {"stackctl-demo/web:1", "stackctl-demo/web:2"}
