"""Paths into plain stack documents, and finding the source location of a path.

A path is a tuple of mapping keys (str) and sequence indexes (int); ``()`` is the
document root. Every stage that reports a problem names it by such a path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from stackctl.errors import Location

Path = tuple[str | int, ...]
Locator = Callable[[Path], Location]


def dotted(path: Path) -> str:
    """``("services", "web", "ports", 0)`` -> ``services.web.ports[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def make_locator(locations: Mapping[Path, Location], fallback: Location) -> Locator:
    """``locate(path)``: the location of the deepest existing ancestor of ``path``."""

    def locate(path: Path) -> Location:
        for end in range(len(path), -1, -1):
            found = locations.get(path[:end])
            if found is not None:
                return found
        return fallback

    return locate
