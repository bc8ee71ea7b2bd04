"""An apply the agent did not finish is applied again: it was never marked applied.

Unlike a commit whose rollout failed or was rolled back (held until a new commit
or ``agent retry``), an interrupted apply says nothing about the commit. Two ways
it happens, each stopped at a rollout checkpoint (stackctl/rollout/checkpoints.py):

- ``kill``: the agent process is SIGKILLed right after it submitted the new service
  spec (a power cut, an OOM kill, the agent's container removed): the write-ahead
  revision stays without an outcome and the lock is left to expire;
- ``stop``: the running agent gets SIGTERM while it waits on the health gate
  (``docker service update`` of the agent, a node drain): the rollout ends at its
  next step and the revision is recorded ``interrupted``.

The next pass deploys the same commit and records it ``applied``, completing the
interrupted revision (the same path and record as a CLI re-run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker
import pytest
from support.git_repo import GitRepo, agent_once, stack_entry, web_stack, write_config
from support.testkit import run_stackctl_process, wait_until

from stackctl.rollout.checkpoints import KILL_ENV, PAUSE_DIR_ENV, PAUSE_ENV

pytestmark = pytest.mark.usefixtures("demo_images")

FILES = ["app/stack.yml"]
SHORT_LEASE = {"STACKCTL_LOCK_LEASE": "3"}  # a killed holder's lock expires quickly


def history(run_stackctl: Any, stack: str) -> list[dict[str, Any]]:
    result = run_stackctl("history", stack, "--json")
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout)["revisions"])


def image(client: docker.DockerClient, stack: str) -> str:
    spec = client.api.inspect_service(f"{stack}_web")["Spec"]["TaskTemplate"]
    return str(spec["ContainerSpec"]["Image"])


def kill_during_apply(config: Path, tmp_path: Path) -> str:
    """``agent --once`` SIGKILLed just after it submitted the service's new spec."""
    run = run_stackctl_process(
        "agent",
        "--config",
        str(config),
        "--once",
        "--json",
        env={**SHORT_LEASE, KILL_ENV: "service-submitted"},
        timeout=240,
    )
    assert run.exit_code == -signal.SIGKILL, (run.exit_code, run.stdout, run.stderr)
    return run.stdout + run.stderr


def stop_during_apply(config: Path, tmp_path: Path) -> str:
    """The running agent gets SIGTERM while its rollout waits on the health gate."""
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()
    agent = subprocess.Popen(
        [sys.executable, "-m", "stackctl", "agent", "--config", str(config), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            **SHORT_LEASE,
            "NO_COLOR": "1",
            PAUSE_ENV: "watching",
            PAUSE_DIR_ENV: str(pause_dir),
        },
    )
    try:
        wait_until(
            lambda: (pause_dir / "watching.reached").exists() or agent.poll() is not None,
            timeout=120,
            what="the agent's rollout reaching its health gate",
        )
        assert agent.poll() is None, agent.communicate()
        agent.send_signal(signal.SIGTERM)
        (pause_dir / "watching.go").touch()  # the rollout goes on, sees the stop, ends
        out, err = agent.communicate(timeout=180)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()
    assert agent.returncode == 0, out + err
    assert '"outcome": "interrupted"' in out, out + err
    return out + err


@pytest.mark.parametrize("interrupt", [kill_during_apply, stop_during_apply], ids=["kill", "stop"])
def test_an_interrupted_apply_is_deployed_again_and_recorded_applied(
    interrupt: Any,
    repo: GitRepo,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    run_stackctl: Any,
) -> None:
    first = repo.push({FILES[0]: web_stack("1", "r1")}, "v1")
    entry = stack_entry(stack_name, str(repo.bare), FILES)
    entry["apply"]["lock_timeout"] = "30s"  # outlive a killed holder's lock lease
    config = write_config(tmp_path / "agent.yml", [entry], interval="1s")
    assert agent_once(config).outcome(stack_name) == "applied"

    second = repo.push({FILES[0]: web_stack("2", "r2")}, "v2")
    output = interrupt(config, tmp_path)

    def recorded() -> list[tuple[str, str]]:
        return [(r["git"]["commit"], r["outcome"]) for r in history(run_stackctl, stack_name)]

    # a killed agent's revision reads in_progress until its lock's lease runs out
    wait_until(
        lambda: recorded() == [(first, "applied"), (second, "interrupted")],
        timeout=60,
        what="revision 2 listed as interrupted",
    )
    # the new spec was submitted before the cut: the next pass's plan is empty
    assert '"event": "resource_updated"' in output, output
    assert image(docker_client, stack_name) == "stackctl-demo/web:2"

    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (0, "applied"), run.stdout + run.stderr
    assert run.passes[stack_name]["commit"] == second
    assert recorded() == [(first, "applied"), (second, "interrupted"), (second, "applied")]
    # the same release as revision 2: revision 3 completes it (as a CLI re-run does),
    # with 2's changes, not "no changes"
    cut, done = history(run_stackctl, stack_name)[1:]
    assert (cut["completedBy"], done["completes"]) == (3, 2), (cut, done)
    assert done["changes"].startswith(f"completes 2: {cut['changes']}; this run: "), done
    assert image(docker_client, stack_name) == "stackctl-demo/web:2"
    # and it stays applied: the next pass finds nothing to do
    assert agent_once(config).outcome(stack_name) == "no_change"
