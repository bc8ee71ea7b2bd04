"""The effect classification checked on the real engine.

For each kind of change: plan it, predict from the plan whether tasks restart,
then make exactly that update through the Engine API and compare the running task
IDs before and after. The prediction must match what the engine did.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.live_services import (
    base_spec,
    create,
    create_network,
    desired,
    running_tasks,
    update,
)
from support.testkit import wait_until

from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Effect
from stackctl.engine.client import EngineClient, connect
from stackctl.engine.observe import observe_stack

pytestmark = pytest.mark.usefixtures("demo_images")

Mutation = Callable[[dict[str, Any]], None]

CASES: list[tuple[str, Mutation, Effect]] = [
    ("service label", lambda s: s["Labels"].update({"team": "x"}), Effect.IN_PLACE),
    ("update config", lambda s: s["UpdateConfig"].update({"Delay": 10**9}), Effect.IN_PLACE),
    ("rollback config", lambda s: s.update(RollbackConfig={"Parallelism": 3}), Effect.IN_PLACE),
    (
        "placement still matching",
        lambda s: s["TaskTemplate"].update(Placement={"Constraints": ["node.role==manager"]}),
        Effect.IN_PLACE,
    ),
    (
        "env",
        lambda s: s["TaskTemplate"]["ContainerSpec"].update(Env=["MODE=canary"]),
        Effect.ROLLING,
    ),
    (
        "container label",
        lambda s: s["TaskTemplate"]["ContainerSpec"].update(Labels={"x": "1"}),
        Effect.ROLLING,
    ),
    ("endpoint mode", lambda s: s.update(EndpointSpec={"Mode": "dnsrr"}), Effect.ROLLING),
]


@pytest.fixture
def client() -> Iterator[EngineClient]:
    engine = connect()
    yield engine
    engine.close()


@pytest.mark.parametrize(("what", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_predicted_restarts_match_the_engine(
    client: EngineClient, stack_name: str, what: str, mutate: Mutation, expected: Effect
) -> None:
    spec = base_spec(stack_name)
    network = create_network(client, stack_name)
    spec["TaskTemplate"]["Networks"] = [{"Target": network}]
    service_id = create(client, spec)
    wait_until(lambda: len(running_tasks(client, service_id)) == 2, timeout=60, what="2 tasks")
    before = running_tasks(client, service_id)

    wanted = copy.deepcopy(spec)
    mutate(wanted)
    plan = plan_changes(desired(stack_name, wanted), observe_stack(client, stack_name))
    # (the network is not in this hand-made desired state: it shows as an orphan)
    (change,) = plan.of_effect(Effect.IN_PLACE, Effect.ROLLING, Effect.REPLACE)
    assert change.effect is expected, change.reason

    update(client, service_id, wanted)

    def settled(replicas: int) -> bool:
        state = (client.api.inspect_service(service_id).get("UpdateStatus") or {}).get("State")
        return state in (None, "completed") and len(running_tasks(client, service_id)) == replicas

    if change.restarts_tasks:
        # predicted: every task is replaced; a wrong prediction times out here
        wait_until(
            lambda: settled(2) and not before & running_tasks(client, service_id),
            timeout=90,
            what=f"'{what}' to replace both tasks (predicted restarts)",
        )
        return
    # Predicted in place. A barrier instead of a wait: one more update that adds a
    # replica. The orchestrator acts on a service's updates in order, so once the
    # third task runs (and no update is in progress) the first update was acted on;
    # had it made the tasks dirty, Swarm would be replacing them (UpdateStatus).
    scaled = copy.deepcopy(wanted)
    scaled["Mode"]["Replicated"]["Replicas"] = 3
    update(client, service_id, scaled)
    wait_until(lambda: settled(3), timeout=90, what=f"'{what}' then a third replica")
    after = running_tasks(client, service_id)
    assert before < after, f"{what}: predicted in place, but tasks {before - after} were replaced"
