"""observe_stack makes the same number of Engine API calls for 5 and 200 services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.parity import remove_stack, unique_stack_name

from stackctl.core.model.state import LABEL_IMAGE, LABEL_NAMESPACE
from stackctl.engine.client import ApiCallCount, EngineClient
from stackctl.engine.observe import observe_stack

pytestmark = pytest.mark.swarm


def _create_services(engine: EngineClient, stack_name: str, count: int) -> None:
    api = engine.api
    net = api.create_network(
        f"{stack_name}_default", driver="overlay", labels={LABEL_NAMESPACE: stack_name}
    )
    for i in range(count):
        spec = {
            "Name": f"{stack_name}_svc{i:03d}",
            "Labels": {LABEL_NAMESPACE: stack_name, LABEL_IMAGE: "img:1"},
            "TaskTemplate": {
                "ContainerSpec": {"Image": "img:1", "Labels": {LABEL_NAMESPACE: stack_name}},
                "Networks": [{"Target": net["Id"], "Aliases": [f"svc{i:03d}"]}],
            },
            "Mode": {"Replicated": {"Replicas": 0}},  # no tasks: cheap to create
        }
        api._result(api._post_json(api._url("/services/create"), data=spec), True)


@pytest.fixture
def stacks(engine: EngineClient) -> Iterator[dict[int, str]]:
    names = {5: unique_stack_name("tc"), 200: unique_stack_name("tc")}
    try:
        for count, name in names.items():
            _create_services(engine, name, count)
        yield names
    finally:
        for name in names.values():
            remove_stack(engine, name)


def _observe_counting(engine: EngineClient, stack_name: str) -> tuple[int, ApiCallCount]:
    engine.reset_api_calls()
    state = observe_stack(engine, stack_name)
    return len(state.services), engine.api_calls()


def test_observe_call_count_does_not_grow_with_services(
    engine: EngineClient, stacks: dict[int, str]
) -> None:
    small_services, small = _observe_counting(engine, stacks[5])
    large_services, large = _observe_counting(engine, stacks[200])
    assert (small_services, large_services) == (5, 200)
    assert small.total == large.total
    assert small.by_method == large.by_method
    assert large.writes == 0
    # Every network ID in the specs was mapped back to a name.
    state = observe_stack(engine, stacks[200])
    targets = {
        net["Target"]
        for service in state.services.values()
        for net in service.spec["TaskTemplate"]["Networks"]
    }
    assert targets == {f"{stacks[200]}_default"}
