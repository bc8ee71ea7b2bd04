"""Hold a real stackctl at a named rollout checkpoint, then let it go on.

A stackctl started with ``pause_at(point, folder)`` in its environment creates
``<folder>/<point>.reached`` when it gets there and waits until ``<folder>/<point>.go``
exists (``stackctl.rollout.checkpoints``), so a test can act on the cluster in between.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from pathlib import Path

from stackctl.rollout.checkpoints import PAUSE_DIR_ENV, PAUSE_ENV, PAUSE_MAX_ENV
from support.testkit import wait_until


def pause_at(point: str, folder: Path, *, max_seconds: int | None = None) -> dict[str, str]:
    """The environment that pauses stackctl at ``point``; ``max_seconds`` is how long
    it waits there at most (the hook's default is 120 s)."""
    env = {PAUSE_ENV: point, PAUSE_DIR_ENV: str(folder)}
    if max_seconds is not None:
        env[PAUSE_MAX_ENV] = str(max_seconds)
    return env


def wait_for_checkpoint(
    proc: subprocess.Popen[str],
    folder: Path,
    point: str,
    *,
    timeout: float,
    output: Callable[[], str] | None = None,
) -> Path:
    """Poll (bounded) until ``proc`` waits at ``point``; return its ``.reached`` file.

    If it ended first, or is not there within ``timeout`` seconds (then it is killed),
    fail with its exit code and output (``output()``, or what it printed).
    """
    reached = folder / f"{point}.reached"
    with contextlib.suppress(AssertionError):  # timed out: reported below, with its output
        wait_until(
            lambda: reached.exists() or proc.poll() is not None,
            timeout=timeout,
            interval=0.1,
            what=f"checkpoint {point}",
        )
    if reached.exists():
        return reached
    if proc.poll() is None:
        proc.kill()
    text = output() if output is not None else "\n".join(s or "" for s in proc.communicate())
    raise AssertionError(f"stackctl never reached checkpoint {point} (exit {proc.wait()}):\n{text}")


def go_on(folder: Path, point: str) -> None:
    """Let the stackctl paused at ``point`` go on."""
    (folder / f"{point}.go").touch()
