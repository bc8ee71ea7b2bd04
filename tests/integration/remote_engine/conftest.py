"""Fixtures for remote-engine tests: generated certificates, a TLS front for the real
engine, and a second dockerd that is not in a Swarm."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.remote_engine import (
    Certificates,
    SSHServer,
    TLSFront,
    free_port,
    make_certificates,
    ssh_config,
    ssh_keygen,
)
from support.testkit import skip_guarantee


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    if shutil.which("openssl") is None:
        skip_guarantee("openssl is needed to generate test certificates (./dev installs it)")
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def tls_front(certificates: Certificates) -> Iterator[TLSFront]:
    front = TLSFront(certificates)
    yield front
    front.close()


@pytest.fixture(scope="session")
def lone_dockerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second dockerd on a private unix socket that is NOT part of any Swarm.

    Own network namespace, data/exec roots and containerd namespaces, no bridge,
    no iptables: it shares nothing with the system engine. Stopped (by its PID) afterwards.
    """
    if shutil.which("dockerd") is None:
        skip_guarantee("dockerd binary not available (./dev installs docker.io)")
    # Short path: unix socket paths are limited to 108 bytes.
    root = Path("/tmp") / f"sc-lone-{secrets.token_hex(3)}"
    root.mkdir()
    sock = root / "d.sock"
    log = (tmp_path_factory.mktemp("lone") / "dockerd.log").open("w")
    ns = f"stackctl-test-{secrets.token_hex(3)}"
    # In a network namespace of its own: even with --bridge none, a dockerd that
    # stops deletes the host's docker0 bridge, which the system engine's tasks need.
    proc = subprocess.Popen(
        [
            "unshare",
            "--net",
            "dockerd",
            "-H",
            f"unix://{sock}",
            "--data-root",
            str(root / "data"),
            "--exec-root",
            str(root / "exec"),
            "--pidfile",
            str(root / "d.pid"),
            "--bridge",
            "none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-masq=false",
            "--containerd-namespace",
            ns,
            "--containerd-plugins-namespace",
            f"{ns}-p",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                skip_guarantee(f"could not start a second dockerd here (log: {log.name})")
            time.sleep(0.2)
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """A private sshd on 127.0.0.1 accepting one generated key for root."""
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    if sshd is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        skip_guarantee("OpenSSH server/client not installed (./dev installs openssh-server)")
    if os.geteuid() != 0:
        skip_guarantee("the test sshd needs root (it logs in as root to reach the engine socket)")
    root = tmp_path_factory.mktemp("sshd")
    ssh_keygen(root / "host_key")
    ssh_keygen(root / "client_key")
    ssh_keygen(root / "other_key")
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = free_port()
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
    proc = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(ssh_config(root, port))],
        stdout=subprocess.DEVNULL,
        stderr=(root / "sshd.log").open("w"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                skip_guarantee(f"sshd did not start: {(root / 'sshd.log').read_text()[-300:]}")
            time.sleep(0.1)
        base = f"ssh -o UserKnownHostsFile={root}/known_hosts -o StrictHostKeyChecking=no"
        yield SSHServer(
            url=f"ssh://root@127.0.0.1:{port}",
            ssh_command=f"{base} -o IdentitiesOnly=yes -i {root}/client_key",
            wrong_key_command=f"{base} -o IdentitiesOnly=yes -i {root}/other_key",
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
