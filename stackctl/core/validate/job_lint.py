"""Lints for jobs (``deploy.mode: replicated-job | global-job``), the release hooks.

- SC106: a job whose health check is not disabled. A job is a one-shot command; a
  health check written for the long-running app (the image's HEALTHCHECK, which
  stackctl cannot see offline, or the file's) probes something the command does
  not serve. Swarm then reports the job's task as ``starting`` while it runs
  (never ``running``) and, once the check turns unhealthy, stops it: seen on Engine
  20.10 with a 25s command on the demo web image, killed with exit 137 "unhealthy
  container", a migration cut off mid-way. Commands shorter than start_period +
  interval x retries finish first, which is why it goes unnoticed in testing. The
  fix is one line: ``healthcheck: {disable: true}``.
- SC107: a job with the ``vip`` endpoint mode (compose's default). ``docker stack
  deploy`` sends it as written (docker/cli's ``convert`` has no rule for jobs) and
  the engine accepts it: it allocates a virtual IP on every network the job joins
  and keeps it for as long as the service exists, completed or not, for a service
  nothing should connect to; published ports would hold a routing-mesh port the
  same way. stackctl warns instead of converting to ``dnsrr`` silently, so its
  specs stay those ``docker stack deploy`` writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackctl.core.model.model import Service, ServiceMode
from stackctl.errors import Finding, Location, Severity

Locate = Callable[[tuple[str | int, ...]], Location]

LINT_JOB_HEALTHCHECK = "SC106"
LINT_JOB_VIP = "SC107"

JOB_MODES = (ServiceMode.REPLICATED_JOB, ServiceMode.GLOBAL_JOB)


def lint_job(service: Service, raw: Mapping[str, Any], locate: Locate) -> list[Finding]:
    """SC106 and SC107 for one service (nothing unless it is a job)."""
    if service.deploy.mode not in JOB_MODES:
        return []
    base: tuple[str | int, ...] = ("services", service.name)
    deploy = raw.get("deploy") if isinstance(raw.get("deploy"), Mapping) else {}
    mode_path = (*base, "deploy", "mode")
    findings: list[Finding] = []
    health = service.healthcheck
    disabled = health is not None and (health.disable or (health.test or ("",))[0] == "NONE")
    if not disabled:
        if health is not None and health.test:
            where: tuple[str | int, ...] = (*base, "healthcheck")
            whose = "sets a healthcheck"
        else:
            where = mode_path
            whose = (
                "keeps its image's HEALTHCHECK, if the image has one "
                "(stackctl cannot see it offline)"
            )
        findings.append(
            warning_at(
                locate,
                where,
                LINT_JOB_HEALTHCHECK,
                f"job '{service.name}' {whose}: a one-shot command does not serve what "
                "an app's health check probes, so Swarm reports its task 'starting' while "
                "it runs and kills it (exit 137) once the check turns unhealthy",
                "add `healthcheck: {disable: true}` to the job",
            )
        )
    endpoint = service.deploy.endpoint_mode
    if (endpoint or "vip").lower() == "vip":
        written = isinstance(deploy, Mapping) and "endpoint_mode" in deploy
        ports = " and its published ports hold a routing-mesh port" if service.ports else ""
        findings.append(
            warning_at(
                locate,
                (*base, "deploy", "endpoint_mode") if written else mode_path,
                LINT_JOB_VIP,
                f"job '{service.name}' uses the vip endpoint mode"
                + ("" if written else " (compose's default)")
                + ": Swarm gives it a virtual IP on each of its networks for as long as "
                f"the service exists{ports}, though nothing should connect to a job",
                "add `endpoint_mode: dnsrr` under deploy (and publish no ports from a job)",
            )
        )
    return findings


def warning_at(
    locate: Locate, path: tuple[str | int, ...], code: str, message: str, hint: str
) -> Finding:
    """A lint warning located at ``path`` (the lints of ``lint.py`` use it too)."""
    return Finding(
        severity=Severity.WARNING,
        code=code,
        message=message,
        location=locate(path),
        path=".".join(str(p) for p in path),
        hint=hint,
    )
