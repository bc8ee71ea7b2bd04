"""--with-registry-auth against a second local registry that requires htpasswd auth.

The test starts its own ``docker-registry`` (Debian's, as ``./dev`` runs the open one)
on a free port with a bcrypt htpasswd file, pushes an image there and removes the
local name, so the node must pull it with the credentials. The credentials live
only in a docker client config (``DOCKER_CONFIG``); they must reach the engine for
that deploy and appear nowhere stackctl writes or prints.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from support.registry import registry_answers
from support.testkit import RunStackctl, engine_unavailable, wait_until

USER = "deployer"


class AuthRegistry:
    def __init__(self, address: str, password: str, docker_config: Path) -> None:
        self.address = address
        self.password = password
        self.docker_config = docker_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def auth_registry(tmp_path: Path, demo_images: tuple[str, ...]) -> Iterator[AuthRegistry]:
    binary, htpasswd = shutil.which("docker-registry"), shutil.which("htpasswd")
    if binary is None or htpasswd is None:
        engine_unavailable("docker-registry or htpasswd (apache2-utils) missing; run ./dev cluster")
    assert binary is not None and htpasswd is not None
    password = f"pw-{uuid.uuid4().hex}"
    users = tmp_path / "htpasswd"
    hashed = subprocess.run(
        [htpasswd, "-Bbn", USER, password], check=True, capture_output=True, text=True
    ).stdout
    users.write_text(hashed)
    address = f"127.0.0.1:{_free_port()}"
    config = tmp_path / "registry.yml"
    config.write_text(
        f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {tmp_path / "data"}
http:
  addr: {address}
auth:
  htpasswd:
    realm: stackctl-test
    path: {users}
"""
    )
    log = (tmp_path / "registry.log").open("wb")
    process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_until(lambda: registry_answers(address), timeout=20, what=f"registry on {address}")
        client_config = tmp_path / "docker-config"
        client_config.mkdir()
        token = base64.b64encode(f"{USER}:{password}".encode()).decode()
        (client_config / "config.json").write_text(
            json.dumps({"auths": {address: {"auth": token}}})
        )
        yield AuthRegistry(address, password, client_config)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _running(client: docker.DockerClient, stack: str) -> bool:
    tasks = client.api.tasks(filters={"service": f"{stack}_app", "desired-state": "running"})
    return any(t["Status"]["State"] == "running" for t in tasks)


def _everything_stackctl_keeps(client: docker.DockerClient, stack: str) -> str:
    """Service specs and every revision/lock object of the stack, as text."""
    parts: list[Any] = client.api.services(filters={"name": f"{stack}_app"})
    for config in client.api.configs(filters={"label": f"io.stackctl.stack={stack}"}):
        inspected = client.api.inspect_config(config["ID"])
        parts.append(inspected)
        parts.append(base64.b64decode(inspected["Spec"].get("Data") or "").decode(errors="replace"))
    return json.dumps(parts)


def test_with_registry_auth_sends_the_client_credentials_and_keeps_them_secret(
    auth_registry: AuthRegistry,
    stack_name: str,
    tmp_path: Path,
    run_stackctl: RunStackctl,
    docker_client: docker.DockerClient,
) -> None:
    image = f"{auth_registry.address}/{stack_name}/app:1"
    repo, _, tag = image.rpartition(":")
    docker_client.images.get("stackctl-demo/web:1").tag(repo, tag)
    login = {"username": USER, "password": auth_registry.password}
    for line in docker_client.images.push(
        repo, tag=tag, stream=True, decode=True, auth_config=login
    ):
        assert "error" not in line, line
    digest = docker_client.api.inspect_distribution(image, auth_config=login)["Descriptor"][
        "digest"
    ]
    # only the registry has it under this name now: the node must pull it, with credentials
    docker_client.api.remove_image(image)

    file = tmp_path / "stack.yml"
    file.write_text(f"services:\n  app:\n    image: {image}\n    stop_grace_period: 1s\n")
    env = {"DOCKER_CONFIG": str(auth_registry.docker_config)}
    outputs: list[str] = []

    # without the flag no credentials are sent: the registry refuses, docker's warning
    plain = run_stackctl("diff", stack_name, "-c", str(file), env=env)
    outputs += [plain.stdout, plain.stderr]
    assert plain.exit_code == 2, plain.stdout + plain.stderr
    assert f"image {image} could not be accessed on a registry" in plain.stderr

    diff = run_stackctl(
        "diff", stack_name, "-c", str(file), "--with-registry-auth", "--json", env=env
    )
    outputs += [diff.stdout, diff.stderr]
    assert diff.exit_code == 2 and "could not be accessed" not in diff.stderr, diff.stderr

    applied = run_stackctl(
        "apply", stack_name, "-c", str(file), "--yes", "--with-registry-auth", "--json", env=env
    )
    outputs += [applied.stdout, applied.stderr]
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    spec = docker_client.api.services(filters={"name": f"{stack_name}_app"})[0]["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"] == f"{image}@{digest}"
    wait_until(lambda: _running(docker_client, stack_name), timeout=60, what="the pulled task")

    for command in (("history", stack_name, "--json"), ("status", stack_name, "--json")):
        result = run_stackctl(*command, env=env)
        outputs += [result.stdout, result.stderr]
    kept = _everything_stackctl_keeps(docker_client, stack_name)
    secrets = (
        auth_registry.password,
        base64.b64encode(f"{USER}:{auth_registry.password}".encode()).decode(),
        base64.urlsafe_b64encode(auth_registry.password.encode()).decode().rstrip("="),
    )
    for text in [*outputs, kept]:
        for secret in secrets:
            assert secret not in text
