"""Test hook: named points in an apply where a test can kill or pause stackctl.

This exists only so the reliability tests can stop an apply at an exact step
(tests/integration/reliability). It is inert unless one of these environment
variables is set, and costs one dictionary lookup per point when it is not:

- ``STACKCTL_TEST_KILL_AT=<point>``: the process SIGKILLs itself at that point
  (no cleanup, no lock release: what a power cut or ``kill -9`` does).
- ``STACKCTL_TEST_PAUSE_AT=<point>`` with ``STACKCTL_TEST_PAUSE_DIR=<dir>``: at
  that point the process creates ``<dir>/<point>.reached`` and waits until
  ``<dir>/<point>.go`` exists (at most ``STACKCTL_TEST_PAUSE_MAX`` seconds,
  default 120), so a test can act on the cluster in between.

Each point fires the first time it is reached (``STACKCTL_TEST_AT_COUNT=N``:
the N-th time instead). Points are listed in ``POINTS`` so tests and docs
name the same things.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

KILL_ENV = "STACKCTL_TEST_KILL_AT"
PAUSE_ENV = "STACKCTL_TEST_PAUSE_AT"
PAUSE_DIR_ENV = "STACKCTL_TEST_PAUSE_DIR"
PAUSE_MAX_ENV = "STACKCTL_TEST_PAUSE_MAX"
COUNT_ENV = "STACKCTL_TEST_AT_COUNT"

POINTS = {
    "lock-acquired": "the stack lock was just taken (nothing else written)",
    "plan-rechecked": "under the lock, the plan was re-checked; nothing written yet",
    "intent-recorded": "the revision was recorded in progress (write-ahead); nothing else yet",
    "networks-created": "the stack's networks exist; configs/secrets not yet",
    "objects-created": "networks, configs and secrets exist; no service written yet",
    "service-submitted": "one service's new spec was just submitted (mid-rollout)",
    "watching": "services submitted, waiting on their health gates",
    "wave-finished": "a wave of services converged; the next wave not yet started",
    "rollback-started": "a failure was detected; nothing undone yet",
    "rollback-submitted": "previous specs were written back; waiting for them",
    "recording": "the rollout ended; its revision is about to be marked with the outcome",
    "revision-recorded": "the revision was marked with the outcome; cleanup not yet done",
    "cleanup-removing": "one superseded config/secret removed, others not yet",
    "releasing": "everything done; the lock is about to be released",
}

_hits: dict[str, int] = {}
_hits_lock = threading.Lock()


def checkpoint(name: str) -> None:
    """Kill or pause here when a test asked for point ``name``; otherwise do nothing."""
    kill_at = os.environ.get(KILL_ENV)
    pause_at = os.environ.get(PAUSE_ENV)
    if name not in (kill_at, pause_at):
        return
    with _hits_lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    if str(hit) != os.environ.get(COUNT_ENV, "1"):
        return
    if name == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(10)  # SIGKILL is asynchronous; never run past the point
    if name == pause_at:
        _pause(name)


def _pause(name: str) -> None:
    folder = Path(os.environ.get(PAUSE_DIR_ENV, "."))
    # Written aside and renamed: a test polling for the file must never read it empty.
    partial = folder / f"{name}.reached.partial"
    partial.write_text(str(os.getpid()))
    partial.replace(folder / f"{name}.reached")
    go = folder / f"{name}.go"
    deadline = time.monotonic() + float(os.environ.get(PAUSE_MAX_ENV, "120"))
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
