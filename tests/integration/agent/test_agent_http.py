"""The agent process's HTTP surface over real sockets, with the real Swarm and real git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.agent_process import RunningAgent
from support.git_repo import stack_entry, write_config

FILES = ["app/stack.yml"]


def test_the_agent_serves_http_on_a_free_port_and_stops_cleanly_on_sigterm(
    stack_name: str, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "agent.yml",
        [stack_entry(stack_name, str(tmp_path / "missing.git"), FILES, interval="1h")],
        listen="127.0.0.1:0",
    )
    agent = RunningAgent(config)
    try:
        reply = agent.call("GET", "/no/such/endpoint")
        assert reply.status == 404
        assert reply.json()["apiVersion"] == "stackctl/v1"
    finally:
        code = agent.stop()
    assert code == 0, agent.logs()
    assert "stackctl agent: stopped" in agent.logs()


def test_a_non_loopback_listen_without_a_token_file_is_refused_before_any_pass(
    tmp_path: Path, run_stackctl: Any
) -> None:
    config = write_config(
        tmp_path / "agent.yml",
        [stack_entry("never", str(tmp_path / "missing.git"), FILES)],
        listen="0.0.0.0:0",
    )
    result = run_stackctl("agent", "--config", str(config))
    assert result.exit_code == 1
    assert "api_token_file is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
