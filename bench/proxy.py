"""A counting proxy for the Docker socket: how many Engine API calls a tool makes.

It listens on a unix socket, forwards every byte to the real engine socket, and
parses only the client->engine direction far enough to see each HTTP request
line (skipping Content-Length and chunked bodies). Point a tool at it with
``DOCKER_HOST=unix://<path>``; this works the same for stackctl, the docker CLI
and the floor, so the counts are comparable.

Writes are POST, PUT, DELETE and PATCH requests.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

UPSTREAM = "/var/run/docker.sock"
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+")
_ID_SEGMENT = re.compile(r"^[0-9a-z]{25}$|^[0-9a-f]{64}$")
_CHUNK = 65536
_OBJECT_KINDS = frozenset(
    {"services", "networks", "tasks", "nodes", "configs", "secrets", "containers", "images"}
)
_VERBS = frozenset({"json", "create", "prune", "load", "search", "get"})


def engine_socket() -> str | None:
    """The unix socket the engine answers on (DOCKER_HOST or the default), or None
    when DOCKER_HOST is not a unix socket (tcp/ssh: the proxy cannot stand in)."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        return UPSTREAM
    if host.startswith("unix://"):
        return host[len("unix://") :]
    return None


def normalize_path(target: str) -> str:
    """``/v1.41/services/abc.../update?version=3`` -> ``/services/{id}/update``."""
    path = target.split("?", 1)[0]
    path = _VERSION_PREFIX.sub("", path)
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in _OBJECT_KINDS and parts[2] not in _VERBS:
        parts[2] = "{id}" if _ID_SEGMENT.match(parts[2]) else "{name}"
    return "/".join(parts) or "/"


@dataclass
class CallCounts:
    """Requests seen, by method and by ``METHOD /normalized/path``."""

    by_method: Counter[str] = field(default_factory=Counter)
    by_endpoint: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, method: str, target: str) -> None:
        with self.lock:
            self.by_method[method] += 1
            self.by_endpoint[f"{method} {normalize_path(target)}"] += 1

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m in WRITE_METHODS)

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "writes": self.writes,
            "by_method": dict(self.by_method),
            "by_endpoint": dict(self.by_endpoint.most_common()),
        }


class _RequestParser:
    """Incremental HTTP/1.1 request framing: feed bytes, it reports each request line."""

    def __init__(self, counts: CallCounts) -> None:
        self.counts = counts
        self.buffer = b""
        self.body_left = 0  # bytes of a Content-Length body still to skip
        self.chunked = False  # inside a chunked body
        self.passthrough = False  # after an upgrade/hijack: stop parsing

    def feed(self, data: bytes) -> None:
        if self.passthrough:
            return
        self.buffer += data
        while self._step():
            pass

    def _step(self) -> bool:
        if self.body_left:
            taken = min(self.body_left, len(self.buffer))
            self.buffer = self.buffer[taken:]
            self.body_left -= taken
            return bool(self.buffer) and not self.body_left
        if self.chunked:
            return self._step_chunk()
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = self.buffer[:end].decode("latin-1")
        self.buffer = self.buffer[end + 4 :]
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) >= 2:
            self.counts.add(parts[0], parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "upgrade" in headers.get("connection", ""):
            self.passthrough = True
            return False
        if "chunked" in headers.get("transfer-encoding", ""):
            self.chunked = True
        else:
            self.body_left = int(headers.get("content-length", "0") or 0)
        return True

    def _step_chunk(self) -> bool:
        line_end = self.buffer.find(b"\r\n")
        if line_end < 0:
            return False
        size = int(self.buffer[:line_end].split(b";")[0] or b"0", 16)
        if size == 0:
            # Last chunk: expect the empty trailer line.
            trailer_end = self.buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return False
            self.buffer = self.buffer[trailer_end + 4 :]
            self.chunked = False
            return True
        if len(self.buffer) < line_end + 2 + size + 2:
            return False
        self.buffer = self.buffer[line_end + 2 + size + 2 :]
        return True


def _pump(source: socket.socket, sink: socket.socket, parser: _RequestParser | None) -> None:
    try:
        while True:
            data = source.recv(_CHUNK)
            if not data:
                break
            if parser is not None:
                parser.feed(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


class CountingProxy:
    """A unix-socket proxy in a background thread; ``counts`` grows as requests pass."""

    def __init__(self, path: str, upstream: str = UPSTREAM) -> None:
        self.path = path
        self.upstream = upstream
        self.counts = CallCounts()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(128)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def docker_host(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.upstream)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=_pump, args=(upstream, client, None), daemon=True)
        back.start()
        _pump(client, upstream, _RequestParser(self.counts))
        back.join()
        client.close()
        upstream.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


@contextlib.contextmanager
def counting_proxy(upstream: str | None = None) -> Iterator[CountingProxy]:
    """Run a proxy (to ``upstream``, default the engine's socket) for the block."""
    upstream = upstream or engine_socket() or UPSTREAM
    directory = tempfile.mkdtemp(prefix="bench-proxy-")
    proxy = CountingProxy(str(Path(directory) / "docker.sock"), upstream)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
        with contextlib.suppress(OSError):
            os.rmdir(directory)
