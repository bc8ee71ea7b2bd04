"""The per-stack lock, held in the real Swarm."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from support.testkit import wait_until

from stackctl.engine.client import EngineClient, connect
from stackctl.engine.lock import StackLock, break_lock, read_lock
from stackctl.errors import LockHeldError


@pytest.fixture
def client() -> Iterator[EngineClient]:
    engine = connect()
    yield engine
    engine.close()


def test_second_holder_is_refused_naming_the_first(client: EngineClient, stack_name: str) -> None:
    with StackLock(client, stack_name) as first:
        first.acquire()
        with pytest.raises(LockHeldError) as refused:
            StackLock(client, stack_name).acquire(timeout=0)
        assert f"pid {os.getpid()}" in refused.value.message
        assert "@" in refused.value.message  # user@host
        assert first.since in refused.value.message
    assert read_lock(client, stack_name) is None  # released on exit


def test_waiting_holder_gets_the_lock_when_it_is_released(
    client: EngineClient, stack_name: str
) -> None:
    first = StackLock(client, stack_name)
    first.acquire()
    waits: list[float] = []

    def wait_then_release_first(seconds: float) -> None:
        # acquire() sleeps only after finding the lock held: release it from there,
        # so the second holder is surely waiting when the lock frees
        waits.append(seconds)
        if len(waits) == 1:
            first.release()
        time.sleep(seconds)

    second = StackLock(client, stack_name, sleep=wait_then_release_first)
    second.acquire(timeout=30)
    assert waits, "the second holder never waited"
    info = read_lock(client, stack_name)
    assert info is not None and info.token == second.token
    second.release()


def test_expired_lease_is_taken_over_and_the_old_holder_cannot_free_it(
    client: EngineClient, stack_name: str
) -> None:
    stale = StackLock(client, stack_name, lease=1.0)
    stale.acquire()  # no heartbeat: as if its process froze
    held = read_lock(client, stack_name)
    assert held is not None
    wait_until(lambda: held.expired(time.time()), timeout=10, what="the stale lease to run out")
    fresh = StackLock(client, stack_name)
    fresh.acquire(timeout=0)
    stale.release()  # must not remove the new holder's lock
    info = read_lock(client, stack_name)
    assert info is not None and info.token == fresh.token
    fresh.release()


def test_heartbeat_keeps_a_short_lease_alive(client: EngineClient, stack_name: str) -> None:
    # 6 s: renewed every 2 s, which a loaded 2-core machine manages (1.5 s did not)
    holder = StackLock(client, stack_name, lease=6.0)
    holder.acquire()
    first = read_lock(client, stack_name)
    assert first is not None
    holder.start_heartbeat()
    try:
        # past the first lease's end, and renewed: not a sleep, the lock's own state
        wait_until(
            lambda: (
                time.time() > first.expires
                and (read_lock(client, stack_name) or first).expires > first.expires
            ),
            timeout=30,
            what="the lease to be renewed past its first end",
        )
        with pytest.raises(LockHeldError):
            StackLock(client, stack_name).acquire(timeout=0)
    finally:
        holder.release()
    assert not holder.lost


HOLDER_SCRIPT = """
import sys, time
from stackctl.engine.client import connect
from stackctl.engine.lock import StackLock
lock = StackLock(connect(), sys.argv[1])
lock.acquire()
lock.start_heartbeat()
print("locked", flush=True)
time.sleep(600)
"""


def test_lock_of_a_sigkilled_holder_expires(client: EngineClient, stack_name: str) -> None:
    env = {**os.environ, "STACKCTL_LOCK_LEASE": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, stack_name],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeldError):
            StackLock(client, stack_name).acquire(timeout=0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        taker = StackLock(client, stack_name)
        taker.acquire(timeout=30)  # free once the 2 s lease runs out
        taker.release()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_break_lock_removes_whoever_holds_it(client: EngineClient, stack_name: str) -> None:
    holder = StackLock(client, stack_name)
    holder.acquire()
    broken = break_lock(client, stack_name)
    assert broken is not None and broken.token == holder.token
    assert read_lock(client, stack_name) is None
    assert break_lock(client, stack_name) is None
    assert not holder.heartbeat()  # the holder notices it lost the lock
    holder.release()
