"""An update Swarm paused half-way is resumed by the next apply, not reported as done.

Swarm pauses a failing update (update_config ``failure_action: pause``) with the
service spec already at the new version while the tasks the update did not
reach still run the old one. The file and the spec agree, so a plain diff would
say "no changes" and a re-run of apply would exit 0 with replicas on the old
image. These tests pause an update on the real Swarm by releasing an image tag
that does not exist yet, then check what the next apply does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from support.apply_runs import apply_text, desired_state, plan_for
from support.testkit import RunStackctl, wait_until

from stackctl.core.plan.plan_model import Effect
from stackctl.engine.client import EngineClient, connect
from stackctl.errors import ExitCode
from stackctl.rollout.events import RollbackStarted
from stackctl.rollout.options import FailurePolicy

pytestmark = pytest.mark.usefixtures("demo_images")


def web_stack(image: str) -> str:
    # Swarm's own failure_action is pause (docker's default, written out here).
    return f"""
services:
  web:
    image: {image}
    stop_grace_period: 1s
    deploy:
      replicas: 2
      update_config:
        parallelism: 1
        delay: 0s
        order: start-first
        monitor: 1s
        failure_action: pause
"""


@pytest.fixture
def client() -> Iterator[EngineClient]:
    engine = connect()
    yield engine
    engine.close()


@pytest.fixture
def unreleased_tag(docker_client: docker.DockerClient, stack_name: str) -> Iterator[str]:
    """An image tag that does not exist yet (the test may create it)."""
    tag = f"stackctl-demo/web:resume-{stack_name}"
    yield tag
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_client.images.remove(tag, noprune=True)


def _service(client: EngineClient, stack: str) -> dict[str, Any]:
    (service,) = client.api.services(filters={"name": f"{stack}_web"})
    return dict(service)


def _running_images(client: EngineClient, stack: str) -> list[str]:
    tasks = client.api.tasks(filters={"service": f"{stack}_web", "desired-state": "running"})
    return sorted(
        t["Spec"]["ContainerSpec"]["Image"] for t in tasks if t["Status"]["State"] == "running"
    )


def _pause_an_update(client: EngineClient, stack: str, image: str, workdir: Path) -> None:
    """v1 everywhere, then an update to ``image`` that Swarm pauses half-way."""
    first = apply_text(client, stack, web_stack("stackctl-demo/web:1"), workdir)
    assert first.outcome.exit_code is ExitCode.OK, first.outcome.message
    left = apply_text(
        client, stack, web_stack(image), workdir, on_failure=FailurePolicy.PAUSE, timeout=60.0
    )
    assert left.outcome.exit_code is ExitCode.FAILED, left.outcome.message
    wait_until(
        lambda: (_service(client, stack).get("UpdateStatus") or {}).get("State") == "paused",
        timeout=90,
        what="Swarm to pause the update",
    )
    # The spec is already the new one; the old replicas still run.
    assert _service(client, stack)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == image
    assert "stackctl-demo/web:1" in _running_images(client, stack)


def test_apply_resumes_an_update_swarm_paused(
    client: EngineClient,
    docker_client: docker.DockerClient,
    stack_name: str,
    tmp_path: Path,
    unreleased_tag: str,
    run_stackctl: RunStackctl,
) -> None:
    _pause_an_update(client, stack_name, unreleased_tag, tmp_path)
    docker_client.images.get("stackctl-demo/web:2").tag(unreleased_tag)  # the fix is released

    shown = run_stackctl("diff", stack_name, "-c", str(tmp_path / "stack.yml"))
    assert shown.exit_code == 2, shown.stdout + shown.stderr  # changes pending, not "none"
    assert "resumes it" in shown.stdout and "1 rolling" in shown.stdout, shown.stdout

    _, desired = desired_state(stack_name, web_stack(unreleased_tag), tmp_path)
    plan = plan_for(client, desired)
    (change,) = plan.changes
    assert change.effect is Effect.ROLLING
    assert change.fields == ()
    assert change.reason is not None and "paused" in change.reason

    resumed = apply_text(client, stack_name, web_stack(unreleased_tag), tmp_path)
    assert resumed.outcome.exit_code is ExitCode.OK, resumed.outcome.message
    assert resumed.writes == 1
    assert _running_images(client, stack_name) == [unreleased_tag, unreleased_tag]
    assert _service(client, stack_name)["UpdateStatus"]["State"] == "completed"
    assert not plan_for(client, desired).has_changes


def test_a_resumed_update_that_fails_again_returns_to_where_the_paused_one_began(
    client: EngineClient, stack_name: str, tmp_path: Path, unreleased_tag: str
) -> None:
    _pause_an_update(client, stack_name, unreleased_tag, tmp_path)

    again = apply_text(
        client, stack_name, web_stack(unreleased_tag), tmp_path, timeout=60.0, pending_timeout=8.0
    )
    assert again.outcome.exit_code is ExitCode.ROLLED_BACK, again.outcome.message
    assert any(isinstance(e, RollbackStarted) for e in again.events)
    service = _service(client, stack_name)
    assert service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == "stackctl-demo/web:1"
    wait_until(
        lambda: _running_images(client, stack_name) == ["stackctl-demo/web:1"] * 2,
        timeout=60,
        what="both replicas back on web:1",
    )


def test_a_rerun_waits_for_an_update_swarm_is_still_running(
    client: EngineClient, stack_name: str, tmp_path: Path, run_stackctl: RunStackctl
) -> None:
    slow = web_stack("stackctl-demo/web:1").replace("delay: 0s", "delay: 4s")
    first = apply_text(client, stack_name, slow, tmp_path)
    assert first.outcome.exit_code is ExitCode.OK, first.outcome.message
    v2 = slow.replace("stackctl-demo/web:1", "stackctl-demo/web:2")
    detached = apply_text(client, stack_name, v2, tmp_path, detach=True)  # e.g. a killed apply
    assert detached.outcome.exit_code is ExitCode.OK, detached.outcome.message
    # Swarm's updater records "updating" on its own, shortly after the write
    wait_until(
        lambda: (_service(client, stack_name).get("UpdateStatus") or {}).get("State") == "updating",
        timeout=30,
        what="Swarm to start the detached update",
    )

    _, desired = desired_state(stack_name, v2, tmp_path)
    plan = plan_for(client, desired)
    assert not plan.has_changes and plan.in_progress == (f"{stack_name}_web",)

    rerun = run_stackctl("apply", stack_name, "-c", str(tmp_path / "stack.yml"), "--yes")
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert "Still rolling out" in rerun.stdout and "converged" in rerun.stdout, rerun.stdout
    # it returned only once Swarm had finished, every replica on the file's image
    assert _service(client, stack_name)["UpdateStatus"]["State"] == "completed"
    assert _running_images(client, stack_name) == ["stackctl-demo/web:2"] * 2
    revisions = client.api.configs(filters={"label": f"io.stackctl.stack={stack_name}"})
    assert revisions == []  # it wrote nothing: no revision, no lock left behind
