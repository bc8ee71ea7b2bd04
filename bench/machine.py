"""What the benchmark ran on: hardware, kernel, Docker and Python versions, load."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _command_output(command: list[str], cwd: Path | None = None) -> str | None:
    try:
        result = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def describe_machine(api: Any, repo: Path) -> dict[str, Any]:
    """A JSON-ready description of this machine and its engine."""
    version = api.version()
    info = api.info()
    dirty = _command_output(["git", "status", "--porcelain", "--", "stackctl"], repo)
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "os": _command_output(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "docker_engine": version.get("Version"),
        "docker_api": version.get("ApiVersion"),
        "docker_cli": _command_output(["docker", "version", "--format", "{{.Client.Version}}"]),
        "swarm_nodes": info.get("Swarm", {}).get("Nodes"),
        "stackctl_commit": _command_output(["git", "rev-parse", "--short", "HEAD"], repo),
        "stackctl_tree_dirty": bool(dirty),
    }


def other_load(api: Any, own_prefix: str) -> dict[str, float]:
    """Services, running containers and load average not due to the bench: noise."""
    services = [s for s in api.services() if not s["Spec"]["Name"].startswith(own_prefix)]
    containers = api.containers(filters={"status": "running"})
    own = [c for c in containers if any(n.lstrip("/").startswith(own_prefix) for n in c["Names"])]
    try:
        loadavg = float(Path("/proc/loadavg").read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        loadavg = -1.0
    return {
        "other_services": len(services),
        "other_running_containers": len(containers) - len(own),
        "load_average_1m": loadavg,
    }
