"""A stack whose secret and env files are age-encrypted, on the real Swarm.

Deploys it, re-encrypts to new recipients (nothing rotates), rotates the values (new
secret, service updated), rolls back, and scans everything stackctl printed or stored
for the plaintexts: every command's stdout/stderr (text and --json, -v API logs), the
JSON events, a saved plan, every stored revision payload (decoded), and the engine's
specs.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pyrage
import pytest
from support.testkit import service_container_file

from stackctl.engine.revisions import LABEL_REV_CHUNK, LABEL_REV_NUMBER, LABEL_REV_STACK

pytestmark = pytest.mark.swarm

STACK = """\
services:
  web:
    image: stackctl-demo/web:1
    env_file: app.env.age
    environment:
      DB_URL: "postgres://app:${DB_PASS}@db/app"
      VISIBLE: shown-value
    secrets: [token]
    deploy:
      update_config: {order: start-first}
secrets:
  token:
    file: token.age
"""


class Project:
    """The stack folder: a deploy key, encrypted files, and every output collected."""

    def __init__(self, root: Path, run: Callable[..., Any], stack: str) -> None:
        self.root, self._run, self.stack = root, run, stack
        self.keys: list[Path] = []
        self.outputs: list[str] = []
        (root / "stack.yml").write_text(STACK)

    def new_key(self) -> pyrage.x25519.Identity:
        identity = pyrage.x25519.Identity.generate()
        path = self.root / f"key{len(self.keys)}.txt"
        path.write_text(f"{identity}\n")
        self.keys.append(path)
        return identity

    def write(self, token: str, greeting: str, db_pass: str, *recipients: Any) -> None:
        for name, text, armor in (
            ("token.age", token, False),
            ("app.env.age", f"GREETING={greeting}\n", True),
            ("vars.env.age", f"DB_PASS={db_pass}\n", False),
        ):
            data = pyrage.encrypt(text.encode(), list(recipients), armored=armor)
            (self.root / name).write_bytes(data)

    def stackctl(
        self, *args: str, files: bool = True, identities: bool = True, expect: int | None = 0
    ) -> Any:
        extra: list[str] = []
        if files:
            extra = ["-c", "stack.yml", "--env-file", "vars.env.age"]
            for key in self.keys if identities else ():
                extra += ["--age-identity", str(key)]
        result = self._run(*args, *extra, cwd=str(self.root))
        self.outputs += [result.stdout, result.stderr]
        if expect is not None:
            assert result.exit_code == expect, (args, result.stdout, result.stderr)
        return result

    def apply(self, *flags: str) -> Any:
        return self.stackctl("apply", self.stack, "--yes", "--resolve-image", "never", *flags)


def _revision_payloads(client: docker.DockerClient, stack: str) -> list[str]:
    """Every stored revision of the stack, decoded to its JSON text (chunks joined)."""
    configs = client.api.configs(filters={"label": f"{LABEL_REV_STACK}={stack}"})
    parts: dict[str, dict[int, bytes]] = {}
    for config in configs:
        labels = config["Spec"].get("Labels") or {}
        if LABEL_REV_NUMBER not in labels:
            continue
        chunk = int(labels.get(LABEL_REV_CHUNK, "0"))
        data = base64.b64decode(config["Spec"].get("Data") or "")
        parts.setdefault(labels[LABEL_REV_NUMBER], {})[chunk] = data
    payloads = []
    for chunks in parts.values():
        joined = b"".join(chunks[i] for i in sorted(chunks))
        payloads.append(gzip.decompress(joined).decode())
    return payloads


def _secret_names(client: docker.DockerClient, stack: str) -> set[str]:
    secrets = client.api.secrets(filters={"label": f"com.docker.stack.namespace={stack}"})
    return {s["Spec"]["Name"] for s in secrets}


def test_age_encrypted_stack_deploys_rotates_and_leaks_nothing(
    tmp_path: Path,
    stack_name: str,
    run_stackctl: Callable[..., Any],
    docker_client: docker.DockerClient,
    demo_images: tuple[str, ...],
) -> None:
    project = Project(tmp_path, run_stackctl, stack_name)
    service = f"{stack_name}_web"
    secret_1, greeting_1, db_1 = (f"{what}-{uuid.uuid4().hex}" for what in ("tok", "gr", "db"))
    first = project.new_key()
    project.write(secret_1, greeting_1, db_1, first.to_public())

    # validate without any identity checks the files' format only; with one, decrypts.
    project.stackctl("validate", identities=False)
    project.stackctl("validate", "--json")
    project.stackctl("config")
    project.stackctl("diff", stack_name, expect=2)
    project.stackctl("diff", stack_name, "--format", "json", expect=2)
    project.apply()
    name_1 = f"{stack_name}_token-{hashlib.sha256(secret_1.encode()).hexdigest()[:10]}"
    assert _secret_names(docker_client, stack_name) == {name_1}
    assert service_container_file(docker_client, service, "/run/secrets/token") == secret_1

    # Re-encrypted to a new key as well: the same values, so nothing to do.
    second = project.new_key()
    project.write(secret_1, greeting_1, db_1, first.to_public(), second.to_public())
    version = docker_client.api.inspect_service(service)["Version"]["Index"]
    project.stackctl("diff", stack_name, expect=0)
    project.apply("--json")
    assert _secret_names(docker_client, stack_name) == {name_1}
    assert docker_client.api.inspect_service(service)["Version"]["Index"] == version

    # New values: a new secret, and the service updated to it and to the new env.
    secret_2, greeting_2, db_2 = (f"{what}-{uuid.uuid4().hex}" for what in ("tok", "gr", "db"))
    project.write(secret_2, greeting_2, db_2, second.to_public())
    project.keys = project.keys[1:]
    diff = project.stackctl("diff", stack_name, "--format", "json", expect=2)
    assert "(sensitive)" in diff.stdout
    project.stackctl("diff", stack_name, "--format", "markdown", expect=2)
    project.stackctl("diff", stack_name, "--out", "plan.json", expect=2)
    project.outputs.append((tmp_path / "plan.json").read_text())  # a saved plan
    project.stackctl("-v", "apply", stack_name, "--yes", "--resolve-image", "never", "--json")
    name_2 = f"{stack_name}_token-{hashlib.sha256(secret_2.encode()).hexdigest()[:10]}"
    assert name_2 in _secret_names(docker_client, stack_name)
    assert service_container_file(docker_client, service, "/run/secrets/token") == secret_2

    # Back to the first values, from what the cluster holds alone.
    project.stackctl("rollback", stack_name, "--yes", files=False)
    assert service_container_file(docker_client, service, "/run/secrets/token") == secret_1
    for args in (("history", stack_name), ("status", stack_name)):
        project.stackctl(*args, files=False)
        project.stackctl(*args, "--json", files=False)

    # The scan. Env values are container environment (docker service inspect shows
    # them by design: docs/secrets.md), so the service specs are scanned for the
    # secret files' plaintext only.
    stored = _revision_payloads(docker_client, stack_name)
    assert len(stored) >= 3
    services = [
        docker_client.api.inspect_service(s.id)
        for s in docker_client.services.list(
            filters={"label": f"com.docker.stack.namespace={stack_name}"}
        )
    ]
    secrets = [
        docker_client.api.inspect_secret(s["ID"])
        for s in docker_client.api.secrets(
            filters={"label": f"com.docker.stack.namespace={stack_name}"}
        )
    ]
    everything = {
        "outputs": "\n".join(project.outputs),
        "revisions": "\n".join(stored),
        "secret specs": json.dumps(secrets),
    }
    all_values = [secret_1, greeting_1, db_1, secret_2, greeting_2, db_2]
    for where, text in everything.items():
        leaked = [value for value in all_values if value in text]
        assert not leaked, f"plaintext found in {where}"
    service_specs = json.dumps(services)
    assert secret_1 not in service_specs and secret_2 not in service_specs
    env = services[0]["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert f"GREETING={greeting_1}" in env  # what the scan is not meant to hide
    labels = services[0]["Spec"]["Labels"]
    assert labels["io.stackctl.sensitive-env"] == "DB_URL,GREETING"
