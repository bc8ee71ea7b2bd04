"""A per-stack lock held in the cluster, so two pipelines never apply one stack at once.

The lock is a Swarm config named ``stackctl-lock-<stack>``. Creating a config
is atomic and a duplicate name is refused (409), so whoever creates it holds
the lock. Its labels say who holds it (user@host, pid), since when, and until
when the lease runs. The holder renews the lease from a background thread by
updating the labels (the one part of a config Swarm lets you change), passing
the version index. A lock whose lease ran out (its holder was killed) is taken
over by removing *that* object by ID (a newer lock has another ID, so two
takers cannot remove each other's) and creating a fresh one.

Leases compare the holder's wall clock with the taker's: clocks of machines
that deploy to one cluster are assumed to agree within a few seconds.

Lock configs carry no ``com.docker.stack.namespace`` label, so they are never
mistaken for the stack's own configs.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import docker.errors

from stackctl.engine.client import EngineClient, engine_errors
from stackctl.errors import LockHeldError

LOCK_PREFIX = "stackctl-lock-"
LABEL_KIND = "io.stackctl.kind"
LABEL_STACK = "io.stackctl.stack"
LABEL_HOLDER = "io.stackctl.lock.holder"
LABEL_PID = "io.stackctl.lock.pid"
LABEL_SINCE = "io.stackctl.lock.since"
LABEL_EXPIRES = "io.stackctl.lock.expires"  # unix seconds, holder's clock
LABEL_TOKEN = "io.stackctl.lock.token"
DEFAULT_LEASE = 30.0
LEASE_ENV = "STACKCTL_LOCK_LEASE"  # seconds; short leases make kill tests fast


def lock_name(stack: str) -> str:
    return f"{LOCK_PREFIX}{stack}"


def default_lease(env: Mapping[str, str] | None = None) -> float:
    text = (os.environ if env is None else env).get(LEASE_ENV, "")
    try:
        return max(1.0, float(text)) if text else DEFAULT_LEASE
    except ValueError:
        return DEFAULT_LEASE


@dataclass(frozen=True)
class LockInfo:
    """Who holds a stack's lock."""

    id: str
    version: int
    holder: str
    pid: str
    since: str
    expires: float
    token: str

    def expired(self, now: float) -> bool:
        return now >= self.expires

    def describe(self) -> str:
        return f"{self.holder} (pid {self.pid}) since {self.since}"


def read_lock(client: EngineClient, stack: str) -> LockInfo | None:
    """The stack's current lock, or None when nobody holds it."""
    with engine_errors(client.endpoint, "read the stack lock"):
        try:
            raw = client.api.inspect_config(lock_name(stack))
        except docker.errors.NotFound:
            return None
    return lock_info(raw)


def break_lock(client: EngineClient, stack: str) -> LockInfo | None:
    """Remove the stack's lock whoever holds it; return who held it."""
    info = read_lock(client, stack)
    if info is not None:
        _remove(client, info.id)
    return info


def lock_info(raw: Mapping[str, Any]) -> LockInfo:
    labels = (raw.get("Spec") or {}).get("Labels") or {}
    try:
        expires = float(labels.get(LABEL_EXPIRES, "0"))
    except ValueError:
        expires = 0.0
    return LockInfo(
        id=str(raw["ID"]),
        version=int((raw.get("Version") or {}).get("Index", 0)),
        holder=str(labels.get(LABEL_HOLDER, "unknown")),
        pid=str(labels.get(LABEL_PID, "?")),
        since=str(labels.get(LABEL_SINCE, "?")),
        expires=expires,
        token=str(labels.get(LABEL_TOKEN, "")),
    )


def _remove(client: EngineClient, config_id: str) -> None:
    with (
        engine_errors(client.endpoint, "remove the stack lock"),
        contextlib.suppress(docker.errors.NotFound),
    ):
        client.api.remove_config(config_id)


def _whoami() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


class StackLock:
    """Acquire with ``acquire()``, hold with ``start_heartbeat()``, free with ``release()``."""

    def __init__(
        self,
        client: EngineClient,
        stack: str,
        *,
        lease: float | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.stack = stack
        self.lease = default_lease() if lease is None else lease
        self.clock = clock
        self.sleep = sleep
        self.token = secrets.token_hex(8)
        self.since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._id: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False  # set when a heartbeat finds the lock gone

    @property
    def held(self) -> bool:
        return self._id is not None

    def _labels(self) -> dict[str, str]:
        return {
            LABEL_KIND: "lock",
            LABEL_STACK: self.stack,
            LABEL_HOLDER: _whoami(),
            LABEL_PID: str(os.getpid()),
            LABEL_SINCE: self.since,
            LABEL_EXPIRES: f"{self.clock() + self.lease:.3f}",
            LABEL_TOKEN: self.token,
        }

    def acquire(
        self,
        timeout: float = 0.0,
        poll: float = 0.5,
        on_wait: Callable[[LockInfo], None] | None = None,
    ) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; ``LockHeldError`` names the holder.

        ``on_wait(holder)`` is called once, when the lock is first found held by a
        live holder and this call is going to wait for it (so a user knows why).
        """
        deadline = self.clock() + timeout
        waiting = False
        while True:
            if self._try_create():
                return
            current = read_lock(self.client, self.stack)
            if current is None:
                continue  # released between our attempt and the read: try again
            if current.expired(self.clock()):
                _remove(self.client, current.id)  # only that expired object, by ID
                continue
            if self.clock() >= deadline:
                raise LockHeldError(
                    f"stack {self.stack} is locked by {current.describe()}",
                    hint=(
                        "another stackctl is applying this stack; wait for it, pass "
                        "--lock-timeout to wait, or `stackctl unlock "
                        f"{self.stack}` if you are sure it is gone"
                    ),
                )
            if not waiting and on_wait is not None:
                on_wait(current)
            waiting = True
            self.sleep(min(poll, max(0.05, deadline - self.clock())))

    def _try_create(self) -> bool:
        body = {
            "Name": lock_name(self.stack),
            "Labels": self._labels(),
            "Data": "c3RhY2tjdGwgbG9jawo=",  # "stackctl lock\n"
        }
        api = self.client.api
        with engine_errors(self.client.endpoint, "take the stack lock"):
            try:
                response = api._post_json(api._url("/configs/create"), data=body)
                result = api._result(response, json=True)
            except docker.errors.APIError as error:
                if error.status_code == 409 or "already exists" in str(error.explanation):
                    return False
                raise
        self._id = str(result["ID"])
        return True

    def heartbeat(self) -> bool:
        """Renew the lease; False when the lock is no longer ours."""
        if self._id is None:
            return False
        api = self.client.api
        for _ in range(3):
            try:
                raw = api.inspect_config(self._id)
                if lock_info(raw).token != self.token:
                    break
                version = int(raw["Version"]["Index"])
                body = {"Name": lock_name(self.stack), "Labels": self._labels()}
                response = api._post_json(
                    api._url("/configs/{0}/update", self._id),
                    data=body,
                    params={"version": version},
                )
                api._raise_for_status(response)
                return True
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                continue  # version moved under us (e.g. `unlock` racing): re-read
            except (docker.errors.DockerException, OSError):
                return True  # engine unreachable: the lease has slack for the next beat
        self.lost = True
        return False

    def start_heartbeat(self) -> None:
        interval = max(0.2, self.lease / 3)

        def beat() -> None:
            while not self._stop.wait(interval):
                if not self.heartbeat():
                    return

        self._thread = threading.Thread(target=beat, name=f"lock-{self.stack}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop renewing and remove the lock if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._id is not None and not self.lost:
            info = read_lock(self.client, self.stack)
            if info is not None and info.token == self.token:
                _remove(self.client, info.id)
        self._id = None

    def __enter__(self) -> StackLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
