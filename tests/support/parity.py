"""Helpers for the parity tests: deploy both ways, normalize, compare.

``deploy_with_docker`` runs the reference (``docker stack deploy``);
``deploy_with_stackctl`` runs ``stackctl apply`` itself (the CLI, in a
subprocess), so what is compared is what apply creates. ``comparable`` removes
exactly the documented differences (docs/conversion.md) so everything else must
match field by field.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackctl.core.convert.comparable import align_live_to_desired
from stackctl.core.model.model import Stack
from stackctl.core.model.state import (
    LABEL_NAMESPACE,
    LABEL_PREFIX,
    ClusterState,
)
from stackctl.engine.client import EngineClient

PLACEHOLDER = "STACK"


def unique_stack_name(prefix: str = "tp") -> str:
    return f"{prefix}{secrets.token_hex(4)}"


class DockerDeployFailed(Exception):
    """``docker stack deploy`` itself refused the file here."""


def deploy_with_docker(
    client: EngineClient, file: Path, stack_name: str, env: Mapping[str, str]
) -> None:
    """``docker stack deploy``, retried while a previous test's ports are being freed."""

    def attempt() -> None:
        try:
            _docker_stack_deploy(file, stack_name, env)
        except DockerDeployFailed as exc:
            if PORT_IN_USE in str(exc):
                remove_stack(client, stack_name)
            raise

    _retry_while_ports_release(attempt)


def _docker_stack_deploy(file: Path, stack_name: str, env: Mapping[str, str]) -> None:
    run_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
    }
    run_env.update(env)
    result = subprocess.run(
        ["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(file), stack_name],
        cwd=file.parent,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        # The last line is docker's error; the lines before are warnings and notices.
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise DockerDeployFailed(lines[-1] if lines else f"exit {result.returncode}")


def _post(client: EngineClient, path: str, body: Mapping[str, Any]) -> Any:
    api = client.api
    return api._result(api._post_json(api._url(path), data=body), True)


PORT_IN_USE = "is already in use by service"


def _retry_while_ports_release(create: Callable[[], Any]) -> Any:
    """Swarm frees a removed service's published ports asynchronously: retry a while."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return create()
        except Exception as exc:
            if PORT_IN_USE not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def deploy_with_stackctl(file: Path, stack_name: str, env: Mapping[str, str]) -> None:
    """``stackctl apply --detach``: the CLI a user runs, so parity covers the whole
    path (load, validate, convert, plan, the engine writes); ``--detach`` because
    parity compares what is created, not whether a corpus file's tasks get healthy;
    ``--placement warn`` because docker creates services that no node of this single-node
    cluster can run (constraints on labels it lacks), and so must stackctl to compare them.
    ``test_placement_live.py`` shows the default refusing such a file."""
    run_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "NO_COLOR": "1",
    }
    run_env.update(env)
    result = subprocess.run(
        [sys.executable, "-m", "stackctl", "apply", stack_name, "-c", str(file), "--yes",
         "--detach", "--resolve-image", "never", "--placement", "warn"],
        cwd=file.parent,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, (
        f"docker deploys {file.name} but `stackctl apply` exits {result.returncode}:\n"
        f"{result.stdout}\n{result.stderr}"
    )


def remove_stack(client: EngineClient, stack_name: str) -> None:
    """Remove everything labelled with the stack's namespace (services first) and wait.

    Raises when the stack's networks are still there after a minute, so a leak is
    a visible failure rather than a conflict in the next test.
    """
    api = client.api
    label = {"label": f"{LABEL_NAMESPACE}={stack_name}"}
    for service in api.services(filters=label):
        api.remove_service(service["ID"])
    stackctl_own = {"label": f"io.stackctl.stack={stack_name}"}  # revisions, lock
    for kind in ("secrets", "configs"):
        for obj in getattr(api, kind)(filters=label) + getattr(api, kind)(filters=stackctl_own):
            getattr(api, f"remove_{kind[:-1]}")(obj["ID"])
    deadline = time.monotonic() + 60
    while True:
        # Tasks that got scheduled may have created the stack's named volumes.
        volumes = (api.volumes(filters=label) or {}).get("Volumes") or []
        for volume in volumes:
            with contextlib.suppress(Exception):
                api.remove_volume(volume["Name"])
        remaining = api.networks(filters=label)
        if not remaining and not volumes:
            return
        if time.monotonic() > deadline:
            names = [n["Name"] for n in remaining] + [v["Name"] for v in volumes]
            raise AssertionError(f"{stack_name}: not removed: {names}")
        for net in remaining:
            # In use while the removed services' tasks shut down: retried.
            with contextlib.suppress(Exception):
                api.remove_network(net["Id"])
        time.sleep(0.5)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=dict))


def comparable(state: ClusterState, stack_name: str, desired: ClusterState) -> dict[str, Any]:
    """Plain data for comparison, with the documented differences removed.

    - the stack name becomes ``STACK`` everywhere;
    - content-addressed config/secret names lose their ``-<hash>`` suffix;
    - stackctl's own ``io.stackctl.*`` labels are dropped;
    - engine-assigned IPAM pools are dropped where the file declares none.
    """
    state = align_live_to_desired(desired, state) if state is not desired else state
    data: dict[str, Any] = {}
    for kind in ("networks", "configs", "secrets", "services"):
        data[kind] = {
            name: {"spec": _json(dict(s.spec)), "external": s.external}
            for name, s in getattr(state, kind).items()
        }
    for kind in ("configs", "secrets"):
        for entry in data[kind].values():
            labels = entry["spec"].get("Labels") or {}
            for key in [k for k in labels if k.startswith(LABEL_PREFIX)]:
                del labels[key]
    text = json.dumps(data, sort_keys=True)
    text = text.replace(stack_name, PLACEHOLDER)
    text = re.sub(rf"({PLACEHOLDER}_[A-Za-z0-9_.-]+?)-[0-9a-f]{{10}}\b", r"\1", text)
    result: dict[str, Any] = json.loads(text)
    return result


@dataclass(frozen=True)
class ParityResult:
    docker_live: dict[str, Any]
    stackctl_live: dict[str, Any]
    converted: dict[str, Any]


def _exists(client: EngineClient, kind: str, name: str) -> bool:
    api = client.api
    if kind == "network":
        return any(n["Name"] == name for n in api.networks(names=[name]))
    listing = getattr(api, f"{kind}s")(filters={"name": [name]})
    return any(o["Spec"]["Name"] == name for o in listing)


@contextlib.contextmanager
def external_resources(client: EngineClient, stack: Stack | None) -> Iterator[None]:
    """Create the stack's missing external networks/configs/secrets for the test's duration.

    Corpus files often join an external ``traefik-public`` or read an external
    secret; these exist before the stack in real life. Only what this helper
    created is removed afterwards.
    """
    api = client.api
    created: list[tuple[str, str]] = []
    wanted: list[tuple[str, str]] = []
    if stack is not None:
        wanted += [
            ("network", n.external_name or key) for key, n in stack.networks.items() if n.external
        ]
        wanted += [("config", c.external_name or k) for k, c in stack.configs.items() if c.external]
        wanted += [("secret", s.external_name or k) for k, s in stack.secrets.items() if s.external]
    try:
        for kind, name in wanted:
            if _exists(client, kind, name):
                continue
            if kind == "network":
                net = api.create_network(name, driver="overlay", attachable=True)
                created.append((kind, net["Id"]))
            else:
                obj = getattr(api, f"create_{kind}")(name, b"parity-test-external")
                created.append((kind, obj["ID"]))
        yield
    finally:
        for kind, obj_id in reversed(created):
            with contextlib.suppress(Exception):
                getattr(api, f"remove_{kind}")(obj_id)
        # Network removal completes asynchronously; the next file may want the same name.
        deadline = time.monotonic() + 15
        gone = {obj_id for kind, obj_id in created if kind == "network"}
        while gone and time.monotonic() < deadline:
            gone = {i for i in gone if any(n["Id"] == i for n in api.networks(ids=[i]))}
            time.sleep(0.2)
