"""The cluster's nodes pull from the project's registry (3-node Swarm, real registry).

An image built for this test alone (one layer no node has) is pushed to the
registry ./dev cluster runs; ``stackctl apply`` on the manager deploys it by the
registry address the nodes reach (``NODE_REGISTRY``), on the two workers only.
The manager resolves the tag to its digest, the service runs ``image:tag@digest``,
and each worker, which did not hold the image before, pulled exactly that digest
from the registry and runs the test's content. The manager resolved without pulling.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.cluster_faults import client_for, placement, service, spec_image, stackctl
from support.testkit import wait_until

HOST_ENGINE = "unix:///var/run/docker.sock"
HOST_REGISTRY = "127.0.0.1:5000"  # the same registry, as the host engine reaches it

STACK = """
services:
  app:
    image: {image}
    stop_grace_period: 1s
    healthcheck: {{interval: 500ms, timeout: 2s, retries: 2, start_period: 0s}}
    deploy:
      replicas: 2
      placement:
        constraints: [node.role == worker]
        max_replicas_per_node: 1
networks:
  default:
    ipam: {{config: [{{subnet: "10.231.20.0/24"}}]}}
x-stackctl:
  ignore: [SC102]
"""


def _context(stamp: str) -> io.BytesIO:
    """A build context: the demo web image plus a file holding ``stamp``."""
    dockerfile = b"FROM stackctl-demo/web:1\nCOPY stamp /stamp\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), ("stamp", stamp.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


@pytest.fixture
def pushed_image(stack_name: str) -> Iterator[tuple[str, str, str]]:
    """(repository path, manifest digest, image ID) of an image only the registry has."""
    host = docker.DockerClient(base_url=HOST_ENGINE, timeout=120)
    repo = f"stackctl-test/{stack_name}"
    remote = f"{HOST_REGISTRY}/{repo}"
    try:
        image, _ = host.images.build(
            fileobj=_context(stack_name), custom_context=True, tag=f"{remote}:pull", rm=True
        )
        for line in host.images.push(remote, tag="pull", stream=True, decode=True):
            assert "error" not in line, line
        digest = str(host.api.inspect_distribution(f"{remote}:pull")["Descriptor"]["digest"])
        yield repo, digest, str(image.id)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            host.images.remove(f"{remote}:pull")
        host.close()


def _has_image(socket: str, ref: str) -> bool:
    with client_for(socket) as client:
        try:
            client.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
    return True


def test_workers_pull_the_digest_pinned_image_from_the_registry(
    swarm_cluster: list[str],
    node_registry: str,
    pushed_image: tuple[str, str, str],
    stack_name: str,
    tmp_path: Path,
) -> None:
    repo, digest, image_id = pushed_image
    manager = swarm_cluster[0]
    pinned = f"{node_registry}/{repo}:pull@{digest}"
    for socket in swarm_cluster:
        assert not _has_image(socket, image_id), f"{socket} holds the test image already"

    stack = tmp_path / "stack.yml"
    stack.write_text(STACK.format(image=f"{node_registry}/{repo}:pull"))
    run = stackctl(manager, "apply", stack_name, "-c", str(stack), "--yes")
    assert run.exit_code == 0, f"{run.stdout}\n{run.stderr}"
    assert "could not be accessed on a registry" not in run.stdout + run.stderr

    name = f"{stack_name}_app"
    with client_for(manager) as client:
        assert spec_image(service(client, name)) == pinned
        wait_until(
            lambda: (
                [(n, s) for n, s, _ in placement(client, name)] == [(2, "running"), (3, "running")]
            ),
            timeout=120,
            what="one running task on each worker",
        )
        assert {image for _, _, image in placement(client, name)} == {pinned}

    for socket in swarm_cluster[1:]:
        with client_for(socket) as worker:
            pulled = worker.images.get(image_id)
            # a repo digest for the registry's name: this node pulled it from there
            assert f"{node_registry}/{repo}@{digest}" in pulled.attrs["RepoDigests"]
            (container,) = worker.containers.list(
                filters={"label": f"com.docker.swarm.service.name={name}"}
            )
            assert container.attrs["Config"]["Image"] == pinned
            assert container.image.id == image_id
            exit_code, output = container.exec_run(["cat", "/stamp"])
            assert (exit_code, output.decode()) == (0, stack_name)
    # the manager asked the registry for the digest but runs no task: it pulled nothing
    assert not _has_image(manager, image_id)
