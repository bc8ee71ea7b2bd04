"""Node faults during ``stackctl apply`` on the project's real 3-node Swarm.

Faults come from the harness (harness/node.sh): ``kill`` is a power cut of one
node (dockerd, containerd and every container SIGKILLed). stackctl runs as a
subprocess with DOCKER_HOST on one manager's socket; an apply is held at a
checkpoint (``stackctl.rollout.checkpoints``) so the fault lands at an exact step.

- a worker dies mid-apply (after the plan was approved under the lock, before
  the write): Swarm moves its replicas, the apply converges on the two nodes
  left (exit 0; spec, tasks and update status all on the new image, none on the
  dead node); with the node back a re-run has no changes and ``diff`` is clean;
- a release whose placement only the dead node satisfies is reported
  unschedulable ("no suitable node") after ``--pending-timeout`` and rolled back;
- a 3-manager cluster loses its Raft leader mid-apply: through a surviving
  manager the apply carries on after the re-election; when stackctl's own
  endpoint dies it fails plainly and a re-run through another manager converges.

Every test leaves all nodes up (``finally``: start the node again).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.cluster_faults import (
    NODE_REGISTRY,
    apply_paused_at,
    client_for,
    leader,
    node_id,
    node_op,
    placement,
    recreate_cluster,
    service,
    spec_image,
    stackctl,
    wait_all_ready,
    wait_node_state,
)
from support.testkit import CliResult, wait_until

# from the registry (./dev cluster pushes the demo images): the manager pins each
# deploy to the digest, and a node pulls it when a task lands there
WEB1, WEB2 = f"{NODE_REGISTRY}/stackctl-demo/web:1", f"{NODE_REGISTRY}/stackctl-demo/web:2"

STACK = """
services:
  web:
    image: {image}
    stop_grace_period: 1s
    healthcheck: {{interval: 500ms, timeout: 2s, retries: 2, start_period: 0s}}
    deploy:
      replicas: {replicas}
      update_config: {{parallelism: 1, delay: 0s, order: stop-first, monitor: 500ms}}
{placement}
networks:
  default:
    # a subnet per test: a node that was killed may still hold the network of an
    # earlier test for a while, and re-using its subnet fails tasks there
    # ("Pool overlaps with other one on this address space")
    ipam: {{config: [{{subnet: "{subnet}"}}]}}
x-stackctl:
  ignore: [SC102]
"""


def write_stack(
    path: Path, image: str, replicas: int, subnet: str, constraint: str | None = None
) -> str:
    placement_yaml = f"      placement: {{constraints: ['{constraint}']}}" if constraint else ""
    path.write_text(
        STACK.format(image=image, replicas=replicas, placement=placement_yaml, subnet=subnet)
    )
    return str(path)


def output_of(run: CliResult) -> str:
    return f"exit {run.exit_code}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"


def assert_plain(run: CliResult) -> None:
    """Whatever happened, a person gets a message, never a Python traceback."""
    assert "Traceback" not in run.stdout + run.stderr, output_of(run)


def assert_converged(socket: str, name: str, image: str, replicas: int, avoid: int) -> None:
    """``replicas`` running tasks of ``image``, none on node ``avoid``, update done."""
    with client_for(socket) as client:
        raw = service(client, name)
        assert spec_image(raw).startswith(image), spec_image(raw)
        tasks = placement(client, name)
        assert len(tasks) == replicas, tasks
        assert all(state == "running" for _, state, _ in tasks), tasks
        assert all(img.startswith(image) for _, _, img in tasks), tasks
        assert avoid not in {n for n, _, _ in tasks}, tasks
        assert (raw.get("UpdateStatus") or {}).get("State") in (None, "completed"), raw


def wait_running(socket: str, name: str, image: str, replicas: int, timeout: float = 90) -> None:
    last: list[object] = []

    def done() -> bool:
        with client_for(socket) as client:
            tasks = placement(client, name)
            update = service(client, name).get("UpdateStatus")
        last[:] = [tasks, update]
        return len(tasks) == replicas and all(
            s == "running" and i.startswith(image) for _, s, i in tasks
        )

    try:
        wait_until(done, timeout=timeout, what=f"{replicas} running tasks of {name} on {image}")
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen (node, state, image), update: {last}") from None


@pytest.fixture(autouse=True)
def _registry_answers(node_registry: str) -> None:
    """The nodes pull WEB1/WEB2 from the registry; fail early when it does not answer."""


# --------------------------------------------------------------------------------------
# 1. a worker dies during a rolling update
# --------------------------------------------------------------------------------------


def test_worker_killed_mid_apply_rolls_out_on_the_nodes_left(
    swarm_cluster: list[str], stack_name: str, tmp_path: Path
) -> None:
    """The worker dies after the plan was approved under the lock and before the
    write. Swarm marks it down and moves its replicas to the live nodes; the apply
    then rolls v2 out there and converges. (Killed while Swarm's updater is
    replacing tasks instead, the outcome is Swarm's choice, not one: its updater
    waits without a timeout for a task it had just placed on the dead node, and
    failure_action does not apply because that task never fails. stackctl then
    reports exit 5, "not converged", which test_engine_restart and the endpoint
    test below check in their own scenarios.)"""
    manager, worker = swarm_cluster[0], 3
    name = f"{stack_name}_web"
    v1 = write_stack(tmp_path / "v1.yml", WEB1, replicas=6, subnet="10.231.1.0/24")
    v2 = write_stack(tmp_path / "v2.yml", WEB2, replicas=6, subnet="10.231.1.0/24")
    first = stackctl(manager, "apply", stack_name, "-c", v1, "--yes")
    assert first.exit_code == 0, output_of(first)
    with client_for(manager) as client:
        on_nodes = {n for n, _, _ in placement(client, name)}
    assert worker in on_nodes, f"the worker runs none of the replicas: {on_nodes}"

    try:
        with apply_paused_at(
            manager, "plan-rechecked", tmp_path, stack_name, "-c", v2, "--yes",
            "--timeout", "120s",
        ) as paused:  # fmt: skip
            node_op("kill", worker)  # power cut of a node running 2 of the 6 replicas
            wait_node_state(manager, worker, "down")
            wait_running_off(manager, name, WEB1, 6, avoid=worker)
            run = paused.resume()
        assert_plain(run)
        seen = output_of(run)
        # converged on the two nodes left: spec, every task, the update all say web:2
        assert run.exit_code == 0, seen
        assert "applied" in run.stdout, seen
        assert_converged(manager, name, WEB2, 6, avoid=worker)
    finally:
        node_op("start", worker)
    wait_all_ready(manager)

    # with the worker back nothing is left to do, and the cluster holds the file
    rerun = stackctl(manager, "apply", stack_name, "-c", v2, "--yes", "--lock-timeout", "30s")
    assert rerun.exit_code == 0, output_of(rerun)
    assert "No changes." in rerun.stdout, output_of(rerun)
    assert_converged(manager, name, WEB2, 6, avoid=0)  # 0: any node may run them now
    diff = stackctl(manager, "diff", stack_name, "-c", v2)
    assert diff.exit_code == 0, output_of(diff)


def wait_running_off(socket: str, name: str, image: str, replicas: int, avoid: int) -> None:
    """Wait until Swarm runs ``replicas`` tasks of ``image``, none on node ``avoid``."""

    def moved() -> bool:
        with client_for(socket) as client:
            tasks = placement(client, name)
        return (
            len(tasks) == replicas
            and all(s == "running" and i.startswith(image) for _, s, i in tasks)
            and avoid not in {n for n, _, _ in tasks}
        )

    wait_until(moved, timeout=120, what=f"{replicas} tasks of {name} off node {avoid}")


# --------------------------------------------------------------------------------------
# 2. placement that only the lost node satisfied
# --------------------------------------------------------------------------------------


@pytest.fixture
def zone_label(swarm_cluster: list[str], stack_name: str) -> Iterator[tuple[str, int]]:
    """Node 3 alone carries the label ``faultzone=<stack>``; removed afterwards."""
    key, node = "faultzone", 3
    with client_for(swarm_cluster[0]) as client:
        swarm_node = client.nodes.get(node_id(client, node))
        spec = swarm_node.attrs["Spec"]
        spec.setdefault("Labels", {})[key] = stack_name
        swarm_node.update(spec)
    yield f"node.labels.{key} == {stack_name}", node
    with client_for(swarm_cluster[0]) as client:
        swarm_node = client.nodes.get(node_id(client, node))
        spec = swarm_node.attrs["Spec"]
        spec.get("Labels", {}).pop(key, None)
        swarm_node.update(spec)


def test_placement_only_the_lost_node_satisfied_is_rolled_back(
    swarm_cluster: list[str], stack_name: str, zone_label: tuple[str, int], tmp_path: Path
) -> None:
    manager = swarm_cluster[0]
    constraint, lost = zone_label
    name = f"{stack_name}_web"
    v1 = write_stack(tmp_path / "v1.yml", WEB1, replicas=2, subnet="10.231.2.0/24")
    v2 = write_stack(
        tmp_path / "v2.yml", WEB2, replicas=2, subnet="10.231.2.0/24", constraint=constraint
    )
    first = stackctl(manager, "apply", stack_name, "-c", v1, "--yes")
    assert first.exit_code == 0, output_of(first)

    try:
        node_op("kill", lost)
        wait_node_state(manager, lost, "down")
        run = stackctl(
            manager, "apply", stack_name, "-c", v2, "--yes", "--pending-timeout", "5s",
            "--timeout", "120s",
        )  # fmt: skip
        assert_plain(run)
        seen = output_of(run)
        assert run.exit_code == 3, seen
        assert "rolled_back" in run.stdout, seen
        assert "task pending for more than 5s" in run.stdout, seen
        assert "no suitable node" in run.stdout, seen
        # the previous release is back, whole, on the nodes that are left
        assert_converged(manager, name, WEB1, 2, avoid=lost)
        with client_for(manager) as client:
            raw = service(client, name)
        assert not (raw["Spec"]["TaskTemplate"].get("Placement") or {}).get("Constraints"), raw
    finally:
        node_op("start", lost)
    wait_all_ready(manager)

    # with the node back, the same release fits: every replica lands on it
    rerun = stackctl(manager, "apply", stack_name, "-c", v2, "--yes", "--lock-timeout", "30s")
    assert rerun.exit_code == 0, output_of(rerun)
    with client_for(manager) as client:
        assert {n for n, _, _ in placement(client, name)} == {lost}
    history = stackctl(manager, "history", stack_name)
    assert history.exit_code == 0, output_of(history)
    assert "rolled_back" in history.stdout, output_of(history)


# --------------------------------------------------------------------------------------
# 3. a 3-manager cluster loses its leader
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_managers(swarm_cluster: list[str]) -> Iterator[list[str]]:
    """The session's cluster re-created with all three nodes as managers (node 1
    leads), then restored to the session's layout (one manager, two workers)."""
    recreate_cluster(managers=3)
    try:
        with client_for(swarm_cluster[0]) as client:
            managers = [n for n in client.api.nodes() if n.get("ManagerStatus")]
        assert len(managers) == 3, managers
        yield swarm_cluster
    finally:
        recreate_cluster(managers=1)


def test_leader_lost_while_stackctl_talks_to_a_follower(
    three_managers: list[str], stack_name: str, tmp_path: Path
) -> None:
    sockets = three_managers
    with client_for(sockets[0]) as client:
        old_leader = leader(client)
    assert old_leader is not None
    follower = next(i for i in (1, 2, 3) if i != old_leader)
    endpoint = sockets[follower - 1]
    name = f"{stack_name}_web"
    v1 = write_stack(tmp_path / "v1.yml", WEB1, replicas=3, subnet="10.231.3.0/24")
    v2 = write_stack(tmp_path / "v2.yml", WEB2, replicas=3, subnet="10.231.3.0/24")
    first = stackctl(endpoint, "apply", stack_name, "-c", v1, "--yes")
    assert first.exit_code == 0, output_of(first)

    try:
        with apply_paused_at(
            endpoint, "watching", tmp_path, stack_name, "-c", v2, "--yes", "--timeout", "90s"
        ) as paused:
            node_op("kill", old_leader)
            run = paused.resume()
        assert_plain(run)
        seen = output_of(run)
        print(seen)
        # the follower forwards to whichever manager wins the election: the apply
        # rides out the election and converges on the two nodes left
        assert run.exit_code == 0, seen
        with client_for(endpoint) as client:
            new_leader = leader(client)
        assert new_leader not in (None, old_leader), new_leader
        assert_converged(endpoint, name, WEB2, 3, avoid=old_leader)
        history = stackctl(endpoint, "history", stack_name, "--json")
        assert history.exit_code == 0, output_of(history)
    finally:
        node_op("start", old_leader)
    wait_all_ready(endpoint)


def test_stackctl_endpoint_lost_fails_plainly_and_another_manager_converges(
    three_managers: list[str], stack_name: str, tmp_path: Path
) -> None:
    sockets = three_managers
    wait_all_ready(sockets[0])
    with client_for(sockets[0]) as client:
        lead = leader(client)
    assert lead is not None
    endpoint = sockets[lead - 1]  # stackctl talks to the leader, which then dies
    survivor = sockets[lead % 3]
    name = f"{stack_name}_web"
    v1 = write_stack(tmp_path / "v1.yml", WEB1, replicas=3, subnet="10.231.4.0/24")
    v2 = write_stack(tmp_path / "v2.yml", WEB2, replicas=3, subnet="10.231.4.0/24")
    first = stackctl(endpoint, "apply", stack_name, "-c", v1, "--yes")
    assert first.exit_code == 0, output_of(first)

    try:
        with apply_paused_at(
            endpoint, "watching", tmp_path, stack_name, "-c", v2, "--yes", "--timeout", "20s"
        ) as paused:
            node_op("kill", lead)
            run = paused.resume()
        assert_plain(run)
        seen = output_of(run)
        # the new spec was submitted before the endpoint died: not converged (5)
        assert run.exit_code == 5, seen
        assert "cannot reach the Docker engine" in run.stdout + run.stderr, seen

        # nothing is lost: through a surviving manager, a re-run converges
        wait_until(
            lambda: leader_seen_by(survivor) not in (None, lead),
            timeout=60,
            what="a new leader",
        )
        rerun = stackctl(survivor, "apply", stack_name, "-c", v2, "--yes", "--lock-timeout", "30s")
        assert rerun.exit_code == 0, output_of(rerun)
        wait_running(survivor, name, WEB2, 3)
        diff = stackctl(survivor, "diff", stack_name, "-c", v2)
        assert diff.exit_code == 0, output_of(diff)
        history = stackctl(survivor, "history", stack_name, "--json")
        assert history.exit_code == 0, output_of(history)
    finally:
        node_op("start", lead)
    wait_all_ready(survivor)


def leader_seen_by(socket: str) -> int | None:
    try:
        with client_for(socket) as client:
            return leader(client)
    except docker.errors.DockerException:
        return None
