"""The notification document: one shape for every sink, every outcome, every sender.

It holds names, numbers and stackctl's own messages only (the ones it prints,
which never carry secret values): no stack file content, no environment values,
no secret values.
Schema: ``schemas/notification.schema.json`` (docs/agent.md, "Notifications").
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

API_VERSION = "stackctl/v1"
KIND = "Notification"

# Every outcome a notification can carry (docs/agent.md has what each one means).
OUTCOMES = (
    "applied",
    "no_change",
    "rolled_back",
    "failed",
    "timed_out",
    "paused",
    "resumed",
    "drift_detected",
    "error",
)
# The outcomes that say something went wrong: Slack text marks them.
BAD_OUTCOMES = frozenset({"rolled_back", "failed", "timed_out", "error"})


@dataclass(frozen=True)
class Notification:
    stack: str
    outcome: str
    source: str  # "agent" or "apply"
    commit: str = ""
    revision: int | None = None
    services_changed: tuple[str, ...] = ()
    duration: float = 0.0
    message: str = ""
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    host: str = field(default_factory=socket.gethostname)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown notification outcome {self.outcome!r}")

    @property
    def dedupe_key(self) -> tuple[str, str, str, int | None]:
        """Sent once per sink: stack, commit, outcome, and the revision it concerns."""
        return (self.stack, self.commit, self.outcome, self.revision)

    def to_json(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "stack": self.stack,
            "outcome": self.outcome,
            "commit": self.commit or None,
            "revision": self.revision,
            "servicesChanged": list(self.services_changed),
            "duration": round(self.duration, 3),
            "message": self.message,
            "source": self.source,
            "host": self.host,
            "time": self.time.isoformat(),
        }

    def text(self) -> str:
        """One line for chat: ``shop: rolled_back at 1a2b3c4d5e6f (revision 7): web: ...``."""
        mark = ":x: " if self.outcome in BAD_OUTCOMES else ""
        at = f" at {self.commit[:12]}" if self.commit else ""
        rev = f" (revision {self.revision})" if self.revision is not None else ""
        services = f"; changed: {', '.join(self.services_changed)}" if self.services_changed else ""
        text = f"{mark}stackctl {self.source}: {self.stack}: {self.outcome}{at}{rev}{services}"
        return f"{text}: {self.message}" if self.message else text
