"""The project's own 3-node Swarm for tests/cluster (marker ``cluster``).

A session fixture brings the cluster up with harness/up.sh (three dockerd in
network namespaces, one manager and two workers, the local-only demo images loaded
into every node) and tears it down with harness/down.sh afterwards. It never touches
the system engine's state: that engine is only read, to copy the demo images.

The nodes pull from the project's registry (``./dev cluster``, 127.0.0.1:5000 on the
host) at ``NODE_REGISTRY``, a forward on the host end of the cluster's link that every
node trusts as an insecure registry (harness/lib.sh). ``node_registry`` gives that
address once the registry answers there.

Inside tests/cluster, ``docker_client`` is the cluster's manager (node 1), and
``stack_name`` cleans up there, then waits on EVERY node until the stack's tasks,
networks and their overlay sandboxes (which hold the vxlan devices) are gone: the
next test's network may get the same VXLAN ID, and a node still holding the old
device fails it with "error creating vxlan interface: file exists". ``cluster_node_clients`` gives a
client per node, to look at what each node runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.cluster_faults import NODE_REGISTRY
from support.testkit import (
    NAMESPACE_LABEL,
    connect_manager,
    engine_unavailable,
    new_stack_name,
    remove_stack_objects,
    wait_until,
)

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
def node_registry(swarm_cluster: list[str]) -> str:
    """The registry address image references use on the cluster (up.sh checked it)."""
    try:
        with urllib.request.urlopen(f"http://{NODE_REGISTRY}/v2/", timeout=10) as response:
            assert response.status == 200
    except OSError as error:
        pytest.fail(f"the registry does not answer at {NODE_REGISTRY}: {error}", pytrace=False)
    return NODE_REGISTRY


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


STACK_GONE_TIMEOUT_S = 120.0


def _node_holds(socket: str, index: int, stack: str, network_ids: list[str]) -> list[str]:
    """What node ``index`` still holds of ``stack``: task containers, the networks,
    the networks' overlay sandboxes (netns files under its exec root, named
    ``1-<network id[:10]>``; the vxlan device lives in that sandbox)."""
    held: list[str] = []
    sandboxes = CLUSTER_RUN / f"n{index}" / "exec" / "netns"
    held += [f"sandbox {n[:10]}" for n in network_ids if (sandboxes / f"1-{n[:10]}").exists()]
    try:
        client = docker.DockerClient(base_url=socket, timeout=10)
    except docker.errors.DockerException as error:
        return [*held, f"engine not answering ({error})"]
    try:
        for container in client.api.containers(all=True):
            service = (container.get("Labels") or {}).get("com.docker.swarm.service.name", "")
            if service.startswith(f"{stack}_"):
                held.append(f"container {container['Id'][:12]} of {service}")
        listed = {n["Id"] for n in client.api.networks()}
        held += [f"network {n[:10]}" for n in network_ids if n in listed]
    except docker.errors.DockerException as error:
        held.append(f"engine error ({error})")
    finally:
        client.close()
    return held


@pytest.fixture
def stack_name(docker_client: docker.DockerClient, swarm_cluster: list[str]) -> Iterator[str]:
    """A unique stack name; afterwards the stack is removed and every node has let go
    of it (see the module docstring), so the next test starts on a clean cluster."""
    name = new_stack_name()
    yield name
    label = {"label": f"{NAMESPACE_LABEL}={name}"}
    try:
        network_ids = [n["Id"] for n in docker_client.api.networks(filters=label)]
    except docker.errors.DockerException:
        network_ids = []  # the manager is not back (a test re-created the cluster)
    leftovers = remove_stack_objects(docker_client, name)
    assert not leftovers, f"stack {name}: could not remove {leftovers}"
    last: dict[int, list[str]] = {}

    def released_everywhere() -> bool:
        for index, socket in enumerate(swarm_cluster, start=1):
            last[index] = _node_holds(socket, index, name, network_ids)
        return not any(last.values())

    try:
        wait_until(released_everywhere, timeout=STACK_GONE_TIMEOUT_S, what=f"{name} gone")
    except AssertionError as error:
        raise AssertionError(f"{error}; still held per node: {last}") from None
