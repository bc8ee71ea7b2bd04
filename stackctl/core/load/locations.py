"""The source location of every path of a parsed document, built when asked for.

Parsing records a position for every key and list item (tens of thousands for a
large file), but a run looks up only a few of them: those of its findings, its
images and its plan's changes. ``Locations`` keeps the line and column of each
path packed in an int and makes the ``Location`` only when one is read, which saves
most of the parse's allocations. Reading it gives exactly what a plain
``dict[Path, Location]`` would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import TypeVar, overload

from stackctl.core.load.doc_paths import Path
from stackctl.errors import Location

_T = TypeVar("_T")

Position = int
"""A position in the document's own file: ``line << 32 | column``, both 0-based
(as the parser's marks count). An int, unlike a pair, is no object the garbage
collector has to track, and a large file records tens of thousands of them."""


class Locations(MutableMapping[Path, Location]):
    """``Path -> Location`` for one file's document; any ``Location`` may be stored too.

    ``positions`` is the raw store, written directly by the parser: a value is
    either a ``Position`` in ``file`` or a ``Location``.
    """

    __slots__ = ("file", "positions")

    def __init__(self, file: str, positions: dict[Path, Position | Location] | None = None):
        self.file = file
        self.positions: dict[Path, Position | Location] = {} if positions is None else positions

    def _location(self, found: Position | Location) -> Location:
        if type(found) is int:
            return Location(self.file, (found >> 32) + 1, (found & 0xFFFFFFFF) + 1)
        return found  # type: ignore[return-value]

    def __getitem__(self, path: Path) -> Location:
        return self._location(self.positions[path])

    @overload
    def get(self, path: Path, /) -> Location | None: ...
    @overload
    def get(self, path: Path, /, default: Location | _T) -> Location | _T: ...

    def get(self, path: Path, /, default: object = None) -> object:
        found = self.positions.get(path)
        return default if found is None else self._location(found)

    def __contains__(self, path: object) -> bool:
        return path in self.positions

    def __setitem__(self, path: Path, location: Location) -> None:
        self.positions[path] = location

    def __delitem__(self, path: Path) -> None:
        del self.positions[path]

    def __iter__(self) -> Iterator[Path]:
        return iter(self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    def copy(self) -> Locations:
        """A copy that shares nothing mutable (as ``dict.copy``), without building locations."""
        return Locations(self.file, dict(self.positions))

    def __repr__(self) -> str:
        return f"Locations({self.file!r}, {len(self.positions)} paths)"


def copy_locations(locations: Mapping[Path, Location]) -> MutableMapping[Path, Location]:
    """A mutable copy of ``locations``; a ``Locations`` stays lazy."""
    if isinstance(locations, Locations):
        return locations.copy()
    return dict(locations)
