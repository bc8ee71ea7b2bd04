"""The kill/pause test hook: inert unless asked, exact when asked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stackctl.rollout import checkpoints
from stackctl.rollout.checkpoints import POINTS, checkpoint

_REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _fresh_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "_hits", {})
    for name in (checkpoints.KILL_ENV, checkpoints.PAUSE_ENV, checkpoints.COUNT_ENV):
        monkeypatch.delenv(name, raising=False)


def test_every_point_is_inert_without_the_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a pause folder is set, but no point is asked for: nothing may happen there
    monkeypatch.setenv(checkpoints.PAUSE_DIR_ENV, str(tmp_path))
    for name in POINTS:
        checkpoint(name)  # returns at once: no kill (we are alive), no pause
    assert checkpoints._hits == {}  # not even counted
    assert list(tmp_path.iterdir()) == []  # no ".reached" file: it never paused


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_kill_point_sigkills_the_process_at_that_point_only() -> None:
    code = (
        "from stackctl.rollout.checkpoints import checkpoint\n"
        "checkpoint('watching'); print('past watching', flush=True)\n"
        "checkpoint('recording'); print('past recording', flush=True)\n"
    )
    result = _run(code, {checkpoints.KILL_ENV: "recording"})
    assert result.returncode == -signal.SIGKILL
    assert result.stdout == "past watching\n"


def test_count_selects_the_nth_time_a_point_is_reached() -> None:
    code = (
        "from stackctl.rollout.checkpoints import checkpoint\n"
        "for i in range(5):\n"
        "    checkpoint('wave-finished'); print(i, flush=True)\n"
    )
    result = _run(code, {checkpoints.KILL_ENV: "wave-finished", checkpoints.COUNT_ENV: "3"})
    assert result.returncode == -signal.SIGKILL
    assert result.stdout.split() == ["0", "1"]


def test_pause_point_waits_for_the_go_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(checkpoints.PAUSE_ENV, "plan-rechecked")
    monkeypatch.setenv(checkpoints.PAUSE_DIR_ENV, str(tmp_path))
    done = threading.Event()

    def reach() -> None:
        checkpoint("plan-rechecked")
        done.set()

    worker = threading.Thread(target=reach)
    worker.start()
    reached = tmp_path / "plan-rechecked.reached"
    deadline = time.monotonic() + 10
    while not reached.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reached.read_text() == str(os.getpid())
    assert not done.is_set()  # still waiting
    (tmp_path / "plan-rechecked.go").touch()
    worker.join(timeout=10)
    assert done.is_set()
