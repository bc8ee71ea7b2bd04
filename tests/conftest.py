"""Fixtures shared by every test layer.

- markers: tests under tests/integration get ``swarm``, tests under tests/cluster get
  ``cluster`` (so ``pytest -m "not cluster"`` works without decorating every test).
- ``docker_client``: a docker SDK client for the engine the tests run against (the
  local single-node Swarm; tests/cluster overrides it with the 3-node cluster). When
  no engine answers: with ``CI`` set the run fails loudly, otherwise the tests that
  need it are skipped with the reason.
- ``stack_name``: a unique stack name; afterwards everything of that stack is removed.
- ``run_stackctl``: runs the real ``stackctl`` CLI in a subprocess.

``docker`` is imported lazily so unit tests never need it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from swarm_testkit import (
    RunStackctl,
    connect_manager,
    new_stack_name,
    remove_stack_objects,
    run_stackctl_process,
)

if TYPE_CHECKING:
    import docker

TESTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by layer from where they live."""
    integration = TESTS_DIR / "integration"
    cluster = TESTS_DIR / "cluster"
    for item in items:
        path = Path(str(item.path)).resolve()
        if path.is_relative_to(integration):
            item.add_marker(pytest.mark.swarm)
        elif path.is_relative_to(cluster):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The local engine, a single-node Swarm manager (docker.from_env())."""
    client = connect_manager()
    yield client
    client.close()


@pytest.fixture
def stack_name(docker_client: docker.DockerClient) -> Iterator[str]:
    """A unique stack name; everything labelled with it is removed after the test."""
    name = new_stack_name()
    yield name
    leftovers = remove_stack_objects(docker_client, name)
    if leftovers:
        # a warning, not a failure: the test itself already passed or failed on its own
        warnings.warn(f"stack {name}: could not remove {leftovers}", stacklevel=1)


@pytest.fixture
def run_stackctl() -> RunStackctl:
    """Run the stackctl CLI as a user would: ``run_stackctl("diff", name, "-c", f)``."""
    return run_stackctl_process
