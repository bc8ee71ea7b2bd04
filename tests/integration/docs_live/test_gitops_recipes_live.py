"""The GitOps recipes' job scripts, run as the CI would run them, against the real Swarm.

Install and SSH steps are left out (stackctl is on PATH; the engine is local);
every step that calls stackctl runs unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "docs" / "examples"
BIN = Path(sys.executable).parent

STACK_FILE = """\
version: "3.8"
services:
  web:
    image: stackctl-demo/web:${WEB_VERSION:-1}
    init: true
    environment:
      PORT: "8080"
    healthcheck:
      test: ["CMD-SHELL", "timeout 2 wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"]
      interval: 1s
      timeout: 3s
      retries: 2
      start_period: 1s
    stop_grace_period: 2s
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      update_config:
        order: start-first
        failure_action: rollback
        monitor: 5s
x-stackctl:
  ignore: [SC104]
"""


def github_step(job: str, name_part: str) -> str:
    data: dict[str, Any] = yaml.safe_load(
        (EXAMPLES / "github-actions" / "stackctl.yml").read_text()
    )
    for step in data["jobs"][job]["steps"]:
        if name_part in step.get("name", ""):
            return str(step["run"])
    raise AssertionError(f"no step named like {name_part!r} in job {job}")


def gitlab_script(job: str) -> str:
    """The job's script after the before_script line that builds STACK_ARGS (the
    install and SSH lines are left out)."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "gitlab-ci" / ".gitlab-ci.yml").read_text())
    setup = [line for line in data["default"]["before_script"] if "STACK_ARGS=" in line]
    assert len(setup) == 1, "the before_script line that builds STACK_ARGS"
    return "\n".join([*setup, *data[job]["script"]])


class Runner:
    def __init__(self, stack: str, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "stack.yml").write_text(STACK_FILE)
        self.env = {
            "PATH": f"{BIN}:/usr/bin:/bin",
            "HOME": str(tmp),
            "STACK": stack,
            "STACK_FILE": "stack.yml",
            "NO_COLOR": "1",
            "GITHUB_OUTPUT": str(tmp / "github_output"),
            "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        }
        if "DOCKER_HOST" in os.environ:
            self.env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]

    def bash(self, script: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``script`` as GitHub does (bash -e -o pipefail) in the checkout folder."""
        (self.tmp / "summary.md").write_text("")
        (self.tmp / "github_output").write_text("")
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.tmp,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def summary(self) -> str:
        return (self.tmp / "summary.md").read_text()


@pytest.mark.usefixtures("demo_images")
def test_recipes_plan_apply_and_detect_drift(stack_name: str, tmp_path: Path) -> None:
    run = Runner(stack_name, tmp_path)

    plan = run.bash(github_step("plan", "Validate") + "\n" + github_step("plan", "Plan"))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "changes=yes" in (tmp_path / "github_output").read_text()
    assert "2 to create" in run.summary()  # the default network and web

    applied = run.bash(github_step("apply", "Apply"))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Deployed" in run.summary()

    clean = run.bash(github_step("drift", "Compare"))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No drift" in run.summary()

    drifted = run.bash(github_step("drift", "Compare"), WEB_VERSION="2")
    assert drifted.returncode == 2, drifted.stdout + drifted.stderr
    assert "Drift on stack" in run.summary() and "stackctl-demo/web:2" in run.summary()

    gitlab_drift = run.bash(gitlab_script("drift"), WEB_VERSION="2")
    assert gitlab_drift.returncode == 2
    assert "DRIFT on stack" in gitlab_drift.stdout


@pytest.mark.usefixtures("demo_images")
def test_deploy_script_reports_a_rolled_back_release(stack_name: str, tmp_path: Path) -> None:
    run = Runner(stack_name, tmp_path)
    deploy = str(EXAMPLES / "deploy.sh")

    first = run.bash(f"{deploy} apply")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "deployed and healthy" in first.stdout

    broken = run.bash(f"{deploy} apply", WEB_VERSION="broken")
    assert broken.returncode == 3, broken.stdout + broken.stderr
    assert "ROLLED BACK" in broken.stderr

    # the rollback left the stack as the files (version 1) describe it
    drift = run.bash(f"{deploy} drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "no drift" in drift.stdout
