"""``stackctl -v`` shows the Engine API calls a command makes (real engine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import docker

STACKCTL = str(Path(sys.executable).with_name("stackctl"))


def test_verbose_lists_engine_api_calls_and_totals(docker_client: docker.DockerClient) -> None:
    result = subprocess.run(
        [STACKCTL, "-v", "ls", "--json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    calls = [line for line in result.stderr.splitlines() if "engine API:" in line]
    assert any("GET /v1.41/services" in line and line.endswith("-> 200") for line in calls)
    totals = [line for line in result.stderr.splitlines() if "engine API calls:" in line]
    assert len(totals) == 1
    # the totals count the logged calls plus connect()'s two checks (version, info)
    assert f"engine API calls: {len(calls) + 2} (0 writes" in totals[0]
    listed = json.loads(result.stdout)  # stdout stays clean JSON: the log is on stderr
    assert (listed["apiVersion"], listed["kind"]) == ("stackctl/v1", "StackList")
