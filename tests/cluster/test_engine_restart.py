"""The manager's dockerd restarts while stackctl watches a rollout (project 3-node Swarm).

The shared system engine is never restarted: this runs on the cluster harness's
own daemons. stackctl talks to node 1 (the only manager); the apply is paused
at the ``watching`` checkpoint, node 1's dockerd is stopped, the apply resumes
against a dead engine, then the daemon comes back. The service runs on the
workers only, so the update Swarm runs never stops: stackctl warns once that it
lost the engine, keeps polling, says when the engine answers again, and ends
with the rollout converged (exit 0); ``diff`` is then clean.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import docker
import pytest
from support.checkpoints import go_on, pause_at, wait_for_checkpoint
from support.cluster_faults import NODE_REGISTRY
from support.testkit import REPO_ROOT, LineCollector, wait_until

HARNESS = Path(__file__).resolve().parent / "harness"
LOST = "lost the engine while watching, retrying"
BACK = "the engine answers again; watching"

STACK = """
services:
  web:
    image: {image}
    stop_grace_period: 1s
    healthcheck: {{interval: 300ms, timeout: 2s, retries: 2, start_period: 0s}}
    deploy:
      replicas: 3
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 500ms}}
      # on the workers only: stopping the manager's dockerd stops no task, so the
      # update Swarm runs is untouched and the one expected outcome is convergence
      placement: {{constraints: [node.role == worker]}}
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


POLLS_WHILE_DOWN = 4


class DeadEngine:
    """A unix socket at the stopped engine's path that accepts and closes every
    connection (an engine that does not answer), counting them."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.connections = 0
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DeadEngine:
        self._server.bind(self.path)
        self._server.listen(16)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            self.connections += 1
            conn.close()

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        self._thread.join(timeout=10)
        Path(self.path).unlink(missing_ok=True)  # dockerd creates its own again


def events_of(lines: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.splitlines() if line.startswith("{")]


def test_manager_dockerd_restart_mid_rollout(
    swarm_cluster: list[str], stack_name: str, tmp_path: Path
) -> None:
    manager = swarm_cluster[0]
    v1, v2 = tmp_path / "v1.yml", tmp_path / "v2.yml"
    # from the registry: deploys pinned to the digest; the workers pull web:2 while
    # the manager is down
    v1.write_text(STACK.format(image=f"{NODE_REGISTRY}/stackctl-demo/web:1"))
    v2.write_text(STACK.format(image=f"{NODE_REGISTRY}/stackctl-demo/web:2"))
    first = stackctl(manager, "apply", stack_name, "-c", str(v1), "--yes")
    assert first.returncode == 0, first.stdout + first.stderr

    apply_v2 = ["apply", stack_name, "-c", str(v2), "--yes", "--json", "--timeout", "300s"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackctl", *apply_v2],
        env=stackctl_env(manager, **pause_at("watching", tmp_path)),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_checkpoint(proc, tmp_path, "watching", timeout=120)
    stdout, stderr = LineCollector(proc.stdout), LineCollector(proc.stderr)
    try:
        harness("stop", "1")  # graceful daemon stop: the engine is gone mid-rollout
        # In the engine's place, a socket that counts connections and drops each: the
        # outage lasts until stackctl has polled the dead engine POLLS_WHILE_DOWN
        # times, so "warns once, keeps polling" is observed, not timed.
        with DeadEngine(manager.removeprefix("unix://")) as dead:
            go_on(tmp_path, "watching")
            stdout.wait_for(LOST, timeout=60)  # it met the dead engine and said so
            wait_until(
                lambda: dead.connections >= POLLS_WHILE_DOWN or proc.poll() is not None,
                timeout=120,
                what=f"{POLLS_WHILE_DOWN} polls of the dead engine",
            )
        assert proc.poll() is None, stdout.text() + stderr.text()  # still watching
    finally:
        harness("start", "1")
    try:
        proc.wait(timeout=400)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"apply did not end within its --timeout after the restart:\n{stdout.text()}")
    output = stdout.text() + stderr.text()
    assert "Traceback" not in output, output
    events = events_of(stdout.text())
    warnings = [str(e["message"]) for e in events if e["event"] == "apply_warning"]
    # warns once (however many polls fail), says when the engine is back, and the
    # rollout it kept watching converges: the workers ran the update all along
    assert [w for w in warnings if w.startswith(LOST)] == [warnings[0]], warnings
    assert "cannot reach the Docker engine" in warnings[0], warnings
    assert warnings.count(BACK) == 1 and warnings.index(BACK) > 0, warnings
    assert events[-1]["event"] == "apply_finished", events[-1]
    assert (events[-1]["outcome"], proc.returncode) == ("applied", 0), output
    wait_until(lambda: manager_ready(manager), timeout=180, what="the manager to be back")

    diff = stackctl(manager, "diff", stack_name, "-c", str(v2))
    assert diff.returncode == 0, diff.stdout + diff.stderr
    history = stackctl(manager, "history", stack_name, "--json")
    assert history.returncode == 0, history.stderr
    assert json.loads(history.stdout)["revisions"][-1]["outcome"] == "applied", history.stdout


@pytest.fixture(autouse=True)
def _registry_answers(node_registry: str) -> None:
    """The workers pull the images from the registry; fail early when it does not answer."""
