"""Secret values never appear in stackctl's outputs, plans, labels or revisions.

One stack with a Swarm secret (a file holding a random value) and sensitive
environment variables (``DB_PASSWORD`` written in the file, ``API_TOKEN``
interpolated from the environment), taken through validate, config, diff (every
format, and a saved plan), apply (text and JSON events, a failing release
rolled back, an invalid file), status, history, ls, diff --revision and
rollback, with ``-v`` where the CLI has it. Every stdout and stderr, the saved
plan, every label of every object of the stack (and of stackctl's own lock and
revision configs) and the decoded payload of every stored revision are scanned.

Env values do reach the service spec (that is how env works) and ``stackctl
config`` prints the resolved file on purpose (like ``docker stack config``);
neither is scanned for env values. The secret file's value is scanned everywhere.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest
from support.checkpoints import go_on, pause_at, wait_for_checkpoint
from support.reliability import spawn, stackctl
from support.testkit import new_stack_name, remove_stack_objects

from stackctl.engine.client import EngineClient, connect
from stackctl.engine.lock import read_lock

# one module-scoped scenario serves every test here: keep them on one worker
pytestmark = [pytest.mark.usefixtures("demo_images"), pytest.mark.xdist_group("secrets-never-leak")]

NAMESPACE = "com.docker.stack.namespace"
STACKCTL_STACK = "io.stackctl.stack"
LOCK_LABEL = "io.stackctl.lock.holder"  # only the lock config carries it

STACK = """
services:
  app:
    image: {image}
    stop_grace_period: 1s
    environment:
      RELEASE: "{release}"
      DB_PASSWORD: "{db_password}"
      API_TOKEN: ${{API_TOKEN}}
    secrets: [db_secret]
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 500ms,
                      failure_action: pause}}
secrets:
  db_secret: {{file: ./db_secret.txt}}
x-stackctl:
  ignore: [SC102]
"""


@dataclass
class Values:
    """The random values of one test run."""

    secret_file: str = field(default_factory=lambda: "sf" + secrets.token_hex(16))
    db_passwords: tuple[str, ...] = field(
        default_factory=lambda: tuple("pw" + secrets.token_hex(16) for _ in range(3))
    )
    api_token: str = field(default_factory=lambda: "tk" + secrets.token_hex(16))

    @property
    def env(self) -> list[str]:
        return [*self.db_passwords, self.api_token]

    @property
    def everything(self) -> list[str]:
        return [self.secret_file, *self.env]


@dataclass
class Transcript:
    """Every output collected, labelled by the command that produced it."""

    outputs: list[tuple[str, str]] = field(default_factory=list)

    def run(self, *args: str, expect: set[int], env: dict[str, str]) -> str:
        result = stackctl(*args, env=env)
        name = " ".join(args)
        assert result.exit_code in expect, (name, result.exit_code, result.stdout, result.stderr)
        self.outputs.append((name + " [stdout]", result.stdout))
        self.outputs.append((name + " [stderr]", result.stderr))
        return result.stdout


def write_release(workdir: Path, values: Values, name: str, image: str, password_index: int) -> str:
    (workdir / "db_secret.txt").write_text(values.secret_file + "\n")
    path = workdir / f"{name}.yml"
    path.write_text(
        STACK.format(image=image, release=name, db_password=values.db_passwords[password_index])
    )
    return str(path)


def stack_labels(client: EngineClient, stack: str) -> Iterator[tuple[str, str]]:
    api = client.api
    for label in (f"{NAMESPACE}={stack}", f"{STACKCTL_STACK}={stack}"):
        filters = {"label": label}
        objects = [
            *(("service", s["Spec"]) for s in api.services(filters=filters)),
            *(("config", c["Spec"]) for c in api.configs(filters=filters)),
            *(("secret", s["Spec"]) for s in api.secrets(filters=filters)),
            *(("network", n) for n in api.networks(filters=filters)),
        ]
        for kind, spec in objects:
            where = f"{kind} {spec.get('Name')} labels"
            yield where, json.dumps(spec.get("Labels") or {})
            container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
            yield where + " (container)", json.dumps(container.get("Labels") or {})


def revision_payloads(client: EngineClient, stack: str) -> Iterator[tuple[str, str]]:
    """The stored bytes of every revision config, decompressed where gzipped."""
    filters = {"label": [f"{STACKCTL_STACK}={stack}", "io.stackctl.kind=revision"]}
    for config in client.api.configs(filters=filters):
        raw = base64.b64decode(config["Spec"].get("Data") or "")
        with contextlib.suppress(OSError, EOFError):  # a later chunk of a split payload
            raw = gzip.decompress(raw)
        yield f"revision config {config['Spec']['Name']}", raw.decode("utf-8", "replace")


def live_env(stack: str) -> list[str]:
    """The environment of the stack's service as the engine holds it now."""
    (service,) = connect().api.services(filters={"label": f"{NAMESPACE}={stack}"})
    return list(service["Spec"]["TaskTemplate"]["ContainerSpec"].get("Env") or [])


def verbose_supported() -> bool:
    return "--verbose" in stackctl("--help").stdout


@pytest.fixture(scope="module")
def stack_name(docker_client: docker.DockerClient) -> Iterator[str]:
    """One stack for the whole module (the commands run once, the scans read it)."""
    name = new_stack_name()
    yield name
    remove_stack_objects(docker_client, name)


@pytest.fixture(scope="module")
def scenario(
    stack_name: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Values, Transcript]:
    """Run every command over the stack and collect what they printed."""
    tmp_path = tmp_path_factory.mktemp("secrets")
    values = Values()
    env = {"API_TOKEN": values.api_token}
    t = Transcript()
    v1 = write_release(tmp_path, values, "v1", "stackctl-demo/web:1", 0)
    v2 = write_release(tmp_path, values, "v2", "stackctl-demo/web:2", 1)
    broken = write_release(tmp_path, values, "v3", "stackctl-demo/web:crash", 2)
    invalid = tmp_path / "invalid.yml"
    invalid.write_text(
        Path(v1).read_text().replace("replicas: 1", "replicas: lots").replace("RELEASE", "RELEASE:")
    )
    plan = tmp_path / "plan.json"
    s = stack_name
    verbose = ("-v",) if verbose_supported() else ()

    t.run("validate", "-c", v1, expect={0}, env=env)
    t.run("validate", "-c", str(invalid), expect={1}, env=env)
    config_output = t.run("config", "-c", v1, expect={0}, env=env)
    t.outputs.pop(-2)  # config stdout prints env as resolved, by design (scanned below)
    t.run("diff", s, "-c", v1, expect={2}, env=env)
    t.run("diff", s, "-c", v1, "--json", expect={2}, env=env)
    t.run("diff", s, "-c", v1, "--format", "markdown", expect={2}, env=env)
    t.run("diff", s, "-c", v1, "--out", str(plan), expect={2}, env=env)
    t.run("apply", s, "-c", v1, "--plan", str(plan), "--yes", expect={0}, env=env)
    t.outputs.append(("saved plan file", plan.read_text()))
    t.run(*verbose, "diff", s, "-c", v2, expect={2}, env=env)
    t.run("diff", s, "-c", v2, "--json", expect={2}, env=env)
    t.run("diff", s, "-c", v2, "--format", "markdown", expect={2}, env=env)
    t.run(*verbose, "apply", s, "-c", v2, "--yes", "--json", expect={0}, env=env)
    # Revision 1's DB_PASSWORD is stored sealed; v1's value is still in the service's
    # previous spec, which is where rollback restores it from.
    t.run("rollback", s, "--to", "1", "--yes", expect={0}, env=env)
    t.run(*verbose, "rollback", s, "--to", "2", "--yes", "--json", expect={0}, env=env)
    assert f"DB_PASSWORD={values.db_passwords[1]}" in live_env(s)
    for json_events in ((), ("--json",)):
        t.run("apply", s, "-c", broken, "--yes", *json_events, "--pending-timeout", "60s",
              expect={3}, env=env)  # fmt: skip
    t.run("apply", s, "-c", str(invalid), "--yes", expect={1}, env=env)
    for command in ("status", "history"):
        t.run(command, s, expect={0}, env=env)
        t.run(command, s, "--json", expect={0}, env=env)
    t.run("ls", expect={0}, env=env)
    t.run("diff", s, "--revision", "1", expect={0, 2}, env=env)
    t.run("diff", s, "--revision", "1", "--json", expect={0, 2}, env=env)
    # Two broken releases later, v1's value runs nowhere in the cluster: refused, named.
    refused = t.run("rollback", s, "--to", "1", "--yes", expect={1}, env=env)
    assert "DB_PASSWORD" in t.outputs[-1][1], (refused, t.outputs[-1][1])
    assert f"DB_PASSWORD={values.db_passwords[1]}" in live_env(s)  # nothing was written
    t.run("history", s, "--json", expect={0}, env=env)
    assert values.secret_file not in config_output
    # stackctl's lock exists only while an apply holds it: scan it from inside one
    # (held at a checkpoint, nothing written yet), then let that apply finish
    t.outputs += locked_labels(s, v1, tmp_path, env)
    return values, t


def locked_labels(
    stack: str, file: str, workdir: Path, env: dict[str, str]
) -> list[tuple[str, str]]:
    """The labels of every stackctl object of ``stack`` while an apply holds its lock."""
    pause = {**env, **pause_at("lock-acquired", workdir)}
    proc = spawn("apply", stack, "-c", file, "--yes", "--pending-timeout", "60s", env=pause)
    wait_for_checkpoint(proc, workdir, "lock-acquired", timeout=60)
    try:
        assert read_lock(connect(), stack) is not None
        labels = [
            (f"while locked: {where}", text)
            for where, text in stack_labels(connect(), stack)
            if where.startswith("config ")
        ]
        assert any(LOCK_LABEL in text for _, text in labels), labels  # the lock was scanned
    finally:
        go_on(workdir, "lock-acquired")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    return [*labels, ("locked apply [stdout]", out), ("locked apply [stderr]", err)]


def test_secret_values_appear_in_no_output_plan_or_label(
    scenario: tuple[Values, Transcript], stack_name: str
) -> None:
    values, transcript = scenario
    client = connect()
    places = [*transcript.outputs, *stack_labels(client, stack_name)]
    leaks = [
        (where, value[:6] + "...")
        for where, text in places
        for value in values.everything
        if value in text
    ]
    assert not leaks, leaks
    # the scan looked at real outputs: the plans showed the sensitive fields, hidden
    assert any("DB_PASSWORD" in text and "(sensitive)" in text for _, text in places)


def test_secret_file_value_is_in_no_stored_revision(
    scenario: tuple[Values, Transcript], stack_name: str
) -> None:
    values, _ = scenario
    payloads = list(revision_payloads(connect(), stack_name))
    assert len(payloads) >= 5  # v1, v2, the broken v3 twice, two rollbacks
    assert all("db_secret" in text for _, text in payloads)  # decoded, not gibberish
    assert not [where for where, text in payloads if values.secret_file in text]


def test_sensitive_env_values_are_in_no_stored_revision(
    scenario: tuple[Values, Transcript], stack_name: str
) -> None:
    values, _ = scenario
    payloads = list(revision_payloads(connect(), stack_name))
    leaks = [(w, v[:6]) for w, text in payloads for v in values.env if v in text]
    assert not leaks, leaks
    assert all("stackctl-sealed:sha256:" in text for _, text in payloads if "DB_PASSWORD" in text)
