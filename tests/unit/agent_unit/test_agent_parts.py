"""Small parts of the agent: URL redaction, backoff, located findings in messages."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from stackctl.agent.config import parse_config
from stackctl.agent.git_source import GitCredentials, GitError, GitSource, _git_env, redact_url
from stackctl.agent.loop import Agent
from stackctl.agent.reconcile import describe_findings
from stackctl.errors import Finding, Location, Severity, StackctlError


def test_credentials_never_leave_a_url() -> None:
    assert redact_url("https://user:tok3n@git.example.com:8443/a.git") == (
        "https://git.example.com:8443/a.git"
    )
    assert redact_url("https://git.example.com/a.git") == "https://git.example.com/a.git"
    assert redact_url("git@github.com:o/r.git") == "git@github.com:o/r.git"


def test_errors_back_off_doubling_up_to_the_cap() -> None:
    config = parse_config(
        "interval: 10s\nbackoff_max: 1m\nstacks: [{name: s, repo: x, files: [a.yml]}]\n", "a.yml"
    )
    agent = Agent(config, connect=lambda: None, out=print)  # type: ignore[arg-type,return-value]
    schedule = agent.stacks["s"]
    delays = []
    for failures in range(5):
        schedule.memory.failures = failures
        delays.append(agent.delay_after(schedule))
    assert delays == [10.0, 20.0, 40.0, 60.0, 60.0]


def test_invalid_files_are_reported_with_the_commit_and_file_line() -> None:
    finding = Finding(
        Severity.ERROR, "bad", "SC201", Location("app/stack.yml", 8, 7), "services.web.image"
    )
    text = describe_findings("c0ffee" * 7, [finding] * 7)
    assert text.startswith(
        "invalid stack files in commit c0ffeec0ffee: "
        "app/stack.yml:8:7: error SC201 services.web.image: bad; "
    )
    assert text.endswith("(and 2 more)")


def test_placement_errors_are_reported_as_the_cli_prints_them() -> None:
    finding = Finding(
        Severity.ERROR,
        "placement constraint node.labels.zone==eu matches no node of the cluster (1 node)",
        "SC401",
        Location("app/stack.yml", 9, 23),
        "services.web.deploy.placement.constraints[node.labels.zone==eu]",
    )
    assert describe_findings("c0ffee" * 7, [finding]) == (
        "the placement preflight refused commit c0ffeec0ffee (nothing was written): "
        "app/stack.yml:9:23: error SC401 services.web.deploy.placement.constraints"
        "[node.labels.zone==eu]: placement constraint node.labels.zone==eu matches no node "
        "of the cluster (1 node)"
    )


def test_a_git_error_names_the_repository_without_its_password() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"https://deploy:s3cret-token@127.0.0.1:{port}/ops/deploy.git"
    source = GitSource(url, "/nonexistent", branch="main", ref=None, timeout=30)
    with pytest.raises(GitError) as caught:
        source.remote_commit()
    message = caught.value.message
    assert f"https://127.0.0.1:{port}/ops/deploy.git" in message
    assert "s3cret" not in message and "deploy:" not in message


def _two_stack_agent() -> Agent:
    def no_engine() -> None:
        raise StackctlError("cannot reach the engine")

    config = parse_config(
        "interval: 10s\nstacks:\n"
        "  - {name: a, repo: x, files: [a.yml]}\n"
        "  - {name: b, repo: x, files: [a.yml]}\n",
        "agent.yml",
    )
    return Agent(config, connect=no_engine, out=lambda line: None)  # type: ignore[arg-type]


def test_pass_listeners_see_every_result_and_a_failing_listener_breaks_nothing() -> None:
    agent = _two_stack_agent()
    seen: list[tuple[str, str]] = []

    def broken(result: object) -> None:
        raise RuntimeError("sink down")

    agent.add_pass_listener(broken)
    agent.add_pass_listener(lambda result: seen.append((result.stack, result.outcome)))
    result = agent.run_pass("a")
    assert result.outcome == "error"
    assert seen == [("a", "error")]


def test_a_sync_request_makes_idle_stacks_due_and_queues_one_for_a_running_pass() -> None:
    agent = _two_stack_agent()
    agent.stacks["a"].next_due = 1e9
    agent.stacks["b"].next_due = 1e9
    agent.stacks["b"].running = True
    assert agent.request_sync(["a", "b", "unknown"]) == ["a", "b"]
    assert agent.stacks["a"].next_due == 0.0
    assert agent.stacks["b"].next_due == 1e9  # running: not started twice at once
    assert agent.stacks["b"].sync_requested


def test_the_credential_helper_reads_the_password_file_git_asks_for(tmp_path: object) -> None:
    """git's own ``credential fill`` with the agent's environment: the file's first line
    is the password (with or without a newline); only the file's path is in the env."""

    folder = Path(str(tmp_path))
    for text in ("t0ken-one\n", "t0ken-two"):
        secret = folder / "token"
        secret.write_text(text)
        env = _git_env(GitCredentials("deploy", str(secret)))
        env["GIT_CONFIG_NOSYSTEM"], env["HOME"] = "1", str(folder)
        filled = subprocess.run(
            ["git", "credential", "fill"],
            input="protocol=https\nhost=git.example.com\n\n",
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert "username=deploy\n" in filled
        assert f"password={text.strip()}\n" in filled
        assert text.strip() not in "".join(env.values())


def test_credentials_keep_configuration_given_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "http.proxy")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "http://proxy.example.com:3128")
    env = _git_env(GitCredentials("", "/run/secrets/git_token"))
    assert env["GIT_CONFIG_COUNT"] == "3"
    assert env["GIT_CONFIG_KEY_0"] == "http.proxy"
    assert (env["GIT_CONFIG_KEY_1"], env["GIT_CONFIG_VALUE_1"]) == ("credential.helper", "")
    assert env["GIT_CONFIG_VALUE_2"].startswith("!")


def test_an_unreadable_password_file_is_named_before_git_runs(tmp_path: object) -> None:
    missing = f"{tmp_path}/no-such-token"
    source = GitSource(
        "https://git.example.com/ops/deploy.git",
        f"{tmp_path}/clone",
        branch="main",
        ref=None,
        timeout=30,
        credentials=GitCredentials("deploy", missing),
    )
    with pytest.raises(GitError) as caught:
        source.remote_commit()
    assert caught.value.message == (
        f"https://git.example.com/ops/deploy.git: cannot read the credentials password_file "
        f"{missing}"
    )
