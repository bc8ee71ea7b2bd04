"""Fixtures for revision tests on the real Swarm.

Revision configs carry no ``com.docker.stack.namespace`` label, so the shared
``stack_name`` cleanup would not remove them: ``revision_stack`` removes every
revision config of its stack itself.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "revisions"))

from stackctl.engine.revisions import LABEL_REV_STACK


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


@pytest.fixture(scope="session")
def test_image(api: docker.APIClient) -> str:
    """A tiny local image (busybox FROM scratch); built once, never pulled."""
    try:
        api.inspect_image(TEST_IMAGE)
        return TEST_IMAGE
    except docker.errors.ImageNotFound:
        pass
    import shutil
    import tempfile

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
