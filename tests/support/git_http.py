"""A real authenticating git server for the agent tests: ``git http-backend`` (the smart
HTTP protocol, as GitLab, Gitea or Apache serve it) behind a small threaded HTTP server
in the test process that demands HTTP Basic auth, like a private repository does.

Every request without the right ``Authorization`` header gets ``401`` with a
``WWW-Authenticate`` challenge (what makes git ask its credential helper); the
others are handed to ``git http-backend`` as a CGI request. ``attempts`` counts
the requests by the user name they carried, so a test can see that wrong
credentials were really tried and refused.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from support.testkit import skip_guarantee

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


class GitHttpServer:
    """Serves every repository under ``base`` at ``http://HOST:PORT/<name>``."""

    def __init__(self, base: Path, username: str, password: str, host: str = "127.0.0.1") -> None:
        if not os.access(HTTP_BACKEND, os.X_OK):
            skip_guarantee(f"{HTTP_BACKEND} is missing (Debian's git package; ./dev cluster)")
        self.base = base
        self.expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.attempts: Counter[str] = Counter()  # user name tried ("" : none) -> requests
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass  # quiet: pytest shows the test's own output

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/{name}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def _user(self, header: str) -> str:
        if not header.startswith("Basic "):
            return ""
        try:
            return base64.b64decode(header[6:]).decode().partition(":")[0]
        except ValueError:
            return "?"

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        header = request.headers.get("Authorization", "")
        self.attempts[self._user(header)] += 1
        if header != self.expected:
            request.send_response(401)
            request.send_header("WWW-Authenticate", 'Basic realm="git"')
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        parts = urlsplit(request.path)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.base),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": request.command,
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "REMOTE_USER": self._user(header),
            "REMOTE_ADDR": request.client_address[0],
            "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": request.headers.get("Content-Encoding", ""),
        }
        done = subprocess.run(
            [HTTP_BACKEND], input=body, env=env, capture_output=True, timeout=60, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        request.send_response(status)
        for name, value in headers:
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
