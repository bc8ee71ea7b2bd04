"""Read the GitOps recipes in docs/examples: their jobs and the shell they run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from support.testkit import REPO_ROOT as REPO

EXAMPLES = REPO / "docs" / "examples"
GITHUB = EXAMPLES / "github-actions" / "stackctl.yml"
GITLAB = EXAMPLES / "gitlab-ci" / ".gitlab-ci.yml"
DEPLOY_SH = EXAMPLES / "deploy.sh"

_STACKCTL_CALL = re.compile(
    r"(?:^|[\s;|&(!])stackctl(?![\w-])((?:[ \t]+[^\s;|&)]+)*)", re.MULTILINE
)


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def github_step_scripts(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def gitlab_job_script(data: dict[str, Any], job: str) -> str:
    """before_script + script of ``job`` as one shell script (GitLab runs them in one shell)."""
    before = data.get("default", {}).get("before_script", [])
    return "\n".join([*before, *data[job]["script"]])


def stackctl_calls(script: str) -> list[list[str]]:
    """Every ``stackctl ...`` command line in ``script``, split into words."""
    calls = []
    code = "\n".join(_strip_comment(line) for line in script.splitlines())
    for match in _STACKCTL_CALL.finditer(code):
        text = match.group(1).split("#")[0]
        try:
            words = shlex.split(text, posix=True)
        except ValueError:  # inside an echo'd message: its quote closes further on
            words = text.split()
        words = [w for w in words if not w.startswith(">") and w not in ("2>&1",)]
        calls.append(words)
    return calls


def _strip_comment(line: str) -> str:
    """A shell line without its comment (``# ...`` at the start or after a space)."""
    if line.lstrip().startswith("#"):
        return ""
    return line.split(" # ", 1)[0]
