"""Merge several stack documents (``-c base.yml -c prod.yml``) with override rules.

Rules (Compose Specification "merge", with docker stack deploy's choices where
the two differ in what reaches Swarm; see docs/stack-files.md):

- mappings merge recursively; a later scalar replaces an earlier one;
- a later ``null`` never erases an earlier value (an empty ``environment:``
  in an override file changes nothing);
- ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced whole;
- ``ports`` merge by (host_ip, published, target, protocol), ``volumes`` by
  target, ``secrets``/``configs`` by source: a later entry with the same identity
  replaces the earlier one, new entries are appended;
- ``environment``, ``labels``, ``deploy.labels``, ``sysctls``, ``annotations``
  merge by key; the list form (``- KEY=VALUE``) and the mapping form are both
  accepted and mixed forms merge to a mapping;
- service ``networks`` merge by network name (list and mapping forms);
  a later ``aliases`` list replaces the earlier one;
- ``logging`` with a different driver replaces; with the same driver its
  options merge; each ``ulimits`` entry is replaced whole;
- every other list (``dns``, ``cap_add``, ``extra_hosts``, placement
  ``constraints``, ...) is the earlier list followed by the later entries it
  does not already contain.

Every value keeps the location of the file it came from.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from stackctl.core.load.doc_paths import Path
from stackctl.core.load.locations import copy_locations
from stackctl.errors import Location


@dataclass
class LocatedDocument:
    """Plain data and the source location of each of its paths."""

    data: dict[str, Any]
    locations: MutableMapping[Path, Location]


def _walk_paths(value: Any, path: Path) -> list[Path]:
    """Every path inside ``value`` (including ``path`` itself)."""
    paths = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(_walk_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.extend(_walk_paths(item, (*path, index)))
    return paths


class _Merger:
    def __init__(self, base: LocatedDocument, over: LocatedDocument) -> None:
        self.base_locs = base.locations
        self.over_locs = over.locations
        self.out_locs = copy_locations(base.locations)

    # -- locations -----------------------------------------------------------
    def drop(self, value: Any, path: Path) -> None:
        for sub in _walk_paths(value, path):
            self.out_locs.pop(sub, None)

    def take(self, value: Any, src: Path, dst: Path, *, from_base: bool = False) -> None:
        """Copy the locations of ``value`` (found at ``src``) to ``dst`` in the output."""
        locs = self.base_locs if from_base else self.over_locs
        cut = len(src)
        for sub in _walk_paths(value, src):
            found = locs.get(sub)
            if found is not None:
                self.out_locs[(*dst, *sub[cut:])] = found

    def replace(self, base: Any, over: Any, path: Path) -> Any:
        self.drop(base, path)
        self.take(over, path, path)
        return over

    # -- values --------------------------------------------------------------
    def value(self, base: Any, over: Any, path: Path) -> Any:
        if over is None:
            return base
        if base is None:
            return self.replace(base, over, path)
        rule = _rule_for(path)
        if rule is not None:
            return rule(self, base, over, path)
        if isinstance(base, dict) and isinstance(over, dict):
            return self.mapping(base, over, path)
        if isinstance(base, list) or isinstance(over, list):
            return self.unique_list(base, over, path)
        return self.replace(base, over, path)

    def mapping(self, base: dict[str, Any], over: dict[str, Any], path: Path) -> dict[str, Any]:
        result = dict(base)
        for key, item in over.items():
            if key in result:
                result[key] = self.value(result[key], item, (*path, key))
            else:
                result[key] = item
                self.take(item, (*path, key), (*path, key))
        if path not in self.out_locs and path in self.over_locs:
            self.out_locs[path] = self.over_locs[path]
        return result

    def unique_list(self, base: Any, over: Any, path: Path) -> Any:
        if not isinstance(base, list) or not isinstance(over, list):
            if isinstance(base, (str, list)) and isinstance(over, (str, list)):
                base = base if isinstance(base, list) else [base]
                over = over if isinstance(over, list) else [over]
            else:
                return self.replace(base, over, path)
        return self.keyed_list(base, over, path, lambda item: _freeze(item))

    def keyed_list(
        self, base: list[Any], over: list[Any], path: Path, identity: Callable[[Any], Any]
    ) -> list[Any]:
        """Entries of ``over`` replace entries of ``base`` with the same identity."""
        result = list(base)
        index_of: dict[Any, int] = {}
        for index, item in enumerate(result):
            index_of.setdefault(identity(item), index)
        for src_index, item in enumerate(over):
            key = identity(item)
            if key in index_of:
                dst_index = index_of[key]
                self.drop(result[dst_index], (*path, dst_index))
                result[dst_index] = item
            else:
                dst_index = len(result)
                index_of[key] = dst_index
                result.append(item)
            self.take(item, (*path, src_index), (*path, dst_index))
        return result

    def by_key(self, base: Any, over: Any, path: Path) -> Any:
        """environment / labels: list or mapping forms, merged by name."""
        base_map = self.as_mapping(base, path, from_base=True)
        over_map = self.as_mapping(over, path, from_base=False)
        if base_map is None or over_map is None:
            return self.unique_list(base, over, path)
        result = dict(base_map)
        for key, item in over_map.items():
            if item is None and result.get(key) is not None:
                continue
            self.out_locs.pop((*path, key), None)
            result[key] = item
            loc = self.over_locs.get((*path, key))
            if isinstance(over, list):
                loc = self.over_locs.get((*path, _list_index(over, key)))
            if loc is not None:
                self.out_locs[(*path, key)] = loc
        return result

    def as_mapping(self, value: Any, path: Path, *, from_base: bool) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            return None
        mapping: dict[str, Any] = {}
        locs = self.base_locs if from_base else self.over_locs
        for index, item in enumerate(value):
            name, eq, rest = item.partition("=")
            mapping[name] = rest if eq else None
            if from_base:
                self.out_locs.pop((*path, index), None)
                if (*path, index) in locs:
                    self.out_locs[(*path, name)] = locs[(*path, index)]
        return mapping

    def networks(self, base: Any, over: Any, path: Path) -> Any:
        if isinstance(base, list) and isinstance(over, list):
            return self.unique_list(base, over, path)
        base_map = _network_mapping(base)
        over_map = _network_mapping(over)
        if base_map is None or over_map is None:
            return self.replace(base, over, path)
        if isinstance(base, list):
            self.drop(base, path)
            for index, name in enumerate(base):
                if (*path, index) in self.base_locs:
                    self.out_locs[(*path, name)] = self.base_locs[(*path, index)]
        result = dict(base_map)
        for index, (name, settings) in enumerate(over_map.items()):
            src = (*path, index) if isinstance(over, list) else (*path, name)
            old = result.get(name)
            if isinstance(old, dict) and isinstance(settings, dict):
                merged = dict(old)
                for key, item in settings.items():
                    sub = (*path, name, key)
                    if key in merged and key != "aliases":
                        merged[key] = self.value(merged[key], item, sub)
                    elif item is not None:
                        self.drop(merged.get(key), sub)
                        merged[key] = item
                        self.take(item, sub, sub)
                result[name] = merged
            elif settings is not None or name not in result:
                self.drop(old, (*path, name))
                result[name] = settings
                self.take(settings, src, (*path, name))
        return result

    def logging(self, base: Any, over: Any, path: Path) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            old, new = base.get("driver"), over.get("driver")
            if old is not None and new is not None and old != new:
                return self.replace(base, over, path)
            return self.mapping(base, over, path)
        return self.replace(base, over, path)

    def ulimits(self, base: Any, over: Any, path: Path) -> Any:
        if not isinstance(base, dict) or not isinstance(over, dict):
            return self.replace(base, over, path)
        result = dict(base)
        for name, item in over.items():
            if item is None:
                continue
            result[name] = self.replace(result.get(name), item, (*path, name))
        return result


def _list_index(items: list[Any], name: str) -> int:
    """Index of the last ``NAME`` / ``NAME=...`` entry of a list (the one that wins)."""
    found = 0
    for index, item in enumerate(items):
        if isinstance(item, str) and item.partition("=")[0] == name:
            found = index
    return found


def _network_mapping(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(i, str) for i in value):
        return dict.fromkeys(value)
    return None


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a plain value (list/dict entries compared by content)."""
    if isinstance(value, dict):
        return ("{}", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("[]", tuple(_freeze(v) for v in value))
    return (type(value).__name__, value) if not isinstance(value, str) else value


def port_identity(item: Any) -> Any:
    """(host_ip, published, target, protocol) of a port entry, short or long syntax."""
    if isinstance(item, dict):
        return (
            str(item.get("host_ip") or ""),
            str(item.get("published") if item.get("published") is not None else ""),
            str(item.get("target")),
            str(item.get("protocol") or "tcp"),
        )
    if isinstance(item, (int, str)) and not isinstance(item, bool):
        spec, _, protocol = str(item).partition("/")
        host_ip = ""
        if spec.startswith("["):  # [::1]:8080:80
            end = spec.find("]")
            host_ip, spec = spec[1:end], spec[end + 2 :]
        parts = spec.rsplit(":", 2)
        target = parts[-1]
        published = parts[-2] if len(parts) >= 2 else ""
        if len(parts) == 3:
            host_ip = parts[0]
        return (host_ip, published, target, protocol or "tcp")
    return _freeze(item)


def volume_identity(item: Any) -> Any:
    """The container path of a volume entry, short or long syntax."""
    if isinstance(item, dict):
        return ("target", str(item.get("target")))
    if isinstance(item, str):
        parts = item.split(":")
        if len(parts) == 1:
            return ("target", parts[0])
        # src:dst[:mode], with a Windows drive letter possibly in src.
        if len(parts[0]) == 1 and parts[0].isalpha() and len(parts) > 2:
            parts = [parts[0] + ":" + parts[1], *parts[2:]]
        return ("target", parts[1])
    return _freeze(item)


def source_identity(item: Any) -> Any:
    """The ``source`` of a secrets/configs entry, short or long syntax."""
    if isinstance(item, dict):
        return ("source", str(item.get("source")))
    if isinstance(item, str):
        return ("source", item)
    return _freeze(item)


def _keyed(identity: Callable[[Any], Any]) -> Callable[[_Merger, Any, Any, Path], Any]:
    def rule(merger: _Merger, base: Any, over: Any, path: Path) -> Any:
        if isinstance(base, list) and isinstance(over, list):
            return merger.keyed_list(base, over, path, identity)
        return merger.replace(base, over, path)

    return rule


_SERVICE_RULES: dict[str, Callable[[_Merger, Any, Any, Path], Any]] = {
    "command": _Merger.replace,
    "entrypoint": _Merger.replace,
    "ports": _keyed(port_identity),
    "volumes": _keyed(volume_identity),
    "secrets": _keyed(source_identity),
    "configs": _keyed(source_identity),
    "environment": _Merger.by_key,
    "labels": _Merger.by_key,
    "sysctls": _Merger.by_key,
    "annotations": _Merger.by_key,
    "networks": _Merger.networks,
    "logging": _Merger.logging,
    "ulimits": _Merger.ulimits,
}


def _rule_for(path: Path) -> Callable[[_Merger, Any, Any, Path], Any] | None:
    if len(path) < 3 or path[0] != "services":
        return None
    rest = path[2:]
    if len(rest) == 1 and isinstance(rest[0], str):
        return _SERVICE_RULES.get(rest[0])
    if rest == ("healthcheck", "test"):
        return _Merger.replace
    if rest == ("deploy", "labels"):
        return _Merger.by_key
    return None


def merge_documents(documents: Sequence[LocatedDocument]) -> LocatedDocument:
    """Merge documents in order (later files override earlier ones)."""
    if not documents:
        return LocatedDocument({}, {})
    merged = LocatedDocument(dict(documents[0].data), copy_locations(documents[0].locations))
    for over in documents[1:]:
        merger = _Merger(merged, over)
        data = merger.mapping(merged.data, over.data, ())
        merged = LocatedDocument(data, merger.out_locs)
    return merged
