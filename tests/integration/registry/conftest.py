"""Fixtures for the tests against the local registry ``./dev cluster`` runs.

``registry``: the address of that registry (127.0.0.1:5000, docker-registry from
Debian); ``push(local_tag, repo_tag)`` tags a local image into it, pushes it and
returns the manifest digest the registry now serves for that tag.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import pytest
from support.registry import REGISTRY, Push, registry_answers
from support.testkit import engine_unavailable


@pytest.fixture(scope="session")
def registry(demo_images: tuple[str, ...]) -> str:
    if not registry_answers(REGISTRY):
        engine_unavailable(f"no registry answers on http://{REGISTRY}/v2/; run ./dev cluster")
    return REGISTRY


@pytest.fixture
def push(docker_client: docker.DockerClient) -> Iterator[Push]:
    """Push local images under new names; their local tags are removed afterwards."""
    pushed: list[str] = []

    def push_as(local: str, remote: str) -> str:
        repo, _, tag = remote.rpartition(":")
        docker_client.images.get(local).tag(repo, tag)
        pushed.append(remote)
        for line in docker_client.images.push(repo, tag=tag, stream=True, decode=True):
            assert "error" not in line, line
        data = docker_client.api.inspect_distribution(remote)
        return str(data["Descriptor"]["digest"])

    yield push_as
    for remote in pushed:
        # still used by a container of the test's stack: then it goes with the stack
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(remote)
