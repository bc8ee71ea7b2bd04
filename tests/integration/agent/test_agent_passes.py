"""``stackctl agent --once`` against the real Swarm and real git (one test per behaviour).

Repositories are bare git repositories; most are fetched over the network from
``git daemon`` on 127.0.0.1, one straight from its local path. Every pass is a
``--once`` run, so each step is deterministic.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest
from support.git_repo import GitDaemon, GitRepo, agent_once, stack_entry, web_stack, write_config
from support.testkit import new_stack_name, remove_stack_objects, wait_until

pytestmark = pytest.mark.usefixtures("demo_images")

FILES = ["app/stack.yml"]


def running_image(docker_client: docker.DockerClient, stack: str) -> str:
    service = docker_client.api.inspect_service(f"{stack}_web")
    return str(service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])


def history(run_stackctl: Any, stack: str) -> list[dict[str, Any]]:
    result = run_stackctl("history", stack, "--json")
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout)["revisions"])


def writes_since(docker_client: docker.DockerClient, since: datetime, stack: str) -> list[str]:
    """Service and config events about ``stack`` from the engine's own event log."""
    until = datetime.now(UTC)
    found = []
    since_ns = int(since.timestamp() * 1e9)  # the API's ``since`` has whole seconds
    for event in docker_client.api.events(
        since=int(since.timestamp()),
        until=until,
        decode=True,
        filters={"type": ["service", "config"]},
    ):
        name = (event.get("Actor") or {}).get("Attributes", {}).get("name", "")
        if stack in name and int(event.get("timeNano", 0)) >= since_ns:
            found.append(f"{event['Type']} {event['Action']} {name}")
    return found


def test_new_commit_rolls_out_over_git_daemon_and_history_names_the_commit(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: Any,
    docker_client: docker.DockerClient,
) -> None:
    first = repo.push({FILES[0]: web_stack("1")}, "v1")
    config = write_config(
        tmp_path / "agent.yml", [stack_entry(stack_name, daemon.url("deploy.git"), FILES)]
    )
    run = agent_once(config)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.outcome(stack_name) == "applied"
    assert run.passes[stack_name]["commit"] == first
    second = repo.push({FILES[0]: web_stack("2")}, "v2")
    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (0, "applied"), run.stdout
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:2"
    revisions = history(run_stackctl, stack_name)
    assert [r["git"]["commit"] for r in revisions] == [first, second]
    assert revisions[-1]["git"] == {
        "repo": daemon.url("deploy.git"),
        "commit": second,
        "ref": "main",
        "files": FILES,
    }
    table = run_stackctl("history", stack_name)
    assert f"git {second[:7]}" in table.stdout


def test_idle_pass_writes_nothing_to_the_engine(
    repo: GitRepo, stack_name: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    # a local path this time: the agent fetches from the bare repository directly
    config = write_config(tmp_path / "agent.yml", [stack_entry(stack_name, str(repo.bare), FILES)])
    assert agent_once(config).outcome(stack_name) == "applied"
    assert agent_once(config).outcome(stack_name) == "no_change"  # stores "no_change" once
    since = datetime.now(UTC)
    idle = [agent_once(config) for _ in range(2)]
    for run in idle:
        assert (run.exit_code, run.outcome(stack_name)) == (0, "no_change")
        assert run.passes[stack_name]["engineWrites"] == 0, run.passes[stack_name]
    # the same number of reads each time, whatever the history holds
    assert idle[0].passes[stack_name]["engineCalls"] == idle[1].passes[stack_name]["engineCalls"]
    assert writes_since(docker_client, since, stack_name) == []


def test_failed_commit_is_not_applied_again_until_retry_or_a_new_commit(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: Any,
    docker_client: docker.DockerClient,
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    config = write_config(
        tmp_path / "agent.yml", [stack_entry(stack_name, daemon.url("deploy.git"), FILES)]
    )
    assert agent_once(config).outcome(stack_name) == "applied"
    broken = repo.push({FILES[0]: web_stack("broken")}, "broken")
    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (3, "rolled_back"), run.stdout
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:1"
    count = len(history(run_stackctl, stack_name))

    run = agent_once(config)  # the same commit again: held, nothing written
    assert (run.exit_code, run.outcome(stack_name)) == (0, "held")
    assert broken[:12] in run.passes[stack_name]["message"]
    again = agent_once(config)  # and again: not even the stored status changes now
    assert (again.outcome(stack_name), again.passes[stack_name]["engineWrites"]) == ("held", 0)
    assert len(history(run_stackctl, stack_name)) == count

    retried = run_stackctl("agent", "retry", stack_name)
    assert retried.exit_code == 0, retried.stderr
    run = agent_once(config)  # retried once, fails again, held again
    assert (run.exit_code, run.outcome(stack_name)) == (3, "rolled_back")
    assert agent_once(config).outcome(stack_name) == "held"

    fixed = repo.push({FILES[0]: web_stack("2")}, "fix")
    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (0, "applied")
    assert run.passes[stack_name]["commit"] == fixed
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:2"


def test_manual_rollback_pauses_the_stack_until_a_new_commit_or_resume(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: Any,
    docker_client: docker.DockerClient,
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    config = write_config(
        tmp_path / "agent.yml", [stack_entry(stack_name, daemon.url("deploy.git"), FILES)]
    )
    assert agent_once(config).outcome(stack_name) == "applied"
    repo.push({FILES[0]: web_stack("2")}, "v2")
    assert agent_once(config).outcome(stack_name) == "applied"

    back = run_stackctl("rollback", stack_name, "--yes")
    assert back.exit_code == 0, back.stdout + back.stderr
    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (0, "paused"), run.stdout
    assert run.passes[stack_name]["engineWrites"] <= 1  # the stored status, once
    assert agent_once(config).passes[stack_name]["engineWrites"] == 0
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:1"

    repo.push({FILES[0]: web_stack("2", release="r2")}, "v3")  # a new commit lifts the pause
    assert agent_once(config).outcome(stack_name) == "applied"
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:2"

    assert run_stackctl("rollback", stack_name, "--yes").exit_code == 0
    assert agent_once(config).outcome(stack_name) == "paused"
    resumed = run_stackctl("agent", "resume", stack_name)
    assert resumed.exit_code == 0, resumed.stderr
    assert agent_once(config).outcome(stack_name) == "applied"  # resume: back to the branch
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:2"


def test_drift_is_reported_without_writing_or_corrected(
    repo: GitRepo, stack_name: str, tmp_path: Path, docker_client: docker.DockerClient
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    entry = stack_entry(stack_name, str(repo.bare), FILES)
    config = write_config(tmp_path / "agent.yml", [entry])
    assert agent_once(config).outcome(stack_name) == "applied"
    service = docker_client.services.get(f"{stack_name}_web")
    service.update(env=["RELEASE=hand-edited"])  # someone edits the service by hand

    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (2, "drift_detected"), run.stdout
    assert f"service {stack_name}_web" in run.passes[stack_name]["message"]
    run = agent_once(config)
    assert run.passes[stack_name]["engineWrites"] == 0

    config = write_config(tmp_path / "agent.yml", [{**entry, "drift": "correct"}])
    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (0, "applied"), run.stdout
    env = docker_client.api.inspect_service(f"{stack_name}_web")["Spec"]["TaskTemplate"][
        "ContainerSpec"
    ]["Env"]
    assert "RELEASE=r1" in env


def test_git_outage_and_invalid_commits_leave_the_stack_as_it_is_and_others_go_on(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    request: pytest.FixtureRequest,
) -> None:
    other = new_stack_name()
    request.addfinalizer(lambda: remove_stack_objects(docker_client, other))
    repo.push({FILES[0]: web_stack("1")}, "v1")
    url = daemon.url("deploy.git")
    config = write_config(
        tmp_path / "agent.yml",
        [stack_entry(stack_name, url, FILES), stack_entry(other, str(repo.bare), FILES)],
    )
    assert agent_once(config).exit_code == 0

    bad_yaml = repo.push({FILES[0]: web_stack("2") + "  oops: [unclosed\n"}, "bad yaml")
    run = agent_once(config)
    assert run.exit_code == 1
    for stack in (stack_name, other):
        message = run.passes[stack]["message"]
        assert run.outcome(stack) == "error"
        assert bad_yaml[:12] in message and "app/stack.yml:" in message, message
        assert running_image(docker_client, stack) == "stackctl-demo/web:1"

    invalid = repo.push({FILES[0]: web_stack("2").replace("replicas: 1", "replicas: lots")})
    run = agent_once(config)
    message = run.passes[stack_name]["message"]
    assert invalid[:12] in message and "app/stack.yml:8:" in message, message

    # a repository the server refuses (git daemon's answer to an unknown or forbidden path)
    refused = write_config(
        tmp_path / "refused.yml", [stack_entry(stack_name, daemon.url("nope.git"), FILES)]
    )
    run = agent_once(refused)
    assert (run.exit_code, run.outcome(stack_name)) == (1, "error")
    assert "no such repository" in run.passes[stack_name]["message"], run.passes[stack_name]

    repo.push({FILES[0]: web_stack("2")}, "fixed")
    daemon.stop()  # the network repository goes away; the local one stays
    run = agent_once(config)
    assert run.exit_code == 1
    assert run.outcome(stack_name) == "error"
    assert run.passes[stack_name]["message"].startswith("git: "), run.passes[stack_name]
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:1"
    assert run.outcome(other) == "applied"  # one stack's outage never blocks another
    assert running_image(docker_client, other) == "stackctl-demo/web:2"


def test_suspended_stack_is_left_alone_until_resumed(
    repo: GitRepo,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: Any,
    docker_client: docker.DockerClient,
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    config = write_config(tmp_path / "agent.yml", [stack_entry(stack_name, str(repo.bare), FILES)])
    assert agent_once(config).outcome(stack_name) == "applied"
    assert run_stackctl("agent", "suspend", stack_name).exit_code == 0
    repo.push({FILES[0]: web_stack("2")}, "v2")
    run = agent_once(config)
    assert (run.exit_code, run.outcome(stack_name)) == (0, "suspended")
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:1"
    status = run_stackctl("agent", "status", stack_name, "--json")
    assert json.loads(status.stdout)["stacks"][0]["suspended"] is True

    assert run_stackctl("agent", "resume", stack_name).exit_code == 0
    assert agent_once(config).outcome(stack_name) == "applied"
    assert running_image(docker_client, stack_name) == "stackctl-demo/web:2"


def test_two_agents_on_one_cluster_apply_a_commit_once(
    repo: GitRepo, stack_name: str, tmp_path: Path, run_stackctl: Any
) -> None:
    repo.push({FILES[0]: web_stack("1")}, "v1")
    configs = [
        write_config(
            tmp_path / name / "agent.yml",
            [stack_entry(stack_name, str(repo.bare), FILES)],
        )
        for name in ("a", "b")
        if (tmp_path / name).mkdir() is None
    ]
    runs: dict[int, Any] = {}
    threads = [
        threading.Thread(target=lambda i=i: runs.__setitem__(i, agent_once(configs[i])))
        for i in (0, 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    outcomes = sorted(runs[i].outcome(stack_name) for i in (0, 1))
    # one applies; the other found the lock held or, after it, nothing left to do
    assert outcomes[0] == "applied" and outcomes[1] in ("locked", "no_change"), outcomes
    assert len(history(run_stackctl, stack_name)) == 1
    for _ in range(2):  # the first round may store the shared "no_change" status once
        again = [agent_once(c) for c in configs]
        assert [r.outcome(stack_name) for r in again] == ["no_change", "no_change"]
    assert [r.passes[stack_name]["engineWrites"] for r in again] == [0, 0]  # no thrashing


def test_the_agent_runs_until_sigterm_then_exits_0(
    repo: GitRepo, stack_name: str, tmp_path: Path, run_stackctl: Any
) -> None:

    first = repo.push({FILES[0]: web_stack("1")}, "v1")
    config = write_config(
        tmp_path / "agent.yml", [stack_entry(stack_name, str(repo.bare), FILES)], interval="1s"
    )
    agent = subprocess.Popen(
        [sys.executable, "-m", "stackctl", "agent", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:

        def recorded(commit: str) -> bool:  # revisions stay; the status moves on
            return any(
                (r.get("git") or {}).get("commit") == commit and r["outcome"] == "applied"
                for r in history(run_stackctl, stack_name)
            )

        wait_until(lambda: recorded(first), timeout=120, what="the agent's first apply")
        second = repo.push({FILES[0]: web_stack("2")}, "v2")  # picked up by a later pass
        wait_until(lambda: recorded(second), timeout=120, what="the second commit applied")
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=150)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.communicate()
    assert agent.returncode == 0, out + err
    assert "stopped" in err
    assert f"stack {stack_name}: applied at {second[:12]}" in out
