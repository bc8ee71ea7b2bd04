"""The rollout engine and writer on the real Swarm: converge, roll back, pause,
unschedulable, config content change, jobs, version conflicts, no-op."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.apply_runs import apply_text, desired_state, plan_for
from support.testkit import wait_until

from stackctl.engine.client import EngineClient, connect
from stackctl.engine.writer import SwarmWriter
from stackctl.errors import ExitCode
from stackctl.rollout.events import (
    ResourceCreated,
    RollbackStarted,
    ServiceConverged,
    ServiceFailed,
)
from stackctl.rollout.options import ApplyOptions, FailurePolicy, ServiceStatus
from stackctl.rollout.runner import run_apply

pytestmark = pytest.mark.usefixtures("demo_images")

UPDATE = "update_config: {parallelism: 1, delay: 0s, order: start-first, monitor: 1s}"


def web_stack(
    image: str, *, extra_deploy: str = "", extra_service: str = "", replicas: int = 1
) -> str:
    return f"""
services:
  web:
    image: {image}
    stop_grace_period: 1s
    deploy:
      replicas: {replicas}
      {UPDATE}
      {extra_deploy}
    {extra_service}
"""


@pytest.fixture
def client() -> Iterator[EngineClient]:
    engine = connect()
    yield engine
    engine.close()


def live_images(client: EngineClient, stack: str) -> dict[str, str]:
    services = client.api.services(filters={"label": f"com.docker.stack.namespace={stack}"})
    return {
        s["Spec"]["Name"]: s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] for s in services
    }


def test_v1_to_v2_converges_and_then_diff_is_clean(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    v1 = web_stack("stackctl-demo/web:1", replicas=2)
    v2 = web_stack("stackctl-demo/web:2", replicas=2)
    first = apply_text(client, stack_name, v1, tmp_path)
    assert first.outcome.exit_code is ExitCode.OK
    second = apply_text(client, stack_name, v2, tmp_path)
    assert second.outcome.exit_code is ExitCode.OK, second.outcome.message
    assert second.writes == 1  # one service update, nothing else
    assert live_images(client, stack_name) == {f"{stack_name}_web": "stackctl-demo/web:2"}
    tasks = client.api.tasks(filters={"service": f"{stack_name}_web", "desired-state": "running"})
    assert sorted(t["Status"]["State"] for t in tasks) == ["running", "running"]
    _, desired = desired_state(stack_name, v2, tmp_path)
    assert not plan_for(client, desired).has_changes


def test_unchanged_reapply_writes_nothing(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    apply_text(client, stack_name, web_stack("stackctl-demo/web:1"), tmp_path)
    again = apply_text(client, stack_name, web_stack("stackctl-demo/web:1"), tmp_path)
    assert again.outcome.exit_code is ExitCode.OK
    assert again.writes == 0
    assert again.outcome.changed == 0


def test_broken_release_rolls_back_to_exactly_the_previous_state(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    v1 = web_stack("stackctl-demo/web:1")
    apply_text(client, stack_name, v1, tmp_path)
    broken = apply_text(client, stack_name, web_stack("stackctl-demo/web:broken"), tmp_path)
    assert broken.outcome.exit_code is ExitCode.ROLLED_BACK, broken.outcome.message
    assert any(isinstance(e, ServiceFailed) for e in broken.events)
    assert any(isinstance(e, RollbackStarted) for e in broken.events)
    assert broken.outcome.services[0].status is ServiceStatus.ROLLED_BACK
    _, desired = desired_state(stack_name, v1, tmp_path)
    leftover = plan_for(client, desired)
    assert not leftover.has_changes, [(c.name, c.fields) for c in leftover.changes]


def test_broken_release_with_pause_exits_4_and_leaves_it_to_swarm(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    apply_text(client, stack_name, web_stack("stackctl-demo/web:1"), tmp_path)
    paused = apply_text(
        client,
        stack_name,
        web_stack("stackctl-demo/web:broken"),
        tmp_path,
        on_failure=FailurePolicy.PAUSE,
    )
    assert paused.outcome.exit_code is ExitCode.FAILED
    assert live_images(client, stack_name) == {f"{stack_name}_web": "stackctl-demo/web:broken"}
    assert not any(isinstance(e, RollbackStarted) for e in paused.events)


@pytest.mark.parametrize(
    ("deploy", "reason"),
    [
        ('placement: {constraints: ["node.labels.nope==1"]}', "placement constraints"),
        ("resources: {reservations: {cpus: '512'}}", "insufficient resources"),
    ],
    ids=["constraint", "resources"],
)
def test_unschedulable_release_rolls_back_naming_the_reason(
    client: EngineClient, stack_name: str, tmp_path: Path, deploy: str, reason: str
) -> None:
    apply_text(client, stack_name, web_stack("stackctl-demo/web:1"), tmp_path)
    stuck = apply_text(
        client,
        stack_name,
        web_stack("stackctl-demo/web:2", extra_deploy=deploy),
        tmp_path,
        pending_timeout=4.0,
    )
    assert stuck.outcome.exit_code is ExitCode.ROLLED_BACK
    assert "no suitable node" in stuck.outcome.message  # the engine's own words
    assert reason in stuck.outcome.message  # and ours
    assert live_images(client, stack_name) == {f"{stack_name}_web": "stackctl-demo/web:1"}


CONFIG_STACK = """
services:
  web:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    configs:
      - source: motd
        target: /etc/motd
    secrets:
      - token
    deploy:
      replicas: 1
      update_config: {parallelism: 1, delay: 0s, order: start-first, monitor: 1s}
configs:
  motd:
    file: ./motd.txt
secrets:
  token:
    file: ./token.txt
"""


def test_config_and_secret_content_change_rolls_the_service(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    first = apply_text(
        client, stack_name, CONFIG_STACK, tmp_path, files={"motd.txt": "one", "token.txt": "s1"}
    )
    assert first.outcome.exit_code is ExitCode.OK, first.outcome.message
    second = apply_text(
        client, stack_name, CONFIG_STACK, tmp_path, files={"motd.txt": "two", "token.txt": "s2"}
    )
    assert second.outcome.exit_code is ExitCode.OK, second.outcome.message
    service = client.api.inspect_service(f"{stack_name}_web")
    container = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    _, desired = desired_state(stack_name, CONFIG_STACK, tmp_path)
    assert [c["ConfigName"] for c in container["Configs"]] == list(desired.configs)
    assert [s["SecretName"] for s in container["Secrets"]] == list(desired.secrets)
    assert not plan_for(client, desired).has_changes


def test_one_shot_job_converges_without_hanging(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    # Finished job containers linger after the service is gone; remove them here
    # so the stack_name cleanup does not wait for them.
    text = """
services:
  migrate:
    image: stackctl-demo/worker:1
    entrypoint: ["/bin/sh", "-c", "exit 0"]
    deploy:
      mode: replicated-job
      replicas: 2
"""
    try:
        job = apply_text(client, stack_name, text, tmp_path)
        assert job.outcome.exit_code is ExitCode.OK, job.outcome.message
        assert job.outcome.services[0].status is ServiceStatus.CONVERGED
    finally:
        service_id = client.api.inspect_service(f"{stack_name}_migrate")["ID"]
        client.api.remove_service(service_id)
        label = f"com.docker.swarm.service.id={service_id}"
        for container in client.api.containers(all=True, filters={"label": label}):
            client.api.remove_container(container["Id"], force=True)


def test_service_changed_behind_the_plan_is_not_overwritten(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    apply_text(client, stack_name, web_stack("stackctl-demo/web:1"), tmp_path)
    _, desired = desired_state(stack_name, web_stack("stackctl-demo/web:2"), tmp_path)
    plan = plan_for(client, desired)
    # someone scales the service after the plan was made
    raw = client.api.inspect_service(f"{stack_name}_web")
    spec = raw["Spec"]
    spec["Mode"]["Replicated"]["Replicas"] = 3
    client.api._raise_for_status(
        client.api._post_json(
            client.api._url("/services/{0}/update", raw["ID"]),
            data=spec,
            params={"version": raw["Version"]["Index"]},
        )
    )
    outcome = run_apply(SwarmWriter(client), plan, ApplyOptions(poll_interval=0.3), lambda e: None)
    assert outcome.exit_code is ExitCode.ERROR  # nothing of ours was written
    assert "changed in the cluster since it was planned" in outcome.message
    after = client.api.inspect_service(f"{stack_name}_web")["Spec"]
    assert after["Mode"]["Replicated"]["Replicas"] == 3
    assert after["TaskTemplate"]["ContainerSpec"]["Image"] == "stackctl-demo/web:1"


def test_waves_follow_depends_on_and_global_services_converge(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    text = """
services:
  db:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    deploy:
      mode: global
  web:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    depends_on:
      db:
        condition: service_healthy
    deploy:
      replicas: 1
"""
    applied = apply_text(client, stack_name, text, tmp_path)
    assert applied.outcome.exit_code is ExitCode.OK, applied.outcome.message
    order = [
        (type(e).__name__, getattr(e, "service", getattr(e, "name", "")))
        for e in applied.events
        if isinstance(e, (ResourceCreated, ServiceConverged))
    ]
    db, web = f"{stack_name}_db", f"{stack_name}_web"
    assert order.index(("ServiceConverged", db)) < order.index(("ResourceCreated", web))


def test_swarm_side_rollback_is_reported_and_not_written_twice(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    rollback = "rollback_config: {parallelism: 0, order: start-first}"
    v1 = web_stack("stackctl-demo/web:1", extra_deploy=rollback)
    apply_text(
        client,
        stack_name,
        v1.replace("monitor: 1s", "monitor: 1s, failure_action: rollback"),
        tmp_path,
    )
    broken = web_stack("stackctl-demo/web:broken", extra_deploy=rollback).replace(
        "monitor: 1s", "monitor: 1s, failure_action: rollback"
    )
    result = apply_text(client, stack_name, broken, tmp_path)
    assert result.outcome.exit_code is ExitCode.ROLLED_BACK, result.outcome.message
    assert "Swarm rolled the update back" in result.outcome.message
    assert result.writes == 1  # the forward update only: Swarm restored the spec itself
    assert live_images(client, stack_name) == {f"{stack_name}_web": "stackctl-demo/web:1"}


def test_prune_removes_undeclared_services_and_networks_after_the_rollout(
    client: EngineClient, stack_name: str, tmp_path: Path
) -> None:
    two = """
services:
  web:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
  api:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    networks: [back]
networks:
  back: {}
"""
    assert apply_text(client, stack_name, two, tmp_path).outcome.exit_code is ExitCode.OK
    one = web_stack("stackctl-demo/web:2")
    kept = apply_text(client, stack_name, one, tmp_path)
    assert kept.outcome.exit_code is ExitCode.OK
    assert f"{stack_name}_api" in live_images(client, stack_name)  # orphaned, not removed
    pruned = apply_text(client, stack_name, one, tmp_path, prune=True)
    assert pruned.outcome.exit_code is ExitCode.OK, pruned.outcome.message
    assert live_images(client, stack_name) == {f"{stack_name}_web": "stackctl-demo/web:2"}

    def only_default_network_left() -> bool:
        label = {"label": f"com.docker.stack.namespace={stack_name}"}
        return [n["Name"] for n in client.api.networks(filters=label)] == [f"{stack_name}_default"]

    # the node drops its copy of a removed overlay network shortly after the manager
    wait_until(only_default_network_left, timeout=30, what="the pruned network to go")
