"""``rollback``'s plan text follows the same colour rule as every other output."""

from __future__ import annotations

import sys

import pytest
from support.plan_builders import service, service_spec, state

from stackctl.cli import rollback_flow
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Plan


def _plan_with_a_change() -> Plan:
    live = state(service(service_spec(), version=3))
    desired = state(service(service_spec(Labels={"com.docker.stack.namespace": "shop"})))
    return plan_changes(desired, live)


def _tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)


def test_rollback_plan_has_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    _tty(monkeypatch)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" in rollback_flow._plan_text(_plan_with_a_change(), no_color=False)


def test_rollback_plan_honours_no_color_env(monkeypatch: pytest.MonkeyPatch) -> None:
    _tty(monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in rollback_flow._plan_text(_plan_with_a_change(), no_color=False)


def test_rollback_plan_honours_no_color_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    _tty(monkeypatch)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[" not in rollback_flow._plan_text(_plan_with_a_change(), no_color=True)
