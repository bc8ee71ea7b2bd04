"""ssh:// engines without paramiko: forward the remote engine socket over ``ssh -L``.

The docker SDK's own ssh transport needs paramiko, which is not one of
stackctl's dependencies. Instead stackctl runs the system ``ssh`` client
(``ssh -L <local socket>:/var/run/docker.sock``) and points the SDK at the local
end of the forward: the Engine API then travels through the SDK's ordinary
unix-socket transport. ``ssh`` reads the user's ``~/.ssh/config``, agent and
known hosts as usual; ``STACKCTL_SSH_COMMAND`` (like ``GIT_SSH_COMMAND``)
replaces the ``ssh`` command, e.g. to add ``-i key``. ``BatchMode`` is on, so
stackctl never waits for a password prompt.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from stackctl.errors import EngineError

REMOTE_SOCKET = "/var/run/docker.sock"
CONNECT_TIMEOUT_S = 20.0


class SSHTunnel:
    """One ``ssh -L`` forward to a remote engine socket; ``close()`` ends it."""

    def __init__(self, url: str, env: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        if not parts.hostname:
            raise EngineError(
                f"invalid ssh engine address {url!r}", hint="use ssh://[user@]host[:port]"
            )
        self.url = url
        self._host = parts.hostname
        self._user = parts.username
        self._port = parts.port
        self._remote = parts.path if parts.path not in ("", "/") else REMOTE_SOCKET
        self._command = shlex.split(env.get("STACKCTL_SSH_COMMAND") or "ssh")
        self._dir = Path(tempfile.mkdtemp(prefix="stackctl-ssh-"))
        self.local_socket = self._dir / "docker.sock"
        self._proc: subprocess.Popen[bytes] | None = None

    def _argv(self) -> list[str]:
        argv = [*self._command, "-nNT", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes"]
        argv += ["-L", f"{self.local_socket}:{self._remote}"]
        if self._user:
            argv += ["-l", self._user]
        if self._port:
            argv += ["-p", str(self._port)]
        return [*argv, "--", self._host]

    def open(self) -> str:
        """Start the forward; returns the ``unix://`` URL of its local end."""
        if shutil.which(self._command[0]) is None:
            self.close()
            raise EngineError(
                f"cannot reach {self.url}: the `{self._command[0]}` command was not found",
                hint="install an OpenSSH client, or set STACKCTL_SSH_COMMAND",
            )
        self._proc = subprocess.Popen(
            self._argv(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C for stackctl must not kill the tunnel first
        )
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not self.local_socket.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                reason = self._failure_reason()
                self.close()
                raise EngineError(
                    f"cannot reach the Docker engine at {self.url} over ssh: {reason}",
                    hint="check that `ssh` to that host works without a password prompt "
                    "(key or agent) and that the remote user may use the Docker socket",
                )
            time.sleep(0.05)
        return f"unix://{self.local_socket}"

    def _failure_reason(self) -> str:
        if self._proc is None:
            return "ssh did not start"
        if self._proc.poll() is None:
            return f"no forward after {CONNECT_TIMEOUT_S:.0f}s"
        stderr = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"ssh exited with status {self._proc.returncode}"

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)
