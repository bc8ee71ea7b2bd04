"""Revisions and rollback end to end, through the real CLI on the real Swarm.

Each test deploys a small stack with ``stackctl apply`` (two releases that differ
in image, config content, secret content and the set of services), then checks
what ``history``/``rollback``/``status`` do and what the cluster holds afterwards.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from stackctl.core.model.state import LABEL_CONTENT_HASH, LABEL_NAMESPACE
from stackctl.engine.revisions import LABEL_REV_KIND, LABEL_REV_NUMBER, LABEL_REV_STACK

pytestmark = pytest.mark.swarm

# Lenient on purpose: the machine running the tests may be heavily loaded, and a
# slow check must not fail a good release (the broken one never passes at all).
WEB_HEALTH = (
    '["CMD-SHELL", "timeout 8 wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"]'
)


FILE_REFS = """
    configs:
      - source: app
        target: /etc/app.conf
    secrets:
      - source: pw
        target: pw"""

FILE_OBJECTS = """
configs:
  app:
    file: ./app.conf
secrets:
  pw:
    file: ./pw.txt
"""


def _release(web_image: str, side_service: str, with_files: bool = True) -> str:
    """A stack file: web (health-gated, with a config and a secret) plus one side service."""
    return f"""
services:
  web:
    image: {web_image}
    environment:
      PORT: "8080"{FILE_REFS if with_files else ""}
    healthcheck:
      test: {WEB_HEALTH}
      interval: 2s
      timeout: 10s
      retries: 3
      start_period: 10s
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
      update_config:
        order: start-first
        failure_action: rollback
        monitor: 4s
  {side_service}:
    image: stackctl-demo/worker:1
    deploy:
      replicas: 1
      endpoint_mode: dnsrr
{FILE_OBJECTS if with_files else ""}"""


@dataclass
class Release:
    file: Path
    config_content: bytes
    secret_value: bytes


def _write_release(
    directory: Path,
    web_image: str,
    side_service: str,
    tag: str,
    secret_value: bytes,
    with_files: bool = True,
) -> Release:
    directory.mkdir(parents=True, exist_ok=True)
    config_content = f"release {tag}\n".encode()
    (directory / "app.conf").write_bytes(config_content)
    (directory / "pw.txt").write_bytes(secret_value)
    stack_file = directory / "stack.yml"
    stack_file.write_text(_release(web_image, side_service, with_files))
    return Release(stack_file, config_content, secret_value)


@pytest.fixture
def releases(tmp_path: Path) -> dict[str, Release]:
    """v1: web:1 + "old"; v2: web:2 + "new" (new config and secret content); v3: broken."""
    return {
        "v1": _write_release(
            tmp_path / "v1", "stackctl-demo/web:1", "old", "1", secrets.token_hex(16).encode()
        ),
        "v2": _write_release(
            tmp_path / "v2", "stackctl-demo/web:2", "new", "2", secrets.token_hex(16).encode()
        ),
        "v3": _write_release(
            tmp_path / "v3", "stackctl-demo/web:broken", "new", "3", secrets.token_hex(16).encode()
        ),
    }


@pytest.fixture
def stack(
    docker_client: docker.DockerClient, demo_images: tuple[str, ...], stack_name: str
) -> Iterator[str]:
    yield stack_name


def stackctl(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def apply(stack: str, release: Release, *extra: str) -> subprocess.CompletedProcess[str]:
    return stackctl(
        "apply", stack, "-c", str(release.file), "--yes", *extra, cwd=release.file.parent
    )


def history(stack: str) -> list[dict[str, object]]:
    result = stackctl("history", stack, "--json")
    assert result.returncode == 0, result.stderr
    entries: list[dict[str, object]] = json.loads(result.stdout)["revisions"]
    return entries


def _live_services(api: docker.APIClient, stack: str) -> dict[str, dict[str, object]]:
    services = api.services(filters={"label": f"{LABEL_NAMESPACE}={stack}"})
    return {s["Spec"]["Name"]: s for s in services}


def _web_config(api: docker.APIClient, stack: str) -> tuple[bytes, str]:
    """The content and content-hash label of the config the web service references."""
    web = _live_services(api, stack)[f"{stack}_web"]
    (ref,) = web["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"]  # type: ignore[index]
    config = api.inspect_config(ref["ConfigID"])
    return base64.b64decode(config["Spec"]["Data"]), config["Spec"]["Labels"][LABEL_CONTENT_HASH]


def _assert_converged(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_rollback_from_a_fresh_home_restores_the_earlier_release(
    stack: str, releases: dict[str, Release], docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    api = docker_client.api
    v1, v2 = releases["v1"], releases["v2"]
    _assert_converged(apply(stack, v1))
    _assert_converged(apply(stack, v2))  # no --prune: "old" stays, orphaned
    assert set(_live_services(api, stack)) == {f"{stack}_web", f"{stack}_old", f"{stack}_new"}
    assert _web_config(api, stack)[0] == v2.config_content

    # No files, no HOME: everything must come from the cluster.
    empty = tmp_path / "empty"
    empty.mkdir()
    result = stackctl(
        "rollback", stack, "--yes", cwd=empty, env={"HOME": str(empty), "DOCKER_CONFIG": ""}
    )
    _assert_converged(result)

    # v1's services (the one v2 added is removed), config content and image.
    live = _live_services(api, stack)
    assert set(live) == {f"{stack}_web", f"{stack}_old"}
    content, content_hash = _web_config(api, stack)
    assert content == v1.config_content
    assert content_hash == hashlib.sha256(v1.config_content).hexdigest()
    image = live[f"{stack}_web"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]  # type: ignore[index]
    assert str(image).startswith("stackctl-demo/web:1")

    # The live stack diffs clean against v1's file.
    diff = stackctl("diff", stack, "-c", str(v1.file), cwd=v1.file.parent)
    assert diff.returncode == 0, diff.stdout + diff.stderr

    entries = history(stack)
    assert [e["number"] for e in entries] == [1, 2, 3]
    assert [e["outcome"] for e in entries] == ["applied", "applied", "applied"]
    assert entries[2]["rollbackTo"] == 1 and entries[2]["current"] is True
    status = json.loads(stackctl("status", stack, "--json").stdout)
    assert (status["revision"], status["drift"]) == (3, False)

    # diff --revision: revision 1 is what runs; revision 2 would change web.
    assert stackctl("diff", stack, "--revision", "1").returncode == 0
    to_v2 = stackctl("diff", stack, "--revision", "2", "--json")
    assert to_v2.returncode == 2
    assert f"{stack}_web" in to_v2.stdout


def test_rollback_restores_exactly_the_earlier_set_of_services(
    stack: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    """v2 adds "new" and (with --prune) removes "old"; rollback brings back exactly v1's set."""
    v1 = _write_release(tmp_path / "v1", "stackctl-demo/web:1", "old", "1", b"", False)
    v2 = _write_release(tmp_path / "v2", "stackctl-demo/web:1", "new", "2", b"", False)
    api = docker_client.api
    _assert_converged(apply(stack, v1))
    _assert_converged(apply(stack, v2, "--prune"))
    assert set(_live_services(api, stack)) == {f"{stack}_web", f"{stack}_new"}

    _assert_converged(stackctl("rollback", stack, "--yes"))
    assert set(_live_services(api, stack)) == {f"{stack}_web", f"{stack}_old"}
    diff = stackctl("diff", stack, "-c", str(v1.file), cwd=v1.file.parent)
    assert diff.returncode == 0, diff.stdout + diff.stderr


def test_apply_prune_keeps_objects_that_retained_revisions_need(
    stack: str, releases: dict[str, Release], docker_client: docker.DockerClient
) -> None:
    _assert_converged(apply(stack, releases["v1"]))
    _assert_converged(apply(stack, releases["v2"], "--prune"))
    result = stackctl("rollback", stack, "--yes")
    _assert_converged(result)
    assert _web_config(docker_client.api, stack)[0] == releases["v1"].config_content


def test_apply_prune_keeps_objects_the_file_dropped_while_a_revision_needs_them(
    stack: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    """v2 declares no config or secret at all; --prune must still keep v1's for a rollback."""
    v1 = _write_release(tmp_path / "v1", "stackctl-demo/web:1", "old", "1", b"pw-1")
    v2 = _write_release(tmp_path / "v2", "stackctl-demo/web:1", "old", "2", b"", False)
    api = docker_client.api
    _assert_converged(apply(stack, v1))
    v1_config = _web_config(api, stack)
    _assert_converged(apply(stack, v2, "--prune"))
    web = _live_services(api, stack)[f"{stack}_web"]
    assert "Configs" not in web["Spec"]["TaskTemplate"]["ContainerSpec"]  # type: ignore[index]

    _assert_converged(stackctl("rollback", stack, "--yes"))
    assert _web_config(api, stack) == v1_config


def test_failed_apply_is_recorded_and_rollback_defaults_to_the_last_good_one(
    stack: str, releases: dict[str, Release], docker_client: docker.DockerClient
) -> None:
    _assert_converged(apply(stack, releases["v1"]))
    _assert_converged(apply(stack, releases["v2"]))
    broken = apply(stack, releases["v3"])
    assert broken.returncode == 3, broken.stdout + broken.stderr

    entries = history(stack)
    assert [(e["number"], e["outcome"]) for e in entries] == [
        (1, "applied"),
        (2, "applied"),
        (3, "rolled_back"),
    ]
    assert [e["number"] for e in entries if e["current"]] == [2]
    table = stackctl("history", stack)
    assert table.returncode == 0
    assert "* 2" in table.stdout

    status = stackctl("status", stack, "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["revision"] == 2 and report["drift"] is False, report["drifted"]

    # Default target: the last applied revision before the current one (2) is 1.
    _assert_converged(stackctl("rollback", stack, "--yes"))
    assert _web_config(docker_client.api, stack)[0] == releases["v1"].config_content
    assert history(stack)[-1]["rollbackTo"] == 1


def test_rollback_to_a_revision_whose_config_is_gone_explains_and_changes_nothing(
    stack: str, releases: dict[str, Release], docker_client: docker.DockerClient
) -> None:
    api = docker_client.api
    _assert_converged(apply(stack, releases["v1"]))
    old_config, _ = _web_config(api, stack)
    old_ids = {
        c["ID"]
        for c in api.configs(filters={"label": f"{LABEL_NAMESPACE}={stack}"})
        if base64.b64decode(c["Spec"]["Data"]) == old_config
    }
    _assert_converged(apply(stack, releases["v2"]))
    for config_id in old_ids:  # behind stackctl's back
        api.remove_config(config_id)
    before = _live_services(api, stack)

    result = stackctl("rollback", stack, "--to", "1", "--yes")
    assert result.returncode == 1
    assert "no longer exist" in result.stderr
    after = _live_services(api, stack)
    assert {n: s["Version"] for n, s in after.items()} == {
        n: s["Version"] for n, s in before.items()
    }


def test_stored_revisions_hold_no_secret_values(
    stack: str, releases: dict[str, Release], docker_client: docker.DockerClient
) -> None:
    _assert_converged(apply(stack, releases["v1"]))
    _assert_converged(apply(stack, releases["v2"]))
    assert apply(stack, releases["v3"]).returncode == 3
    api = docker_client.api
    configs = api.configs(filters={"label": f"{LABEL_REV_STACK}={stack}"})
    assert len(configs) >= 3
    # each revision's payload is gzip'd JSON, possibly split over several configs:
    # reassemble each one in chunk order and look in what it decompresses to
    parts: dict[str, dict[int, bytes]] = {}
    for c in configs:
        labels = c["Spec"]["Labels"]
        chunk = int(labels.get("io.stackctl.chunk", "0"))
        parts.setdefault(labels["io.stackctl.revision"], {})[chunk] = base64.b64decode(
            c["Spec"]["Data"]
        )
    decoded = [
        gzip.decompress(b"".join(chunks[i] for i in sorted(chunks))) for chunks in parts.values()
    ]
    assert len(decoded) >= 3
    labels = json.dumps([c["Spec"]["Labels"] for c in configs]).encode()
    for release in releases.values():
        value = release.secret_value
        assert all(value not in text for text in decoded)
        assert value not in labels
    # The revisions do record the secrets by name and content hash.
    assert all(b"_pw-" in text for text in decoded)


def test_status_flags_drift_made_behind_stackctls_back(stack: str, tmp_path: Path) -> None:
    v1 = _write_release(tmp_path / "v1", "stackctl-demo/web:1", "old", "1", b"", False)
    _assert_converged(apply(stack, v1))
    clean = json.loads(stackctl("status", stack, "--json").stdout)
    assert (clean["revision"], clean["drift"]) == (1, False)
    assert {s["name"]: s["desired"] for s in clean["services"]}[f"{stack}_web"] == 1

    scaled = subprocess.run(
        ["docker", "service", "scale", "--detach", f"{stack}_web=2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert scaled.returncode == 0, scaled.stderr
    drifted = json.loads(stackctl("status", stack, "--json").stdout)
    assert drifted["drift"] is True
    assert drifted["drifted"] == [f"{stack}_web"]
    text = stackctl("status", stack)
    assert "drift: YES" in text.stdout


def test_apply_history_max_keeps_only_the_newest_revisions(
    stack: str, releases: dict[str, Release], docker_client: docker.DockerClient
) -> None:
    for name in ("v1", "v2", "v1"):
        _assert_converged(apply(stack, releases[name], "--history-max", "2"))
    assert [e["number"] for e in history(stack)] == [2, 3]
    stored = docker_client.api.configs(
        filters={"label": [f"{LABEL_REV_STACK}={stack}", f"{LABEL_REV_KIND}=revision"]}
    )
    assert {c["Spec"]["Labels"][LABEL_REV_NUMBER] for c in stored} == {"2", "3"}
    refused = apply(stack, releases["v2"], "--history-max", "0")
    assert refused.returncode == 1 and "--history-max" in refused.stderr  # before any write
    assert [e["number"] for e in history(stack)] == [2, 3]
