"""Nodes as the Engine API lists them -> the preflight's NodeInfo (no engine)."""

from __future__ import annotations

from stackctl.engine.nodes import node_info

RAW = {
    "ID": "abc123",
    "Spec": {"Labels": {"zone": "eu"}, "Role": "manager", "Availability": "drain"},
    "Description": {
        "Hostname": "node-1",
        "Platform": {"Architecture": "x86_64", "OS": "linux"},
        "Resources": {"NanoCPUs": 2_000_000_000, "MemoryBytes": 4 << 30},
        "Engine": {"EngineVersion": "20.10.24", "Labels": {"gpu": "yes"}},
    },
    "Status": {"State": "ready", "Addr": "10.98.0.2"},
}


def test_every_field_the_preflight_reads() -> None:
    info = node_info(RAW)
    assert (info.id, info.hostname, info.role, info.availability, info.state) == (
        "abc123",
        "node-1",
        "manager",
        "drain",
        "ready",
    )
    assert dict(info.labels) == {"zone": "eu"} and dict(info.engine_labels) == {"gpu": "yes"}
    assert (info.os, info.arch, info.nano_cpus, info.memory_bytes) == (
        "linux",
        "x86_64",
        2_000_000_000,
        4 << 30,
    )
    assert not info.ready and info.condition == "drained"


def test_a_sparse_node_does_not_break_and_is_not_ready() -> None:
    info = node_info({"ID": "x"})
    assert info.hostname == "x" and info.state == "unknown" and not info.ready
    assert (info.nano_cpus, info.memory_bytes) == (0, 0)
