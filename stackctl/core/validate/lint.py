"""Rollout-safety lints (SC1xx): warnings about settings that make updates unsafe.

Each lint has a stable id and can be silenced for a stack with
``x-stackctl: {ignore: [SC101]}`` (``--strict`` turns the remaining ones into
errors). Decisions worth knowing:

- SC102 cannot know whether the *image* defines a HEALTHCHECK (that needs the
  registry); it only looks at the stack file and says so in its hint.
- SC103 compares ``monitor`` (Swarm's default is 5s) with start_period +
  interval x retries (Docker's defaults: 30s, 3, 0). An unset monitor is only
  flagged when the update explicitly relies on failure detection
  (failure_action rollback or pause), to keep files that never chose an
  update policy quiet.
- SC104 fires for an explicit ``replicas: 1`` whose update order is stop-first,
  whether written or Docker's default; an unset ``replicas`` is not flagged, so
  files that never chose a replica count (often stateful singletons) stay quiet.
- SC106/SC107 (jobs: a health check, the vip endpoint mode) live in ``job_lint``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackctl.core.model.model import Healthcheck, Service, ServiceMode, Stack, UpdateConfig
from stackctl.core.model.units import format_duration
from stackctl.core.validate.job_lint import LINT_JOB_HEALTHCHECK, LINT_JOB_VIP, lint_job
from stackctl.core.validate.job_lint import warning_at as _warn
from stackctl.errors import Finding, Location

Locate = Callable[[tuple[str | int, ...]], Location]

LINT_MUTABLE_TAG = "SC101"
LINT_HEALTH_WITHOUT_CHECK = "SC102"
LINT_MONITOR_TOO_SHORT = "SC103"
LINT_SINGLE_REPLICA_STOP_FIRST = "SC104"
LINT_USELESS_FAILURE_RATIO = "SC105"

LINT_IDS = (
    LINT_MUTABLE_TAG,
    LINT_HEALTH_WITHOUT_CHECK,
    LINT_MONITOR_TOO_SHORT,
    LINT_SINGLE_REPLICA_STOP_FIRST,
    LINT_USELESS_FAILURE_RATIO,
    LINT_JOB_HEALTHCHECK,
    LINT_JOB_VIP,
)

# Docker's defaults for health checks and update order.
DEFAULT_INTERVAL_NS = 30_000_000_000
DEFAULT_RETRIES = 3
DEFAULT_ORDER = "stop-first"
DEFAULT_MONITOR_NS = 5_000_000_000


def lint_stack(
    stack: Stack,
    data: Mapping[str, Any],
    locate: Callable[[tuple[str | int, ...]], Location],
) -> list[Finding]:
    """Rollout-safety warnings for ``stack``, minus the ids in ``x-stackctl.ignore``."""
    ignored = set(stack.settings.ignore)
    findings: list[Finding] = []
    services = data.get("services") if isinstance(data, Mapping) else None
    raw_services: Mapping[str, Any] = services if isinstance(services, Mapping) else {}
    for name, service in stack.services.items():
        raw = raw_services.get(name)
        raw_service: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        findings.extend(_lint_service(service, raw_service, locate))
        findings.extend(lint_job(service, raw_service, locate))
    return [f for f in findings if f.code not in ignored]


def image_tag(image: str) -> str | None:
    """The tag of an image reference, None when it has none (digests count as pinned)."""
    if "@" in image:
        return "@digest"
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return None


def _has_healthcheck(health: Healthcheck | None) -> bool:
    return health is not None and not health.disable and bool(health.test)


def _lint_service(service: Service, raw: Mapping[str, Any], locate: Locate) -> list[Finding]:
    base: tuple[str | int, ...] = ("services", service.name)
    findings: list[Finding] = []
    if service.image:
        tag = image_tag(service.image)
        if tag is None or tag == "latest":
            what = "has no tag" if tag is None else "uses the tag 'latest'"
            findings.append(
                _warn(
                    locate,
                    (*base, "image"),
                    LINT_MUTABLE_TAG,
                    f"image '{service.image}' {what}; updates and rollbacks cannot "
                    "tell versions apart",
                    "pin a version tag or a digest",
                )
            )
    deploy = service.deploy
    update = deploy.update_config
    update_path = (*base, "deploy", "update_config")
    if update is not None and not _has_healthcheck(service.healthcheck):
        reasons = []
        if update.failure_action in ("rollback", "pause"):
            reasons.append(f"failure_action: {update.failure_action}")
        if update.order == "start-first":
            reasons.append("order: start-first")
        if reasons:
            findings.append(
                _warn(
                    locate,
                    update_path,
                    LINT_HEALTH_WITHOUT_CHECK,
                    f"update_config relies on health ({', '.join(reasons)}) but the service "
                    "has no healthcheck",
                    "add a healthcheck; if the image defines its own HEALTHCHECK (stackctl "
                    "cannot see that offline), silence this with x-stackctl: {ignore: [SC102]}",
                )
            )
    if update is not None and _has_healthcheck(service.healthcheck):
        findings.extend(_monitor_lint(service, update, update_path, locate))
    findings.extend(_single_replica_lint(service, raw, locate))
    for key, config in (("update_config", update), ("rollback_config", deploy.rollback_config)):
        if config is not None:
            findings.extend(_ratio_lint(config, (*base, "deploy", key), locate))
    return findings


def _monitor_lint(
    service: Service, update: UpdateConfig, path: tuple[str | int, ...], locate: Locate
) -> list[Finding]:
    health = service.healthcheck
    if health is None:
        return []
    monitor = update.monitor
    if monitor is None:
        if update.failure_action not in ("rollback", "pause"):
            return []
        monitor = DEFAULT_MONITOR_NS
    interval = health.interval or DEFAULT_INTERVAL_NS
    retries = DEFAULT_RETRIES if health.retries is None else health.retries
    needed = (health.start_period or 0) + interval * retries
    if monitor >= needed:
        return []
    written = "" if update.monitor is not None else " (Swarm's default)"
    return [
        _warn(
            locate,
            (*path, "monitor") if update.monitor is not None else path,
            LINT_MONITOR_TOO_SHORT,
            f"monitor {format_duration(monitor)}{written} is shorter than the health check can "
            f"take to fail ({format_duration(needed)} = start_period + interval x retries)",
            f"set monitor to at least {format_duration(needed)}",
        )
    ]


def _single_replica_lint(service: Service, raw: Mapping[str, Any], locate: Locate) -> list[Finding]:
    deploy = service.deploy
    if deploy.mode is not ServiceMode.REPLICATED or deploy.replicas != 1:
        return []
    order = deploy.update_config.order if deploy.update_config else None
    if (order or DEFAULT_ORDER) != "stop-first":
        return []
    written = "order: stop-first" if order else "the default update order (stop-first)"
    return [
        _warn(
            locate,
            ("services", service.name, "deploy", "replicas"),
            LINT_SINGLE_REPLICA_STOP_FIRST,
            f"replicas: 1 with {written} means an outage on every update",
            "set deploy.update_config.order: start-first, or more replicas; for a stateful "
            "singleton that must not run twice, silence this with x-stackctl: {ignore: [SC104]}",
        )
    ]


def _ratio_lint(config: UpdateConfig, path: tuple[str | int, ...], locate: Locate) -> list[Finding]:
    ratio = config.max_failure_ratio
    if ratio is None or ratio == 0:
        return []
    if ratio >= 1:
        message = f"max_failure_ratio {ratio} can never be exceeded, so failures never trigger"
        hint = "use a fraction below 1, e.g. 0.2"
    elif config.failure_action == "continue":
        message = f"max_failure_ratio {ratio} has no effect with failure_action: continue"
        hint = "use failure_action: rollback or pause, or remove max_failure_ratio"
    else:
        return []
    return [_warn(locate, (*path, "max_failure_ratio"), LINT_USELESS_FAILURE_RATIO, message, hint)]
