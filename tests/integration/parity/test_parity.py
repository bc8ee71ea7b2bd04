"""Parity: stackctl's conversion creates what ``docker stack deploy`` creates.

Each case deploys one file twice on the real Swarm: with ``docker stack deploy
--resolve-image never`` under one name and with ``stackctl apply --detach`` (the
CLI, in a subprocess) under another. Both are read back with ``observe_stack``
and compared field by field; only the differences documented in
docs/conversion.md are removed first.

The same run checks ADOPTION: the converted specs equal the services docker
created, so ``stackctl diff`` against a docker-deployed stack shows no service
change (documented config/secret renames aside).

The two deployments run one after the other (docker's is removed first) so
published ports never clash.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from support.parity import (
    DockerDeployFailed,
    comparable,
    deploy_with_docker,
    deploy_with_stackctl,
    external_resources,
    remove_stack,
    unique_stack_name,
)
from support.stack_builders import every_key_stack
from support.testkit import skip_impossible_here

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack
from stackctl.core.model.model import Stack
from stackctl.engine.client import EngineClient
from stackctl.engine.observe import external_references, observe_stack
from stackctl.errors import StackFileError

# the demo stacks and the every-key fixture publish fixed ports (8080, 18080, 19090):
# one worker runs every test that deploys them (tests/README.md, "Parallel run")
pytestmark = [pytest.mark.swarm, pytest.mark.xdist_group("fixed-ports")]

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures"


def shared_dir() -> Path | None:
    env = os.environ.get("STACKCTL_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [REPO / ".." / "shared", Path("/work/shared")]
    return next((c.resolve() for c in candidates if (c / "corpus").is_dir()), None)


def load(file: Path, env: Mapping[str, str]) -> Stack:
    result = load_stack([str(file)], env=dict(env), cwd=str(file.parent))
    stack: Stack = result.stack
    return stack


def field_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Every leaf where ``a`` and ``b`` differ, as readable lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a:
                out.append(f"{path}.{key}: only in stackctl: {json.dumps(b[key])}")
            elif key not in b:
                out.append(f"{path}.{key}: only in docker: {json.dumps(a[key])}")
            else:
                out += field_differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in field_differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: docker {json.dumps(a)} != stackctl {json.dumps(b)}"]


def check_parity(
    engine: EngineClient,
    file: Path,
    stack_of: Callable[[], Stack],
    env: Mapping[str, str],
    *,
    docker_may_refuse: bool = False,
) -> None:
    """Deploy ``file`` both ways and compare; ``stack_of`` loads it (for the
    adoption check and the external resources).

    A file of this repository that docker cannot deploy is a failure; a corpus file
    (``docker_may_refuse``) docker refuses on this machine is skipped with docker's
    reason (e.g. a bind-mount source this machine does not have). One docker deploys
    but stackctl cannot apply is a failure.
    """
    docker_name, stackctl_name = unique_stack_name("tpd"), unique_stack_name("tps")
    try:
        early: Stack | None = stack_of()
    except StackFileError:
        early = None  # reported below if docker accepts the file
    with external_resources(engine, early):
        try:
            try:
                deploy_with_docker(engine, file, docker_name, env)
            except DockerDeployFailed as exc:
                if not docker_may_refuse:
                    raise AssertionError(f"docker stack deploy refused {file.name}: {exc}") from exc
                skip_impossible_here(f"docker stack deploy refuses {file.name} here: {exc}")
            docker_live = observe_stack(
                engine,
                docker_name,
                external=external_references(convert_stack(early or Stack(), docker_name)),
            )
        finally:
            remove_stack(engine, docker_name)
        stack = early if early is not None else stack_of()
        desired = convert_stack(stack, stackctl_name)
        try:
            deploy_with_stackctl(file, stackctl_name, env)
            stackctl_live = observe_stack(
                engine, stackctl_name, external=external_references(desired)
            )
        finally:
            remove_stack(engine, stackctl_name)

    docker_desired = convert_stack(stack, docker_name)
    theirs = comparable(docker_live, docker_name, docker_desired)
    ours = comparable(stackctl_live, stackctl_name, desired)
    assert theirs["services"], "the docker deployment created no service"
    differences = field_differences(theirs, ours)
    assert not differences, "\n".join(differences)

    # Adoption: what convert produces is what docker's deployment holds.
    converted = comparable(docker_desired, docker_name, docker_desired)
    adoption = field_differences(theirs["services"], converted["services"])
    assert not adoption, "\n".join(adoption)
    # And our own deployment reads back as exactly what we sent.
    round_trip = field_differences(ours, comparable(desired, stackctl_name, desired))
    assert not round_trip, "\n".join(round_trip)


def test_every_key_fixture_hand_normalized(engine: EngineClient) -> None:
    """The every-key fixture, normalized by hand (independent of the loader)."""

    check_parity(engine, FIXTURES / "every-key.yml", every_key_stack, {})


def test_every_key_fixture_loaded(engine: EngineClient) -> None:
    file = FIXTURES / "every-key.yml"
    check_parity(engine, file, lambda: load(file, {}), {})


def demo_stack_files() -> list[Path]:
    files = sorted((REPO / "stacks").glob("*.yml")) + sorted((REPO / "stacks").glob("*/stack.yml"))
    return files or [REPO / "stacks" / "demo" / "stack.yml"]


@pytest.mark.parametrize(
    "file", demo_stack_files(), ids=lambda f: str(f.relative_to(REPO / "stacks"))
)
def test_demo_stack(engine: EngineClient, file: Path) -> None:
    check_parity(engine, file, lambda: load(file, {}), {})


def corpus_entries() -> list[Any]:
    shared = shared_dir()
    if shared is None:
        return [pytest.param(None, id="corpus-absent")]
    entries = json.loads((shared / "corpus" / "sources.json").read_text())
    return [
        pytest.param(entry, id=entry["local"]) for entry in entries if entry.get("accepted", True)
    ]


@pytest.mark.parametrize("entry", corpus_entries())
def test_corpus_file(engine: EngineClient, entry: dict[str, Any] | None) -> None:
    shared = shared_dir()
    if entry is None or shared is None:
        skip_impossible_here("the public stack-file corpus (../shared/corpus) is not in this repo")
    file = shared / "corpus" / entry["local"]
    # The environment docker stack deploy sees: a clean PATH/HOME plus the listed values.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    env.update({k: str(v) for k, v in (entry.get("env") or {}).items()})
    check_parity(engine, file, lambda: load(file, env), env, docker_may_refuse=True)
