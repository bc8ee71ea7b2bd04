"""Remote engines: DOCKER_HOST (unix, tcp+TLS), contexts, and clear errors (issue 8 item 7).

TLS runs against the real single-node Swarm behind a TLS front with generated
certificates; "not in a Swarm" against a second, private dockerd.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from support.remote_engine import Certificates, SSHServer, TLSFront, free_port

from stackctl.engine.client import connect
from stackctl.engine.observe import observe_stack
from stackctl.errors import EngineError

# the session's second dockerd and sshd are started once, on one worker
pytestmark = [pytest.mark.swarm, pytest.mark.xdist_group("remote-engine")]


def tls_env(front: TLSFront, cert_dir: Path, *, verify: bool = True) -> dict[str, str]:
    env = {"DOCKER_HOST": f"tcp://127.0.0.1:{front.port}", "DOCKER_CERT_PATH": str(cert_dir)}
    if verify:
        env["DOCKER_TLS_VERIFY"] = "1"
    return env


def test_unix_socket_via_docker_host() -> None:
    client = connect(env={"DOCKER_HOST": "unix:///var/run/docker.sock"})
    assert client.endpoint.source == "DOCKER_HOST"
    assert client.api_calls().total == 2  # version + info
    client.close()


def test_tcp_with_tls_reaches_the_swarm(tls_front: TLSFront, certificates: Certificates) -> None:
    client = connect(env=tls_env(tls_front, certificates.client_dir))
    client.reset_api_calls()
    state = observe_stack(client, "stackctl-no-such-stack")
    assert state.services == {}
    assert client.api_calls().total == 4
    assert client.api_calls().writes == 0
    client.close()


def test_tls_with_the_wrong_ca_is_a_tls_error(
    tls_front: TLSFront, certificates: Certificates
) -> None:
    with pytest.raises(EngineError) as caught:
        connect(env=tls_env(tls_front, certificates.wrong_ca_dir))
    assert "TLS" in caught.value.message
    assert f"127.0.0.1:{tls_front.port}" in caught.value.message
    assert caught.value.hint and "DOCKER_CERT_PATH" in caught.value.hint


def test_tls_without_a_client_certificate_is_refused(
    tls_front: TLSFront, certificates: Certificates, tmp_path: Path
) -> None:
    shutil.copy(certificates.ca, tmp_path / "ca.pem")  # trusts the server, no cert.pem/key.pem
    with pytest.raises(EngineError) as caught:
        connect(env=tls_env(tls_front, tmp_path))
    assert "TLS" in caught.value.message or "DOCKER_CERT_PATH" in (caught.value.hint or "")


def test_plain_http_to_a_tls_port_says_tls_may_be_needed(tls_front: TLSFront) -> None:
    with pytest.raises(EngineError) as caught:
        connect(env={"DOCKER_HOST": f"tcp://127.0.0.1:{tls_front.port}"})
    text = f"{caught.value.message} {caught.value.hint}"
    assert f"127.0.0.1:{tls_front.port}" in text
    assert "TLS" in text


def test_unreachable_tcp_engine_names_the_address() -> None:
    port = free_port()
    with pytest.raises(EngineError) as caught:
        connect(env={"DOCKER_HOST": f"tcp://127.0.0.1:{port}"})
    assert f"tcp://127.0.0.1:{port}" in caught.value.message
    assert "DOCKER_HOST" in caught.value.message  # where the address came from


def test_missing_unix_socket_says_how_to_start_an_engine(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as caught:
        connect(env={"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert str(tmp_path) in caught.value.message
    assert caught.value.hint and "start" in caught.value.hint.lower()


def write_context(config_dir: Path, name: str, host: str, tls_dir: Path | None) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(
        json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}})
    )
    if tls_dir is not None:
        target = config_dir / "contexts" / "tls" / digest / "docker"
        target.mkdir(parents=True)
        for file in ("ca.pem", "cert.pem", "key.pem"):
            shutil.copy(tls_dir / file, target / file)


def test_context_by_flag_and_by_environment(
    tls_front: TLSFront, certificates: Certificates, tmp_path: Path
) -> None:
    write_context(tmp_path, "remote", f"tcp://127.0.0.1:{tls_front.port}", certificates.client_dir)
    base = {"DOCKER_CONFIG": str(tmp_path), "HOME": str(tmp_path)}
    by_flag = connect("remote", env=base)
    assert by_flag.endpoint.source == "context 'remote'"
    by_flag.close()
    by_env = connect(env={**base, "DOCKER_CONTEXT": "remote"})
    assert by_env.endpoint.host == f"tcp://127.0.0.1:{tls_front.port}"
    by_env.close()
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    current = connect(env=base)
    assert current.endpoint.source == "context 'remote'"
    current.close()


def test_unknown_context_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as caught:
        connect("nope", env={"DOCKER_CONFIG": str(tmp_path)})
    assert "nope" in caught.value.message and "not found" in caught.value.message


def test_engine_not_in_a_swarm(lone_dockerd: str) -> None:
    with pytest.raises(EngineError) as caught:
        connect(env={"DOCKER_HOST": lone_dockerd})
    assert "not part of a Swarm" in caught.value.message
    assert caught.value.hint and "docker swarm init" in caught.value.hint


# test_engine_is_a_worker lives in tests/cluster/test_worker_endpoint.py: it needs a
# Swarm worker, which only the project's 3-node cluster provides.


def test_ssh_engine_through_a_socket_forward(ssh_server: SSHServer) -> None:
    env = {"DOCKER_HOST": ssh_server.url, "STACKCTL_SSH_COMMAND": ssh_server.ssh_command}
    client = connect(env=env)
    assert client.endpoint.host == ssh_server.url
    client.reset_api_calls()
    state = observe_stack(client, "stackctl-no-such-stack")
    assert state.services == {} and client.api_calls().total == 4
    client.close()


def test_ssh_engine_refusing_the_key_is_a_clear_error(ssh_server: SSHServer) -> None:
    env = {"DOCKER_HOST": ssh_server.url, "STACKCTL_SSH_COMMAND": ssh_server.wrong_key_command}
    with pytest.raises(EngineError) as caught:
        connect(env=env)
    assert ssh_server.url in caught.value.message
    assert "Permission denied" in caught.value.message
    assert caught.value.hint and "password" in caught.value.hint


def test_ssh_engine_unreachable(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "DOCKER_HOST": f"ssh://root@127.0.0.1:{port}",
        "STACKCTL_SSH_COMMAND": f"ssh -o UserKnownHostsFile={tmp_path}/kh",
    }
    with pytest.raises(EngineError) as caught:
        connect(env=env)
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "refused" in caught.value.message.lower()
