"""Where a key of the merged stack files was written: file, line, column (pure).

The loader keeps the location of every path of every document, and merging
keeps, for each value, the location in the file that set it last. A plan names
its changes by compose paths (``stackctl.core.plan.compose_keys``) whose list
items are addressed by identity (``services.web.ports[8080/tcp]``,
``services.web.environment[DB_HOST]``) rather than by index, because the index
differs between files and forms; ``SourceMap.locate`` finds the item by
identity in the merged data, then asks the recorded locations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stackctl.core.load.doc_paths import Path
from stackctl.core.load.locations import copy_locations
from stackctl.errors import Location


@dataclass(frozen=True)
class SourceMap:
    """The merged document's shape and the location of each of its paths.

    Build it with ``SourceMap.of``: environment values are dropped (only names
    are needed to find an item), so no secret value is kept here.
    """

    data: Mapping[str, Any] = field(default_factory=dict)
    locations: Mapping[Path, Location] = field(default_factory=dict)

    @classmethod
    def of(cls, data: Mapping[str, Any], locations: Mapping[Path, Location]) -> SourceMap:
        return cls(_without_env_values(data), copy_locations(locations))

    def locate(self, parts: Sequence[str]) -> Location | None:
        """The location of the deepest part of ``parts`` the files contain, or None.

        None when not even the first part is in the files (a key only the
        engine writes, or a resource from another source).
        """
        found: Location | None = None
        node: Any = self.data
        path: Path = ()
        for part in parts:
            step = _step(node, part)
            if step is None:
                break
            key, node = step
            path = (*path, key)
            found = self.locations.get(path, found)
        return found


def _step(node: Any, part: str) -> tuple[str | int, Any] | None:
    """The key (or index) ``part`` addresses in ``node``, and the value there."""
    name = part[1:-1] if part.startswith("[") and part.endswith("]") else part
    if isinstance(node, Mapping):
        if name in node:
            return name, node[name]
        # Keys that are not strings in YAML (``nproc:`` is a string, ``1024:`` is not).
        for key, value in node.items():
            if str(key) == name:
                return key, value
        return None
    if isinstance(node, list):
        for index, item in enumerate(node):
            if _is_item(item, name):
                return index, item
    return None


def _is_item(item: Any, identity: str) -> bool:
    """Whether a list item is the one a compose path names by ``identity``.

    Identities are what the engine keys items by: a variable or label name
    (``A`` for ``A=1``), a port's ``target/protocol``, a mount's target, a
    config/secret's target file or source, a network's name, a plain value.
    """
    if isinstance(item, str):
        if item == identity or item.split("=", 1)[0] == identity:
            return True
        return (
            _short_port(item) == identity
            or _short_volume_target(item) == identity
            or ("/" in identity and identity.rsplit("/", 1)[-1] == item)
        )
    if isinstance(item, Mapping):
        target = item.get("target")
        if target is not None:
            protocol = item.get("protocol") or "tcp"
            if identity in (str(target), f"{target}/{protocol}"):
                return True
            if "/" in identity and str(target).rsplit("/", 1)[-1] == identity.rsplit("/", 1)[-1]:
                return True
        source = item.get("source")
        if source is not None and "/" in identity and identity.rsplit("/", 1)[-1] == str(source):
            return target is None
        return identity in (str(item.get("name")), str(source))
    return str(item) == identity


def _short_port(text: str) -> str | None:
    """``"8080:80/udp"`` -> ``80/udp``; ``"80"`` -> ``80/tcp``."""
    spec, _, protocol = text.partition("/")
    target = spec.rsplit(":", 1)[-1]
    if not target.split("-")[0].isdigit():
        return None
    return f"{target}/{protocol or 'tcp'}"


def _short_volume_target(text: str) -> str | None:
    """``"data:/data:ro"`` -> ``/data``; ``"/anonymous"`` -> ``/anonymous``."""
    parts = text.split(":")
    if len(parts) == 1:
        return parts[0]
    return parts[1]


def _without_env_values(data: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    services = out.get("services")
    if not isinstance(services, Mapping):
        return out
    shaped: dict[str, Any] = {}
    for name, service in services.items():
        if isinstance(service, Mapping) and "environment" in service:
            env = service["environment"]
            if isinstance(env, Mapping):
                env = dict.fromkeys(env)
            elif isinstance(env, list):
                env = [str(item).split("=", 1)[0] for item in env]
            service = {**service, "environment": env}
        shaped[name] = service
    out["services"] = shaped
    return out
