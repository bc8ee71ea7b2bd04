"""Fixtures shared by every test layer.

- markers: tests under tests/integration get ``swarm``, tests under tests/cluster get
  ``cluster`` (so ``pytest -m "not cluster"`` works without decorating every test).
- ``docker_client``: a docker SDK client for the engine the tests run against (the
  local single-node Swarm; tests/cluster overrides it with the 3-node cluster). When
  no engine answers: with ``CI`` set the run fails loudly, otherwise the tests that
  need it are skipped with the reason.
- ``stack_name``: a unique stack name; afterwards everything of that stack is removed.
- ``run_stackctl``: runs the real ``stackctl`` CLI in a subprocess.
- skips: a test skips only through ``support.testkit.skip_guarantee`` (a failure when
  ``CI`` is set) or ``skip_impossible_here`` (documented: this kind of machine cannot
  do it). Under CI any other skip (a bare ``pytest.skip``, ``skipif``, ``xfail``) is
  turned into a failure here, and the summary counts both kinds of skip.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.testkit import (
    IMPOSSIBLE_HERE,
    RunStackctl,
    connect_manager,
    in_ci,
    new_stack_name,
    remove_stack_objects,
    run_stackctl_process,
)

if TYPE_CHECKING:
    import docker

TESTS_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by layer from where they live; keep xdist groups on one worker."""
    integration = TESTS_DIR / "integration"
    cluster = TESTS_DIR / "cluster"
    for item in items:
        path = Path(str(item.path)).resolve()
        if path.is_relative_to(integration):
            item.add_marker(pytest.mark.swarm)
        elif path.is_relative_to(cluster):
            item.add_marker(pytest.mark.cluster)
    if getattr(config.option, "loadgroup", False):  # a pytest-xdist worker, --dist loadgroup
        _suffix_xdist_groups(items)


def _suffix_xdist_groups(items: list[pytest.Item]) -> None:
    """Give every test marked ``xdist_group(NAME)`` the node id suffix ``@NAME``.

    The controller of ``--dist loadgroup`` sends all tests whose node ids end in the
    same ``@NAME`` to one worker, and the worker adds that suffix. pytest-xdist 3.8
    writes it to ``Node._nodeid``, which pytest 9.2 no longer reads (the node id is
    ``Node._id`` now): the groups were silently ignored and tests that must not run at
    the same time did. Done here through the attribute pytest reads, and checked.
    """
    for item in items:
        names = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        if not names or "@" in item.nodeid:
            continue
        grouped = f"{item.nodeid}@{'_'.join(names)}"
        if hasattr(item, "_id"):
            item._id = type(item._id).parse(grouped)
        else:
            item._nodeid = grouped
        if item.nodeid != grouped:
            raise pytest.UsageError(f"cannot put {item.nodeid} in its xdist group {names}")


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI, a skip or xfail that is not documented as impossible here fails."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.skipped or not in_ci():
        return
    if hasattr(report, "wasxfail"):
        reason = f"xfail ({report.wasxfail})"
    else:
        reason = _skip_reason(report)
        if reason.startswith(IMPOSSIBLE_HERE):
            return
    report.outcome = "failed"
    report.longrepr = f"CI: a guarantee was skipped, which CI counts as a failure: {reason}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Count the skips by kind, with each reason, at the very end of the run."""
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if isinstance(r, pytest.TestReport)
    ]
    documented = [r for r in skipped if _skip_reason(r).startswith(IMPOSSIBLE_HERE)]
    guarantees = [r for r in skipped if r not in documented]
    terminalreporter.section("skips")
    terminalreporter.write_line(
        f"skipped guarantees: {len(guarantees)} (a failure under CI=true); "
        f"skipped as impossible on this machine: {len(documented)}"
    )
    for report in guarantees + documented:
        terminalreporter.write_line(f"  {report.nodeid}: {_skip_reason(report)}")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The local engine, a single-node Swarm manager (docker.from_env())."""
    client = connect_manager()
    yield client
    client.close()


@pytest.fixture
def stack_name(docker_client: docker.DockerClient) -> Iterator[str]:
    """A unique stack name; everything labelled with it is removed after the test."""
    name = new_stack_name()
    yield name
    leftovers = remove_stack_objects(docker_client, name)
    if leftovers:
        # a warning, not a failure: the test itself already passed or failed on its own
        warnings.warn(f"stack {name}: could not remove {leftovers}", stacklevel=1)


@pytest.fixture
def run_stackctl() -> RunStackctl:
    """Run the stackctl CLI as a user would: ``run_stackctl("diff", name, "-c", f)``."""
    return run_stackctl_process
