"""Real git for the agent tests: a bare repository, commits pushed to it, and
``git daemon`` serving it over the network on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.testkit import engine_unavailable, run_stackctl_process

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(*args: str, cwd: Path | None = None) -> str:
    if shutil.which("git") is None:
        engine_unavailable("the git command is missing; run ./dev cluster")
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


class GitRepo:
    """A bare repository (what the agent fetches) and a working clone that pushes to it."""

    def __init__(self, root: Path, name: str = "deploy.git") -> None:
        self.root = root
        self.bare = root / name
        self.work = root / (name + "-work")
        git("init", "-q", "--bare", "-b", "main", str(self.bare))
        git("init", "-q", "-b", "main", str(self.work))

    def push(self, files: Mapping[str, str], message: str = "change", branch: str = "main") -> str:
        """Write ``files`` (path -> text), commit, push; return the commit SHA."""
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "-q", str(self.bare), f"HEAD:refs/heads/{branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GitDaemon:
    """``git daemon`` exporting every repository under ``base`` on a free local port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                "git",
                "daemon",
                "--export-all",
                "--reuseaddr",
                "--informative-errors",
                f"--base-path={base}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(base),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)  # polling a port with a deadline, not a fixed wait
        self.stop()
        raise RuntimeError("git daemon did not start listening")

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def stack_entry(name: str, repo: str, files: list[str], **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "repo": repo,
        "files": files,
        "apply": {"timeout": "2m", "pending_timeout": "30s"},
    }
    entry.update(extra)
    return entry


def write_config(path: Path, stacks: list[dict[str, Any]], **top: Any) -> Path:
    """agent.yml (JSON is YAML) with a state_dir beside it.

    ``listen`` defaults to a free port: a running agent serves HTTP, and agents of
    other tests (or other people's) may be running on this machine at the same time.
    """
    data = {
        "interval": "5s",
        "listen": "127.0.0.1:0",
        "state_dir": str(path.parent / "agent-state"),
        **top,
        "stacks": stacks,
    }
    path.write_text(json.dumps(data, indent=2))
    return path


@dataclass
class PassRun:
    exit_code: int
    passes: dict[str, dict[str, Any]]  # stack -> its "pass" line
    stdout: str
    stderr: str

    def outcome(self, stack: str) -> str:
        return str(self.passes[stack]["outcome"])


def agent_once(config: Path, *, timeout: float = 240) -> PassRun:
    """``stackctl agent --config CONFIG --once --json``, its pass lines by stack."""
    result = run_stackctl_process(
        "agent", "--config", str(config), "--once", "--json", timeout=timeout
    )
    passes = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            if data.get("event") == "pass":
                passes[data["stack"]] = data
    return PassRun(result.exit_code, passes, result.stdout, result.stderr)


WEB_STACK = """services:
  web:
    image: stackctl-demo/web:{version}
    stop_grace_period: 1s
    environment:
      RELEASE: "{release}"
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 1s}}
"""


def web_stack(version: str, release: str = "r1") -> str:
    return WEB_STACK.format(version=version, release=release)
