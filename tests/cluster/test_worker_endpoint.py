"""stackctl pointed at a Swarm worker says so and names the fix (project 3-node Swarm).

Node 2 of the cluster harness is a worker in the session's layout (one manager, two
workers), so this guarantee is checked on every run that has the cluster.
"""

from __future__ import annotations

import docker

from stackctl.engine.client import connect
from stackctl.errors import EngineError


def test_engine_is_a_worker(swarm_cluster: list[str]) -> None:
    worker = swarm_cluster[1]
    client = docker.DockerClient(base_url=worker, timeout=30)
    try:
        swarm = client.info()["Swarm"]
    finally:
        client.close()
    assert swarm["LocalNodeState"] == "active" and not swarm["ControlAvailable"], swarm
    try:
        connect(env={"DOCKER_HOST": worker})
    except EngineError as caught:
        assert "worker" in caught.message
        assert caught.hint and "manager" in caught.hint
    else:
        raise AssertionError("connect() accepted a Swarm worker as its engine")
