"""Node-fault helpers for tests/cluster (``from faults import ...``).

Thin wrappers over the harness (harness/node.sh, up.sh, down.sh) plus what the
node-fault tests need to look at the cluster: node IDs by node number, the Raft
leader, task placement, and a ``stackctl apply`` that stops at a checkpoint so a
fault can be injected at an exact step (``stackctl.rollout.checkpoints``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker

from support.checkpoints import go_on, pause_at, wait_for_checkpoint
from support.testkit import REPO_ROOT, CliResult, run_stackctl_process, wait_until

HARNESS = Path(__file__).resolve().parents[1] / "cluster" / "harness"
NODES = 3
LOCK_LEASE_S = "3"  # short stackctl lock lease: a dead apply's lock frees quickly
# the project's registry as the nodes reach it ($SWT_NET.1:$SWT_REGISTRY_PORT in
# harness/lib.sh; the host pushes to it as 127.0.0.1:5000)
NODE_REGISTRY = "10.98.0.1:5000"


def harness(script: str, *args: str, managers: int | None = None) -> None:
    """Run a harness script (node.sh kill 3, up.sh, ...); fail the test if it fails."""
    env = {**os.environ, "SWT_NODES": str(NODES)}
    if managers is not None:
        env["SWT_MANAGERS"] = str(managers)
    run = subprocess.run(
        [str(HARNESS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, f"{script} {' '.join(args)}:\n{run.stdout}\n{run.stderr}"


def node_op(op: str, node: int) -> None:
    """kill | crash | stop | start | partition | heal node N (1-based)."""
    if op != "start":
        harness("node.sh", op, str(node))
        return
    try:
        harness("node.sh", "start", str(node))
    except AssertionError:
        # On a loaded machine a restarted node's containerd can miss dockerd's start
        # deadline ("timeout waiting for containerd to start"): clear the half-started
        # node and start it once more.
        harness("node.sh", "kill", str(node))
        harness("node.sh", "start", str(node))


def recreate_cluster(managers: int) -> None:
    """Replace the running cluster by a fresh one with ``managers`` managers."""
    harness("down.sh")
    harness("up.sh", managers=managers)


@contextmanager
def client_for(socket: str) -> Iterator[docker.DockerClient]:
    """A docker SDK client of the node at ``socket``, closed afterwards."""
    client = docker.DockerClient(base_url=socket, timeout=20)
    try:
        yield client
    finally:
        client.close()


def _nodes(client: docker.DockerClient) -> list[dict[str, Any]]:
    return list(client.api.nodes())


def node_id(client: docker.DockerClient, node: int) -> str:
    """The Swarm node ID of harness node N (hostname stk-node<N>)."""
    for raw in _nodes(client):
        if raw["Description"]["Hostname"] == f"stk-node{node}":
            return str(raw["ID"])
    raise AssertionError(f"no node stk-node{node} in the swarm")


def node_number(client: docker.DockerClient, swarm_id: str) -> int:
    for raw in _nodes(client):
        if raw["ID"] == swarm_id:
            return int(str(raw["Description"]["Hostname"]).removeprefix("stk-node"))
    raise AssertionError(f"no node {swarm_id} in the swarm")


def node_state(client: docker.DockerClient, node: int) -> str:
    for raw in _nodes(client):
        if raw["Description"]["Hostname"] == f"stk-node{node}":
            return str(raw["Status"]["State"])
    return "missing"


def leader(client: docker.DockerClient) -> int | None:
    """The harness number of the Raft leader, as the given manager sees it."""
    for raw in _nodes(client):
        if (raw.get("ManagerStatus") or {}).get("Leader"):
            return int(str(raw["Description"]["Hostname"]).removeprefix("stk-node"))
    return None


def answers(socket: str, check: Any) -> bool:
    """``check(client)`` against the engine at ``socket``; False while it errors."""
    try:
        with client_for(socket) as client:
            return bool(check(client))
    except Exception:  # the engine (or its Raft) is not back yet
        return False


def wait_node_state(socket: str, node: int, state: str, timeout: float = 90) -> None:
    """Wait until the manager at ``socket`` reports node N in ``state`` (ready/down)."""
    wait_until(
        lambda: answers(socket, lambda c: node_state(c, node) == state),
        timeout=timeout,
        what=f"node {node} to be {state}",
    )


def wait_all_ready(socket: str, timeout: float = 120) -> None:
    wait_until(
        lambda: answers(
            socket, lambda c: all(node_state(c, i) == "ready" for i in range(1, NODES + 1))
        ),
        timeout=timeout,
        what=f"all {NODES} nodes ready",
    )


def service(client: docker.DockerClient, name: str) -> dict[str, Any]:
    found = client.api.services(filters={"name": name})
    exact = [s for s in found if s["Spec"]["Name"] == name]
    assert len(exact) == 1, f"service {name}: {len(exact)} found"
    return dict(exact[0])


def spec_image(raw_service: dict[str, Any]) -> str:
    return str(raw_service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])


def active_tasks(client: docker.DockerClient, name: str) -> list[dict[str, Any]]:
    """Tasks of service ``name`` that Swarm wants running."""
    tasks = client.api.tasks(filters={"service": name, "desired-state": "running"})
    return [t for t in tasks if t["ServiceID"] == service(client, name)["ID"]]


def placement(client: docker.DockerClient, name: str) -> list[tuple[int, str, str]]:
    """(node number, task state, image) of every task Swarm wants running, sorted."""
    numbers = {
        str(n["ID"]): int(str(n["Description"]["Hostname"]).removeprefix("stk-node"))
        for n in _nodes(client)
    }
    return sorted(
        (
            numbers.get(str(t.get("NodeID")), 0),
            str(t["Status"]["State"]),
            str(t["Spec"]["ContainerSpec"]["Image"]),
        )
        for t in active_tasks(client, name)
    )


def stackctl(socket: str, *args: str, timeout: float = 300) -> CliResult:
    """``stackctl ARGS`` against the manager at ``socket`` (a subprocess, as a user runs it)."""
    env = {"DOCKER_HOST": socket, "STACKCTL_LOCK_LEASE": LOCK_LEASE_S}
    return run_stackctl_process(*args, env=env, timeout=timeout)


class PausedApply:
    """A ``stackctl apply`` subprocess held at one checkpoint until ``resume()``."""

    def __init__(self, proc: subprocess.Popen[str], folder: Path, point: str) -> None:
        self.proc = proc
        self.folder = folder
        self.point = point

    def resume(self, timeout: float = 300) -> CliResult:
        go_on(self.folder, self.point)
        out, err = self.proc.communicate(timeout=timeout)
        return CliResult(self.proc.returncode, out, err)


@contextmanager
def apply_paused_at(
    socket: str, point: str, folder: Path, *args: str, wait: float = 120
) -> Iterator[PausedApply]:
    """Start ``stackctl apply ARGS`` and yield once it waits at checkpoint ``point``.

    The process is killed if the block exits without having resumed it.
    """
    env = {
        **os.environ,
        "DOCKER_HOST": socket,
        "STACKCTL_LOCK_LEASE": LOCK_LEASE_S,
        "NO_COLOR": "1",
        "TERM": "dumb",
        "COLUMNS": "200",
        # the test, not a timer, decides when it goes on
        **pause_at(point, folder, max_seconds=600),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackctl", "apply", *args],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_checkpoint(proc, folder, point, timeout=wait)
        yield PausedApply(proc, folder, point)
    finally:
        if proc.poll() is None and not (folder / f"{point}.go").exists():
            proc.kill()
            proc.communicate()
