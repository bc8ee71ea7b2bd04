"""Release hooks on the real single-node Swarm, through ``stackctl apply`` of
docs/examples/hooks/stack.yml (docs/hooks.md): a migration job before the app, a
smoke-test job after it; either failing ends the apply with exit 3 and the app on
its previous release."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from stackctl.errors import ExitCode

pytestmark = pytest.mark.usefixtures("demo_images")

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "hooks" / "stack.yml"


@pytest.fixture
def hooks_stack(docker_client: docker.DockerClient, stack_name: str) -> Iterator[str]:
    """The stack name; afterwards its services go, then the containers its jobs
    left behind (completed job containers outlive their service)."""
    yield stack_name
    api = docker_client.api
    label = f"com.docker.stack.namespace={stack_name}"
    for service in api.services(filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_service(service["ID"])
    for container in api.containers(all=True, filters={"label": label}):
        with contextlib.suppress(docker.errors.APIError):
            api.remove_container(container["Id"], force=True)


def apply(run_stackctl: Any, stack: str, **env: str) -> Any:
    return run_stackctl("apply", stack, "-c", str(EXAMPLE), "--yes", "--timeout", "300", env=env)


def spec(docker_client: docker.DockerClient, stack: str, service: str) -> dict[str, Any]:
    found: dict[str, Any] = docker_client.api.inspect_service(f"{stack}_{service}")
    return found


def image(found: dict[str, Any]) -> str:
    return str(found["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]).split("@")[0]


def runs(found: dict[str, Any]) -> int:
    """How many times Swarm started the job (its JobIteration index counts updates)."""
    return int(((found.get("JobStatus") or {}).get("JobIteration") or {}).get("Index", 0))


def env_of(found: dict[str, Any]) -> list[str]:
    return list(found["Spec"]["TaskTemplate"]["ContainerSpec"].get("Env") or [])


def test_release_runs_the_migration_then_the_app_then_the_smoke_test(
    docker_client: docker.DockerClient, hooks_stack: str, run_stackctl: Any
) -> None:
    first = apply(run_stackctl, hooks_stack)
    assert first.exit_code == ExitCode.OK, first.stdout + first.stderr
    assert "1. migrate (job) runs to completion, before web" in first.stdout
    before = {name: spec(docker_client, hooks_stack, name) for name in ("migrate", "smoke")}

    second = apply(run_stackctl, hooks_stack, APP_VERSION="2")
    assert second.exit_code == ExitCode.OK, second.stdout + second.stderr
    assert "3. smoke (job) runs again to completion, after web is healthy" in second.stdout
    # the waves, as the rollout announced them: migration, app, smoke test
    assert f"[{hooks_stack}_migrate] -> [{hooks_stack}_web] -> [{hooks_stack}_smoke]" in (
        second.stdout
    )
    assert image(spec(docker_client, hooks_stack, "web")).endswith("stackctl-demo/web:2")
    for name in ("migrate", "smoke"):  # both ran again, and completed (exit 0 says so)
        assert runs(spec(docker_client, hooks_stack, name)) == runs(before[name]) + 1


def test_failing_migration_or_smoke_test_leaves_the_app_on_its_previous_release(
    docker_client: docker.DockerClient, hooks_stack: str, run_stackctl: Any
) -> None:
    first = apply(run_stackctl, hooks_stack)
    assert first.exit_code == ExitCode.OK, first.stdout + first.stderr
    web = spec(docker_client, hooks_stack, "web")

    # release 2 whose migration fails: web is never touched
    failed = apply(run_stackctl, hooks_stack, APP_VERSION="2", MIGRATE_SCRIPT="exit 3")
    assert failed.exit_code == ExitCode.ROLLED_BACK, failed.stdout + failed.stderr
    assert f"service {hooks_stack}_migrate: FAILED: the job failed" in failed.stdout
    assert "non-zero exit (3)" in failed.stdout
    assert f"not started, left as they were: {hooks_stack}_smoke, {hooks_stack}_web" in (
        failed.stdout
    )
    after = spec(docker_client, hooks_stack, "web")
    assert after["Version"]["Index"] == web["Version"]["Index"]  # not a single write
    assert image(after).endswith("stackctl-demo/web:1")

    # a release whose app listens on another port: healthy, but the smoke test fails
    smoke = apply(run_stackctl, hooks_stack, APP_PORT="8081")
    assert smoke.exit_code == ExitCode.ROLLED_BACK, smoke.stdout + smoke.stderr
    assert f"service {hooks_stack}_smoke: FAILED: the job failed" in smoke.stdout
    assert f"{hooks_stack}_web (rolling): rolled_back" in smoke.stdout
    restored = spec(docker_client, hooks_stack, "web")
    assert restored["Version"]["Index"] > web["Version"]["Index"]  # updated, then restored
    assert "PORT=8080" in env_of(restored) and image(restored).endswith("stackctl-demo/web:1")
    assert restored["Spec"]["TaskTemplate"] == web["Spec"]["TaskTemplate"]
