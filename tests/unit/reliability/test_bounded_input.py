"""Hostile stack files cost bounded memory: alias fan-out, deep nesting and long
values, generated at random sizes, through the whole pipeline (load, interpolate,
merge, validate, normalize).

Either the stack loads or it is refused with located error findings; never an
exception of another kind, and one input never costs more than ``MEMORY_LIMIT``
bytes of peak resident memory: each input is loaded in a child process whose peak
RSS (``wait4``'s ru_maxrss, so the C YAML parser's allocations count too) is
compared with the same child's RSS before it loaded anything. Hangs are caught by
pytest-timeout.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.testkit import REPO_ROOT, run_measuring_peak_rss

from stackctl.core.load.loading import load_stack
from stackctl.errors import StackFileError

MEMORY_LIMIT = 64 * 1024 * 1024
BOUNDED = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def alias_fan_out(levels: int, fan_out: int, where: str) -> str:
    """A 'billion laughs' document: each anchor repeats the previous one ``fan_out`` times."""
    lines = ["x-a0: &a0 [lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * fan_out)
        lines.append(f"x-a{level}: &a{level} [{refs}]")
    top = f"*a{levels}"
    lines += ["services:", "  web:", "    image: busybox:1"]
    if where == "labels":
        lines.append(f"    labels: {{bomb: {top}}}")
    elif where == "environment":
        lines.append(f"    environment: {top}")
    else:
        lines.append(f"    command: {top}")
    return "\n".join(lines) + "\n"


def deep_nesting(depth: int, flow: bool) -> str:
    if flow:
        return "services:\n  web:\n    image: busybox:1\n    labels: " + "[" * depth + "]" * depth
    body = "".join("  " * (i + 2) + f"k{i}:\n" for i in range(depth))
    return "services:\n  web:\n    image: busybox:1\n    x-deep:\n" + body


def long_values(length: int, variables: int) -> str:
    value = "${A}" * variables + "x" * length
    return f"services:\n  web:\n    image: busybox:1\n    environment:\n      BIG: '{value}'\n"


# The child: imports everything first and reports its RSS then (the baseline),
# then loads the document from stdin and says how it ended.
LOADER = """
import resource, sys
from stackctl.core.load.loading import load_stack
from stackctl.errors import StackFileError
text = sys.stdin.read()
print("baseline", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, flush=True)
try:
    load_stack(["-"], env={"A": "aaaa"}, stdin_text=text, cwd="/nonexistent-bounded")
    print("loaded")
except StackFileError as error:
    assert error.findings and all(f.location.file for f in error.findings), error.findings
    print("refused")
"""


def _load_within_limits(text: str) -> None:
    run = run_measuring_peak_rss([sys.executable, "-c", LOADER], input_text=text, cwd=REPO_ROOT)
    assert run.returncode == 0, run.stderr  # an exception other than a located refusal
    lines = run.stdout.split()
    assert lines[0] == "baseline" and lines[2] in ("loaded", "refused"), run.stdout
    # the document itself is held once before the baseline is taken
    grown = run.peak_rss_bytes - int(lines[1])
    assert grown < MEMORY_LIMIT, f"{grown / 1e6:.0f} MB of peak RSS for one stack file"


@pytest.mark.timeout(120)
@BOUNDED
@given(
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=2, max_value=6),
    st.sampled_from(["labels", "environment", "command"]),
)
def test_alias_fan_out_is_bounded(levels: int, fan_out: int, where: str) -> None:
    _load_within_limits(alias_fan_out(levels, fan_out, where))


@pytest.mark.timeout(120)
@BOUNDED
@given(st.integers(min_value=1, max_value=1500), st.booleans())
def test_deep_nesting_is_bounded(depth: int, flow: bool) -> None:
    _load_within_limits(deep_nesting(depth, flow))


@pytest.mark.timeout(120)
@BOUNDED
@given(st.integers(min_value=0, max_value=300_000), st.integers(min_value=0, max_value=3_000))
def test_long_values_and_many_variables_are_bounded(length: int, variables: int) -> None:
    _load_within_limits(long_values(length, variables))


def test_a_huge_alias_bomb_is_refused_not_expanded() -> None:
    with pytest.raises(StackFileError) as caught:
        load_stack(
            ["-"], env={}, stdin_text=alias_fan_out(12, 12, "labels"), cwd="/nonexistent-bounded"
        )
    assert caught.value.findings
