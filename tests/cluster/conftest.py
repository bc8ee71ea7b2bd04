"""The project's own 3-node Swarm for tests/cluster (marker ``cluster``).

A session fixture brings the cluster up with harness/up.sh (three dockerd in
network namespaces, one manager and two workers, the demo images loaded into every
node) and tears it down with harness/down.sh afterwards. It never touches the
system engine's state: that engine is only read, to copy the demo images.

Inside tests/cluster, ``docker_client`` is the cluster's manager (node 1), so the
shared ``stack_name`` fixture cleans up there. ``cluster_node_clients`` gives a
client per node, to look at what each node runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from swarm_testkit import connect_manager, engine_unavailable

HARNESS = Path(__file__).resolve().parent / "harness"
CLUSTER_RUN = Path("/run/stackctl-cluster")
# outside CLUSTER_RUN, which down.sh removes: one cluster per machine at a time
LOCK_FILE = Path("/run/stackctl-cluster.lock")
LOCK_WAIT_S = 1200.0
NODES = 3


def node_socket(i: int) -> str:
    return f"unix://{CLUSTER_RUN}/node{i}.sock"


def run_harness(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HARNESS / script)],
        env={**os.environ, "SWT_NODES": str(NODES)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def take_lock() -> int:
    """Wait (bounded) for other test sessions using the cluster on this machine."""
    fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                pytest.fail(f"another session holds {LOCK_FILE} for over {LOCK_WAIT_S:.0f}s")
            time.sleep(1)


@pytest.fixture(scope="session")
def swarm_cluster() -> Iterator[list[str]]:
    """A fresh 3-node Swarm for this session; yields the node sockets (node 1 first)."""
    if os.geteuid() != 0:
        engine_unavailable("the 3-node cluster needs root (network namespaces, dockerd)")
    missing = [c for c in ("ip", "nsenter", "unshare", "dockerd", "docker") if not shutil.which(c)]
    if missing:
        engine_unavailable(f"the 3-node cluster needs {missing}; run ./dev cluster as root")
    lock = take_lock()
    try:
        run_harness("down.sh")  # leftovers of an earlier, interrupted run
        up = run_harness("up.sh")
        if up.returncode != 0:
            run_harness("down.sh")
            pytest.fail(f"cluster harness up.sh failed:\n{up.stdout}\n{up.stderr}", pytrace=False)
        yield [node_socket(i) for i in range(1, NODES + 1)]
    finally:
        down = run_harness("down.sh")
        os.close(lock)  # closing the descriptor releases the flock
        if down.returncode != 0:
            pytest.fail(f"cluster harness down.sh failed:\n{down.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def docker_client(swarm_cluster: list[str]) -> Iterator[docker.DockerClient]:
    """The cluster's manager (node 1), overriding the local engine for tests/cluster."""
    client = connect_manager(swarm_cluster[0])
    yield client
    client.close()


@pytest.fixture(scope="session")
def cluster_node_clients(swarm_cluster: list[str]) -> Iterator[list[docker.DockerClient]]:
    """One client per node (index 0 = node 1), to see the containers each node runs."""
    clients = [docker.DockerClient(base_url=sock, timeout=60) for sock in swarm_cluster]
    yield clients
    for client in clients:
        client.close()
