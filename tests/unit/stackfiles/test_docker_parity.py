"""Side by side with ``docker stack config`` (the Docker CLI, client side only).

Merging, env files, paths and interpolation are compared on the values that reach
Swarm. Skipped when the docker CLI is not installed.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from support.testkit import guarantee_needs

from stackctl.core.load.loading import load_stack
from stackctl.core.load.yaml_scalars import go_str, resolve_plain
from stackctl.core.model.model import Service

pytestmark = guarantee_needs(
    shutil.which("docker") is not None, "needs the docker CLI (./dev installs docker.io)"
)

Write = Callable[..., Path]


def _docker_config(
    cwd: Path, files: list[str], env: dict[str, str], loader: Any = yaml.SafeLoader
) -> dict[str, Any]:
    args = ["docker", "stack", "config"]
    for file in files:
        args += ["-c", file]
    run = subprocess.run(
        args,
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return yaml.load(run.stdout, Loader=loader)  # type: ignore[no-any-return]


def _both(tmp_path: Path, files: list[str], env: dict[str, str]) -> tuple[dict[str, Any], Service]:
    docker = _docker_config(tmp_path, files, env)["services"]["web"]
    ours = load_stack(files, env={"HOME": str(tmp_path), **env}, cwd=str(tmp_path))
    return docker, ours.stack.services["web"]


def test_merge_matches_docker(tmp_path: Path, write: Write) -> None:
    write(
        "base/stack.yml",
        """version: "3.8"
services:
  web:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    environment:
      - A=1
      - B=2
    labels:
      x: "1"
    ports:
      - "80:80"
      - "443:443"
    volumes:
      - ./data:/data
      - logs:/logs
    secrets:
      - s1
    deploy:
      labels: [a=1]
      placement:
        constraints: [node.role == manager]
secrets:
  s1:
    file: ./s1.txt
volumes:
  logs: {}
""",
    )
    write("base/s1.txt", "secret")
    # Both files in one folder: docker resolves every relative path against the first
    # file's folder, stackctl against the declaring file's (see docs/stack-files.md).
    write(
        "base/override.yml",
        """version: "3.8"
services:
  web:
    command: ["nginx", "-T"]
    environment:
      B: "3"
      C: "4"
    labels:
      - y=2
    ports:
      - "443:443"
      - "8080:8080/udp"
    volumes:
      - ./cache:/logs
    secrets:
      - source: s1
        target: /run/other
    deploy:
      labels: {b: "2"}
      placement:
        constraints: [node.labels.zone == a]
""",
    )
    docker, web = _both(tmp_path, ["base/stack.yml", "base/override.yml"], {})
    assert list(web.command or ()) == docker["command"]
    assert dict(web.environment) == docker["environment"]
    assert dict(web.labels) == docker["labels"]
    assert dict(web.deploy.labels) == docker["deploy"]["labels"]
    assert web.deploy.placement is not None
    assert list(web.deploy.placement.constraints) == docker["deploy"]["placement"]["constraints"]
    assert {(p.target, p.published, p.protocol, p.mode) for p in web.ports} == {
        (p["target"], p["published"], p["protocol"], p["mode"]) for p in docker["ports"]
    }
    assert {(m.type, m.source, m.target) for m in web.volumes} == {
        (v["type"], v["source"], v["target"]) for v in docker["volumes"]
    }
    assert {(s.source, s.target) for s in web.secrets} == {
        (s["source"], s.get("target", f"/run/secrets/{s['source']}")) for s in docker["secrets"]
    }


def test_env_files_and_environment_match_docker(tmp_path: Path, write: Write) -> None:
    write(
        "app/stack.yml",
        """version: "3.8"
services:
  web:
    image: nginx:1.25
    env_file: [conf/a.env, conf/b.env]
    environment:
      - OVER=env
      - FROM_SHELL
      - UNSET_BARE
      - EMPTY_BUT_SET=
      - NUM=${NUM}
""",
    )
    write("app/conf/a.env", '# c\nOVER=file\nA=1\nPASS_THROUGH\nDROPPED\nSHELL_EMPTY=\nQ="q" # x\n')
    write("app/conf/b.env", "A=2\n")
    env = {
        "FROM_SHELL": "s",
        "PASS_THROUGH": "p",
        "EMPTY_BUT_SET": "e",
        "SHELL_EMPTY": "se",
        "NUM": "7",
    }
    docker, web = _both(tmp_path, ["app/stack.yml"], env)
    assert dict(web.environment) == docker["environment"]


def test_interpolation_matches_docker(tmp_path: Path, write: Write) -> None:
    write(
        "stack.yml",
        """version: "3.8"
services:
  web:
    image: "nginx:${TAG:-1.25}"
    environment:
      A: "${SET:-d}"
      B: "${UNSET:-d}"
      C: "${EMPTY:-d}"
      D: "${EMPTY-d}"
      E: "${UNSET-d}"
      F: "$$SET and $SET and ${SET}x"
      G: "${SET}}"
      H: "${UNSET:-a:-b}"
      I: "${UNSET:-$$2y$$05$$hash}"
      J: "${SET:?must be set}"
      K: "${UNSET:-}"
      L: "$SET$SET"
    deploy:
      replicas: ${N}
      labels:
        traefik.users: "${U:-admin}:${P:-$2y$05$oZcj4FgdSFEYNCH0EH/3Vu7Hp72}"
""",
    )
    env = {"SET": "val", "EMPTY": "", "N": "3"}
    docker, web = _both(tmp_path, ["stack.yml"], env)
    assert web.image == docker["image"]
    assert dict(web.environment) == docker["environment"]
    assert web.deploy.replicas == docker["deploy"]["replicas"]
    assert dict(web.deploy.labels) == docker["deploy"]["labels"]


def _scalar_tokens() -> list[str]:
    """Plain scalars built from number-ish characters (seeded, so the list is stable)."""
    rng = random.Random(7)
    alphabet = "0123456789_.+-eExXoObB:abyYnN~ "
    tokens = {
        "0x_1", "1_", "_1", "0b", "0o", "+.5", "-.5e3", "1e", "1e+", "0.", "00", "-0",
        "+0x1f", "9223372036854775807", "9223372036854775808", "18446744073709551616",
        "1.5E3", "0X1F", "0B101", "0O17", "1e558", "yes", "On", "NULL", "nULL", "~",
        "2001-12-14", "2001-12-14T21:59:43", "2001-12-14 21:59:43", "2001-2-30",
    }  # fmt: skip
    for _ in range(600):
        token = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))).strip()
        tokens.add(token)
    return sorted(
        t
        for t in tokens
        if t
        and not t.startswith(("-", "?", ":", "~ "))
        and ": " not in t
        and not t.endswith(":")
        and not isinstance(resolve_plain(t), bool)  # docker refuses booleans here
        and not (isinstance(resolve_plain(t), float) and math.isinf(resolve_plain(t)))
    )


def test_plain_scalars_resolve_like_docker(tmp_path: Path, write: Write) -> None:
    tokens = _scalar_tokens()
    body = "".join(f"      K{i}: {token}\n" for i, token in enumerate(tokens))
    write("stack.yml", "version: '3.8'\nservices:\n  web:\n    image: x\n    environment:\n" + body)
    # Read docker's output as raw text (PyYAML's YAML 1.1 rules would re-resolve it).
    docker = _docker_config(tmp_path, ["stack.yml"], {}, loader=yaml.BaseLoader)
    ours = {f"K{i}": resolve_plain(token) for i, token in enumerate(tokens)}
    expected = {k: "null" if v is None else go_str(v) for k, v in ours.items()}
    assert expected == docker["services"]["web"]["environment"]
