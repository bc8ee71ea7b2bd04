"""The counting proxy: request framing and counts, against a stand-in upstream socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.proxy import CallCounts, CountingProxy, _RequestParser, normalize_path


def test_normalize_path_drops_version_query_and_ids() -> None:
    assert normalize_path("/v1.41/services/abcdefghijklmnopqrstuvwxy/update?version=3") == (
        "/services/{id}/update"
    )
    assert normalize_path("/v1.41/services?filters=x") == "/services"
    assert normalize_path("/v1.41/networks/create") == "/networks/create"
    assert normalize_path("/v1.41/networks/shop_net") == "/networks/{name}"
    assert normalize_path("/_ping") == "/_ping"


def test_parser_frames_bodies_and_pipelined_requests() -> None:
    counts = CallCounts()
    parser = _RequestParser(counts)
    body = b'{"Name": "x GET /fake HTTP/1.1\\r\\n\\r\\n"}'
    stream = (
        b"POST /v1.41/services/create HTTP/1.1\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
        + b"GET /v1.41/tasks HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"POST /build HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"5\r\nGET /\r\n0\r\n\r\n"
        + b"DELETE /v1.41/services/abcdefghijklmnopqrstuvwxy HTTP/1.1\r\n\r\n"
    )
    for i in range(0, len(stream), 7):  # arbitrary split points
        parser.feed(stream[i : i + 7])
    assert counts.by_method == {"POST": 2, "GET": 1, "DELETE": 1}
    assert counts.total == 4
    assert counts.writes == 3
    assert counts.by_endpoint["GET /tasks"] == 1


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[str]:
    """A unix socket that answers every request on a connection with an empty 200."""
    path = str(tmp_path / "up.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                buffer = b""
                while True:
                    data = conn.recv(4096)
                    if not data:
                        break
                    buffer += data
                    while b"\r\n\r\n" in buffer:
                        _, buffer = buffer.split(b"\r\n\r\n", 1)
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    yield path
    server.close()


def test_proxy_forwards_and_counts(tmp_path: Path, upstream: str) -> None:
    proxy = CountingProxy(str(tmp_path / "proxy.sock"), upstream)
    proxy.start()
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(proxy.path)
        replies = b""
        for method in ("GET", "POST"):
            client.sendall(f"{method} /v1.41/info HTTP/1.1\r\nHost: d\r\n\r\n".encode())
            while replies.count(b"ok") < (1 if method == "GET" else 2):
                replies += client.recv(4096)
        client.close()
    finally:
        proxy.close()
    assert replies.count(b"HTTP/1.1 200 OK") == 2
    assert proxy.counts.by_endpoint == {"GET /info": 1, "POST /info": 1}
    assert proxy.counts.writes == 1
