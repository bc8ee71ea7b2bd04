"""Where notifications go: a JSON webhook, a Slack-compatible webhook, a command.

Each ``send`` makes one attempt and raises ``DeliveryError`` when it did not
land (connection refused, a non-2xx answer, a command that failed or ran too
long); ``delivery`` decides about retries. URLs can hold tokens (a Slack
webhook URL is a secret): a sink is named by its type and host in messages,
never by its full URL.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from stackctl.notify.payload import Notification

USER_AGENT = "stackctl-notify"


class DeliveryError(Exception):
    """One attempt did not land; the message names the sink, never its secret URL."""


class Sink(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, notification: Notification) -> None: ...


def shown_url(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme and host only (paths and queries hold tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def _post(url: str, body: bytes, timeout: float, shown: str) -> None:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"{shown} answered {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryError(f"{shown}: {reason}") from None


@dataclass(frozen=True)
class _Webhook:
    """A sink that POSTs one JSON body per notification; subclasses say which body."""

    url: str
    timeout: float = 10.0
    kind: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return f"{self.kind} {shown_url(self.url)}"

    def body(self, notification: Notification) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, notification: Notification) -> None:
        data = json.dumps(self.body(notification), sort_keys=True).encode()
        _post(self.url, data, self.timeout, self.name)


@dataclass(frozen=True)
class JsonWebhook(_Webhook):
    """POSTs the notification document (``schemas/notification.schema.json``)."""

    kind: ClassVar[str] = "json"

    def body(self, notification: Notification) -> dict[str, Any]:
        return notification.to_json()


@dataclass(frozen=True)
class SlackWebhook(_Webhook):
    """POSTs ``{"text": ...}``, which Slack, Mattermost and Rocket.Chat incoming hooks take."""

    kind: ClassVar[str] = "slack"

    def body(self, notification: Notification) -> dict[str, Any]:
        return {"text": notification.text()}


@dataclass(frozen=True)
class Command:
    """Runs ``argv`` (no shell) with the notification document on stdin; exit 0 = delivered."""

    argv: tuple[str, ...]
    timeout: float = 10.0

    @property
    def name(self) -> str:
        return f"command {self.argv[0]}"

    def send(self, notification: Notification) -> None:
        body = json.dumps(notification.to_json(), sort_keys=True).encode()
        try:
            done = subprocess.run(
                list(self.argv),
                input=body,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"{self.name}: still running after {self.timeout:g}s") from None
        except OSError as error:
            raise DeliveryError(f"{self.name}: {error.strerror}") from None
        if done.returncode != 0:
            last = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            detail = f": {last[0][:200]}" if last else ""
            raise DeliveryError(f"{self.name} exited {done.returncode}{detail}")
