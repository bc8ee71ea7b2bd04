"""plan_changes on hand-made states: identity matching, noise, effects, drift, redaction."""

from __future__ import annotations

import copy
from dataclasses import replace
from types import MappingProxyType

import pytest
from support.plan_builders import STACK, engine_filled, network, paths, service, service_spec, state

from stackctl.core.model.state import ResourceKind, ResourceState
from stackctl.core.plan.diff import MissingExternalError, plan_changes
from stackctl.core.plan.plan_model import SENSITIVE, Effect, FieldOp


def _live(spec: dict, version: int = 10) -> ResourceState:
    return service(engine_filled(spec), version=version)


def test_identical_after_engine_defaults_is_no_change() -> None:
    spec = service_spec()
    plan = plan_changes(state(network(), service(spec)), state(network(live=True), _live(spec)))
    assert plan.changes == ()
    assert not plan.has_changes


def test_missing_service_is_created_and_extra_one_is_orphaned() -> None:
    web, old = service_spec("web"), service_spec("old")
    plan = plan_changes(state(network(), service(web)), state(network(live=True), _live(old)))
    assert [(c.name, c.effect) for c in plan.changes] == [
        (f"{STACK}_old", Effect.ORPHAN),
        (f"{STACK}_web", Effect.CREATE),
    ]
    assert plan.has_changes


def test_prune_turns_orphans_into_deletes() -> None:
    old = service_spec("old")
    plan = plan_changes(state(), state(_live(old)), prune=True)
    assert [c.effect for c in plan.changes] == [Effect.DELETE]
    assert plan_changes(state(), state(_live(old))).has_changes is False


def test_env_is_matched_by_key_not_position() -> None:
    live = service_spec()
    want = service_spec()
    # A new variable sorts first: by position every item would have moved.
    want["TaskTemplate"]["ContainerSpec"]["Env"] = [
        "AAA=1",
        *live["TaskTemplate"]["ContainerSpec"]["Env"],
    ]
    want["TaskTemplate"]["ContainerSpec"]["Env"][1] = "DB_HOST=db2"
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    env = "TaskTemplate.ContainerSpec.Env"
    assert [(f.path, f.op, f.old, f.new) for f in change.fields] == [
        (f"{env}[AAA]", FieldOp.ADDED, None, "1"),
        (f"{env}[DB_HOST]", FieldOp.CHANGED, "db", "db2"),
    ]
    assert change.effect is Effect.ROLLING
    assert change.reason == "environment changed: tasks are replaced"


def test_ports_are_matched_by_target_and_protocol() -> None:
    live = service_spec()
    want = service_spec(
        EndpointSpec={
            "Ports": [
                {"TargetPort": 443, "PublishedPort": 8443},
                {"TargetPort": 80, "PublishedPort": 9090, "Protocol": "tcp"},
            ]
        }
    )
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    by_path = {f.path: f for f in change.fields}
    assert by_path["EndpointSpec.Ports[80/tcp].PublishedPort"].old == 8080
    assert by_path["EndpointSpec.Ports[80/tcp].PublishedPort"].new == 9090
    assert by_path["EndpointSpec.Ports[443/tcp]"].op is FieldOp.ADDED
    # Port changes replace tasks (verified on the engine: tasks get new IDs).
    assert change.effect is Effect.ROLLING


def test_mounts_networks_and_constraints_by_identity() -> None:
    mounts = [
        {"Type": "volume", "Source": "data", "Target": "/data"},
        {"Type": "bind", "Source": "/etc/x", "Target": "/x", "ReadOnly": True},
    ]
    live = service_spec()
    live["TaskTemplate"]["ContainerSpec"]["Mounts"] = mounts
    live["TaskTemplate"]["Placement"] = {"Constraints": ["node.role==manager", "node.labels.a==1"]}
    want = copy.deepcopy(live)
    want["TaskTemplate"]["ContainerSpec"]["Mounts"] = [mounts[1], {**mounts[0], "ReadOnly": True}]
    want["TaskTemplate"]["Placement"] = {"Constraints": ["node.labels.a==1", "node.labels.b==2"]}
    want["TaskTemplate"]["Networks"].append({"Target": "shop_back"})
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    assert paths(change.fields) == [
        "TaskTemplate.ContainerSpec.Mounts[/data].ReadOnly",
        "TaskTemplate.Networks[shop_back]",
        "TaskTemplate.Placement.Constraints[node.labels.b==2]",
        "TaskTemplate.Placement.Constraints[node.role==manager]",
    ]


def test_ordered_lists_are_compared_whole() -> None:
    live = service_spec()
    live["TaskTemplate"]["ContainerSpec"]["Args"] = ["-p", "80", "-v"]
    want = copy.deepcopy(live)
    want["TaskTemplate"]["ContainerSpec"]["Args"] = ["-v", "-p", "80"]
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    (field,) = change.fields
    assert (field.path, field.old, field.new) == (
        "TaskTemplate.ContainerSpec.Args",
        ["-p", "80", "-v"],
        ["-v", "-p", "80"],
    )


def test_labels_paths_bracket_dotted_keys_and_are_in_place() -> None:
    live = service_spec()
    want = copy.deepcopy(live)
    want["Labels"]["com.example.team"] = "payments"
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    assert paths(change.fields) == ["Labels[com.example.team]"]
    assert change.effect is Effect.IN_PLACE
    assert not change.restarts_tasks


@pytest.mark.parametrize(
    ("mutate", "effect"),
    [
        (lambda s: s["Mode"]["Replicated"].update(Replicas=5), Effect.IN_PLACE),
        (lambda s: s["UpdateConfig"].update(Parallelism=2), Effect.IN_PLACE),
        (lambda s: s.update(RollbackConfig={"Parallelism": 2}), Effect.IN_PLACE),
        (
            lambda s: s["TaskTemplate"].update(Placement={"Constraints": ["node.role==worker"]}),
            Effect.IN_PLACE,
        ),
        (lambda s: s["TaskTemplate"]["ContainerSpec"].update(Image="shop/web:2"), Effect.ROLLING),
        (
            lambda s: s["TaskTemplate"].update(Resources={"Limits": {"MemoryBytes": 2**27}}),
            Effect.ROLLING,
        ),
        (lambda s: s["EndpointSpec"].update(Mode="dnsrr", Ports=[]), Effect.ROLLING),
        (lambda s: s.update(Mode={"Global": {}}), Effect.REPLACE),
        (lambda s: s.update(Mode={"ReplicatedJob": {"TotalCompletions": 1}}), Effect.REPLACE),
    ],
)
def test_effect_of_each_kind_of_service_change(mutate, effect) -> None:  # type: ignore[no-untyped-def]
    live = service_spec()
    want = copy.deepcopy(live)
    mutate(want)
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    assert change.effect is effect
    assert change.reason


def test_in_place_plus_task_change_is_rolling() -> None:
    live = service_spec()
    want = copy.deepcopy(live)
    want["Mode"]["Replicated"]["Replicas"] = 5
    want["TaskTemplate"]["ContainerSpec"]["Env"].append("X=1")
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    assert change.effect is Effect.ROLLING


def test_missing_mode_means_one_replica() -> None:
    live = service_spec(Mode={"Replicated": {"Replicas": 1}})
    want = copy.deepcopy(live)
    del want["Mode"]
    assert plan_changes(state(service(want)), state(_live(live))).changes == ()


def test_force_update_and_digest_pinning_are_noise() -> None:
    live = engine_filled(service_spec())
    live["TaskTemplate"]["ForceUpdate"] = 7
    live["TaskTemplate"]["ContainerSpec"]["Image"] = "shop/web:1@sha256:" + "a" * 64
    plan = plan_changes(state(service(service_spec())), state(service(live, version=3)))
    assert plan.changes == ()


def test_pinned_digest_of_a_different_declared_image_is_a_change() -> None:
    live = engine_filled(service_spec())
    live["TaskTemplate"]["ContainerSpec"]["Image"] = "shop/web:0@sha256:" + "a" * 64
    live["Labels"]["com.docker.stack.image"] = "shop/web:0"
    (change,) = plan_changes(state(service(service_spec())), state(service(live))).changes
    assert "TaskTemplate.ContainerSpec.Image" in paths(change.fields)


def test_sensitive_env_values_never_enter_the_plan() -> None:
    live = service_spec()
    want = copy.deepcopy(live)
    want["TaskTemplate"]["ContainerSpec"]["Env"][1] = "DB_PASSWORD=s3cr3t-new"
    want["TaskTemplate"]["ContainerSpec"]["Env"].append("API_TOKEN=tok-123")
    (change,) = plan_changes(state(service(want)), state(_live(live))).changes
    by_path = {f.path: f for f in change.fields}
    pw = by_path["TaskTemplate.ContainerSpec.Env[DB_PASSWORD]"]
    assert (pw.old, pw.new, pw.sensitive) == (SENSITIVE, SENSITIVE, True)
    tok = by_path["TaskTemplate.ContainerSpec.Env[API_TOKEN]"]
    assert (tok.old, tok.new, tok.op) == (None, SENSITIVE, FieldOp.ADDED)
    text = repr(tuple(f for f in change.fields))
    assert "s3cr3t" not in text and "hunter2" not in text and "tok-123" not in text


def test_network_change_recreates_it_and_rolls_its_services() -> None:
    spec = service_spec()
    desired = state(network(Options={"encrypted": ""}, Attachable=True), service(spec))
    live = state(network(live=True), _live(spec))
    net, svc = plan_changes(desired, live).changes
    assert (net.kind, net.effect) == (ResourceKind.NETWORK, Effect.REPLACE)
    assert "Attachable" in paths(net.fields)
    assert (svc.kind, svc.effect, svc.fields) == (ResourceKind.SERVICE, Effect.ROLLING, ())
    assert svc.reason is not None and "network shop_default" in svc.reason


def test_engine_assigned_subnet_and_vxlan_option_are_not_changes() -> None:
    live = network(
        live=True,
        IPAM={"Driver": "default", "Config": [{"Subnet": "10.0.9.0/24", "Gateway": "10.0.9.1"}]},
        Scope="swarm",
    )
    assert plan_changes(state(network()), state(live)).changes == ()


def _config(
    name: str, sha: str, *, live: bool = False, labels: dict | None = None
) -> ResourceState:
    spec = {"Name": name, "Labels": {"com.docker.stack.namespace": STACK, **(labels or {})}}
    return ResourceState(
        ResourceKind.CONFIG,
        name,
        spec,
        id="c1" if live else None,
        version=1 if live else None,
        content_sha256=sha,
    )


def test_config_content_change_under_same_name_is_replace_and_rolls_users() -> None:
    spec = service_spec()
    spec["TaskTemplate"]["ContainerSpec"]["Configs"] = [
        {
            "ConfigName": "shop_conf",
            "File": {"Name": "/etc/conf", "UID": "0", "GID": "0", "Mode": 292},
        }
    ]
    desired = state(_config("shop_conf", "b" * 64), service(spec))
    live = state(_config("shop_conf", "a" * 64, live=True), _live(spec))
    conf, svc = plan_changes(desired, live).changes
    assert conf.effect is Effect.REPLACE
    assert [(f.path, f.old, f.new) for f in conf.fields] == [("content_sha256", "a" * 64, "b" * 64)]
    assert svc.effect is Effect.ROLLING


def test_config_label_change_is_in_place() -> None:
    desired = state(_config("shop_conf", "a" * 64, labels={"x": "1"}))
    live = state(_config("shop_conf", "a" * 64, live=True))
    (conf,) = plan_changes(desired, live).changes
    assert conf.effect is Effect.IN_PLACE


def test_missing_external_network_is_an_error_naming_it() -> None:
    ext = ResourceState(ResourceKind.NETWORK, "proxy", {"Name": "proxy"}, external=True)
    with pytest.raises(MissingExternalError, match="network proxy"):
        plan_changes(state(ext), state())


def test_present_external_is_never_compared_or_orphaned() -> None:
    ext = ResourceState(
        ResourceKind.NETWORK, "proxy", {"Name": "proxy", "Driver": "overlay"}, external=True
    )
    live_ext = ResourceState(
        ResourceKind.NETWORK, "proxy", {"Name": "proxy"}, external=True, id="x"
    )
    assert plan_changes(state(ext), state(live_ext)).changes == ()
    assert plan_changes(state(), state(live_ext)).changes == ()


def test_scale_behind_our_back_is_drift() -> None:
    spec = service_spec()
    scaled = copy.deepcopy(spec)
    scaled["Mode"]["Replicated"]["Replicas"] = 7
    plan = plan_changes(
        state(service(spec)), state(_live(scaled)), last_applied=state(service(spec))
    )
    (change,) = plan.changes
    (field,) = change.fields
    assert (field.path, field.old, field.new, field.drift) == (
        "Mode.Replicated.Replicas",
        7,
        3,
        True,
    )
    assert change.drift and change.effect is Effect.IN_PLACE


def test_file_change_is_not_drift_but_env_add_behind_our_back_is() -> None:
    applied = service_spec()
    live = copy.deepcopy(applied)
    live["TaskTemplate"]["ContainerSpec"]["Env"].append(
        "DEBUG=1"
    )  # docker service update --env-add
    want = copy.deepcopy(applied)
    want["TaskTemplate"]["ContainerSpec"]["Image"] = "shop/web:2"
    (change,) = plan_changes(
        state(service(want)), state(_live(live)), last_applied=state(service(applied))
    ).changes
    drift = {f.path: f.drift for f in change.fields}
    assert drift == {
        "TaskTemplate.ContainerSpec.Env[DEBUG]": True,
        "TaskTemplate.ContainerSpec.Image": False,
    }


def test_service_removed_behind_our_back_is_drift() -> None:
    spec = service_spec()
    plan = plan_changes(state(service(spec)), state(), last_applied=state(service(spec)))
    (change,) = plan.changes
    assert (change.effect, change.drift) == (Effect.CREATE, True)
    assert plan_changes(state(service(spec)), state()).changes[0].drift is False


def test_plans_are_sorted_and_deterministic() -> None:
    names = ["zeta", "alpha", "mid"]
    desired = state(*(service(service_spec(n)) for n in names), network())
    reversed_desired = state(network(), *(service(service_spec(n)) for n in reversed(names)))
    a, b = plan_changes(desired, state()), plan_changes(reversed_desired, state())
    assert a == b
    assert [c.name for c in a.changes] == ["shop_default", "shop_alpha", "shop_mid", "shop_zeta"]


def test_absent_rollout_config_equals_swarmkits_defaults_but_not_an_empty_one() -> None:
    spec = service_spec()
    del spec["UpdateConfig"]
    filled = copy.deepcopy(spec)
    filled["UpdateConfig"] = {
        "Parallelism": 1,
        "FailureAction": "pause",
        "Monitor": 5_000_000_000,
        "MaxFailureRatio": 0,
        "Order": "stop-first",
    }
    filled["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] = 10_000_000_000
    assert plan_changes(state(service(spec)), state(_live(filled))).changes == ()
    empty = copy.deepcopy(spec)
    empty["UpdateConfig"] = {}  # the engine reads this as Parallelism 0: all at once
    (change,) = plan_changes(state(service(empty)), state(_live(filled))).changes
    assert [(f.path, f.old, f.new) for f in change.fields] == [("UpdateConfig.Parallelism", 1, 0)]


def _versioned_config(name: str, logical: str, *, live: bool) -> ResourceState:
    spec = {
        "Name": name,
        "Labels": {"com.docker.stack.namespace": STACK, "io.stackctl.name": logical},
    }
    return ResourceState(
        ResourceKind.CONFIG, name, spec, id="c" if live else None, content_sha256=name[-4:] * 16
    )


def test_earlier_versions_of_declared_configs_are_kept_not_orphaned() -> None:
    desired = state(_versioned_config("shop_app-bbbb", "app", live=False))
    live = state(
        _versioned_config("shop_app-aaaa", "app", live=True),  # the previous content
        _versioned_config("shop_old-cccc", "old", live=True),  # no longer declared at all
    )
    for prune in (False, True):
        plan = plan_changes(desired, live, prune=prune)
        assert [(c.name, c.effect) for c in plan.changes] == [
            ("shop_app-bbbb", Effect.CREATE),
            ("shop_old-cccc", Effect.DELETE if prune else Effect.ORPHAN),
        ]


def test_blank_driver_of_a_just_created_network_is_not_a_change() -> None:
    # The engine lists a new overlay network with Driver "" until the node has it.
    assert plan_changes(state(network()), state(network(live=True, Driver=""))).changes == ()
    (change,) = plan_changes(state(network()), state(network(live=True, Driver="bridge"))).changes
    assert change.effect is Effect.REPLACE


@pytest.mark.parametrize("swarm_state", ["paused", "rollback_paused"])
def test_a_paused_update_with_the_spec_already_equal_is_resumed(swarm_state: str) -> None:
    spec = service_spec()
    update = {"State": swarm_state, "Message": "update paused due to failure"}
    live = replace(_live(spec), status=MappingProxyType({"UpdateStatus": update}))
    plan = plan_changes(state(network(), service(spec)), state(network(live=True), live))
    (change,) = plan.changes
    assert (change.effect, change.fields) == (Effect.ROLLING, ())
    assert change.reason is not None
    assert "update paused due to failure" in change.reason and "resumes" in change.reason


@pytest.mark.parametrize(
    ("swarm_state", "busy"),
    [("completed", False), ("rollback_completed", False), ("updating", True),
     ("rollback_started", True)],
)  # fmt: skip
def test_other_update_states_with_equal_specs_are_no_change(swarm_state: str, busy: bool) -> None:
    spec = service_spec()
    live = replace(_live(spec), status=MappingProxyType({"UpdateStatus": {"State": swarm_state}}))
    plan = plan_changes(state(network(), service(spec)), state(network(live=True), live))
    assert plan.changes == () and not plan.has_changes
    # still being rolled out by Swarm: listed, so apply waits for it
    assert plan.in_progress == ((f"{STACK}_web",) if busy else ())


def test_a_service_with_a_change_is_not_also_listed_as_in_progress() -> None:
    spec = service_spec()
    live = replace(
        _live(service_spec(Mode={"Replicated": {"Replicas": 1}})),
        status=MappingProxyType({"UpdateStatus": {"State": "updating"}}),
    )
    plan = plan_changes(state(network(), service(spec)), state(network(live=True), live))
    assert [c.effect for c in plan.changes] == [Effect.IN_PLACE]
    assert plan.in_progress == ()
