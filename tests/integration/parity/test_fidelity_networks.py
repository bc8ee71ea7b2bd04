"""Networks: stackctl creates what ``docker stack deploy`` creates, and refuses what it refuses.

Each test runs the same file through ``docker stack deploy --resolve-image never``
and through ``stackctl`` (the CLI, as a user runs it) on the real Swarm, one after
the other (a declared subnet cannot exist twice on one node), and compares what
the engine holds (``GET /networks/{id}``).
"""

from __future__ import annotations

import copy
import secrets
import subprocess
from pathlib import Path
from typing import Any

import docker
import pytest
from support.parity import deploy_with_docker, remove_stack, unique_stack_name

from stackctl.core.model.state import LABEL_NAMESPACE
from stackctl.engine.client import EngineClient

pytestmark = pytest.mark.swarm

ENGINE_ONLY = ("Id", "Created", "Containers", "Peers", "Name", "Services", "Status")
VXLAN = "com.docker.network.driver.overlay.vxlanid_list"


def _stack_file(tmp_path: Path, subnet: str) -> Path:
    file = tmp_path / "stack.yml"
    file.write_text(
        f"""\
version: "3.8"
services:
  web:
    image: stackctl-demo/web:1
    networks: [front]
networks:
  front:
    attachable: true
    driver_opts:
      com.docker.network.driver.mtu: "1400"
    ipam:
      config:
        - subnet: {subnet}
    labels:
      team: core
"""
    )
    return file


def _network(engine: EngineClient, stack: str) -> dict[str, Any]:
    (listed,) = engine.api.networks(filters={"label": f"{LABEL_NAMESPACE}={stack}"})
    raw: dict[str, Any] = copy.deepcopy(engine.api.inspect_network(listed["Id"]))
    for key in ENGINE_ONLY:
        raw.pop(key, None)
    raw["Options"].pop(VXLAN, None)
    raw["Labels"][LABEL_NAMESPACE] = "STACK"
    return raw


def test_ipam_and_driver_opts_network_as_docker_creates_it_and_converges(
    engine: EngineClient, run_stackctl: Any, tmp_path: Path
) -> None:
    subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(256)}.0/24"
    file = _stack_file(tmp_path, subnet)
    theirs, ours = unique_stack_name("tnd"), unique_stack_name("tns")
    try:
        deploy_with_docker(engine, file, theirs, {})
        docker_network = _network(engine, theirs)
        # Adoption: stackctl plans nothing for what docker deployed from this file.
        adopted = run_stackctl("diff", theirs, "-c", str(file))
        assert adopted.exit_code == 0, adopted.stdout + adopted.stderr
    finally:
        remove_stack(engine, theirs)
    try:
        applied = run_stackctl("apply", ours, "-c", str(file), "--yes", "--timeout", "120s")
        assert applied.exit_code == 0, applied.stdout + applied.stderr
        assert _network(engine, ours) == docker_network
        assert docker_network["Scope"] == "swarm"
        assert docker_network["IPAM"]["Config"][0]["Subnet"] == subnet
        again = run_stackctl("diff", ours, "-c", str(file))
        assert again.exit_code == 0, again.stdout + again.stderr
    finally:
        run_stackctl("rm", ours, "--yes")
        remove_stack(engine, ours)


def test_external_network_with_local_scope_is_refused_before_any_write(
    engine: EngineClient, docker_client: docker.DockerClient, run_stackctl: Any, tmp_path: Path
) -> None:
    local = docker_client.networks.create(f"tlocal{secrets.token_hex(3)}", driver="bridge")
    stack = unique_stack_name("tnl")
    file = tmp_path / "stack.yml"
    file.write_text(
        "services:\n  web:\n    image: stackctl-demo/web:1\n"
        f"    networks: [{local.name}]\n"
        f"networks:\n  {local.name}:\n    external: true\n"
    )
    try:
        reference = subprocess.run(
            ["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(file), stack],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert reference.returncode != 0
        expected = (
            f'network "{local.name}" is declared as external, but it is not in the right scope'
        )
        assert expected in reference.stderr
        for command in (
            ("diff", stack, "-c", str(file)),
            ("apply", stack, "-c", str(file), "--yes"),
        ):
            result = run_stackctl(*command)
            assert result.exit_code == 1, result.stdout + result.stderr
            assert expected in result.stderr
            assert "Traceback" not in result.stderr
        label = {"label": f"io.stackctl.stack={stack}"}
        assert not engine.api.configs(filters=label), "a lock or revision was written"
        assert not engine.api.services(filters={"label": f"{LABEL_NAMESPACE}={stack}"})
    finally:
        remove_stack(engine, stack)
        local.remove()


def test_local_driver_network_is_refused_like_docker(
    engine: EngineClient, run_stackctl: Any, tmp_path: Path
) -> None:
    file = tmp_path / "stack.yml"
    file.write_text(
        "services:\n  web:\n    image: stackctl-demo/web:1\n    networks: [net]\n"
        "networks:\n  net:\n    driver: bridge\n"
    )
    stack = unique_stack_name("tnb")
    try:
        reference = subprocess.run(
            ["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(file), stack],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert reference.returncode != 0
        assert "Only networks scoped to the swarm can be used" in reference.stderr
    finally:
        # docker leaves the node-local network it created behind
        for network in engine.api.networks(filters={"label": f"{LABEL_NAMESPACE}={stack}"}):
            engine.api.remove_network(network["Id"])
    for command in (("validate", "-c", str(file)), ("apply", stack, "-c", str(file), "--yes")):
        result = run_stackctl(*command)
        assert result.exit_code == 1, result.stdout + result.stderr
        assert "stack.yml:7:5: error SC223 networks.net.driver" in result.stderr
    assert not engine.api.networks(filters={"label": f"{LABEL_NAMESPACE}={stack}"})
