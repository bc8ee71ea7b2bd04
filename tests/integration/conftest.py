"""Fixtures for tests on the real single-node Swarm (tests/integration).

``docker_client``, ``stack_name`` and ``run_stackctl`` come from tests/conftest.py;
this adds the demo images that ``./dev cluster`` builds (images/README.md).
"""

from __future__ import annotations

from collections.abc import Callable

import docker
import pytest
from support.testkit import engine_unavailable, wait_until

DEMO_IMAGES = (
    "stackctl-demo/web:1",
    "stackctl-demo/web:2",
    "stackctl-demo/web:broken",
    "stackctl-demo/web:crash",
    "stackctl-demo/worker:1",
)


@pytest.fixture(scope="session")
def demo_images(docker_client: docker.DockerClient) -> tuple[str, ...]:
    """The demo images, all present on the engine (else fail in CI / skip locally)."""
    missing = []
    for tag in DEMO_IMAGES:
        try:
            docker_client.images.get(tag)
        except docker.errors.ImageNotFound:
            missing.append(tag)
    if missing:
        engine_unavailable(f"demo images missing: {', '.join(missing)}; run ./dev cluster")
    return DEMO_IMAGES


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """``wait_for(predicate, timeout=30, what="...")``: bounded polling."""
    return wait_until
