"""Helpers for remote-engine tests: certificate generation and a TLS front for the real engine.

The TLS front is a small TLS-terminating forwarder (client certificates
required) in front of the real engine's unix socket, so stackctl talks
tcp+TLS to the real single-node Swarm exactly as it would to a remote manager.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

ENGINE_SOCKET = "/var/run/docker.sock"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(directory: Path, name: str) -> None:
    _openssl("genrsa", "-out", f"{name}-key.pem", "2048", cwd=directory)
    _openssl(
        "req", "-x509", "-new", "-key", f"{name}-key.pem", "-days", "2",
        "-subj", f"/CN={name}", "-out", f"{name}.pem", cwd=directory,
    )  # fmt: skip


def _make_cert(directory: Path, ca: str, name: str, extensions: str) -> None:
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("genrsa", "-out", f"{name}-key.pem", "2048", cwd=directory)
    _openssl("req", "-new", "-key", f"{name}-key.pem", "-subj", f"/CN={name}",
             "-out", f"{name}.csr", cwd=directory)  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
        "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        cwd=directory,
    )  # fmt: skip


@dataclass(frozen=True)
class Certificates:
    root: Path
    client_dir: Path  # DOCKER_CERT_PATH layout: ca.pem, cert.pem, key.pem
    wrong_ca_dir: Path  # same client cert, but trusts another CA
    server_cert: Path
    server_key: Path
    ca: Path


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class TLSFront:
    """Accept TLS (client cert required) on 127.0.0.1:<port>; forward to the engine socket."""

    def __init__(self, certs: Certificates) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs.ca))
        self.context.load_cert_chain(str(certs.server_cert), str(certs.server_key))
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        try:
            raw.settimeout(10)
            conn = self.context.wrap_socket(raw, server_side=True)
            conn.settimeout(None)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(ENGINE_SOCKET)
        back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
        back.start()
        _pump(conn, upstream)
        back.join(timeout=30)
        conn.close()
        upstream.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_certificates(root: Path) -> Certificates:
    """A CA, a server certificate for 127.0.0.1, a client certificate, and a foreign CA."""
    _make_ca(root, "ca")
    _make_ca(root, "other-ca")
    _make_cert(root, "ca", "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "extendedKeyUsage=serverAuth\n")  # fmt: skip
    _make_cert(root, "ca", "client", "extendedKeyUsage=clientAuth\n")
    client = root / "client-dir"
    client.mkdir()
    shutil.copy(root / "ca.pem", client / "ca.pem")
    shutil.copy(root / "client.pem", client / "cert.pem")
    shutil.copy(root / "client-key.pem", client / "key.pem")
    wrong = root / "wrong-ca-dir"
    shutil.copytree(client, wrong)
    shutil.copy(root / "other-ca.pem", wrong / "ca.pem")
    return Certificates(
        root=root,
        client_dir=client,
        wrong_ca_dir=wrong,
        server_cert=root / "server.pem",
        server_key=root / "server-key.pem",
        ca=root / "ca.pem",
    )


@dataclass(frozen=True)
class SSHServer:
    url: str  # ssh://root@127.0.0.1:<port>
    ssh_command: str  # STACKCTL_SSH_COMMAND with the accepted key
    wrong_key_command: str  # ... with a key the server does not accept


def ssh_config(root: Path, port: int) -> Path:
    """An sshd config that only listens on 127.0.0.1 and only knows our key."""
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root}/host_key\n"
        f"PidFile {root}/sshd.pid\nAuthorizedKeysFile {root}/authorized_keys\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "AllowStreamLocalForwarding yes\n"
    )
    return config


def ssh_keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
