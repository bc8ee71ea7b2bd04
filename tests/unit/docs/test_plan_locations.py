"""Plans quoted in the docs name the line of the demo stack that really sets each key."""

from __future__ import annotations

import re

import pytest
from support.testkit import REPO_ROOT as REPO

from stackctl.core.load.loading import load_stack
from stackctl.core.plan.diff_tree import split_path

DEMO = "stacks/demo/stack.yml"
# "~ services.web.image: ... (stacks/demo/stack.yml:22)" in a quoted text plan
_LINE = re.compile(r"[~+-] (services\.[^:\s]+): .*\(" + re.escape(DEMO) + r":(\d+)\)")


def _quoted() -> list[tuple[str, str, int]]:
    found = []
    for doc in sorted((REPO / "docs").glob("*.md")):
        for match in _LINE.finditer(doc.read_text(encoding="utf-8")):
            found.append((doc.name, match.group(1), int(match.group(2))))
    return found


QUOTED = _quoted()


def test_the_docs_quote_demo_plans() -> None:
    assert len(QUOTED) >= 3


@pytest.mark.parametrize(("doc", "key", "line"), QUOTED)
def test_quoted_location_matches_the_demo_stack(doc: str, key: str, line: int) -> None:
    loaded = load_stack([DEMO], env={}, cwd=str(REPO))
    location = loaded.source_map.locate(split_path(key))
    assert location is not None and location.line == line, f"{doc}: {key} is at {location}"
