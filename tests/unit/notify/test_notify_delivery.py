"""Notification payloads, sinks over real sockets and processes, retries, dedupe, mapping."""

from __future__ import annotations

import json
import socket
import sys
import threading
from pathlib import Path

import jsonschema
import pytest
from support.http_receiver import Receiver
from support.testkit import wait_until

from stackctl.agent.config import parse_config
from stackctl.agent.notifications import SENT_AS, PassNotifier, build_sink
from stackctl.agent.reconcile import EXIT_CODES, PassResult
from stackctl.errors import StackFileError
from stackctl.notify.delivery import Notifier, RetryPolicy, SinkWorker, deliver
from stackctl.notify.payload import OUTCOMES, Notification
from stackctl.notify.sinks import Command, DeliveryError, JsonWebhook, SlackWebhook

ROOT = Path(__file__).resolve().parents[3]
FAST = RetryPolicy(attempts=4, first_delay=0.05, max_delay=0.2)


def _notification(outcome: str = "applied", **fields: object) -> Notification:
    values: dict[str, object] = {
        "stack": "shop",
        "outcome": outcome,
        "source": "agent",
        "commit": "c0ffee" * 6 + "beef",
        "revision": 4,
        "services_changed": ("shop_web",),
        "duration": 12.3456,
        "message": "1 change(s) in 12s",
    }
    values.update(fields)
    return Notification(**values)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_payload_matches_its_published_schema_for_every_outcome() -> None:
    schema = json.loads((ROOT / "schemas" / "notification.schema.json").read_text())
    for outcome in OUTCOMES:
        document = _notification(outcome).to_json()
        jsonschema.validate(document, schema)
        assert (document["apiVersion"], document["kind"]) == ("stackctl/v1", "Notification")
    assert _notification().to_json()["duration"] == 12.346
    with pytest.raises(ValueError):
        _notification("fine")


def test_every_pass_outcome_is_mapped_or_deliberately_not_sent() -> None:
    assert set(SENT_AS) == set(EXIT_CODES)
    assert {v for v in SENT_AS.values() if v} <= set(OUTCOMES)


def test_json_and_slack_sinks_post_over_a_real_socket() -> None:
    with Receiver() as receiver:
        JsonWebhook(receiver.url).send(_notification("rolled_back"))
        SlackWebhook(receiver.url).send(_notification("rolled_back"))
        first, second = receiver.wait_for(2, timeout=10)
    assert first["outcome"] == "rolled_back" and first["servicesChanged"] == ["shop_web"]
    assert set(second) == {"text"}
    assert second["text"].startswith(":x: stackctl agent: shop: rolled_back at c0ffeec0ffee")


def test_a_failed_post_names_the_sink_without_its_url_token() -> None:
    url = f"http://127.0.0.1:{_free_port()}/services/T000/B000/s3cr3t"
    with pytest.raises(DeliveryError) as caught:
        JsonWebhook(url, timeout=2).send(_notification())
    assert "s3cr3t" not in str(caught.value) and "127.0.0.1" in str(caught.value)


def test_a_command_sink_gets_the_document_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    script = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"
    Command((sys.executable, "-c", script)).send(_notification("error", revision=None))
    assert json.loads(out.read_text())["outcome"] == "error"
    with pytest.raises(DeliveryError, match="exited 3"):
        Command((sys.executable, "-c", "import sys; sys.exit(3)")).send(_notification())
    with pytest.raises(DeliveryError, match="still running"):
        Command((sys.executable, "-c", "import time; time.sleep(30)"), timeout=0.5).send(
            _notification()
        )


def test_retries_back_off_then_deliver_once() -> None:
    assert RetryPolicy(attempts=6, first_delay=1, max_delay=5).delays() == [1, 2, 4, 5, 5]
    waited: list[float] = []
    with Receiver() as receiver:
        receiver.fail_next(2)
        error = deliver(
            JsonWebhook(receiver.url), _notification(), FAST, lambda s: bool(waited.append(s))
        )
        assert error is None
        assert receiver.refused == 2 and len(receiver.bodies) == 1
    assert waited == [0.05, 0.1]


def test_out_of_attempts_reports_the_last_error() -> None:
    with Receiver() as receiver:
        receiver.fail_next(10)
        error = deliver(JsonWebhook(receiver.url), _notification(), FAST, lambda s: False)
    assert error is not None and "answered 503" in error


class BlockedSink:
    """A sink whose delivery hangs until released: a webhook that never answers."""

    name = "blocked"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.got: list[str] = []

    def send(self, notification: Notification) -> None:
        self.release.wait(60)
        self.got.append(notification.outcome)


def test_a_worker_filters_drops_repeats_and_never_blocks_the_caller() -> None:
    sink = BlockedSink()
    worker = SinkWorker(sink, outcomes=["failed", "applied"], policy=FAST, report=print)
    # Every offer returns while the sink hangs: a pass is never held up by a sink.
    assert worker.offer(_notification("applied"))
    assert not worker.offer(_notification("applied"))  # same stack, commit, outcome, revision
    assert not worker.offer(_notification("no_change"))  # filtered out
    assert worker.offer(_notification("failed"))
    assert worker.offer(_notification("applied", revision=5))
    sink.release.set()
    worker.close(timeout=10)
    assert sink.got == ["applied", "failed", "applied"] and worker.delivered == 3


class CountingSink:
    """A real JSON webhook sink that counts its attempts."""

    def __init__(self, url: str) -> None:
        self.inner = JsonWebhook(url, timeout=2)
        self.attempts = 0
        self.name = self.inner.name

    def send(self, notification: Notification) -> None:
        self.attempts += 1
        self.inner.send(notification)


def test_a_sink_that_comes_up_later_gets_the_notification_once() -> None:
    port = _free_port()
    sink = CountingSink(f"http://127.0.0.1:{port}/hook")
    worker = SinkWorker(
        sink,
        outcomes=None,
        policy=RetryPolicy(attempts=40, first_delay=0.1, max_delay=0.3),
        report=lambda line: None,
    )
    worker.offer(_notification("failed"))
    wait_until(lambda: sink.attempts >= 2, timeout=20, what="two failed attempts")
    with Receiver(port) as receiver:
        documents = receiver.wait_for(1, timeout=20)
        worker.offer(_notification("failed"))  # a repeat: not sent again
        worker.close(timeout=5)
        assert [d["outcome"] for d in receiver.documents()] == ["failed"]
    assert documents[0]["stack"] == "shop" and worker.delivered == 1


def test_paused_then_managed_again_sends_resumed_before_the_outcome() -> None:
    sent: list[Notification] = []

    class Collect:
        def notify(self, notification: Notification) -> None:
            sent.append(notification)

    listen = PassNotifier(Collect())  # type: ignore[arg-type]
    listen(PassResult("shop", "applied", "c1", revision=3, services=("shop_web",)))
    listen(PassResult("shop", "paused", "c1", "paused: revision 4 rolled back", revision=4))
    listen(PassResult("shop", "held", "c1"))
    listen(PassResult("shop", "error", "c1", "git: unreachable"))
    listen(PassResult("shop", "applied", "c2", revision=5))
    listen(PassResult("shop", "locked", "c2"))
    listen(PassResult("shop", "suspended", "c2"))
    listen(PassResult("shop", "no_change", "c2"))
    assert [(n.outcome, n.commit, n.revision) for n in sent] == [
        ("applied", "c1", 3),
        ("paused", "c1", 4),
        ("error", "c1", None),
        ("resumed", "c2", 4),
        ("applied", "c2", 5),
        ("paused", "c2", None),
        ("resumed", "c2", None),
        ("no_change", "c2", None),
    ]
    assert sent[0].services_changed == ("shop_web",)


def test_notify_entries_are_checked_and_located(tmp_path: Path) -> None:
    text = (
        "stacks: [{name: s, repo: x, files: [a.yml]}]\n"
        "notify:\n"
        "  - {type: slack}\n"
        "  - {type: command, url: 'https://x.example/'}\n"
        "  - {type: json, url: 'https://x.example/', on: [fine]}\n"
    )
    with pytest.raises(StackFileError) as caught:
        parse_config(text, str(tmp_path / "agent.yml"))
    lines = sorted((f.location.line, f.message) for f in caught.value.findings)
    assert [line for line, _ in lines] == [5], lines  # schema errors first: 'fine'
    text = text.replace("on: [fine]", "on: [failed]")
    with pytest.raises(StackFileError) as caught:
        parse_config(text, str(tmp_path / "agent.yml"))
    found = sorted((f.location.line, f.message) for f in caught.value.findings)
    assert found[0][0] == 3 and "exactly one of url and url_file" in found[0][1]
    assert found[1][0] == 4 and "takes no url" in found[1][1]


def test_a_url_file_is_read_at_start_and_never_shown(tmp_path: Path) -> None:
    (tmp_path / "slack.url").write_text("https://hooks.example.com/services/T0/B0/s3cr3t\n")
    config = parse_config(
        "stacks: [{name: s, repo: x, files: [a.yml]}]\n"
        "notify: [{type: slack, url_file: slack.url, on: [failed]}]\n",
        str(tmp_path / "agent.yml"),
    )
    sink = build_sink(config.notify[0])
    assert isinstance(sink, SlackWebhook) and sink.url.endswith("/s3cr3t")
    assert "s3cr3t" not in sink.name
    assert config.notify[0].outcomes == ("failed",)


def test_close_waits_for_queued_deliveries() -> None:
    with Receiver() as receiver:
        worker = SinkWorker(JsonWebhook(receiver.url), outcomes=None, policy=FAST, report=print)
        notifier = Notifier([worker])
        for revision in range(5):
            notifier.notify(_notification(revision=revision))
        notifier.close(timeout=10)
        assert len(receiver.bodies) == 5
