"""The ENGINE_DEFAULTS table checked on the real engine.

A service created through the Engine API from a spec comes back with fields the
engine (or swarmkit) filled in; diffing the spec we sent against what we read
must report nothing. The same after an update by docker-py, which writes
swarmkit's defaults (restart delay, stop grace period, rollout monitors) into the
spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest
from support.live_services import IMAGE, create, desired

from stackctl.core.plan.diff import plan_changes
from stackctl.engine.client import EngineClient, connect
from stackctl.engine.observe import observe_stack

pytestmark = pytest.mark.usefixtures("demo_images")


@pytest.fixture
def client() -> Iterator[EngineClient]:
    engine = connect()
    yield engine
    engine.close()


def _specs(stack: str) -> list[dict[str, Any]]:
    labels = {"com.docker.stack.namespace": stack, "com.docker.stack.image": IMAGE}
    bare = {
        "Name": f"{stack}_bare",
        "Labels": labels,
        "TaskTemplate": {"ContainerSpec": {"Image": IMAGE}},
    }
    partial = {
        "Name": f"{stack}_partial",
        "Labels": labels,
        "TaskTemplate": {
            "ContainerSpec": {"Image": IMAGE, "Healthcheck": {"Test": ["CMD", "true"]}},
            "RestartPolicy": {"Condition": "on-failure"},
            "Placement": {"Constraints": ["node.role==manager"]},
            "Resources": {"Limits": {"MemoryBytes": 64 * 2**20}},
        },
        "Mode": {"Global": {}},
        "UpdateConfig": {"Parallelism": 2},
        "RollbackConfig": {},
        "EndpointSpec": {"Ports": [{"TargetPort": 81, "PublishMode": "host"}]},
    }
    return [bare, partial]


def test_created_services_compare_equal_to_the_specs_sent(
    client: EngineClient, stack_name: str
) -> None:
    specs = _specs(stack_name)
    for spec in specs:
        create(client, spec)
    plan = plan_changes(desired(stack_name, *specs), observe_stack(client, stack_name))
    assert plan.changes == (), [(c.name, [f.path for f in c.fields]) for c in plan.changes]


def test_docker_py_update_filling_swarmkit_defaults_is_not_a_change(
    client: EngineClient, stack_name: str, docker_client: docker.DockerClient
) -> None:
    (spec, _) = _specs(stack_name)
    create(client, spec)
    before = client.api.inspect_service(spec["Name"])["Spec"]
    docker_client.services.get(spec["Name"]).update(force_update=True)
    after = client.api.inspect_service(spec["Name"])["Spec"]
    filled = after["TaskTemplate"]["ContainerSpec"].get("StopGracePeriod") or after.get(
        "RollbackConfig"
    )
    assert filled and before != after  # the update did write defaults (else this proves nothing)
    plan = plan_changes(desired(stack_name, spec), observe_stack(client, stack_name))
    assert plan.changes == (), [(c.name, [f.path for f in c.fields]) for c in plan.changes]
