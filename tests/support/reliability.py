"""Helpers for the reliability tests: a small two-wave stack, CLI runs, and the
checks every fault test makes afterwards (converged, history consistent, lock free).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stackctl.engine.client import EngineClient
from stackctl.engine.lock import LEASE_ENV, read_lock
from stackctl.engine.revisions import RevisionStore
from stackctl.rollout.checkpoints import COUNT_ENV, KILL_ENV, PAUSE_DIR_ENV, PAUSE_ENV
from support.testkit import REPO_ROOT, CliResult

LEASE = 3.0  # seconds: the lock lease of every apply these tests start

# db (wave 1) <- api (wave 2, waits for db's health gate); both health-checked;
# one network, one config, one secret. IMAGE and the file contents vary by release.
STACK_TEMPLATE = """
services:
  db:
    image: {image}
    stop_grace_period: 1s
    environment: {{ROLE: db, RELEASE: "{release}"}}
    networks: [back]
    configs: [{{source: app_conf, target: /etc/app.conf}}]
    secrets: [app_secret]
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 500ms,
                      failure_action: pause}}
  api:
    image: {image}
    stop_grace_period: 1s
    environment: {{ROLE: api, RELEASE: "{release}"}}
    networks: [back]
    depends_on:
      db: {{condition: service_healthy}}
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 500ms,
                      failure_action: pause}}
networks:
  back: {{}}
configs:
  app_conf: {{file: ./app-{release}.conf}}
secrets:
  app_secret: {{file: ./secret.txt}}
x-stackctl:
  ignore: [SC102]
"""


@dataclass(frozen=True)
class Release:
    """One version of the test stack, written to ``<dir>/<release>.yml``."""

    name: str
    image: str

    def write(self, directory: Path) -> str:
        (directory / f"app-{self.name}.conf").write_text(f"config of release {self.name}\n")
        secret = directory / "secret.txt"
        if not secret.exists():
            secret.write_text("not-a-real-secret\n")
        path = directory / f"{self.name}.yml"
        path.write_text(STACK_TEMPLATE.format(image=self.image, release=self.name))
        return str(path)


V1 = Release("v1", "stackctl-demo/web:1")
V2 = Release("v2", "stackctl-demo/web:2")
V3 = Release("v3", "stackctl-demo/web:1")
BROKEN = Release("broken", "stackctl-demo/web:crash")  # exits at once: Swarm pauses


def stackctl_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    env["PYTHONUNBUFFERED"] = "1"
    env[LEASE_ENV] = f"{LEASE:g}"
    for name in (KILL_ENV, PAUSE_ENV, PAUSE_DIR_ENV, COUNT_ENV):
        env.pop(name, None)
    env.update(extra or {})
    return env


def stackctl(*args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> CliResult:
    proc = subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        env=stackctl_env(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def apply(stack: str, file: str, *extra: str, env: Mapping[str, str] | None = None) -> CliResult:
    args = ("apply", stack, "-c", file, "--yes", "--pending-timeout", "60s", "--timeout", "240s")
    return stackctl(*args, *extra, env=env)


def spawn(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stackctl", *args],
        env=stackctl_env(env),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_converged(stack: str, file: str) -> None:
    """``stackctl diff`` finds nothing to change between the file and the cluster."""
    diff = stackctl("diff", stack, "-c", file)
    assert diff.exit_code == 0, diff.stdout + diff.stderr


def assert_history_consistent(client: EngineClient, stack: str) -> list[dict[str, object]]:
    """Numbered 1..n without gaps or duplicates, every revision fully readable,
    exactly one marked current; returns ``history --json``."""
    result = stackctl("history", stack, "--json")
    assert result.exit_code == 0, result.stderr
    entries: list[dict[str, object]] = json.loads(result.stdout)["revisions"]
    numbers = [e["number"] for e in entries]
    assert numbers == list(range(1, len(entries) + 1)), numbers
    assert all(e["outcome"] for e in entries), entries
    if entries:
        assert [e["current"] for e in entries].count(True) == 1, entries
    decoded = RevisionStore(client, stack).all()  # raises on a half-written revision
    assert [r.number for r in decoded] == numbers
    return entries


def assert_lock_frees_within_lease(client: EngineClient, stack: str, killed_at: float) -> bool:
    """The dead holder's lock (if it took one) expires on its own within one lease.

    Returns whether a lock was left behind.
    """
    info = read_lock(client, stack)
    if info is None:
        return False
    assert info.expires <= killed_at + LEASE + 1.0, (info, killed_at)
    while not info.expired(time.time()):
        time.sleep(0.2)
    return True
