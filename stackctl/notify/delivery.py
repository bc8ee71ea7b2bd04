"""Delivery: filter, drop repeats, retry with backoff, and never hold up a deploy.

The agent calls ``Notifier.notify`` on the thread of a pass; it only filters
and queues. Each sink has its own worker thread and bounded queue, so a sink
that is down or slow delays nothing but its own later notifications, and
never another sink. Guarantees (docs/agent.md, "Notifications"):

- at most once per sink for one key (stack, commit, outcome, revision): a key
  is remembered when it is queued, and kept after the last failed attempt;
- a failed attempt is retried after 1 s, 2 s, 4 s ... up to ``max_delay``,
  ``attempts`` times in all, then reported as dropped;
- the memory of keys is bounded (the oldest are forgotten first) and lives in
  the process: after a restart, the first pass of each stack can notify again.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass

from stackctl.notify.payload import Notification
from stackctl.notify.sinks import DeliveryError, Sink

REMEMBERED_KEYS = 10_000
QUEUE_SIZE = 1_000


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    first_delay: float = 1.0
    max_delay: float = 60.0

    def delays(self) -> list[float]:
        """Seconds to wait before each retry (one fewer than ``attempts``)."""
        return [min(self.first_delay * 2.0**i, self.max_delay) for i in range(self.attempts - 1)]


def deliver(
    sink: Sink,
    notification: Notification,
    policy: RetryPolicy,
    wait: Callable[[float], bool],
) -> str | None:
    """Try until delivered or out of attempts; the last error, or None when delivered.

    ``wait(seconds)`` returns True when the caller is stopping: no more attempts.
    """
    error = ""
    for delay in [*policy.delays(), None]:
        try:
            sink.send(notification)
            return None
        except DeliveryError as failed:
            error = str(failed)
        if delay is None or wait(delay):
            break
    return error


class _Seen:
    """A bounded set of keys, the oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()
        self._size = size

    def add(self, key: Hashable) -> bool:
        """True when ``key`` is new (and now remembered)."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True


class SinkWorker:
    """One sink's filter, memory of keys, queue and delivery thread."""

    def __init__(
        self,
        sink: Sink,
        *,
        outcomes: Collection[str] | None,
        policy: RetryPolicy,
        report: Callable[[str], None],
    ) -> None:
        self.sink = sink
        self.outcomes = frozenset(outcomes) if outcomes else None
        self.policy = policy
        self._report = report
        self._seen = _Seen(REMEMBERED_KEYS)
        self._queue: queue.Queue[Notification | None] = queue.Queue(QUEUE_SIZE)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.delivered = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"notify {sink.name}", daemon=True)
        self._thread.start()

    def offer(self, notification: Notification) -> bool:
        """Queue it unless filtered out or sent before; never blocks."""
        if self.outcomes is not None and notification.outcome not in self.outcomes:
            return False
        with self._lock:
            if not self._seen.add(notification.dedupe_key):
                return False
        try:
            self._queue.put_nowait(notification)
        except queue.Full:
            self.dropped += 1
            self._report(f"notify: {self.sink.name}: queue full, dropped {notification.stack}")
            return False
        return True

    def _run(self) -> None:
        while True:
            notification = self._queue.get()
            if notification is None:
                return
            error = deliver(self.sink, notification, self.policy, self._stop.wait)
            if error is None:
                self.delivered += 1
            else:
                self.dropped += 1
                self._report(
                    f"notify: {error}; gave up on {notification.stack} {notification.outcome}"
                )

    def close(self, timeout: float) -> None:
        """Deliver what is queued for up to ``timeout`` seconds, then stop retrying."""
        with contextlib.suppress(queue.Full):  # full: the join below waits as long anyway
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        self._stop.set()  # a retry still waiting gives up
        self._thread.join(1.0)


class Notifier:
    """Every configured sink; ``notify`` offers a notification to each."""

    def __init__(self, workers: list[SinkWorker]) -> None:
        self.workers = workers

    def notify(self, notification: Notification) -> None:
        for worker in self.workers:
            worker.offer(notification)

    def close(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            worker.close(timeout)
