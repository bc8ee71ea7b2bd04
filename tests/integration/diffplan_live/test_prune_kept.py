"""``diff --prune`` shows what ``apply --prune`` does with objects a revision still needs.

The file drops a config that revision 1 still needs (a rollback to 1 would use
it), and a service. ``apply --prune`` deletes the service but keeps the config
(stackctl cannot recreate content it never stored); ``diff --prune`` must say
exactly that, in text and in JSON, not list the config as deleted.
"""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
from support.testkit import RunStackctl

pytestmark = pytest.mark.usefixtures("demo_images")

SERVICE = """
  {name}:
    image: stackctl-demo/web:1
    stop_grace_period: 1s
    deploy: {{replicas: 1}}
    configs: [{configs}]
"""


def write(tmp_path: Path, name: str, services: dict[str, str], configs: list[str]) -> str:
    text = "services:" + "".join(
        SERVICE.format(name=service, configs=used) for service, used in services.items()
    )
    text += "configs:\n" + "".join(f"  {c}: {{file: ./{c}.txt}}\n" for c in configs)
    for config in configs:
        (tmp_path / f"{config}.txt").write_text(f"content of {config}\n")
    path = tmp_path / f"{name}.yml"
    path.write_text(text)
    return str(path)


def plan_event(stdout: str) -> dict[str, object]:
    """The plan ``apply --json`` showed before it ran."""
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    plans = [e["plan"] for e in events if e.get("event") == "plan"]
    assert len(plans) == 1, stdout
    return dict(plans[0])


def test_diff_prune_keeps_what_apply_prune_keeps(
    run_stackctl: RunStackctl,
    stack_name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
) -> None:
    v1 = write(
        tmp_path,
        "v1",
        {"web": "app, extra", "side": ""},
        ["app", "extra"],
    )
    v2 = write(tmp_path, "v2", {"web": "app"}, ["app"])
    apply = ("apply", stack_name, "--yes", "--resolve-image", "never", "--timeout", "180s")
    first = run_stackctl(*apply, "-c", v1)
    assert first.exit_code == 0, first.stdout + first.stderr
    # without --prune: web rolls (config dropped), side and the extra config are left
    second = run_stackctl(*apply, "-c", v2)
    assert second.exit_code == 0, second.stdout + second.stderr
    (extra,) = [
        c.name
        for c in docker_client.configs.list(filters={"name": f"{stack_name}_extra"})
        if c.name.startswith(f"{stack_name}_extra-")
    ]

    diff = run_stackctl("diff", stack_name, "-c", v2, "--prune", "--resolve-image", "never")
    assert diff.exit_code == 2, diff.stdout + diff.stderr
    assert f"config {extra}  (kept for rollback: revision 1 needs it)" in diff.stdout, diff.stdout
    assert f"- service {stack_name}_side  (delete" in diff.stdout, diff.stdout
    assert extra not in diff.stdout.split("No longer in the file")[0], diff.stdout
    as_json = run_stackctl(
        "diff", stack_name, "-c", v2, "--prune", "--json", "--resolve-image", "never"
    )
    assert as_json.exit_code == 2, as_json.stderr
    planned = json.loads(as_json.stdout)
    effects = {(c["kind"], c["name"]): (c["effect"], c["reason"]) for c in planned["changes"]}
    assert effects[("config", extra)] == ("orphan", "kept for rollback: revision 1 needs it")
    assert effects[("service", f"{stack_name}_side")][0] == "delete"
    assert planned["summary"]["delete"] == 1, planned["summary"]

    # apply --prune shows the very same plan (JSON and text), then does it
    shown = run_stackctl(*apply, "-c", v2, "--prune", "--json")
    assert shown.exit_code == 0, shown.stdout + shown.stderr
    assert plan_event(shown.stdout) == planned
    assert docker_client.configs.list(filters={"name": extra}), f"{extra} was deleted"
    assert not docker_client.services.list(filters={"name": f"{stack_name}_side"})
    # the text plan of a further apply --prune: the kept config only, as diff shows it
    diff_again = run_stackctl("diff", stack_name, "-c", v2, "--prune", "--resolve-image", "never")
    applied_again = run_stackctl(*apply, "-c", v2, "--prune")
    assert (diff_again.exit_code, applied_again.exit_code) == (0, 0), applied_again.stderr
    assert applied_again.stdout.startswith(diff_again.stdout), (
        diff_again.stdout,
        applied_again.stdout,
    )
    assert "kept for rollback: revision 1 needs it" in diff_again.stdout, diff_again.stdout
    assert docker_client.configs.list(filters={"name": extra}), f"{extra} was deleted"
