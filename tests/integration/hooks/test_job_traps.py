"""The two job traps stackctl validate warns about (SC106, SC107; docs/hooks.md),
shown on the real engine: a job that keeps its image's health check is killed as
unhealthy once the check fails, the same command with the check disabled
completes; a job in vip mode holds a virtual IP after it completed, one in dnsrr
mode none."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from support.apply_runs import apply_text

from stackctl.engine.client import EngineClient, connect
from stackctl.rollout.options import FailurePolicy, ServiceStatus

pytestmark = pytest.mark.usefixtures("demo_images")

# the demo web image's HEALTHCHECK probes http://127.0.0.1:8080/health, which a
# shell command does not serve: it turns unhealthy after a few seconds
TRAPS = """
services:
  trapped:
    image: stackctl-demo/web:1
    entrypoint: ["/bin/sh", "-c", "sleep 30"]
    stop_grace_period: 1s
    deploy:
      mode: replicated-job
      restart_policy: {condition: none}
  guarded:
    image: stackctl-demo/web:1
    entrypoint: ["/bin/sh", "-c", "sleep 30"]
    stop_grace_period: 1s
    healthcheck: {disable: true}
    deploy:
      mode: replicated-job
      endpoint_mode: dnsrr
      restart_policy: {condition: none}
"""


@pytest.fixture
def client(docker_client: docker.DockerClient, stack_name: str) -> Iterator[EngineClient]:
    engine = connect()
    yield engine
    api = docker_client.api
    label = f"com.docker.stack.namespace={stack_name}"
    for service in api.services(filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_service(service["ID"])
    for container in api.containers(all=True, filters={"label": label}):  # jobs leave them
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(container["Id"], force=True)
    engine.close()


def test_a_job_with_its_images_health_check_is_killed_and_holds_a_virtual_ip(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    applied = apply_text(
        client,
        stack_name,
        TRAPS,
        tmp_path,
        on_failure=FailurePolicy.CONTINUE,  # keep both services to look at them
        pending_timeout=120.0,
        timeout=240.0,
    )
    results = {r.name: r for r in applied.outcome.services}
    trapped, guarded = results[f"{stack_name}_trapped"], results[f"{stack_name}_guarded"]
    assert guarded.status is ServiceStatus.CONVERGED, guarded.reason
    assert trapped.status is ServiceStatus.FAILED
    assert "unhealthy container" in trapped.reason  # killed before `sleep 30` ended
    api = client.api
    assert api.inspect_service(f"{stack_name}_trapped")["Endpoint"].get("VirtualIPs")
    assert not api.inspect_service(f"{stack_name}_guarded")["Endpoint"].get("VirtualIPs")
