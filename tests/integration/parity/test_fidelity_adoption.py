"""Adopting a stack ``docker stack deploy`` deployed: configs kept, targets as docker sends them.

The same file is deployed with ``docker stack deploy --resolve-image never`` and
with ``stackctl apply``; what the engine holds is read back with the Engine API
(``GET /services/{id}``) and compared. Then stackctl takes over docker's
deployment: the config that holds the file's content keeps its name (the service
is not changed for it), the secret is renamed with the reason in the plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.parity import deploy_with_docker, remove_stack, unique_stack_name

from stackctl.core.model.state import LABEL_NAMESPACE
from stackctl.engine.client import EngineClient

pytestmark = pytest.mark.swarm

STACK_FILE = """\
version: "3.8"
services:
  web:
    image: stackctl-demo/web:1
    configs: [conf]
    secrets: [token]
configs:
  conf:
    file: ./conf.txt
secrets:
  token:
    file: ./token.txt
"""


def _files(tmp_path: Path, conf: str = "greeting=hello\n") -> Path:
    (tmp_path / "conf.txt").write_text(conf)
    (tmp_path / "token.txt").write_text("not-a-real-token\n")
    file = tmp_path / "stack.yml"
    file.write_text(STACK_FILE)
    return file


def _container(engine: EngineClient, stack: str) -> dict[str, Any]:
    (service,) = engine.api.services(filters={"label": f"{LABEL_NAMESPACE}={stack}"})
    spec = engine.api.inspect_service(service["ID"])["Spec"]
    container: dict[str, Any] = spec["TaskTemplate"]["ContainerSpec"]
    return container


def _targets(container: dict[str, Any]) -> dict[str, str]:
    return {
        **{ref["File"]["Name"]: "config" for ref in container.get("Configs") or []},
        **{ref["File"]["Name"]: "secret" for ref in container.get("Secrets") or []},
    }


def test_targets_as_docker_sends_them_and_docker_configs_adopted(
    engine: EngineClient, run_stackctl: Any, tmp_path: Path
) -> None:
    file = _files(tmp_path)
    theirs, ours = unique_stack_name("tad"), unique_stack_name("tas")
    try:
        applied = run_stackctl("apply", ours, "-c", str(file), "--yes", "--timeout", "120s")
        assert applied.exit_code == 0, applied.stdout + applied.stderr
        our_targets = _targets(_container(engine, ours))
    finally:
        run_stackctl("rm", ours, "--yes")
        remove_stack(engine, ours)
    try:
        deploy_with_docker(engine, file, theirs, {})
        before = _container(engine, theirs)
        # Relative names, exactly what docker sends (the engine resolves the paths).
        assert _targets(before) == our_targets == {"conf": "config", "token": "secret"}

        plan = run_stackctl("diff", theirs, "-c", str(file))
        assert plan.exit_code == 2, plan.stdout + plan.stderr
        assert f"replaces {theirs}_token: the engine never returns a secret's content" in (
            plan.stdout
        )
        assert "+ config" not in plan.stdout and "ConfigName" not in plan.stdout

        adopted = run_stackctl("apply", theirs, "-c", str(file), "--yes", "--timeout", "120s")
        assert adopted.exit_code == 0, adopted.stdout + adopted.stderr
        after = _container(engine, theirs)
        assert after["Configs"] == before["Configs"]  # same config object, same target
        assert _targets(after) == _targets(before)
        assert after["Secrets"][0]["SecretName"].startswith(f"{theirs}_token-")

        again = run_stackctl("diff", theirs, "-c", str(file))
        assert again.exit_code == 0, again.stdout + again.stderr

        # New content: a new content-addressed config, and the service follows it.
        (tmp_path / "conf.txt").write_text("greeting=bonjour\n")
        changed = run_stackctl("diff", theirs, "-c", str(file))
        assert changed.exit_code == 2, changed.stdout + changed.stderr
        assert f"+ config {theirs}_conf-" in changed.stdout
    finally:
        run_stackctl("rm", theirs, "--yes")
        remove_stack(engine, theirs)
