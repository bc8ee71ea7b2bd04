"""Debian's chromium, headless, driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes chromium read DevTools commands from fd 3 and
write replies and events to fd 4, NUL-separated JSON: no websocket library, no
driver binary, no npm. The page is loaded like a person loads it, and the
tests read what a person sees: ``document.body.innerText`` (text that CSS
hides is not in it, markup shows as text only if it was escaped).

chromium runs with ``--no-sandbox`` because the tests run as root (CI does),
and chromium refuses to start its sandbox as root; the page is our own
server's, on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

from support.testkit import skip_guarantee, wait_until

REPLY_TIMEOUT = 60.0  # a stuck browser fails the test instead of hanging the run


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self) -> None:
        binary = shutil.which("chromium")
        if binary is None:
            skip_guarantee("Debian's chromium is missing (./dev installs it as root)")
        self._profile = tempfile.mkdtemp(prefix="stackctl-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def fds() -> None:  # in the child: commands on fd 3, replies on fd 4
            # via fds >= 10 first, so neither end is clobbered if it already is 3 or 4
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile}",
                "about:blank",
            ],
            preexec_fn=fds,
            pass_fds=(3, 4),  # close_fds runs after preexec_fn: keep what it set up
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        target = self.command("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.command("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]

    def command(
        self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:  # events arrive in between; only our reply matters here
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def _read(self, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], 1.0)
            if not ready:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise BrowserError(f"chromium did not answer within {timeout:.0f}s")
                continue
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError("chromium closed its DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        data: dict[str, Any] = json.loads(raw)
        return data

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (the browser's own view)."""
        result = self.command(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True},
            session=self._session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, *, timeout: float = 30) -> None:
        self.command("Page.navigate", {"url": url}, session=self._session)
        self.wait_for(lambda: self.evaluate("document.readyState") == "complete", timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str = "") -> None:
        """Poll ``predicate`` (a page being replaced may fail an evaluation: retried)."""

        def holds() -> bool:
            try:
                return bool(predicate())
            except BrowserError:
                return False  # the document was being replaced; ask again

        wait_until(holds, timeout=timeout, interval=0.2, what=what)

    def text(self) -> str:
        return str(self.evaluate("document.body.innerText"))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)
