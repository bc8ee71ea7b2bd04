"""A commit the cluster's nodes cannot run: the agent refuses it located, as the CLI does.

A real ``stackctl agent`` process fetches the commit from ``git daemon`` on
127.0.0.1 and plans it against the real single-node Swarm. The placement
preflight's error must carry ``app/stack.yml:LINE:COL``, its code and key (the
same line ``stackctl apply`` prints) in the agent's log, ``agent status --json``,
the JSON API, the status page and a notification, and nothing of the stack may be
written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest
from support.agent_process import RunningAgent
from support.agent_schemas import check_api_document
from support.git_repo import GitDaemon, GitRepo, stack_entry, write_config
from support.testkit import run_stackctl_process, wait_until

pytestmark = pytest.mark.usefixtures("demo_images")

FILES = ["app/stack.yml"]
UNSATISFIABLE = """services:
  web:
    image: stackctl-demo/web:1
    deploy:
      replicas: 1
      placement:
        constraints:
          - node.labels.zone==nowhere
"""
LOCATED = (
    "app/stack.yml:8:13: error SC401 "
    "services.web.deploy.placement.constraints[node.labels.zone==nowhere]: "
    "placement constraint node.labels.zone==nowhere matches no node of the cluster"
)


def engine_writes(client: docker.DockerClient, stack: str, since: datetime) -> list[str]:
    """The engine's own log of writes to the stack's objects (the agent's state aside)."""
    state = f"stackctl-agent-{stack}"  # the status the agent reports: written on purpose
    found = []
    for event in client.api.events(
        since=int(since.timestamp()),
        until=datetime.now(UTC),
        decode=True,
        filters={"type": ["service", "config", "secret", "network"]},
    ):
        name = (event.get("Actor") or {}).get("Attributes", {}).get("name", "")
        if stack in name and name != state:
            found.append(f"{event['Type']} {event['Action']} {name}")
    return found


def test_unsatisfiable_constraint_is_refused_with_its_file_line_and_nothing_is_written(
    repo: GitRepo,
    daemon: GitDaemon,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    commit = repo.push({FILES[0]: UNSATISFIABLE}, "zone constraint")
    sent = tmp_path / "notification.json"  # written whole (mv), so never read half-written
    config = write_config(
        tmp_path / "agent.yml",
        [stack_entry(stack_name, daemon.url("deploy.git"), FILES, interval="1h")],
        notify=[
            {
                "type": "command",
                "command": ["sh", "-c", 'cat > "$0.part" && mv "$0.part" "$0"', str(sent)],
            }
        ],
    )
    since = datetime.now(UTC)
    agent = RunningAgent(config)
    try:
        wait_until(lambda: len(agent.passes()) >= 1, timeout=240, what="the first pass")
        (logged,) = agent.passes()
        assert logged["outcome"] == "error", agent.logs()
        expected = (
            f"the placement preflight refused commit {commit[:12]} (nothing was written): "
            + LOCATED
        )
        assert logged["message"].startswith(expected), logged["message"]

        reply = agent.call("GET", f"/api/v1/stacks/{stack_name}")
        assert reply.status == 200
        check_api_document(reply.json())
        shown = reply.json()["stack"]
        assert (shown["outcome"], shown["commit"]) == ("error", commit)
        assert shown["message"] == logged["message"]
        page = agent.call("GET", "/").body.decode()
        assert LOCATED in page, page
        wait_until(sent.exists, timeout=60, what="the notification")
        notification = json.loads(sent.read_text())
        assert (notification["outcome"], notification["message"]) == ("error", logged["message"])
    finally:
        assert agent.stop() == 0, agent.logs()

    status = run_stackctl_process("agent", "status", stack_name, "--json")
    assert status.exit_code == 0, status.stderr
    (entry,) = json.loads(status.stdout)["stacks"]
    assert (entry["outcome"], entry["commit"]) == ("error", commit)
    assert entry["message"] == logged["message"]

    assert engine_writes(docker_client, stack_name, since) == []
    assert docker_client.services.list(filters={"name": f"{stack_name}_"}) == []
    history = run_stackctl_process("history", stack_name, "--json")
    assert json.loads(history.stdout)["revisions"] == [], history.stdout
