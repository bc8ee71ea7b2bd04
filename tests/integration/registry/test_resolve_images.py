"""Image digests against a real registry (Debian's docker-registry on 127.0.0.1:5000).

A tag that moves is the classic way a rollback quietly restores the wrong code:
these tests push v1 and v2 under the same ``:latest`` and check that the plan says
so, that apply pins the digest, and that rollback runs v1's digest again.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import docker
from support.registry import Push
from support.testkit import RunStackctl, wait_until

STACK_FILE = """\
services:
  app:
    image: {image}
    stop_grace_period: 1s
    deploy:
      update_config:
        order: start-first
"""


def _write(tmp_path: Path, image: str, name: str = "stack.yml") -> Path:
    path = tmp_path / name
    path.write_text(STACK_FILE.format(image=image))
    return path


def _service(client: docker.DockerClient, stack: str) -> dict[str, Any]:
    found = client.api.services(filters={"name": f"{stack}_app"})
    assert len(found) == 1, found
    return dict(found[0])


def _running_answer(client: docker.DockerClient, stack: str) -> tuple[str, str]:
    """(image reference, what GET / answers) of the one running task's container."""
    containers = client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={stack}_app", "status": "running"}
    )
    assert len(containers) == 1, containers
    container = containers[0]
    code, out = container.exec_run(["wget", "-q", "-O-", "http://127.0.0.1:8080/"])
    assert code == 0, out
    return str(container.attrs["Config"]["Image"]), out.decode().strip()


def _one_running(client: docker.DockerClient, stack: str) -> bool:
    return (
        len(
            client.containers.list(
                filters={
                    "label": f"com.docker.swarm.service.name={stack}_app",
                    "status": "running",
                }
            )
        )
        == 1
    )


def _revisions(run_stackctl: RunStackctl, stack: str) -> list[dict[str, Any]]:
    result = run_stackctl("history", stack, "--json")
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout)["revisions"])


def test_tag_moved_is_planned_and_rollback_restores_the_exact_digest(
    registry: str,
    push: Push,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: RunStackctl,
    docker_client: docker.DockerClient,
) -> None:
    image = f"{registry}/{stack_name}/app:latest"
    file = str(_write(tmp_path, image))
    v1 = push("stackctl-demo/web:1", image)

    first = run_stackctl("apply", stack_name, "-c", file, "--yes")  # docker's default: always
    assert first.exit_code == 0, first.stdout + first.stderr
    spec_image = _service(docker_client, stack_name)["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec_image["Image"] == f"{image}@{v1}"
    labels = _service(docker_client, stack_name)["Spec"]["Labels"]
    assert labels["com.docker.stack.image"] == image  # the declared image is kept apart

    # neither tag nor digest moved: nothing shown, nothing written
    again = run_stackctl("apply", stack_name, "-c", file, "--yes")
    assert again.exit_code == 0 and "No changes" in again.stdout, again.stdout
    assert len(_revisions(run_stackctl, stack_name)) == 1

    v2 = push("stackctl-demo/web:2", image)
    assert v2 != v1
    diff = run_stackctl("diff", stack_name, "-c", file, "--no-color")
    assert diff.exit_code == 2, diff.stdout + diff.stderr
    short = lambda d: d[:19] + "…"  # noqa: E731 - sha256: + 12 hex digits
    assert f"image {image}: tag unchanged, digest moved: {short(v1)} → {short(v2)}" in diff.stdout
    assert "restarts 1 task" in diff.stdout
    plan = json.loads(run_stackctl("diff", stack_name, "-c", file, "--json").stdout)
    fields = [f for c in plan["changes"] for f in c["fields"]]
    assert {"path": "TaskTemplate.ContainerSpec.ImageDigest", "old": v1, "new": v2}.items() <= (
        fields[0].items()
    ), fields
    # --resolve-image never contacts no registry: the running digest stays, no change
    never = run_stackctl("diff", stack_name, "-c", file, "--resolve-image", "never")
    assert never.exit_code == 0, never.stdout
    # changed: the declared image is the same, so the running digest is kept (as docker)
    changed = run_stackctl("diff", stack_name, "-c", file, "--resolve-image", "changed")
    assert changed.exit_code == 0, changed.stdout

    second = run_stackctl("apply", stack_name, "-c", file, "--yes")
    assert second.exit_code == 0, second.stdout + second.stderr
    wait_until(lambda: _one_running(docker_client, stack_name), timeout=60, what="one v2 task")
    assert _running_answer(docker_client, stack_name) == (f"{image}@{v2}", "version 2")
    revisions = _revisions(run_stackctl, stack_name)
    assert len(revisions) == 2

    back = run_stackctl("rollback", stack_name, "--yes")
    assert back.exit_code == 0, back.stdout + back.stderr
    spec = _service(docker_client, stack_name)["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == f"{image}@{v1}"
    wait_until(lambda: _one_running(docker_client, stack_name), timeout=60, what="one v1 task")
    assert _running_answer(docker_client, stack_name) == (f"{image}@{v1}", "version 1")
    # the file still says :latest, which now means v2: the plan says exactly that
    after = run_stackctl("diff", stack_name, "-c", file, "--no-color")
    assert f"digest moved: {short(v1)} → {short(v2)}" in after.stdout, after.stdout


def test_an_image_the_registry_lacks_stops_before_any_write(
    registry: str,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: RunStackctl,
    docker_client: docker.DockerClient,
) -> None:
    image = f"{registry}/{stack_name}/app:never-pushed"
    file = _write(tmp_path, image)
    result = run_stackctl("apply", stack_name, "-c", str(file), "--yes")
    assert result.exit_code == 1, result.stdout + result.stderr
    # the service, where its image is declared (line 3, column 5), and why
    assert f"{file.name}:3:5: service app: image {image} not found in registry" in (
        result.stderr
    ), result.stderr
    assert "Traceback" not in result.stderr
    label = {"label": f"com.docker.stack.namespace={stack_name}"}
    assert docker_client.api.services(filters=label) == []
    assert docker_client.api.networks(filters=label) == []
    assert docker_client.api.configs(filters={"label": f"io.stackctl.stack={stack_name}"}) == []
    # diff says the same, and --resolve-image never asks no registry at all
    assert run_stackctl("diff", stack_name, "-c", str(file)).exit_code == 1
    assert (
        run_stackctl("diff", stack_name, "-c", str(file), "--resolve-image", "never").exit_code == 2
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns


def test_an_unreachable_registry_gives_dockers_warning_and_the_tag(
    demo_images: tuple[str, ...],
    stack_name: str,
    tmp_path: Path,
    run_stackctl: RunStackctl,
    docker_client: docker.DockerClient,
) -> None:
    # an image present on the node under a registry name nobody listens on
    image = f"127.0.0.1:{_closed_port()}/{stack_name}/app:1"
    repo, _, tag = image.rpartition(":")
    docker_client.images.get("stackctl-demo/web:1").tag(repo, tag)
    try:
        file = str(_write(tmp_path, image))
        never = run_stackctl("diff", stack_name, "-c", file, "--resolve-image", "never")
        assert never.exit_code == 2 and "could not be accessed" not in never.stderr
        result = run_stackctl("apply", stack_name, "-c", file, "--yes")
        assert result.exit_code == 0, result.stdout + result.stderr
        warning = (
            f"image {image} could not be accessed on a registry to record\n"
            f"its digest. Each node will access {image} independently,\n"
            "possibly leading to different nodes running different\n"
            "versions of the image.\n"
        )
        assert result.stderr.count(warning) == 1, result.stderr
        spec = _service(docker_client, stack_name)["Spec"]
        assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == image
    finally:
        docker_client.api.remove_image(image)
