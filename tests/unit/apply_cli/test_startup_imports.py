"""`stackctl validate` imports only what validating needs: no Docker SDK, no rich, no
planning, rollout, history or rendering code (each import is start-up time, and
validate runs in every CI job). Fails when an import line pulls one of them back in."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.import_probe import imported_by

REPO = Path(__file__).resolve().parents[3]

# What a run of `validate` (text, JSON or CI formats) must not import.
NOT_FOR_VALIDATE = (
    "docker",
    "requests",
    "urllib3",
    "rich",
    "pydantic",
    "jsonschema",
    "stackctl.engine",
    "stackctl.rollout",
    "stackctl.core.plan",
    "stackctl.core.history",
    "stackctl.core.convert",
    "stackctl.core.render.render_text",
    "stackctl.core.render.render_json",
    "stackctl.core.render.render_markdown",
    "stackctl.api.plans",
    "stackctl.api.rollouts",
    "stackctl.api.stack_status",
)


def _forbidden(modules: list[str], allowed: tuple[str, ...] = ()) -> list[str]:
    banned = [p for p in NOT_FOR_VALIDATE if p not in allowed]
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in banned)]


@pytest.mark.parametrize(
    "extra", [[], ["--json"], ["--format", "github"], ["--format", "sarif"], ["--stack", "s"]]
)
def test_validate_imports_no_plan_rollout_or_engine_code(tmp_path: Path, extra: list[str]) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text(
        "services:\n  web:\n    image: nginx:1\n    ports: ['8080:80']\n    deploy:\n"
        "      replicas: 2\n      update_config: {order: start-first}\n",
        encoding="utf-8",
    )
    code, modules = imported_by(["validate", "-c", str(stack), *extra], tmp_path)
    assert code == 0
    assert "stackctl.core.model.model" in modules  # it did load and validate the file
    assert _forbidden(modules) == []


def test_an_invalid_file_too(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text("services:\n  web:\n    image: 3\n    bogus: 1\n", encoding="utf-8")
    code, modules = imported_by(["validate", "-c", str(stack)], tmp_path)
    assert code == 1
    # jsonschema explains schema errors (only files with errors pay for it)
    assert _forbidden(modules, allowed=("jsonschema",)) == []


def test_the_check_can_fail() -> None:
    # a package and its modules are caught; a name that only starts the same is not
    seen = ["stackctl.rollout.events", "docker", "dockerfile", "stackctl.core.planx"]
    assert _forbidden(seen) == ["stackctl.rollout.events", "docker"]
