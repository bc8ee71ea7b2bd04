"""./dev agent-demo's story runs as told: applied, rolled back and held, fixed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.testkit import REPO_ROOT

pytestmark = [pytest.mark.usefixtures("demo_images"), pytest.mark.slow]


def test_agent_demo_script_tells_the_whole_story(stack_name: str) -> None:
    bin_dir = str(Path(sys.executable).parent)  # the venv's stackctl
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "agent-demo.sh")],
        env={
            **os.environ,
            "AGENT_DEMO_STACK": stack_name,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-1500:] + "\n--- stderr:\n" + done.stderr[-1500:]
    out = done.stdout
    assert out.count(f"stack {stack_name}: applied at") == 2, out
    assert f"stack {stack_name}: rolled_back at" in out
    assert f"stack {stack_name}: held at" in out
    assert "agent exited 0" in out
    # the status page's address, and the JSON API's view of the held commit
    assert "status page: http://127.0.0.1:" in out, out
    api = out.split("/api/v1/stacks\n", 1)[1]
    assert '"kind": "AgentStackList"' in api and '"outcome": "held"' in api, out
