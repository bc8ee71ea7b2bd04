"""Fixtures for revision tests on the real Swarm.

Store-level tests use ``revision_stack`` (a unique name whose revision configs
are removed afterwards) and need no stack file tooling; ``sdk_stack`` builds a
small stack directly with the SDK for the status/ls/rm reads.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.types
import pytest

from stackctl.engine.revisions import LABEL_REV_STACK
from stackctl.engine.stacks import remove_stack

NS = "com.docker.stack.namespace"


@pytest.fixture(scope="session")
def api() -> Iterator[docker.APIClient]:
    client = docker.APIClient()
    try:
        client.ping()
    except Exception as exc:  # pragma: no cover - environment problem, not a test result
        pytest.fail(f"docker engine unreachable: {exc}")
    yield client
    client.close()


def remove_revision_configs(api: docker.APIClient, stack: str) -> None:
    for config in api.configs(filters={"label": [f"{LABEL_REV_STACK}={stack}"]}):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_config(config["ID"])


@pytest.fixture
def revision_stack(api: docker.APIClient) -> Iterator[str]:
    """A unique stack name whose revision history is removed afterwards."""
    name = f"t{secrets.token_hex(4)}"
    yield name
    remove_revision_configs(api, name)


TEST_IMAGE = "stackctl-revtest/busybox:1"
BUILD_LOCK = Path(tempfile.gettempdir()) / "stackctl-revtest-image.lock"


@pytest.fixture(scope="session")
def test_image(api: docker.APIClient) -> str:
    """A tiny local image (busybox FROM scratch); built once, never pulled.

    Parallel workers (pytest-xdist) build it under a machine-wide file lock: two
    builds would each tag the name, and a stack started on the first image would
    see its tag move under it.
    """
    with open(BUILD_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        return _build_test_image(api)


def _build_test_image(api: docker.APIClient) -> str:
    try:
        api.inspect_image(TEST_IMAGE)
        return TEST_IMAGE
    except docker.errors.ImageNotFound:
        pass

    with tempfile.TemporaryDirectory() as context:
        shutil.copy("/bin/busybox", Path(context) / "busybox")
        (Path(context) / "Dockerfile").write_text(
            "FROM scratch\nCOPY busybox /bin/busybox\n"
            'RUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
        )
        for _ in api.build(path=context, tag=TEST_IMAGE, rm=True, decode=True):
            pass
    api.inspect_image(TEST_IMAGE)
    return TEST_IMAGE


@pytest.fixture
def sdk_stack(api: docker.APIClient, revision_stack: str, test_image: str) -> Iterator[str]:
    """Stack ``revision_stack`` with a network, a config, a secret and two services."""
    stack = revision_stack
    labels = {NS: stack}
    network = api.create_network(f"{stack}_default", driver="overlay", labels=labels)
    config = api.create_config(f"{stack}_app-1", b"conf", labels=labels)
    secret = api.create_secret(f"{stack}_pw-1", b"hunter2", labels=labels)
    sleeper = docker.types.ContainerSpec(
        image=test_image,
        command=["sleep", "3600"],
        stop_grace_period=1_000_000_000,  # busybox sleep ignores SIGTERM: do not wait 10 s
        healthcheck=docker.types.Healthcheck(test=["CMD", "true"], interval=1_000_000_000),
        configs=[docker.types.ConfigReference(config["ID"], f"{stack}_app-1", "/app.conf")],
        secrets=[docker.types.SecretReference(secret["ID"], f"{stack}_pw-1")],
    )
    for name, replicas in (("web", 2), ("worker", 1)):
        api.create_service(
            docker.types.TaskTemplate(container_spec=sleeper),
            name=f"{stack}_{name}",
            labels={**labels, "com.docker.stack.image": test_image},
            mode=docker.types.ServiceMode("replicated", replicas=replicas),
            networks=[network["Id"]],
        )
    yield stack
    remove_stack(api, stack)
