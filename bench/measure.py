"""Timing one contender command as a whole process, optionally counting its Engine API calls."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.proxy import counting_proxy

COMMAND_TIMEOUT = 900.0
WATCH_GRACE = 180.0  # how long a watched condition may take to hold after the exit


@dataclass
class Measured:
    """One timed command."""

    seconds: float
    exit_code: int | None  # None: killed at the timeout
    api: dict[str, Any] | None = None  # CallCounts.as_dict() when counted
    extra: dict[str, Any] = field(default_factory=dict)


def _child_env(docker_host: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("NO_COLOR", "1")
    env.update(extra or {})
    if docker_host is not None:
        env["DOCKER_HOST"] = docker_host
    return env


def run_timed(
    command: Sequence[str],
    *,
    log: Path,
    count_calls: bool,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = COMMAND_TIMEOUT,
    watch: Callable[[], bool] | None = None,
) -> Measured:
    """Run ``command`` to completion and time it from spawn to exit.

    With ``count_calls`` the command talks to the engine through a counting proxy.
    With ``watch``, a predicate is polled from this process (on the direct socket,
    not counted) while the command runs and afterwards; ``extra["condition_seconds"]``
    is when it first held, and ``seconds`` becomes the later of that and the exit.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with counting_proxy() as proxy, log.open("w", encoding="utf-8") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        child_env = _child_env(proxy.docker_host if count_calls else None, env)
        watcher = _Watcher(watch) if watch is not None else None
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        if watcher is not None:
            watcher.start(started)
        try:
            code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        except KeyboardInterrupt:
            process.terminate()  # do not leave the contender running on its own
            process.wait()
            raise
        exited = time.perf_counter() - started
        measured = Measured(exited, code)
        if watcher is not None:
            held_at = watcher.finish(timeout=WATCH_GRACE)
            measured.extra["process_seconds"] = round(exited, 3)
            measured.extra["condition_seconds"] = held_at
            measured.seconds = max(exited, held_at) if held_at is not None else exited
        if count_calls:
            measured.api = proxy.counts.as_dict()
        out.write(f"\n# exit={code} seconds={measured.seconds:.3f}\n")
    return measured


class _Watcher:
    """Polls a predicate in a thread and remembers when it first held."""

    def __init__(self, predicate: Callable[[], bool]) -> None:
        self.predicate = predicate
        self.held_at: float | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.started = 0.0

    def start(self, started: float) -> None:
        self.started = started
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                if self.predicate():
                    self.held_at = round(time.perf_counter() - self.started, 3)
                    return
            except Exception:  # the engine may answer oddly mid-update; poll again
                pass
            time.sleep(0.1)

    def finish(self, timeout: float) -> float | None:
        self.thread.join(timeout)
        self.stop.set()
        self.thread.join(5)
        return self.held_at
