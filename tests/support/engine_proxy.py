"""A TCP endpoint in front of the real engine socket that a test can take away.

The agent under test gets ``DOCKER_HOST=tcp://127.0.0.1:PORT``; closing the
proxy makes that engine unreachable for the agent (connection refused, open
connections dropped) while the shared system dockerd keeps serving everyone
else. Bytes are copied unchanged in both directions.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading

from support.testkit import skip_guarantee


def engine_socket() -> str:
    """The engine the other tests use: DOCKER_HOST when it is a unix socket, else the default."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://") :]
    if host:
        skip_guarantee(f"the engine proxy forwards to a unix socket; DOCKER_HOST is {host}")
    return "/var/run/docker.sock"


class EngineProxy:
    def __init__(self, target: str | None = None) -> None:
        self.target = target or engine_socket()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        with selectors.DefaultSelector() as selector:
            selector.register(a, selectors.EVENT_READ)
            selector.register(b, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in selector.select():
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(65536)
                        if not data:
                            return
                        peers[source].sendall(data)
            except OSError:
                return
            finally:
                for sock in (a, b):
                    with self._lock:
                        self._open.discard(sock)
                    with contextlib.suppress(OSError):
                        sock.close()

    def close(self) -> None:
        """The engine is gone: refuse new connections and drop the open ones."""
        with self._lock:
            self._closed = True
            sockets = list(self._open)
        self._listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
