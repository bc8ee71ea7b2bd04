"""A real HTTP receiver for notification tests: records every POST, can be down or failing.

``Receiver()`` listens on a free 127.0.0.1 port in a thread. ``fail_next(n)``
answers the next ``n`` POSTs with 503; ``wait_for(count)`` waits (bounded) until
that many POSTs were recorded. Use it as a context manager.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from support.testkit import wait_until


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.refused = 0
        self._fail = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server API names it
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    failing = receiver._fail > 0
                    if failing:
                        receiver._fail -= 1
                        receiver.refused += 1
                    else:
                        receiver.bodies.append(body)
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook/t0ken-in-path"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._fail = count

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for body in self.bodies]

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        wait_until(
            lambda: len(self.bodies) >= count,
            timeout=timeout,
            what=f"{count} notification(s) (have {len(self.bodies)})",
        )
        return self.documents()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
