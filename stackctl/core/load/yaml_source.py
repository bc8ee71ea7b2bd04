"""One stack file's text -> plain data plus a source location for every node.

The document is built in a single pass over PyYAML's event stream (libyaml's
C parser when available), without PyYAML's recursive composer, so nesting depth,
node counts and alias expansion can be bounded before they cost memory or
stack. Scalars are resolved like Docker's Go yaml.v3 (see ``yaml_scalars``).

Paths are tuples of mapping keys (str) and sequence indexes (int); ``()`` is the
document root. Each path maps to the position of its key (mapping entries) or
its item (sequence entries), 1-based.

Every problem becomes a located ``Finding``; ``parse_document`` raises
``StackFileError`` when any of them is an error.
"""

from __future__ import annotations

import base64
import binascii
import copy
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml import events as ev

from stackctl.core.load.doc_paths import Path, dotted
from stackctl.core.load.locations import Locations
from stackctl.core.load.yaml_scalars import resolve_plain
from stackctl.core.load.yaml_text import error, yaml_error
from stackctl.errors import Finding, Location, Severity, StackFileError

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Larger files are refused before they are read (a stack file is kilobytes)."""
MAX_DEPTH = 64
"""Deepest nesting accepted; real stack files stay under 10."""
MAX_NODES = 2_000_000
"""Values in one document, aliases expanded."""
MAX_ALIAS_NODES = 100_000
"""Values added by expanding aliases (stops "billion laughs" documents)."""

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_CORE_TAG = "tag:yaml.org,2002:"
_TYPED_TAGS = {"int", "float", "bool", "null"}


@dataclass
class SourceDocument:
    """One parsed file: plain data, where each node came from, and warnings."""

    file: str
    data: dict[str, Any]
    locations: Locations
    warnings: list[Finding] = field(default_factory=list)


class _Fatal(Exception):
    """Stops parsing at the first problem that leaves no usable document."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


@dataclass(slots=True)
class _Frame:
    """An open mapping or sequence while events stream in."""

    value: dict[str, Any] | list[Any]
    path: Path
    anchor: str | None
    start_nodes: int
    key: str | None = None  # mapping: the key waiting for its value
    key_is_merge: bool = False
    key_lines: dict[str, int] = field(default_factory=dict)
    merges: list[tuple[Any, list[tuple[Path, Location]]]] = field(default_factory=list)


@dataclass
class _Anchor:
    value: Any
    nodes: int
    depth: int
    locations: list[tuple[Path, Location]]


class _Builder:
    """Turns the event stream into data + locations, enforcing every limit."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.locations = Locations(file)
        self.warnings: list[Finding] = []
        self.anchors: dict[str, _Anchor] = {}
        # Inside a merge (<<) value nodes are only recorded for relocation.
        self.merge_depth = 0
        self.stack: list[_Frame] = []
        # Open recorders collect (path, location) for anchors and merge sources.
        self.recorders: list[tuple[Path, list[tuple[Path, Location]]]] = []
        self.nodes = 0
        self.alias_nodes = 0
        self.root: Any = None

    # -- helpers -------------------------------------------------------------
    def loc(self, mark: Any) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)

    def fail(self, message: str, mark: Any, path: Path = (), hint: str | None = None) -> _Fatal:
        loc = self.loc(mark)
        return _Fatal(error(message, self.file, loc.line, loc.column, path=dotted(path), hint=hint))

    def record(self, path: Path, location: Location) -> None:
        if not self.merge_depth:
            self.locations.positions[path] = location
        if self.recorders:
            for prefix, entries in self.recorders:
                entries.append((path[len(prefix) :], location))

    def count(self, n: int, mark: Any, path: Path, *, alias: bool = False) -> None:
        self.nodes += n
        if alias:
            self.alias_nodes += n
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise self.fail(
                    f"aliases expand to more than {MAX_ALIAS_NODES:,} values; refusing to "
                    "expand this document (an alias bomb?)",
                    mark,
                    path,
                )
        if self.nodes > MAX_NODES:
            raise self.fail(f"document has more than {MAX_NODES:,} values; refusing it", mark, path)

    # -- positions -----------------------------------------------------------
    def next_path(self, mark: Any) -> Path | None:
        """The path of the node starting now; None when it is a mapping key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        if top.key is None:
            return None
        return (*top.path, top.key)

    def store(self, value: Any) -> None:
        """Attach a finished value to its parent (or make it the root)."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
            return
        assert top.key is not None
        if top.key_is_merge:
            top.merges.append((value, self.recorders.pop()[1]))
            self.merge_depth -= 1
        else:
            top.value[top.key] = value
        top.key = None
        top.key_is_merge = False

    # -- events --------------------------------------------------------------
    def on_key(self, event: Any) -> None:
        top = self.stack[-1]
        if not isinstance(event, ev.ScalarEvent):
            raise self.fail(
                "a mapping key must be a plain string, not a "
                + ("alias" if isinstance(event, ev.AliasEvent) else "mapping or list"),
                event.start_mark,
                top.path,
            )
        mark: Any = event.start_mark
        plain = event.style in ("", None) and event.tag is None
        if plain and event.value == "<<":
            if "<<" in top.key_lines:
                raise self.fail(
                    "more than one merge key (<<) in one mapping", event.start_mark, top.path
                )
            top.key_lines["<<"] = mark.line + 1
            top.key, top.key_is_merge = "<<", True
            self.recorders.append(((*top.path, "<<"), []))
            self.merge_depth += 1
            return
        key = self.scalar_value(event, top.path) if plain or event.tag else event.value
        if not isinstance(key, str):
            raise self.fail(
                f"mapping key {event.value!r} is not a string (YAML reads it as {_type_name(key)})",
                event.start_mark,
                top.path,
                hint=f'quote it: "{event.value}"',
            )
        if key in top.key_lines:
            raise self.fail(
                f"duplicate key {key!r} (first defined at line {top.key_lines[key]})",
                event.start_mark,
                (*top.path, key),
                hint="each key may appear only once in a mapping; remove or merge one of them",
            )
        top.key_lines[key] = mark.line + 1
        top.key = key
        self.record((*top.path, key), self.loc(event.start_mark))

    def scalar_value(self, event: Any, path: Path) -> Any:
        text: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            return resolve_plain(text) if event.style in ("", None) and tag is None else text
        if tag.startswith(_CORE_TAG):
            kind = tag[len(_CORE_TAG) :]
            if kind in ("str", "timestamp"):
                return text
            if kind == "binary":
                try:
                    return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    raise self.fail(
                        "!!binary value is not base64-encoded UTF-8 text", event.start_mark, path
                    ) from None
            if kind in _TYPED_TAGS:
                value = resolve_plain(text)
                expected: dict[str, type | tuple[type, ...]] = {
                    "int": int,
                    "float": (int, float),
                    "bool": bool,
                    "null": type(None),
                }
                if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
                    return float(value)
                if isinstance(value, expected[kind]) and (
                    kind == "bool" or not isinstance(value, bool)
                ):
                    return value
                raise self.fail(f"{text!r} is not a valid !!{kind}", event.start_mark, path)
            raise self.fail(f"unsupported YAML tag !!{kind} on a scalar", event.start_mark, path)
        self.warnings.append(
            Finding(
                severity=Severity.WARNING,
                code="SC002",
                message=f"YAML tag {tag} is ignored (docker stack deploy ignores it too)",
                location=self.loc(event.start_mark),
                path=dotted(path),
                hint="Compose merge tags such as !reset and !override are not supported",
            )
        )
        return resolve_plain(text) if event.style in ("", None) else text

    def begin_anchor(self, anchor: str | None, path: Path) -> None:
        if anchor is not None:
            self.recorders.append((path, []))

    def end_anchor(self, anchor: str | None, value: Any, start_nodes: int, path: Path) -> None:
        if anchor is None:
            return
        # The anchor's recorder is the newest one opened at this path.
        for index in range(len(self.recorders) - 1, -1, -1):
            if self.recorders[index][0] == path:
                entries = self.recorders.pop(index)[1]
                break
        else:  # pragma: no cover - begin_anchor always opened one
            entries = []
        depth = max((len(p) for p, _ in entries), default=0)
        self.anchors[anchor] = _Anchor(value, self.nodes - start_nodes, depth, entries)

    def on_node(self, event: Any) -> None:
        path = self.next_path(event.start_mark)
        if path is None:
            self.on_key(event)
            return
        if not self.stack or isinstance(self.stack[-1].value, list):
            self.record(path, self.loc(event.start_mark))
        if isinstance(event, ev.AliasEvent):
            self.on_alias(event, path)
            return
        anchor = event.anchor
        if isinstance(event, ev.ScalarEvent):
            self.count(1, event.start_mark, path)
            if anchor is None:  # the common case, without the anchor bookkeeping calls
                self.store(self.scalar_value(event, path))
                return
            self.begin_anchor(anchor, path)
            value = self.scalar_value(event, path)
            self.end_anchor(anchor, value, self.nodes - 1, path)
            self.store(value)
            return
        if len(path) >= MAX_DEPTH:
            raise self.fail(
                f"nesting is deeper than {MAX_DEPTH} levels; refusing this document",
                event.start_mark,
                path[:8],
            )
        if event.tag is not None and not event.tag.startswith(_CORE_TAG) and event.tag != "!":
            self.warnings.append(
                Finding(
                    severity=Severity.WARNING,
                    code="SC002",
                    message=f"YAML tag {event.tag} is ignored (docker stack deploy ignores it too)",
                    location=self.loc(event.start_mark),
                    path=dotted(path),
                    hint="Compose merge tags such as !reset and !override are not supported",
                )
            )
        self.count(1, event.start_mark, path)
        self.begin_anchor(anchor, path)
        container: dict[str, Any] | list[Any] = (
            {} if isinstance(event, ev.MappingStartEvent) else []
        )
        self.stack.append(_Frame(container, path, anchor, self.nodes - 1))

    def on_alias(self, event: Any, path: Path) -> None:
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise self.fail(
                f"alias *{event.anchor} refers to an anchor that is not defined before it",
                event.start_mark,
                path,
                hint=f"define &{event.anchor} earlier in the file",
            )
        self.count(anchor.nodes, event.start_mark, path, alias=True)
        if len(path) + anchor.depth > 2 * MAX_DEPTH:
            raise self.fail(
                "aliases nest too deeply; refusing this document", event.start_mark, path[:8]
            )
        for rel, location in anchor.locations:
            if rel:
                self.record((*path, *rel), location)
        value = anchor.value
        self.store(copy.deepcopy(value) if isinstance(value, (dict, list)) else value)

    def on_end(self, event: Any) -> None:
        frame = self.stack.pop()
        value = frame.value
        if isinstance(value, dict) and frame.merges:
            self.apply_merges(frame, event)
        self.end_anchor(frame.anchor, value, frame.start_nodes, frame.path)
        self.store(value)

    def apply_merges(self, frame: _Frame, event: Any) -> None:
        """``<<`` keys: explicit keys win; among merged mappings the first wins."""
        target = frame.value
        assert isinstance(target, dict)
        for merged, entries in frame.merges:
            sources: list[tuple[Path, dict[str, Any]]]
            if isinstance(merged, dict):
                sources = [((), merged)]
            elif isinstance(merged, list) and all(isinstance(m, dict) for m in merged):
                sources = [((i,), m) for i, m in enumerate(merged)]
            else:
                line = frame.key_lines.get("<<", event.start_mark.line + 1)
                raise _Fatal(
                    error(
                        "a merge key (<<) needs a mapping or a list of mappings",
                        self.file,
                        line,
                        None,
                        path=dotted(frame.path),
                    )
                )
            by_prefix: dict[Path, list[tuple[Path, Location]]] = {}
            for rel, location in entries:
                n = 1 if sources[0][0] else 0
                by_prefix.setdefault(rel[: n + 1], []).append((rel[n + 1 :], location))
            for prefix, source in sources:
                for key, value in source.items():
                    if key in target:
                        continue
                    target[key] = value
                    for rel, location in by_prefix.get((*prefix, key), []):
                        self.record((*frame.path, key, *rel), location)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    return type(value).__name__


def parse_document(text: str, file: str) -> SourceDocument:
    """Parse one file's text; raise StackFileError with located findings on any error."""
    if len(text) > MAX_FILE_BYTES:
        raise StackFileError(
            [error(f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; refusing it", file)]
        )
    builder = _Builder(file)
    loader = _Loader(text)
    try:
        _run(loader, builder, file)
    except _Fatal as fatal:
        raise StackFileError([fatal.finding]) from None
    except yaml.MarkedYAMLError as exc:
        raise StackFileError([yaml_error(exc, file, text)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise StackFileError(
            [
                error(
                    f"file contains the control character #x{exc.character:04x}, which YAML "
                    "does not allow",
                    file,
                    line,
                    column,
                    hint="remove it, or write it as an escape inside a double-quoted string",
                )
            ]
        ) from None
    except yaml.YAMLError as exc:  # anything else libyaml reports without a position
        raise StackFileError([error(f"invalid YAML: {exc}", file)]) from None
    finally:
        loader.dispose()
    root = builder.root
    if root is None:
        raise StackFileError(
            [
                error(
                    "file is empty: its YAML document holds nothing",
                    file,
                    1,
                    1,
                    hint="a stack file needs at least a services: mapping",
                )
            ]
        )
    if not isinstance(root, dict):
        where = builder.locations.get((), Location(file, 1, 1))
        kind = "a list" if isinstance(root, list) else f"the scalar {root!r}"
        raise StackFileError(
            [
                error(
                    f"the top level of a stack file must be a mapping (services:, networks:, "
                    f"...), but this file holds {kind}",
                    file,
                    where.line,
                    where.column,
                )
            ]
        )
    return SourceDocument(file, root, builder.locations, builder.warnings)


_MISSING = object()


def _run(loader: Any, builder: _Builder, file: str) -> None:
    documents = 0
    # Dispatch on the exact event class: this loop runs once per YAML node.
    handlers = {
        ev.ScalarEvent: builder.on_node,
        ev.AliasEvent: builder.on_node,
        ev.MappingStartEvent: builder.on_node,
        ev.SequenceStartEvent: builder.on_node,
        ev.MappingEndEvent: builder.on_end,
        ev.SequenceEndEvent: builder.on_end,
    }
    # The loop below inlines what the builder's methods do for the common events
    # (no anchor, no tag, no open anchor or merge recorder, nothing to report), with
    # the same effects; every other event goes to the builder's general methods.
    # A plain scalar's resolved value depends only on its text: resolve each text once.
    resolved: dict[str, Any] = {}
    get_event = loader.get_event
    stack = builder.stack
    recorders = builder.recorders
    positions = builder.locations.positions
    scalar_event = ev.ScalarEvent
    mapping_start = ev.MappingStartEvent
    sequence_start = ev.SequenceStartEvent
    mapping_end = ev.MappingEndEvent
    sequence_end = ev.SequenceEndEvent
    frame_type = _Frame
    nodes = builder.nodes
    # The open container (None before the root): kept in locals, refreshed on change.
    top: _Frame | None = None
    parent: Any = None
    in_list = False
    while True:
        event = get_event()
        kind = type(event)
        if top is not None and not recorders:
            if kind is scalar_event and event.anchor is None and event.tag is None:
                text = event.value
                plain = not event.style
                if plain:
                    value = resolved.get(text, _MISSING)
                    if value is _MISSING:
                        value = resolved[text] = resolve_plain(text)
                else:
                    value = text
                if in_list:
                    mark = event.start_mark
                    positions[(*top.path, len(parent))] = mark.line << 32 | mark.column
                    nodes += 1
                    if nodes > MAX_NODES:
                        builder.nodes = nodes
                        builder.count(0, event.start_mark, (*top.path, len(parent)))
                    parent.append(value)
                    continue
                key = top.key
                if key is not None:  # a mapping's value
                    nodes += 1
                    if nodes > MAX_NODES:
                        builder.nodes = nodes
                        builder.count(0, event.start_mark, (*top.path, key))
                    parent[key] = value
                    top.key = None
                    continue
                # a mapping's key; merge keys, odd and duplicate keys go the long way
                key_lines = top.key_lines
                if type(value) is str and value not in key_lines and not (plain and text == "<<"):
                    mark = event.start_mark
                    key_lines[value] = mark.line + 1
                    top.key = value
                    positions[(*top.path, value)] = mark.line << 32 | mark.column
                    continue
            elif (
                (kind is mapping_start or kind is sequence_start)
                and event.anchor is None
                and event.tag is None
                and len(top.path) + 1 < MAX_DEPTH
                and (in_list or top.key is not None)
            ):
                if in_list:
                    path: Path = (*top.path, len(parent))
                    mark = event.start_mark
                    positions[path] = mark.line << 32 | mark.column
                else:
                    path = (*top.path, top.key)  # type: ignore[arg-type]
                nodes += 1
                if nodes > MAX_NODES:
                    builder.nodes = nodes
                    builder.count(0, event.start_mark, path)
                in_list = kind is sequence_start
                parent = [] if in_list else {}
                top = frame_type(parent, path, None, nodes - 1)
                stack.append(top)
                continue
            elif (
                (kind is mapping_end or kind is sequence_end)
                and not top.merges
                and top.anchor is None
                and len(stack) > 1
            ):
                stack.pop()
                value = parent
                top = stack[-1]
                parent = top.value
                if type(parent) is list:
                    in_list = True
                    parent.append(value)
                else:
                    in_list = False
                    parent[top.key] = value
                    top.key = None
                continue
        handler = handlers.get(kind)
        if handler is not None:
            builder.nodes = nodes
            handler(event)
            nodes = builder.nodes
            top = stack[-1] if stack else None
            parent = top.value if top is not None else None
            in_list = type(parent) is list
            continue
        if isinstance(event, ev.StreamEndEvent):
            break
        if isinstance(event, ev.DocumentStartEvent):
            documents += 1
            if documents > 1:
                builder.warnings.append(
                    Finding(
                        severity=Severity.WARNING,
                        code="SC003",
                        message="only the first YAML document is used; the documents after "
                        "'---' are ignored (as docker stack deploy does)",
                        location=builder.loc(event.start_mark),
                    )
                )
                return
    if documents == 0:
        raise _Fatal(
            error(
                "file is empty: it holds no YAML document",
                file,
                1,
                1,
                hint="a stack file needs at least a services: mapping",
            )
        )
