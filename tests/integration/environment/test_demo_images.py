"""The test environment itself: the demo images behave as the demo and tests expect.

Each test runs a real service on the local Swarm under a unique stack name and
asserts what the cluster holds: task states, container health, exit codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker
import pytest
from docker.types import RestartPolicy
from support.testkit import NAMESPACE_LABEL

CONTEXT_LABEL = "io.stackctl.demo.context-sha256"


def create_service(
    client: docker.DockerClient, stack: str, image: str, *, restart: str = "any", attempts: int = 0
) -> Any:
    return client.services.create(
        image,
        name=f"{stack}_app",
        labels={NAMESPACE_LABEL: stack},
        container_labels={NAMESPACE_LABEL: stack},
        restart_policy=RestartPolicy(condition=restart, delay=1_000_000_000, max_attempts=attempts),
    )


def service_containers(client: docker.DockerClient, service: Any) -> list[Any]:
    """The service's containers that still exist (the Swarm removes old ones any time)."""
    found = []
    listed = client.api.containers(
        all=True, filters={"label": f"com.docker.swarm.service.id={service.id}"}
    )
    for summary in listed:
        try:
            found.append(client.containers.get(summary["Id"]))
        except docker.errors.NotFound:
            continue
    return found


def health_of(container: Any) -> str | None:
    try:
        container.reload()
    except docker.errors.NotFound:  # the Swarm removed it meanwhile (task history)
        return None
    health = container.attrs["State"].get("Health")
    return None if health is None else str(health["Status"])


def test_demo_images_exist_with_their_build_label(
    docker_client: docker.DockerClient, demo_images: tuple[str, ...]
) -> None:
    for tag in demo_images:
        image = docker_client.images.get(tag)
        assert image.labels.get(CONTEXT_LABEL), f"{tag} was not built by ./dev cluster"
    web_1 = docker_client.images.get("stackctl-demo/web:1")
    web_2 = docker_client.images.get("stackctl-demo/web:2")
    assert web_1.id != web_2.id
    assert web_1.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD-SHELL"


@pytest.mark.usefixtures("demo_images")
def test_web_1_becomes_healthy_and_serves_its_version(
    docker_client: docker.DockerClient, stack_name: str, wait_for: Callable[..., None]
) -> None:
    service = create_service(docker_client, stack_name, "stackctl-demo/web:1")

    def healthy() -> bool:
        return any(health_of(c) == "healthy" for c in service_containers(docker_client, service))

    wait_for(healthy, timeout=120, what="a healthy web:1 container")
    container = next(c for c in service_containers(docker_client, service) if c.status == "running")
    code, out = container.exec_run(["wget", "-q", "-O-", "http://127.0.0.1:8080/"])
    assert (code, out.decode().strip()) == (0, "version 1")

    # Swarm marks the task running only once its agent has seen the container's health
    # (the task stays "starting" until then), so the task state is polled, not read once.
    def task_running() -> bool:
        tasks = service.tasks(filters={"desired-state": "running"})
        return [t["Status"]["State"] for t in tasks] == ["running"]

    wait_for(task_running, timeout=60, what="the web:1 task to be running")


@pytest.mark.usefixtures("demo_images")
def test_web_broken_runs_but_never_becomes_healthy(
    docker_client: docker.DockerClient, stack_name: str, wait_for: Callable[..., None]
) -> None:
    service = create_service(docker_client, stack_name, "stackctl-demo/web:broken")
    seen: set[str | None] = set()

    def unhealthy() -> bool:
        states = {health_of(c) for c in service_containers(docker_client, service)}
        seen.update(states)
        return "unhealthy" in states

    # start period 2s + 2 failed checks at 1s: unhealthy within seconds
    wait_for(unhealthy, timeout=60, what="an unhealthy web:broken container")
    assert "healthy" not in seen
    # the Swarm stops an unhealthy task and starts a replacement, which is no
    # healthier: keep watching until the replacement exists
    wait_for(
        lambda: unhealthy() and len(service.tasks()) >= 2,
        timeout=60,
        what="the Swarm to replace the unhealthy task",
    )
    assert "healthy" not in seen


@pytest.mark.usefixtures("demo_images")
def test_web_crash_exits_at_once_with_an_error(
    docker_client: docker.DockerClient, stack_name: str, wait_for: Callable[..., None]
) -> None:
    service = create_service(
        docker_client, stack_name, "stackctl-demo/web:crash", restart="on-failure", attempts=5
    )

    def failed_statuses() -> list[dict[str, Any]]:
        return [t["Status"] for t in service.tasks() if t["Status"]["State"] == "failed"]

    # every attempt fails; on a loaded machine one may fail before the process runs
    # (exit 128), so wait for an attempt where the process itself exited 1
    wait_for(
        lambda: any(s["ContainerStatus"].get("ExitCode") == 1 for s in failed_statuses()),
        timeout=90,
        what="a crash task whose process exited 1",
    )
    statuses = failed_statuses()
    assert all(s["ContainerStatus"].get("ExitCode", 0) != 0 for s in statuses)
    assert any("non-zero exit (1)" in s.get("Err", "") for s in statuses)
