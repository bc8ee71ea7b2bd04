"""The canonical form shared by convert and observe, and the live-side helpers."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from stackctl.core.convert.comparable import (
    align_live_to_desired,
    canonical_file_target,
    canonical_service_spec,
)
from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.engine.observe import live_service_state


def test_file_targets_are_absolute() -> None:
    assert canonical_file_target("token", secret=True) == "/run/secrets/token"
    assert canonical_file_target("app.conf", secret=False) == "/app.conf"
    assert canonical_file_target("/etc/x", secret=True) == "/etc/x"


def test_order_free_lists_get_one_order() -> None:
    spec = {
        "TaskTemplate": {
            "ContainerSpec": {
                "Env": ["B=1", "A=2"],
                "Secrets": [
                    {"File": {"Name": "z"}, "SecretName": "s_b"},
                    {"File": {"Name": "y"}, "SecretName": "s_a"},
                ],
            },
            "Networks": [{"Target": "s_z"}, {"Target": "s_a"}],
        },
        "EndpointSpec": {"Ports": [{"TargetPort": 2, "PublishedPort": 9}, {"TargetPort": 1}]},
    }
    out = canonical_service_spec(spec)
    c = out["TaskTemplate"]["ContainerSpec"]
    assert c["Env"] == ["A=2", "B=1"]
    assert [s["SecretName"] for s in c["Secrets"]] == ["s_a", "s_b"]
    assert c["Secrets"][0]["File"]["Name"] == "y"  # as sent: relative, like docker
    assert [n["Target"] for n in out["TaskTemplate"]["Networks"]] == ["s_a", "s_z"]
    assert [p["TargetPort"] for p in out["EndpointSpec"]["Ports"]] == [1, 2]
    assert spec["TaskTemplate"]["ContainerSpec"]["Env"] == ["B=1", "A=2"]  # input untouched


def _network(name: str, pools: list[dict[str, str]]) -> ResourceState:
    spec = {"Name": name, "IPAM": {"Driver": "default", "Options": {}, "Config": pools}}
    return ResourceState(ResourceKind.NETWORK, name, spec)


def test_engine_assigned_pools_are_not_a_difference() -> None:
    desired = ClusterState(
        "s",
        networks={"s_a": _network("s_a", []), "s_b": _network("s_b", [{"Subnet": "10.9.0.0/24"}])},
    )
    live = ClusterState(
        "s",
        networks={
            "s_a": _network("s_a", [{"Subnet": "10.0.7.0/24"}]),
            "s_b": _network("s_b", [{"Subnet": "10.8.0.0/24"}]),
        },
    )
    aligned = align_live_to_desired(desired, live)
    assert aligned.networks["s_a"].spec["IPAM"]["Config"] == []
    # A declared pool that differs stays visible.
    assert aligned.networks["s_b"].spec["IPAM"]["Config"] == [{"Subnet": "10.8.0.0/24"}]


def _raw_service(image: str) -> dict[str, Any]:
    return {
        "ID": "svc1",
        "Version": {"Index": 42},
        "UpdateStatus": {"State": "completed"},
        "PreviousSpec": {"Name": "s_web"},
        "Spec": {
            "Name": "s_web",
            "Labels": {"com.docker.stack.image": "nginx:1"},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": image,
                    "Configs": [
                        {"File": {"Name": "c"}, "ConfigID": "cid", "ConfigName": "s_c"},
                        {"Runtime": {}, "ConfigID": "cid", "ConfigName": "s_c"},
                    ],
                    "Secrets": [{"File": {"Name": "/x"}, "SecretID": "sid", "SecretName": "s_s"}],
                    "Privileges": {"CredentialSpec": {"Config": "cid"}, "SELinuxContext": None},
                },
                "Networks": [{"Target": "netid", "Aliases": ["web"]}],
                "Placement": {"Platforms": [{"OS": "linux"}]},
            },
        },
    }


def test_live_service_maps_ids_to_names_and_keeps_server_fields_out() -> None:
    state = live_service_state(_raw_service("nginx:1"), MappingProxyType({"netid": "s_default"}))
    spec = state.spec
    c = spec["TaskTemplate"]["ContainerSpec"]
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "s_default", "Aliases": ["web"]}]
    assert all("ConfigID" not in ref for ref in c["Configs"])
    assert all("SecretID" not in ref for ref in c["Secrets"])
    assert c["Privileges"]["CredentialSpec"]["Config"] == "s_c"
    assert c["Configs"][0]["File"]["Name"] == "c"  # as the engine holds it
    assert spec["TaskTemplate"]["Placement"] == {}
    assert (state.id, state.version) == ("svc1", 42)
    assert state.status["UpdateStatus"] == {"State": "completed"}
    assert state.status["PreviousSpec"] is True
    assert "ID" not in spec and "Version" not in spec


def test_digest_pinning_is_undone_only_when_the_declared_image_matches() -> None:
    pinned = "nginx:1@sha256:" + "a" * 64
    state = live_service_state(_raw_service(pinned), {})
    assert state.spec["TaskTemplate"]["ContainerSpec"]["Image"] == "nginx:1"
    assert state.status["ImageDigest"] == "sha256:" + "a" * 64
    other = "nginx:2@sha256:" + "b" * 64  # changed behind stackctl's back: keep it visible
    state = live_service_state(_raw_service(other), {})
    assert state.spec["TaskTemplate"]["ContainerSpec"]["Image"] == other


def test_a_paused_update_keeps_the_spec_it_came_from_in_comparable_form() -> None:
    raw = _raw_service("nginx:2")
    raw["UpdateStatus"] = {"State": "paused", "Message": "update paused due to failure"}
    raw["PreviousSpec"] = _raw_service("nginx:1")["Spec"]
    state = live_service_state(raw, MappingProxyType({"netid": "s_default"}))
    previous = state.status["PausedFromSpec"]
    assert previous["TaskTemplate"]["ContainerSpec"]["Image"] == "nginx:1"
    assert previous["TaskTemplate"]["Networks"] == [{"Target": "s_default", "Aliases": ["web"]}]
    container = previous["TaskTemplate"]["ContainerSpec"]
    assert all("ConfigID" not in ref for ref in container["Configs"])


def test_only_a_paused_update_keeps_its_previous_spec() -> None:
    state = live_service_state(_raw_service("nginx:1"), MappingProxyType({"netid": "s_default"}))
    assert "PausedFromSpec" not in state.status


def _service_with_targets(secret: str, config: str) -> ResourceState:
    spec = {
        "Name": "s_web",
        "TaskTemplate": {
            "ContainerSpec": {
                "Secrets": [{"SecretName": "s_token", "File": {"Name": secret}}],
                "Configs": [{"ConfigName": "s_conf", "File": {"Name": config}}],
            }
        },
    }
    return ResourceState(ResourceKind.SERVICE, "s_web", spec)


def test_same_file_spelled_two_ways_is_not_a_difference() -> None:
    desired = ClusterState("s", services={"s_web": _service_with_targets("token", "conf")})
    live = ClusterState(
        "s", services={"s_web": _service_with_targets("/run/secrets/token", "/conf")}
    )
    aligned = align_live_to_desired(desired, live)
    assert aligned.services["s_web"].spec == desired.services["s_web"].spec
    # ... but a different file is.
    moved = ClusterState("s", services={"s_web": _service_with_targets("/etc/token", "conf")})
    container = (
        align_live_to_desired(desired, moved)
        .services["s_web"]
        .spec["TaskTemplate"]["ContainerSpec"]
    )
    assert container["Secrets"][0]["File"]["Name"] == "/etc/token"
