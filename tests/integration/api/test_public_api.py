"""The public Python API (``stackctl.api``) end to end on the real Swarm.

Only ``stackctl.api`` is imported from stackctl: this is what a second client
(the GitOps agent, a script) sees. What the cluster holds afterwards is read with
the docker SDK, not through stackctl.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docker
import pytest

from stackctl import api

pytestmark = pytest.mark.swarm

RELEASE = """
services:
  web:
    image: {image}
    environment:
      PORT: "8080"
    configs:
      - source: app
        target: /etc/app.conf
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
configs:
  app:
    file: ./app.conf
"""


def _write(folder: Path, image: str, config: str) -> str:
    (folder / "app.conf").write_text(config)
    path = folder / "stack.yml"
    path.write_text(RELEASE.format(image=image))
    return str(path)


def _image_of(client: docker.DockerClient, service: str) -> str:
    spec = client.services.get(service).attrs["Spec"]
    return str(spec["TaskTemplate"]["ContainerSpec"]["Image"]).split("@")[0]


def test_validate_returns_findings_and_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  web:\n    image: x\n    deploy:\n      replicas: lots\n")
    result = api.validate([str(bad)], env={})
    assert not result.valid
    assert result.stack is None
    assert any(f.location.file and f.location.line == 5 for f in result.errors)
    with pytest.raises(api.StackFileError):
        api.load([str(bad)], env={})
    good = api.validate([_write(tmp_path, "stackctl-demo/web:1", "one\n")], env={})
    assert good.valid and good.stack is not None
    assert sorted(good.stack.services) == ["web"]
    assert capsys.readouterr() == ("", "")


def test_plan_apply_history_status_rollback(
    tmp_path: Path,
    stack_name: str,
    docker_client: docker.DockerClient,
    demo_images: tuple[str, ...],
) -> None:
    web = f"{stack_name}_web"
    settings = api.ApplySettings(timeout=180)
    with api.connect() as client:
        first = api.load([_write(tmp_path, "stackctl-demo/web:1", "one\n")], env={})
        assert first.stack is not None
        planned = api.plan(client, stack_name, first.stack)
        assert planned.has_changes
        assert {c.name for c in planned.plan.changes} >= {web}

        events: list[api.Event] = []
        result = api.apply(client, planned, settings=settings, on_event=events.append)
        assert result.outcome is api.Outcome.APPLIED, result
        assert result.exit_code == 0
        assert result.revision == 1
        assert events[0].kind == "apply_started" and events[-1].kind == "apply_finished"
        assert _image_of(docker_client, web) == "stackctl-demo/web:1"

        again = api.plan(client, stack_name, first.stack)
        assert not again.has_changes  # applied: nothing left to do
        assert api.apply(client, again).rollout.changed == 0

        second = api.load([_write(tmp_path, "stackctl-demo/web:2", "two\n")], env={})
        assert second.stack is not None
        result = api.apply(client, api.plan(client, stack_name, second.stack), settings=settings)
        assert result.outcome is api.Outcome.APPLIED and result.revision == 2
        assert _image_of(docker_client, web) == "stackctl-demo/web:2"

        recorded = api.history(client, stack_name)
        assert [r.number for r in recorded.revisions] == [1, 2]
        assert recorded.current == 2

        now = api.status(client, stack_name)
        assert now.revision == 2 and now.drift is False
        assert [(s.name, s.running, s.desired) for s in now.services] == [(web, 1, 1)]

        back = api.rollback(client, stack_name, settings=settings)
        assert back.outcome is api.Outcome.APPLIED and back.revision == 3
        assert _image_of(docker_client, web) == "stackctl-demo/web:1"
        configs = docker_client.services.get(web).attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
        (config,) = configs["Configs"]
        data = docker_client.configs.get(config["ConfigID"]).attrs["Spec"]["Data"]
        assert data == "b25lCg=="  # base64 of "one\n": revision 1's content is back
        latest = api.history(client, stack_name)
        assert latest.current == 3 and latest.revisions[-1].rollback_to == 1


def test_apply_refuses_a_plan_the_cluster_outran(
    tmp_path: Path,
    stack_name: str,
    docker_client: docker.DockerClient,
    demo_images: tuple[str, ...],
) -> None:
    settings = api.ApplySettings(timeout=180)

    def release(image: str, config: str) -> api.Stack:
        loaded = api.load([_write(tmp_path, image, config)], env={})
        assert loaded.stack is not None
        return loaded.stack

    with api.connect() as client:
        result = api.apply(
            client, api.plan(client, stack_name, release("stackctl-demo/web:1", "one\n"))
        )
        assert result.outcome is api.Outcome.APPLIED
        approved = api.plan(client, stack_name, release("stackctl-demo/web:2", "one\n"))
        # meanwhile someone else applies other changes
        other = api.plan(client, stack_name, release("stackctl-demo/web:1", "three\n"))
        assert api.apply(client, other, settings=settings).outcome is api.Outcome.APPLIED
        with pytest.raises(api.StalePlanError):
            api.apply(client, approved, settings=settings)
        assert _image_of(docker_client, f"{stack_name}_web") == "stackctl-demo/web:1"
        assert api.history(client, stack_name).current == 2  # the refused apply recorded nothing


def test_the_documented_example_runs(
    tmp_path: Path,
    stack_name: str,
    docker_client: docker.DockerClient,
    demo_images: tuple[str, ...],
) -> None:
    doc = Path(__file__).resolve().parents[3] / "docs" / "reference" / "python-api.md"
    example = doc.read_text(encoding="utf-8").split("```python\n")[2].split("```")[0]
    script = tmp_path / "example.py"
    script.write_text(example)
    stack_file = _write(tmp_path, "stackctl-demo/web:1", "one\n")
    done = subprocess.run(
        [sys.executable, str(script), stack_name, stack_file],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "outcome: applied, revision 1" in done.stdout
    assert "running revision 1, drift: False" in done.stdout
    assert _image_of(docker_client, f"{stack_name}_web") == "stackctl-demo/web:1"
