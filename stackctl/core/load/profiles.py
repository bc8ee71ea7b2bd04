"""Service profiles, with the Compose Specification's semantics (pure).

A service without ``profiles`` is always deployed; a service with ``profiles``
only when one of them is active (``--profile NAME``, repeatable; ``*`` activates
every profile). Other top-level elements (networks, volumes, configs, secrets)
are not affected. A service that stays may not depend on one a profile left out:
compose calls that model invalid, and so does stackctl (error SC224), unless the
dependency says ``required: false``, in which case it is dropped.

``docker stack deploy`` has no profiles: its schema refuses the key (measured
with Docker CLI 20.10: "services.a Additional property profiles is not allowed").
A file that uses profiles deployed with no ``--profile`` deploys only the
services without profiles; warning SC305 says which were left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from stackctl.core.load.doc_paths import Path
from stackctl.errors import Finding, Location, Severity

CODE_PROFILE_DEPENDENCY = "SC224"
CODE_PROFILES_INACTIVE = "SC305"
ALL_PROFILES = "*"


def _profiles_of(service: Any) -> list[str]:
    if not isinstance(service, Mapping):
        return []
    value = service.get("profiles")
    return [str(p) for p in value] if isinstance(value, list) else []


def select_profiles(
    data: dict[str, Any], active: Sequence[str], locate: Callable[[Path], Location]
) -> tuple[dict[str, Any], list[Finding]]:
    """``data`` with only the services the active profiles enable, and the findings."""
    services = data.get("services")
    if not isinstance(services, Mapping):
        return data, []
    wanted = set(active)
    left_out = {
        name: profiles
        for name, service in services.items()
        if (profiles := _profiles_of(service))
        and ALL_PROFILES not in wanted
        and not wanted.intersection(profiles)
    }
    if not left_out:
        return data, []
    findings: list[Finding] = []
    kept: dict[str, Any] = {}
    for name, service in services.items():
        if name in left_out:
            continue
        kept[name] = _without_dropped_dependencies(name, service, left_out, locate, findings)
    if not active:
        names = ", ".join(sorted(left_out))
        used = sorted({p for profiles in left_out.values() for p in profiles})
        first = sorted(left_out)[0]
        findings.append(
            Finding(
                Severity.WARNING,
                f"no --profile given: service(s) {names} have profiles and are not deployed",
                CODE_PROFILES_INACTIVE,
                locate(("services", first, "profiles")),
                f"services.{first}.profiles",
                "activate them with "
                + " ".join(f"--profile {p}" for p in used)
                + "; docker stack deploy has no profiles and refuses the key",
            )
        )
    return {**data, "services": kept}, findings


def _without_dropped_dependencies(
    name: str,
    service: Any,
    left_out: Mapping[str, list[str]],
    locate: Callable[[Path], Location],
    findings: list[Finding],
) -> Any:
    if not isinstance(service, Mapping):
        return service
    depends = service.get("depends_on")
    if isinstance(depends, list):
        entries: list[tuple[str, Any, Path]] = [
            (str(d), None, ("services", name, "depends_on", i)) for i, d in enumerate(depends)
        ]
    elif isinstance(depends, Mapping):
        entries = [
            (str(d), options, ("services", name, "depends_on", str(d)))
            for d, options in depends.items()
        ]
    else:
        return service
    dropped = set()
    for dependency, options, path in entries:
        if dependency not in left_out:
            continue
        if isinstance(options, Mapping) and options.get("required") is False:
            dropped.add(dependency)
            continue
        profiles = ", ".join(left_out[dependency])
        findings.append(
            Finding(
                Severity.ERROR,
                f"{name} depends on {dependency}, which no active profile enables "
                f"(its profiles: {profiles})",
                CODE_PROFILE_DEPENDENCY,
                locate(path),
                f"services.{name}.depends_on",
                f"activate one with --profile, or say `required: false` under "
                f"depends_on.{dependency}",
            )
        )
    if not dropped:
        return service
    if isinstance(depends, list):
        kept_deps: Any = [d for d in depends if str(d) not in dropped]
    else:
        kept_deps = {d: o for d, o in depends.items() if str(d) not in dropped}
    return {**service, "depends_on": kept_deps}
