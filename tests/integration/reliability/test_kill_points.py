"""SIGKILL ``stackctl apply`` at exact points (the checkpoint test hook), then recover.

After each kill a plain re-run of apply converges to the file (exit 0, then
``stackctl diff`` exits 0), ``history`` stays consistent (numbered without gaps,
every revision readable: none half-written), the dead holder's lock expires on
its own within its lease, and no config/secret is left behind that neither the
stack nor a retained revision uses.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from support.reliability import (
    BROKEN,
    V1,
    V2,
    V3,
    Release,
    apply,
    assert_converged,
    assert_history_consistent,
    assert_lock_frees_within_lease,
)
from support.testkit import new_stack_name, remove_stack_objects

from stackctl.engine.client import EngineClient, connect
from stackctl.engine.lock import read_lock
from stackctl.engine.revisions import RevisionStore
from stackctl.rollout.checkpoints import KILL_ENV, POINTS

pytestmark = pytest.mark.usefixtures("demo_images")

NAMESPACE = "com.docker.stack.namespace"


@dataclass(frozen=True)
class KillCase:
    point: str
    killed: Release  # the release whose apply is SIGKILLed at ``point``
    rerun: Release  # the file applied afterwards to recover
    before: tuple[tuple[Release, str | None], ...] = ()  # (release, kill point or None)


CASES = (
    # the first deploy of the stack, nothing exists yet
    KillCase("lock-acquired", V1, V1),
    KillCase("plan-rechecked", V1, V1),
    KillCase("networks-created", V1, V1),
    # v1 running, v2 (new image, new config content) being applied
    KillCase("intent-recorded", V2, V2, ((V1, None),)),
    KillCase("objects-created", V2, V2, ((V1, None),)),
    KillCase("service-submitted", V2, V2, ((V1, None),)),
    KillCase("watching", V2, V2, ((V1, None),)),
    KillCase("wave-finished", V2, V2, ((V1, None),)),
    KillCase("recording", V2, V2, ((V1, None),)),
    KillCase("revision-recorded", V2, V2, ((V1, None),)),
    KillCase("releasing", V2, V2, ((V1, None),)),
    # a broken release caught by the health gate, killed while undoing it:
    # recovery is applying the last good file (the broken file would fail again)
    KillCase("rollback-started", BROKEN, V1, ((V1, None),)),
    KillCase("rollback-submitted", BROKEN, V1, ((V1, None),)),
    # cleanup of superseded configs: v2's config was left by a killed apply
    # (no revision needs it), v3 removes it and is killed right after
    KillCase("cleanup-removing", V3, V3, ((V1, None), (V2, "objects-created"))),
)


@pytest.fixture
def client() -> EngineClient:
    return connect()


def test_cases_cover_every_checkpoint() -> None:
    assert {case.point for case in CASES} == set(POINTS)


def kill_at(stack: str, file: str, point: str) -> float:
    """Run apply with the kill hook set; return when it died (wall clock)."""
    result = apply(stack, file, "--lock-timeout", "15s", env={KILL_ENV: point})
    killed_at = time.time()
    assert result.exit_code == -signal.SIGKILL, (
        f"apply was not killed at {point} (exit {result.exit_code})\n"
        + result.stdout
        + result.stderr
    )
    return killed_at


def stack_objects(client: EngineClient, stack: str) -> set[str]:
    label = {"label": f"{NAMESPACE}={stack}"}
    objects = {c["Spec"]["Name"] for c in client.api.configs(filters=label)}
    return objects | {s["Spec"]["Name"] for s in client.api.secrets(filters=label)}


def leftover_objects(client: EngineClient, stack: str) -> set[str]:
    """Stack configs/secrets that no service uses and no retained revision needs."""
    objects = stack_objects(client, stack)
    used: set[str] = set()
    for service in client.api.services(filters={"label": f"{NAMESPACE}={stack}"}):
        container = service["Spec"]["TaskTemplate"]["ContainerSpec"]
        used |= {c["ConfigName"] for c in container.get("Configs") or []}
        used |= {s["SecretName"] for s in container.get("Secrets") or []}
    return objects - used - RevisionStore(client, stack).referenced_objects()


def run_case(case: KillCase, stack: str, workdir: Path, client: EngineClient) -> None:
    for release, point in case.before:
        file = release.write(workdir)
        if point is None:
            result = apply(stack, file, "--lock-timeout", "15s")
            assert result.exit_code == 0, result.stdout + result.stderr
        else:
            kill_at(stack, file, point)

    before_kill = stack_objects(client, stack)
    killed_at = kill_at(stack, case.killed.write(workdir), case.point)
    created_by_killed = stack_objects(client, stack) - before_kill

    # every point lies after the lock was taken: the dead holder's lock is
    # still there, and expires within one lease of the kill
    assert assert_lock_frees_within_lease(client, stack, killed_at)

    rerun_file = case.rerun.write(workdir)
    rerun = apply(stack, rerun_file, "--lock-timeout", "15s")
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    assert_converged(stack, rerun_file)
    lock = read_lock(client, stack)  # a no-op re-run takes no lock: an expired one may stay
    assert lock is None or lock.expired(time.time()), lock
    entries = assert_history_consistent(client, stack)
    assert entries, "no revision recorded"
    leftovers = leftover_objects(client, stack)
    if leftovers:
        # a no-op re-run writes nothing (not even the lock), so objects the
        # killed apply created and nothing uses wait for the next apply that
        # changes the stack; they must be the killed apply's own, and go then
        assert leftovers <= created_by_killed, (leftovers, created_by_killed)
        changed = apply(stack, V3.write(workdir), "--lock-timeout", "15s")
        assert changed.exit_code == 0, changed.stdout + changed.stderr
        assert leftover_objects(client, stack) == set()
    images = {
        s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
        for s in client.api.services(filters={"label": f"{NAMESPACE}={stack}"})
    }
    assert images == {(V3 if leftovers else case.rerun).image}


def test_killed_apply_recovers_on_rerun(
    docker_client: docker.DockerClient, tmp_path: Path, client: EngineClient
) -> None:
    """Every kill point, each on its own stack, a few at a time (they are
    independent; running them side by side keeps the suite fast)."""

    def one(case: KillCase) -> str | None:
        stack = new_stack_name()
        workdir = tmp_path / case.point
        workdir.mkdir()
        try:
            run_case(case, stack, workdir, client)
        except AssertionError as error:
            return f"{case.point}: {error}"
        finally:
            remove_stack_objects(docker_client, stack)
        return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [f for f in pool.map(one, CASES) if f is not None]
    assert not failures, "\n\n".join(failures)
