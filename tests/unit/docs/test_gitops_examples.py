"""The GitOps recipes parse, call real stackctl commands and options, and pass the shell linters."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
from support.gitops_recipes import (
    DEPLOY_SH,
    GITHUB,
    GITLAB,
    github_step_scripts,
    gitlab_job_script,
    load,
    stackctl_calls,
)
from support.testkit import guarantee_needs

from stackctl.cli.app import app

ROOT_COMMAND = typer.main.get_command(app)
COMMANDS = ROOT_COMMAND.commands  # type: ignore[attr-defined]
ROOT_OPTIONS = {opt for p in ROOT_COMMAND.params for opt in p.opts}


def check_call(words: list[str], where: str) -> str:
    """Assert ``stackctl <words>`` names a real command and only its real options."""
    if words[:1] == ["--version"]:
        return "--version"
    while words and words[0] in ROOT_OPTIONS:
        words = words[1:]
    assert words, f"{where}: bare stackctl"
    name, rest = words[0], words[1:]
    if name.startswith("--"):  # stackctl --version
        assert name in ROOT_OPTIONS, f"{where}: unknown option {name}"
        return name
    assert name in COMMANDS, f"{where}: unknown command {name!r}"
    known = {opt for p in COMMANDS[name].params for opt in p.opts}
    for word in rest:
        if word.startswith("-") and word != "-":
            assert word.split("=")[0] in known, f"{where}: stackctl {name} has no option {word}"
    return name


def test_github_workflow_has_the_three_jobs() -> None:
    data = load(GITHUB)
    raw: dict[Any, Any] = data
    triggers = raw.get("on", raw.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(triggers, dict)
    assert set(triggers) >= {"pull_request", "push", "schedule"}
    jobs = data["jobs"]
    used = {
        name: [
            check_call(c, f"{GITHUB.name}:{name}")
            for s in github_step_scripts(job)
            for c in stackctl_calls(s)
        ]
        for name, job in jobs.items()
    }
    assert {"validate", "diff"} <= set(used["plan"])
    assert "apply" in used["apply"]
    assert "diff" in used["drift"]
    plan_script = "\n".join(github_step_scripts(jobs["plan"]))
    assert "--format markdown" in plan_script and "gh pr comment" in plan_script
    # findings where CI shows them: annotations on the PR's lines, SARIF for code scanning
    assert 'validate "${files[@]}" --format github' in plan_script
    assert "--format sarif > stackctl.sarif" in plan_script
    uploads = [s for s in jobs["plan"]["steps"] if "upload-sarif" in str(s.get("uses"))]
    assert uploads and uploads[0]["with"]["sarif_file"] == "stackctl.sarif"
    apply_script = "\n".join(github_step_scripts(jobs["apply"]))
    for code in ("3)", "4)", "5)"):
        assert code in apply_script, f"apply job does not explain exit code {code}"
    assert "exit 2" in "\n".join(github_step_scripts(jobs["drift"]))


def test_gitlab_pipeline_has_the_three_jobs() -> None:
    data = load(GITLAB)
    used = {
        job: [
            check_call(c, f"{GITLAB.name}:{job}")
            for c in stackctl_calls(gitlab_job_script(data, job))
        ]
        for job in ("plan", "apply", "drift")
    }
    assert {"validate", "diff"} <= set(used["plan"])
    assert "apply" in used["apply"]
    assert "diff" in used["drift"]
    assert "merge_request_event" in str(data["plan"]["rules"])
    assert "schedule" in str(data["drift"]["rules"])
    assert "CI_DEFAULT_BRANCH" in str(data["apply"]["rules"])
    for code in ("3)", "4)", "5)"):
        assert code in gitlab_job_script(data, "apply")


def test_deploy_script_calls_real_options() -> None:
    calls = stackctl_calls(DEPLOY_SH.read_text(encoding="utf-8").replace('"$STACKCTL"', "stackctl"))
    assert {check_call(c, DEPLOY_SH.name) for c in calls} >= {"validate", "diff", "apply"}


@pytest.mark.parametrize(
    "script",
    [
        *(
            pytest.param(s, id=f"github-{i}")
            for i, s in enumerate(
                s for job in load(GITHUB)["jobs"].values() for s in github_step_scripts(job)
            )
        ),
        *(
            pytest.param(gitlab_job_script(load(GITLAB), j), id=f"gitlab-{j}")
            for j in ("plan", "apply", "drift")
        ),
        pytest.param(DEPLOY_SH.read_text(encoding="utf-8"), id="deploy.sh"),
    ],
)
def test_job_shell_parses(script: str, tmp_path: Path) -> None:
    path = tmp_path / "job.sh"
    path.write_text(script, encoding="utf-8")
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@guarantee_needs(shutil.which("shellcheck") is not None, "shellcheck missing (./dev installs it)")
def test_deploy_script_passes_shellcheck() -> None:
    result = subprocess.run(["shellcheck", str(DEPLOY_SH)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_script_fails_on_an_invalid_stack(tmp_path: Path) -> None:
    bad = tmp_path / "stack.yml"
    bad.write_text("services:\n  web:\n    image: x:1\n    deploy:\n      replica: 2\n")
    stackctl = Path(__import__("sys").executable).with_name("stackctl")
    env = {
        "PATH": "/usr/bin:/bin",
        "STACK": "t",
        "STACK_FILE": str(bad),
        "STACKCTL": str(stackctl),
        "PLAN_FILE": str(tmp_path / "plan.md"),
    }
    result = subprocess.run([str(DEPLOY_SH), "check"], capture_output=True, text=True, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SC010" in result.stderr and "validation" in result.stderr
    assert not (tmp_path / "plan.md").exists()
