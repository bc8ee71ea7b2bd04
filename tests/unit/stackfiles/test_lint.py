"""Rollout-safety lints: each fires when it should, stays quiet otherwise, can be silenced."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.validation import lints

from stackctl.core.validate.lint import image_tag
from stackctl.errors import Severity

HEALTH = "    healthcheck: {test: [CMD, true], interval: 10s, retries: 3, start_period: 20s}\n"


def _codes(text: str) -> list[str]:
    return [f.code for f in lints(text)]


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx", None),
        ("nginx:latest", "latest"),
        ("nginx:1.25", "1.25"),
        ("registry:5000/team/app", None),
        ("registry:5000/team/app:2", "2"),
        ("app@sha256:abc", "@digest"),
    ],
)
def test_image_tag(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "registry:5000/app"])
def test_sc101_mutable_image(image: str) -> None:
    (finding,) = lints(f"services:\n  web:\n    image: {image}\n")
    assert finding.code == "SC101"
    assert finding.severity is Severity.WARNING
    assert finding.path == "services.web.image"
    assert finding.location.line == 3


def test_sc101_quiet_for_pinned_images() -> None:
    assert _codes("services:\n  web:\n    image: nginx:1.25\n  b:\n    image: b@sha256:ab\n") == []


@pytest.mark.parametrize(
    "update", ["{failure_action: rollback}", "{failure_action: pause}", "{order: start-first}"]
)
def test_sc102_health_reliant_update_without_healthcheck(update: str) -> None:
    text = f"services:\n  web:\n    image: w:1\n    deploy:\n      update_config: {update}\n"
    (finding,) = lints(text)
    assert finding.code == "SC102"
    assert finding.path == "services.web.deploy.update_config"
    assert finding.hint is not None and "offline" in finding.hint


def test_sc102_quiet_with_a_healthcheck_or_continue() -> None:
    with_health = (
        "services:\n  web:\n    image: w:1\n"
        + HEALTH
        + "    deploy:\n      update_config: {failure_action: rollback, monitor: 1m}\n"
    )
    assert _codes(with_health) == []
    with_continue = (
        "services:\n  web:\n    image: w:1\n    deploy:\n"
        "      update_config: {failure_action: continue}\n"
    )
    assert _codes(with_continue) == []


def test_sc102_fires_when_the_healthcheck_is_disabled() -> None:
    text = (
        "services:\n  web:\n    image: w:1\n    healthcheck: {disable: true}\n"
        "    deploy:\n      update_config: {order: start-first}\n"
    )
    assert _codes(text) == ["SC102"]


def test_sc103_monitor_shorter_than_health_detection() -> None:
    text = (
        "services:\n  web:\n    image: w:1\n"
        + HEALTH
        + "    deploy:\n      update_config: {monitor: 30s}\n"
    )
    (finding,) = lints(text)
    assert finding.code == "SC103"
    assert finding.path == "services.web.deploy.update_config.monitor"
    assert "50s" in finding.message  # 20s + 10s x 3


def test_sc103_quiet_when_monitor_is_long_enough_or_unset() -> None:
    long_enough = (
        "services:\n  web:\n    image: w:1\n"
        + HEALTH
        + "    deploy:\n      update_config: {monitor: 50s}\n"
    )
    assert _codes(long_enough) == []
    unset = (
        "services:\n  web:\n    image: w:1\n" + HEALTH + "    deploy:\n      update_config: {}\n"
    )
    assert _codes(unset) == []


def test_sc103_default_monitor_when_relying_on_failure_detection() -> None:
    text = (
        "services:\n  web:\n    image: w:1\n"
        + HEALTH
        + "    deploy:\n      update_config: {failure_action: rollback}\n"
    )
    (finding,) = lints(text)
    assert finding.code == "SC103"
    assert "5s (Swarm's default)" in finding.message
    assert finding.path == "services.web.deploy.update_config"


def test_sc103_uses_docker_health_defaults() -> None:
    # interval 30s x retries 3 = 1m30s by default
    text = (
        "services:\n  web:\n    image: w:1\n    healthcheck: {test: [CMD, true]}\n"
        "    deploy:\n      update_config: {monitor: 1m}\n"
    )
    (finding,) = lints(text)
    assert "1m30s" in finding.message


@pytest.mark.parametrize("order", ["", "      update_config: {order: stop-first}\n"])
def test_sc104_single_replica_stop_first(order: str) -> None:
    text = "services:\n  web:\n    image: w:1\n    deploy:\n      replicas: 1\n" + order
    (finding,) = lints(text)
    assert finding.code == "SC104"
    assert finding.path == "services.web.deploy.replicas"


@pytest.mark.parametrize(
    "deploy",
    [
        "      replicas: 1\n      update_config: {order: start-first}\n",
        "      replicas: 2\n",
        "      mode: global\n",
        "      labels: [a=b]\n",  # replicas not chosen: not flagged (documented)
    ],
)
def test_sc104_quiet(deploy: str) -> None:
    text = "services:\n  web:\n    image: w:1\n" + HEALTH + "    deploy:\n" + deploy
    assert "SC104" not in _codes(text)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ("update_config: {max_failure_ratio: 1}", "can never be exceeded"),
        ("rollback_config: {max_failure_ratio: 1.5}", "can never be exceeded"),
        ("update_config: {max_failure_ratio: 0.2, failure_action: continue}", "no effect"),
    ],
)
def test_sc105_useless_failure_ratio(config: str, fragment: str) -> None:
    text = "services:\n  web:\n    image: w:1\n" + HEALTH + f"    deploy:\n      {config}\n"
    (finding,) = lints(text)
    assert finding.code == "SC105"
    assert fragment in finding.message
    assert finding.path.endswith(".max_failure_ratio")


def test_sc105_quiet_for_a_useful_ratio() -> None:
    text = (
        "services:\n  web:\n    image: w:1\n"
        + HEALTH
        + "    deploy:\n      update_config:\n"
        + "        {max_failure_ratio: 0.2, failure_action: rollback, monitor: 1m}\n"
    )
    assert _codes(text) == []


def test_lints_can_be_silenced_per_stack() -> None:
    text = "services:\n  web:\n    image: nginx\n    deploy:\n      replicas: 1\n"
    assert sorted(_codes(text)) == ["SC101", "SC104"]
    assert _codes("x-stackctl: {ignore: [SC101]}\n" + text) == ["SC104"]
    assert _codes("x-stackctl: {ignore: [SC101, SC104]}\n" + text) == []


JOB = (
    "services:\n  migrate:\n    image: shop/app:2\n{health}    deploy:\n      mode: {mode}\n{extra}"
)


def _job(health: str = "", mode: str = "replicated-job", extra: str = "") -> list[str]:
    return _codes(JOB.format(health=health, mode=mode, extra=extra))


def test_sc106_and_sc107_a_job_left_with_the_defaults_gets_both() -> None:
    findings = lints(JOB.format(health="", mode="replicated-job", extra=""))
    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"SC106", "SC107"}
    # both located at deploy.mode, the key that makes it a job
    assert by_code["SC106"].path == "services.migrate.deploy.mode"
    assert by_code["SC106"].location.line == 5
    assert by_code["SC106"].hint == "add `healthcheck: {disable: true}` to the job"
    assert "(compose's default)" in by_code["SC107"].message
    assert "endpoint_mode: dnsrr" in (by_code["SC107"].hint or "")


def test_sc106_quiet_when_the_job_disables_its_health_check() -> None:
    assert _job("    healthcheck: {disable: true}\n", extra="      endpoint_mode: dnsrr\n") == []
    assert _job('    healthcheck: {test: ["NONE"]}\n', extra="      endpoint_mode: dnsrr\n") == []


def test_sc106_an_explicit_check_on_a_job_is_located_at_healthcheck() -> None:
    text = JOB.format(
        health="    healthcheck: {test: [CMD, true]}\n",
        mode="global-job",
        extra="      endpoint_mode: dnsrr\n",
    )
    (finding,) = lints(text)
    assert finding.code == "SC106" and finding.path == "services.migrate.healthcheck"
    assert "sets a healthcheck" in finding.message


def test_sc107_an_explicit_vip_is_located_at_endpoint_mode_and_names_published_ports() -> None:
    text = JOB.format(
        health="    healthcheck: {disable: true}\n    ports: ['9000:9000']\n",
        mode="replicated-job",
        extra="      endpoint_mode: vip\n",
    )
    (finding,) = lints(text)
    assert finding.code == "SC107" and finding.path == "services.migrate.deploy.endpoint_mode"
    assert "routing-mesh port" in finding.message


def test_job_lints_ignore_services_and_can_be_silenced() -> None:
    assert _codes("services:\n  web:\n    image: shop/app:2\n") == []
    silenced = "x-stackctl: {ignore: [SC106, SC107]}\n" + JOB.format(
        health="", mode="replicated-job", extra=""
    )
    assert _codes(silenced) == []


def test_the_hooks_example_has_no_findings() -> None:
    example = Path(__file__).resolve().parents[3] / "docs" / "examples" / "hooks" / "stack.yml"
    assert lints(example.read_text(encoding="utf-8")) == []
