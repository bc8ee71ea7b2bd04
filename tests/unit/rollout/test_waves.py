"""Grouping services into waves by depends_on."""

from __future__ import annotations

import pytest

from stackctl.core.model.model import DependsOn
from stackctl.rollout.waves import DependencyCycleError, plan_waves


def test_independent_services_share_one_wave() -> None:
    assert plan_waves("s", ["s_b", "s_a"], {}) == (("s_a", "s_b"),)


def test_dependencies_come_first() -> None:
    deps = {
        "s_web": (DependsOn("api", "service_healthy"),),
        "s_api": (
            DependsOn("db", "service_healthy"),
            DependsOn("migrate", "service_completed_successfully"),
        ),
    }
    waves = plan_waves("s", ["s_web", "s_api", "s_db", "s_migrate", "s_cache"], deps)
    assert waves == (("s_cache", "s_db", "s_migrate"), ("s_api",), ("s_web",))


def test_unchanged_services_in_the_chain_still_order_the_changed_ones() -> None:
    deps = {"s_web": (DependsOn("api"),), "s_api": (DependsOn("db"),)}
    # api is unchanged: web still goes after db, with no empty wave between
    assert plan_waves("s", ["s_web", "s_db"], deps) == (("s_db",), ("s_web",))


def test_cycle_is_named() -> None:
    deps = {"s_a": (DependsOn("b"),), "s_b": (DependsOn("c"),), "s_c": (DependsOn("a"),)}
    with pytest.raises(DependencyCycleError) as caught:
        plan_waves("s", ["s_a"], deps)
    assert "s_a -> s_b -> s_c -> s_a" in caught.value.message
