"""Per-file preparation before merging: relative paths and service environments.

A path in a stack file is relative to the folder of the file that names it, so
paths are made absolute before documents are merged (a later file in another
folder must not change what an earlier file meant). Service environments are
resolved per file too, like ``docker stack deploy`` does: ``env_file`` entries
first, then ``environment`` (which wins), and bare names (``- FOO``) take their
value from the variables.

Pure: reading an env file goes through the ``read_text`` callable, which returns
the file's text or raises OSError.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from stackctl.core.load.age_files import AgeFileError
from stackctl.core.load.age_format import is_age_path
from stackctl.core.load.doc_paths import Path, dotted
from stackctl.core.load.envfile import parse_service_env_file
from stackctl.core.load.sensitive_env import SensitiveEnv
from stackctl.errors import Finding, Location, Severity

CODE_MISSING_FILE = "SC031"
CODE_AGE = "SC032"

ReadText = Callable[[str], str]


def absolute(base_dir: str, value: str, home: str | None) -> str:
    """``~`` -> home, then relative -> under ``base_dir``; normalised."""
    if home and (value == "~" or value.startswith("~/")):
        value = home + value[1:]
    if value.startswith("/"):
        return posixpath.normpath(value)
    return posixpath.normpath(posixpath.join(base_dir, value))


def _short_volume(spec: str, base_dir: str, home: str | None) -> str:
    source, sep, rest = spec.partition(":")
    if not sep or not rest or not source.startswith((".", "~")):
        return spec
    return absolute(base_dir, source, home) + ":" + rest


def resolve_paths(data: dict[str, Any], base_dir: str, home: str | None) -> None:
    """Make the host paths of one document absolute, in place."""
    for section in ("configs", "secrets"):
        objects = data.get(section)
        if not isinstance(objects, dict):
            continue
        for spec in objects.values():
            if isinstance(spec, dict) and isinstance(spec.get("file"), str):
                spec["file"] = absolute(base_dir, spec["file"], home)
    services = data.get("services")
    if not isinstance(services, dict):
        return
    for service in services.values():
        if not isinstance(service, dict):
            continue
        env_file = service.get("env_file")
        if isinstance(env_file, str):
            service["env_file"] = absolute(base_dir, env_file, home)
        elif isinstance(env_file, list):
            service["env_file"] = [
                absolute(base_dir, f, home) if isinstance(f, str) else f for f in env_file
            ]
        volumes = service.get("volumes")
        if not isinstance(volumes, list):
            continue
        for index, volume in enumerate(volumes):
            if isinstance(volume, str):
                volumes[index] = _short_volume(volume, base_dir, home)
            elif isinstance(volume, dict) and isinstance(volume.get("source"), str):
                source = volume["source"]
                if volume.get("type") == "bind" and source:
                    volume["source"] = absolute(base_dir, source, home)


def _environment_entries(value: Any) -> list[tuple[str, Any, int | str]] | None:
    """(name, value, key-in-document) for each entry; None when the form is invalid."""
    if isinstance(value, dict):
        return [(str(k), v, k) for k, v in value.items()]
    if isinstance(value, list) and all(isinstance(i, str) for i in value):
        entries: list[tuple[str, Any, int | str]] = []
        for index, item in enumerate(value):
            name, eq, rest = item.partition("=")
            entries.append((name, rest if eq else None, index))
        return entries
    if value is None:
        return []
    return None


def resolve_environments(
    data: dict[str, Any],
    locations: MutableMapping[Path, Location],
    variables: Mapping[str, str],
    read_text: ReadText,
    display: Callable[[str], str] = str,
    sensitive: SensitiveEnv | None = None,
) -> list[Finding]:
    """Fold ``env_file`` into ``environment`` (a mapping) for each service, in place.

    Locations of environment entries move to their variable name; values from an
    env file are located in that file. Services whose ``environment`` or
    ``env_file`` has the wrong shape are left for validation to report.
    ``display`` turns an absolute path into the name used in messages.
    ``sensitive`` collects the names whose value came from an encrypted file.
    """
    sensitive = sensitive if sensitive is not None else SensitiveEnv()
    findings: list[Finding] = []
    services = data.get("services")
    if not isinstance(services, dict):
        return findings
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        base: Path = ("services", name)
        env_files = service.get("env_file")
        files = [env_files] if isinstance(env_files, str) else env_files
        entries = _environment_entries(service.get("environment"))
        if entries is None or not (files is None or isinstance(files, list)):
            continue
        if files is None and "environment" not in service:
            continue
        result: dict[str, Any] = {}
        new_locations: dict[Path, Location] = {}
        for index, file in enumerate(files or []):
            if not isinstance(file, str):
                continue
            where = (
                (*base, "env_file") if isinstance(env_files, str) else (*base, "env_file", index)
            )
            try:
                text = read_text(file)
            except AgeFileError as exc:
                findings.append(
                    Finding(
                        Severity.ERROR,
                        f"env file {exc.message}",
                        CODE_AGE,
                        _nearest(locations, where),
                        dotted(where),
                        exc.hint,
                    )
                )
                continue
            except OSError as exc:
                reason = (
                    "does not exist"
                    if isinstance(exc, FileNotFoundError)
                    else f"cannot be read: {exc.strerror or exc}"
                )
                findings.append(
                    Finding(
                        Severity.ERROR,
                        f"env file {display(file)} {reason}",
                        CODE_MISSING_FILE,
                        _nearest(locations, where),
                        dotted(where),
                        "env_file paths are relative to the stack file that names them",
                    )
                )
                continue
            parsed, problems = parse_service_env_file(text, display(file), variables)
            findings.extend(scrub_findings(problems) if is_age_path(file) else problems)
            for entry in parsed:
                # A bare NAME line takes its value from the variables (maybe a secret one).
                bare = entry.name in sensitive.variables and entry.value == variables[entry.name]
                taken = _update(result, entry.name, entry.value, variables, sensitive.variables)
                if is_age_path(file) or taken or bare:
                    sensitive.mark(name, entry.name)
                new_locations[(*base, "environment", entry.name)] = Location(
                    display(file), entry.line, 1
                )
        env_path: Path = (*base, "environment")
        for var, value, key in entries:
            if _update(result, var, value, variables, sensitive.variables) or (
                (*env_path, key) in sensitive.interpolated
            ):
                sensitive.mark(name, var)
            found = locations.pop((*env_path, key), None)
            if found is not None:
                new_locations[(*env_path, var)] = found
        service["environment"] = result
        if env_path not in locations and files:
            locations[env_path] = _nearest(locations, (*base, "env_file"))
        locations.update(new_locations)
    return findings


def scrub_findings(findings: list[Finding]) -> list[Finding]:
    """Findings in a decrypted file, without the quoted line (it may be a secret)."""
    return [
        Finding(
            f.severity,
            "malformed line (not shown: the file is encrypted)",
            f.code,
            f.location,
            f.path,
            f.hint,
        )
        for f in findings
    ]


def _update(
    result: dict[str, Any],
    name: str,
    value: Any,
    variables: Mapping[str, str],
    sensitive: frozenset[str],
) -> bool:
    """docker's rule: an empty or missing value is taken from the variables when set there.

    Returns whether the value taken is one of the ``sensitive`` variables.
    """
    if (value is None or value == "") and name in variables:
        result[name] = variables[name]
        return name in sensitive
    result[name] = value
    return False


def _nearest(locations: Mapping[Path, Location], path: Path) -> Location:
    for end in range(len(path), -1, -1):
        found = locations.get(path[:end])
        if found is not None:
            return found
    return Location()
