"""Adoption: a stack deployed by ``docker stack deploy`` diffs clean with stackctl.

Switching tools must not cost a restart of every service. Each file (the demo
stacks, the every-key fixture, the corpus in ../shared) is deployed with
``docker stack deploy --resolve-image never``; then the plan from the same file
against that deployment may contain only the documented difference
(docs/conversion.md): configs and secrets are named by content, so they are
created under their new names, the old ones become orphans, and the services
using them switch ``ConfigName``/``SecretName``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.parity import (
    DockerDeployFailed,
    deploy_with_docker,
    external_resources,
    remove_stack,
    unique_stack_name,
)
from support.testkit import skip_impossible_here

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack
from stackctl.core.model.model import Stack
from stackctl.core.model.state import ResourceKind
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Effect, ResourceChange
from stackctl.core.render.render_text import render_text
from stackctl.engine.client import EngineClient, connect
from stackctl.engine.observe import external_references, observe_stack
from stackctl.errors import StackFileError

REPO = Path(__file__).resolve().parents[3]

# the demo stacks and the every-key fixture publish fixed ports: on the parity tests' worker
pytestmark = pytest.mark.xdist_group("fixed-ports")

FILE_KINDS = (ResourceKind.CONFIG, ResourceKind.SECRET)


def _shared() -> Path | None:
    env = os.environ.get("STACKCTL_SHARED")
    for candidate in ([Path(env)] if env else []) + [REPO / ".." / "shared"]:
        if (candidate / "corpus" / "sources.json").exists():
            return candidate.resolve()
    return None


def _cases() -> list[Any]:
    cases = [
        pytest.param(path, {}, False, id=str(path.relative_to(REPO)))
        for path in [
            *sorted((REPO / "stacks").glob("*.yml")),
            *sorted((REPO / "stacks").glob("*/stack.yml")),
            REPO / "tests" / "fixtures" / "every-key.yml",
        ]
    ]
    shared = _shared()
    if shared is not None:
        for entry in json.loads((shared / "corpus" / "sources.json").read_text()):
            if entry.get("accepted", True):
                # What docker stack deploy sees: a clean PATH/HOME plus the listed values.
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "HOME": os.environ.get("HOME", "/root"),
                }
                env.update({k: str(v) for k, v in (entry.get("env") or {}).items()})
                path = shared / "corpus" / entry["local"]
                cases.append(pytest.param(path, env, True, id=f"corpus/{entry['local']}"))
    return cases


def _documented(change: ResourceChange) -> bool:
    """The content-addressed config/secret rename, and nothing else."""
    if change.kind in FILE_KINDS:
        # Named by content: created anew, docker's object orphaned. Objects the file
        # names explicitly keep their name and gain stackctl's labels (in place).
        labels_only = all(f.path.startswith("Labels[io.stackctl.") for f in change.fields)
        return change.effect in (Effect.CREATE, Effect.ORPHAN) or (
            change.effect is Effect.IN_PLACE and labels_only
        )
    if change.kind is ResourceKind.SERVICE and change.effect is Effect.ROLLING and change.fields:
        renames = ("].ConfigName", "].SecretName", "CredentialSpec.Config")
        return all(f.path.endswith(renames) for f in change.fields)
    return False


@pytest.fixture(scope="module")
def engine() -> Any:
    client = connect()
    yield client
    client.close()


@pytest.mark.usefixtures("demo_images")
@pytest.mark.parametrize(("path", "env", "corpus"), _cases())
def test_docker_deployed_stack_diffs_clean(
    engine: EngineClient, path: Path, env: Mapping[str, str], corpus: bool
) -> None:
    name = unique_stack_name("tda")
    try:
        stack: Stack | None = load_stack([str(path)], env=dict(env), cwd=str(path.parent)).stack
    except StackFileError as error:
        stack, load_error = None, error  # a failure only if docker accepts the file
    with external_resources(engine, stack):
        try:
            try:
                deploy_with_docker(engine, path, name, env)
            except DockerDeployFailed as exc:
                if not corpus:  # the repository's own files are all deployable
                    raise AssertionError(f"docker stack deploy refused {path}: {exc}") from exc
                skip_impossible_here(f"docker stack deploy refuses {path.name} here: {exc}")
            if stack is None:
                pytest.fail(f"docker deploys this file but stackctl cannot load it: {load_error}")
            desired = convert_stack(stack, name)
            live = observe_stack(engine, name, external=external_references(desired))
            plan = plan_changes(desired, live)
        finally:
            remove_stack(engine, name)
    unexpected = tuple(c for c in plan.changes if not _documented(c))
    assert not unexpected, render_text(replace(plan, changes=unexpected))
