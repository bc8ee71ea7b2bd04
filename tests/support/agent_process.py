"""A running ``stackctl agent --config ... --json`` process and HTTP calls to it.

The agent is started with ``listen: HOST:0`` (a free port); the URL is read from
its "listening on" line, so tests never guess ports.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.testkit import REPO_ROOT, LineCollector

LISTENING = re.compile(r"listening on http://(\S+):(\d+)")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RunningAgent:
    def __init__(self, config: Path, *, connect_host: str = "127.0.0.1") -> None:
        # faulthandler: a hung agent prints every thread's stack on SIGABRT (see stop)
        env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "PYTHONFAULTHANDLER": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stackctl", "agent", "--config", str(config), "--json"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out = LineCollector(self.process.stdout)
        self.err = LineCollector(self.process.stderr)
        try:
            self.err.wait_for("listening on http://", timeout=120)
        except AssertionError:
            self.stop()
            raise
        found = next(m for m in map(LISTENING.search, self.err.lines) if m)
        self.host = connect_host
        self.port = int(found.group(2))

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 60,
    ) -> Reply:
        """One request; ``timeout``: the longest wait for each socket operation."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def passes(self) -> list[dict[str, Any]]:
        """The agent's pass lines so far (``--json``)."""
        found = []
        for line in list(self.out.lines):
            if line.startswith("{"):
                data = json.loads(line)
                if data.get("event") == "pass":
                    found.append(data)
        return found

    def stop(self, timeout: float = 120) -> int:
        """SIGTERM, then the exit code (killed after ``timeout``: a test failure)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            stacks = self.err.text(timeout=10)
            raise AssertionError(
                f"the agent did not stop within {timeout:g}s after SIGTERM:\n{stacks}"
            ) from None

    def logs(self) -> str:
        return "".join(self.out.lines) + "".join(self.err.lines)
