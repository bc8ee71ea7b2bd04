"""The manager's dockerd restarts while stackctl watches a rollout (project 3-node Swarm).

The shared system engine is never restarted: this runs on the cluster harness's
own daemons. stackctl talks to node 1 (the only manager); the apply is paused
at the ``watching`` checkpoint, node 1's dockerd is stopped, the apply resumes
against a dead engine, then the daemon comes back. stackctl must end with a
clear message (never a traceback): it either resumes watching once the engine
answers again, or gives up naming the engine; a re-run then converges.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from swarm_testkit import REPO_ROOT, wait_until

from stackctl.rollout.checkpoints import PAUSE_DIR_ENV, PAUSE_ENV

HARNESS = Path(__file__).resolve().parent / "harness"

STACK = """
services:
  web:
    image: {image}
    stop_grace_period: 1s
    healthcheck: {{interval: 300ms, timeout: 2s, retries: 2, start_period: 0s}}
    deploy:
      replicas: 3
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 500ms}}
x-stackctl:
  ignore: [SC102]
"""


def harness(*args: str) -> None:
    run = subprocess.run(
        [str(HARNESS / "node.sh"), *args],
        env={**os.environ, "SWT_NODES": "3"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def stackctl_env(manager: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DOCKER_HOST": manager,
        "NO_COLOR": "1",
        "STACKCTL_LOCK_LEASE": "3",
        **extra,
    }


def stackctl(manager: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        env=stackctl_env(manager),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def manager_ready(manager: str) -> bool:
    try:
        client = docker.DockerClient(base_url=manager, timeout=5)
        try:
            nodes = client.api.nodes()
            info = client.info()
        finally:
            client.close()
    except Exception:  # any failure means "not back yet"
        return False
    # Every node ready, and the restarted daemon's own Swarm component active again:
    # until it is, tasks placed on it fail with "swarm is not active".
    swarm = info.get("Swarm") or {}
    return (
        sum(str(n["Status"]["State"]) == "ready" for n in nodes) == 3
        and swarm.get("LocalNodeState") == "active"
        and bool(swarm.get("ControlAvailable"))
    )


def test_manager_dockerd_restart_mid_rollout(
    swarm_cluster: list[str], stack_name: str, tmp_path: Path
) -> None:
    manager = swarm_cluster[0]
    v1, v2 = tmp_path / "v1.yml", tmp_path / "v2.yml"
    v1.write_text(STACK.format(image="stackctl-demo/web:1"))
    v2.write_text(STACK.format(image="stackctl-demo/web:2"))
    first = stackctl(manager, "apply", stack_name, "-c", str(v1), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr

    apply_v2 = ["apply", stack_name, "-c", str(v2), "--yes", "--timeout", "300s"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackctl", *apply_v2],
        env=stackctl_env(manager, **{PAUSE_ENV: "watching", PAUSE_DIR_ENV: str(tmp_path)}),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "watching.reached").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    try:
        harness("stop", "1")  # graceful daemon stop: the engine is gone mid-rollout
        (tmp_path / "watching.go").touch()
        time.sleep(3)  # stackctl polls a dead engine for a while
    finally:
        harness("start", "1")
    try:
        out, err = proc.communicate(timeout=400)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"apply did not end within its --timeout after the restart:\n{out}{err}")
    output = out + err
    assert "Traceback" not in output
    # it saw the outage, and either resumed watching or gave up saying why
    assert "engine" in output.lower(), output
    assert proc.returncode in (0, 1, 3, 4, 5), output
    wait_until(lambda: manager_ready(manager), timeout=180, what="the manager to be back")

    rerun = stackctl(manager, "apply", stack_name, "-c", str(v2), "--yes", "--lock-timeout", "30s")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    diff = stackctl(manager, "diff", stack_name, "-c", str(v2))
    assert diff.returncode == 0, diff.stdout + diff.stderr
    history = stackctl(manager, "history", stack_name, "--json")
    assert history.returncode == 0, history.stderr


@pytest.fixture(autouse=True)
def _demo_images_on_the_cluster(swarm_cluster: list[str]) -> None:
    """up.sh loads the demo images into every node; fail early when it did not."""
    client = docker.DockerClient(base_url=swarm_cluster[0], timeout=30)
    try:
        client.images.get("stackctl-demo/web:2")
    finally:
        client.close()
