"""The placement preflight (stackctl.core.plan.placement) on hand-made node snapshots:
what is an error, what a warning, and what is left to the engine."""

from __future__ import annotations

import copy
from dataclasses import replace
from types import MappingProxyType

import pytest

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack
from stackctl.core.model.state import ClusterState
from stackctl.core.plan.compose_words import locate_plan
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.placement import (
    ClusterNodes,
    NodeInfo,
    PortUse,
    matches,
    parse_constraint,
    placement_findings,
    publishes_host_ports,
    refuse_placement_errors,
    with_placement_findings,
)
from stackctl.core.plan.plan_model import Plan, PlanFinding
from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_markdown import render_markdown
from stackctl.core.render.render_text import render_text
from stackctl.errors import Severity, StackFileError

STACK = "shop"
GIB = 1 << 30


def node(name: str, **over: object) -> NodeInfo:
    base = NodeInfo(
        id=f"id-{name}",
        hostname=name,
        role="manager" if name == "n1" else "worker",
        os="linux",
        arch="x86_64",
        nano_cpus=2_000_000_000,
        memory_bytes=4 * GIB,
    )
    labels = over.pop("labels", None)
    engine_labels = over.pop("engine_labels", None)
    if labels is not None:
        base = replace(base, labels=MappingProxyType(dict(labels)))  # type: ignore[call-overload]
    if engine_labels is not None:
        base = replace(base, engine_labels=MappingProxyType(dict(engine_labels)))  # type: ignore[call-overload]
    return replace(base, **over)  # type: ignore[arg-type]


THREE = ClusterNodes(
    (
        node("n1", labels={"zone": "eu"}),
        node("n2", labels={"zone": "eu", "disk": "ssd"}),
        node("n3", labels={"zone": "us"}, engine_labels={"gpu": "yes"}),
    )
)


def load(text: str) -> tuple[ClusterState, object]:
    loaded = load_stack(["-"], env={}, stdin_text=text)
    return convert_stack(loaded.stack, STACK), loaded.source_map


def plan_of(text: str, live: ClusterState | None = None) -> Plan:
    desired, _ = load(text)
    return plan_changes(desired, live or ClusterState(STACK))


def findings(text: str, cluster: ClusterNodes = THREE) -> list[PlanFinding]:
    return list(placement_findings(plan_of(text), cluster))


def codes(text: str, cluster: ClusterNodes = THREE) -> list[tuple[str, str]]:
    return [(f.code, f.severity.value) for f in findings(text, cluster)]


def service(deploy: str = "", extra: str = "", image: str = "shop/web:1") -> str:
    text = f"services:\n  web:\n    image: {image}\n"
    if extra:
        text += extra
    if deploy:
        text += "    deploy:\n" + deploy
    return text


def constraints(*exprs: str, replicas: int = 1) -> str:
    lines = "".join(f"          - '{e}'\n" for e in exprs)
    return f"      replicas: {replicas}\n      placement:\n        constraints:\n{lines}"


# --- constraint syntax and matching ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "equal", "value"),
    [
        ("node.role==manager", "node.role", True, "manager"),
        (" node.labels.zone != eu ", "node.labels.zone", False, "eu"),
        ("engine.labels.gpu==yes", "engine.labels.gpu", True, "yes"),
        ("node.hostname == node 1", "node.hostname", True, "node 1"),
    ],
)
def test_parse(text: str, key: str, equal: bool, value: str) -> None:
    parsed = parse_constraint(text)
    assert parsed is not None
    assert (parsed.key, parsed.equal, parsed.value) == (key, equal, value)


@pytest.mark.parametrize("text", ["node.role", "==x", "node.role==", "node.role ~ x"])
def test_unparseable_constraints_are_left_to_the_engine(text: str) -> None:
    assert parse_constraint(text) is None


@pytest.mark.parametrize(
    ("expr", "hit"),
    [
        ("node.role==manager", True),
        ("node.role==MANAGER", True),  # values compare case-insensitively, as swarmkit
        ("NODE.ROLE==manager", True),  # and so do the fixed keys
        ("node.role!=manager", False),
        ("node.hostname==n1", True),
        ("node.id==id-n1", True),
        ("node.platform.os==linux", True),
        ("node.platform.arch==x86_64", True),
        ("node.platform.arch==amd64", True),  # alias: never a false "matches no node"
        ("node.platform.arch==arm64", False),
        ("node.labels.zone==eu", True),
        ("node.labels.ZONE==eu", False),  # label names are case-sensitive
        ("node.labels.missing==eu", False),
        ("node.labels.missing!=eu", True),  # a missing label has the empty value
        ("engine.labels.gpu==yes", False),
        ("node.ip==10.0.0.1", True),  # a key not known here: left to the engine
    ],
)
def test_matching_one_node(expr: str, hit: bool) -> None:
    parsed = parse_constraint(expr)
    assert parsed is not None
    assert matches(parsed, node("n1", labels={"zone": "eu"})) is hit


# --- constraints: error vs warning --------------------------------------------------


def test_satisfiable_constraints_find_nothing() -> None:
    assert findings(service(constraints("node.labels.zone==eu", "node.role==worker"))) == []
    assert findings(service(constraints("engine.labels.gpu==yes"))) == []
    assert findings(service(constraints("node.labels.disk!=ssd"))) == []


def test_a_constraint_no_node_matches_is_an_error_naming_it() -> None:
    [finding] = findings(service(constraints("node.role==worker", "node.labels.zone==asia")))
    assert (finding.code, finding.severity) == ("SC401", Severity.ERROR)
    assert "node.labels.zone==asia matches no node of the cluster (3 nodes)" in finding.message
    assert (
        finding.compose_path == "services.web.deploy.placement.constraints[node.labels.zone==asia]"
    )
    assert finding.service == "shop_web"


def test_constraints_that_match_apart_but_not_together_are_an_error() -> None:
    [finding] = findings(service(constraints("node.labels.zone==us", "node.labels.disk==ssd")))
    assert (finding.code, finding.severity) == ("SC401", Severity.ERROR)
    assert "together" in finding.message


@pytest.mark.parametrize(
    ("over", "condition"),
    [
        ({"availability": "drain"}, "drained"),
        ({"availability": "pause"}, "paused"),
        ({"state": "down"}, "down"),
    ],
)
def test_a_constraint_only_unavailable_nodes_match_is_a_warning(
    over: dict[str, str], condition: str
) -> None:
    cluster = ClusterNodes((node("n1"), node("n2"), node("n3", labels={"zone": "us"}, **over)))
    [finding] = findings(service(constraints("node.labels.zone==us")), cluster)
    assert (finding.code, finding.severity) == ("SC401", Severity.WARNING)
    assert f"n3 ({condition})" in finding.message


def test_a_constraint_on_an_unknown_key_is_left_to_the_engine() -> None:
    # validation refuses such keys in a file; a stored revision or an API caller's
    # state may still carry one (node.ip is known to newer engines)
    desired, _ = load(service(constraints("node.role==manager")))
    spec = copy.deepcopy(dict(desired.services["shop_web"].spec))
    spec["TaskTemplate"]["Placement"]["Constraints"] = ["node.ip==10.9.9.9"]
    state = replace(desired.services["shop_web"], spec=spec)
    plan = plan_changes(replace(desired, services={"shop_web": state}), ClusterState(STACK))
    assert placement_findings(plan, THREE) == ()


def test_no_nodes_listed_means_nothing_to_check() -> None:
    assert findings(service(constraints("node.labels.zone==asia")), ClusterNodes(())) == []


def test_zero_replicas_are_not_checked() -> None:
    assert findings(service(constraints("node.labels.zone==asia", replicas=0))) == []


def test_a_global_service_is_checked_too() -> None:
    deploy = "      mode: global\n      placement:\n        constraints: [node.labels.zone==asia]\n"
    assert codes(service(deploy)) == [("SC401", "error")]


# --- max_replicas_per_node ----------------------------------------------------------


def per_node(replicas: int, most: int, extra: str = "") -> str:
    return (
        f"      replicas: {replicas}\n      placement:\n        max_replicas_per_node: {most}\n"
        + extra
    )


def test_max_replicas_times_nodes_below_replicas_is_an_error() -> None:
    [finding] = findings(service(per_node(4, 1)))
    assert (finding.code, finding.severity) == ("SC402", Severity.ERROR)
    assert "at most 3 can run, 1 would stay pending" in finding.message
    assert finding.compose_path == "services.web.deploy.placement.max_replicas_per_node"


def test_max_replicas_enough_finds_nothing() -> None:
    assert findings(service(per_node(3, 1))) == []
    assert findings(service(per_node(6, 2))) == []


def test_max_replicas_counts_only_the_nodes_constraints_allow() -> None:
    extra = "        constraints: [node.labels.zone==eu]\n"
    assert codes(service(per_node(3, 1, extra))) == [("SC402", "error")]
    assert findings(service(per_node(2, 1, extra))) == []


def test_max_replicas_short_only_because_a_node_is_drained_is_a_warning() -> None:
    cluster = ClusterNodes((node("n1"), node("n2"), node("n3", availability="drain")))
    [finding] = findings(service(per_node(3, 1)), cluster)
    assert (finding.code, finding.severity) == ("SC402", Severity.WARNING)
    assert "n3 (drained)" in finding.message


def test_max_replicas_on_one_node_single_node_cluster() -> None:
    single = ClusterNodes((node("n1"),))
    assert codes(service(per_node(3, 1)), single) == [("SC402", "error")]


# --- reservations -------------------------------------------------------------------


def reserve(cpus: str = "", memory: str = "") -> str:
    text = "      resources:\n        reservations:\n"
    if cpus:
        text += f"          cpus: '{cpus}'\n"
    if memory:
        text += f"          memory: {memory}\n"
    return text


def test_a_reservation_no_node_can_hold_is_an_error() -> None:
    [finding] = findings(service(reserve(memory="8G")))
    assert (finding.code, finding.severity) == ("SC403", Severity.ERROR)
    assert "8 GiB" in finding.message and "4 GiB" in finding.message
    assert finding.compose_path == "services.web.deploy.resources.reservations.memory"
    [cpus] = findings(service(reserve(cpus="3", memory="1G")))
    assert (cpus.code, cpus.severity) == ("SC403", Severity.ERROR)
    assert cpus.compose_path == "services.web.deploy.resources.reservations.cpus"


def test_a_reservation_that_fits_a_node_finds_nothing() -> None:
    assert findings(service(reserve(cpus="2", memory="4G"))) == []


def test_a_reservation_only_a_drained_node_can_hold_is_a_warning() -> None:
    big = node("n3", memory_bytes=16 * GIB, availability="drain")
    [finding] = findings(service(reserve(memory="8G")), ClusterNodes((node("n1"), big)))
    assert (finding.code, finding.severity) == ("SC403", Severity.WARNING)


def test_a_reservation_counts_only_nodes_the_constraints_allow() -> None:
    cluster = ClusterNodes((node("n1", labels={"zone": "eu"}), node("n2", memory_bytes=16 * GIB)))
    deploy = (
        reserve(memory="8G") + "      placement:\n        constraints: [node.labels.zone==eu]\n"
    )
    assert codes(service(deploy), cluster) == [("SC403", "error")]


def test_a_node_that_reports_no_resources_is_not_held_against_the_service() -> None:
    cluster = ClusterNodes((node("n1", nano_cpus=0, memory_bytes=0),))
    assert findings(service(reserve(cpus="64", memory="1T")), cluster) == []


# --- host-mode ports ----------------------------------------------------------------

HOST_PORT = "    ports:\n      - {target: 80, published: 8080, mode: host}\n"


def held(
    *nodes: str, port: int = 8080, protocol: str = "tcp", by: str = "other_app"
) -> tuple[PortUse, ...]:
    return tuple(PortUse(f"id-{n}", port, protocol, by) for n in nodes)


def test_a_host_port_held_on_every_node_is_an_error() -> None:
    cluster = replace(THREE, host_ports=held("n1", "n2", "n3"))
    [finding] = findings(service("      replicas: 1\n", HOST_PORT), cluster)
    assert (finding.code, finding.severity) == ("SC404", Severity.ERROR)
    assert "n1 by other_app" in finding.message
    assert finding.compose_path == "services.web.ports[80/tcp].published"


def test_a_host_port_free_somewhere_is_fine_for_one_replica() -> None:
    cluster = replace(THREE, host_ports=held("n1", "n2"))
    assert findings(service("      replicas: 1\n", HOST_PORT), cluster) == []


def test_more_replicas_than_nodes_with_the_port_free_is_a_warning() -> None:
    cluster = replace(THREE, host_ports=held("n1"))
    [finding] = findings(service("      replicas: 3\n", HOST_PORT), cluster)
    assert (finding.code, finding.severity) == ("SC404", Severity.WARNING)
    assert "1 of 3 replicas would stay pending" in finding.message


def test_host_port_one_task_per_node_on_a_single_node() -> None:
    single = ClusterNodes((node("n1"),))
    assert codes(service("      replicas: 2\n", HOST_PORT), single) == [("SC404", "warning")]


def test_the_service_s_own_tasks_and_other_ports_do_not_count() -> None:
    own = held("n1", "n2", "n3", by="shop_web")
    other_port = held("n1", "n2", "n3", port=9090)
    udp = held("n1", "n2", "n3", protocol="udp")
    cluster = replace(THREE, host_ports=own + other_port + udp)
    assert findings(service("      replicas: 1\n", HOST_PORT), cluster) == []


def test_a_port_held_by_a_service_the_plan_deletes_is_free() -> None:
    desired, _ = load(service("      replicas: 1\n", HOST_PORT))
    old = replace(desired.services["shop_web"], name="shop_old")
    live = replace(desired, services={"shop_old": old})
    cluster = replace(THREE, host_ports=held("n1", "n2", "n3", by="shop_old"))
    pruned = plan_changes(desired, live, prune=True)  # shop_old is deleted first
    assert placement_findings(pruned, cluster) == ()
    kept = plan_changes(desired, live)  # without --prune it stays, holding the port
    assert [f.code for f in placement_findings(kept, cluster)] == ["SC404"]


def test_a_global_service_warns_about_the_nodes_where_the_port_is_taken() -> None:
    cluster = replace(THREE, host_ports=held("n2"))
    [finding] = findings(service("      mode: global\n", HOST_PORT), cluster)
    assert (finding.code, finding.severity) == ("SC404", Severity.WARNING)
    assert "n2 by other_app" in finding.message


def test_ingress_ports_are_not_checked_and_need_no_task_list() -> None:
    text = service("      replicas: 5\n", "    ports: ['8080:80']\n")
    cluster = replace(ClusterNodes((node("n1"),)), host_ports=held("n1"))
    assert findings(text, cluster) == []
    assert not publishes_host_ports(plan_of(text))
    assert publishes_host_ports(plan_of(service("", HOST_PORT)))


# --- which services are checked -----------------------------------------------------


def test_only_services_the_plan_writes_are_checked() -> None:
    text = service(constraints("node.labels.zone==asia"))
    desired, _ = load(text)
    unchanged = plan_changes(desired, desired)  # the cluster runs the file already
    assert placement_findings(unchanged, THREE) == ()
    more = text.replace("replicas: 1", "replicas: 2")
    updated = plan_of(more, live=desired)  # an in-place update is a write
    assert [f.code for f in placement_findings(updated, THREE)] == ["SC401"]


# --- located, rendered, refused -------------------------------------------------------


def located_plan(text: str) -> Plan:
    desired, source_map = load(text)
    plan = with_placement_findings(plan_changes(desired, ClusterState(STACK)), THREE)
    return locate_plan(plan, source_map)  # type: ignore[arg-type]


def test_findings_are_located_in_the_file() -> None:
    text = service(constraints("node.labels.zone==asia"))
    [finding] = located_plan(text).findings
    assert finding.location is not None
    line = text.splitlines().index("          - 'node.labels.zone==asia'") + 1
    assert finding.location.line == line


def test_errors_refuse_with_located_findings_and_warnings_do_not() -> None:
    plan = located_plan(service(constraints("node.labels.zone==asia")))
    with pytest.raises(StackFileError) as raised:
        refuse_placement_errors(plan)
    [error] = raised.value.findings
    assert error.code == "SC401" and error.location.line is not None
    assert error.path.startswith("services.web.deploy.placement.constraints")
    warned = with_placement_findings(
        plan_of(service("      replicas: 2\n", HOST_PORT)), ClusterNodes((node("n1"),))
    )
    assert warned.findings and not warned.errors
    refuse_placement_errors(warned)  # no raise


def test_text_json_and_markdown_show_the_findings() -> None:
    plan = located_plan(service(constraints("node.labels.zone==asia")))
    text = render_text(plan)
    assert "error SC401 services.web.deploy.placement.constraints[node.labels.zone==asia]" in text
    assert "apply refuses this plan: 1 placement error(s)" in text
    [data] = plan_to_json(plan)["findings"]
    assert data["code"] == "SC401" and data["severity"] == "error" and data["line"]
    assert data["path"] == "services.web.deploy.placement.constraints[node.labels.zone==asia]"
    assert "SC401" in render_markdown(plan)


def test_a_plan_without_findings_renders_as_before() -> None:
    plan = with_placement_findings(plan_of(service("      replicas: 1\n")), THREE)
    assert plan.findings == ()
    assert "Placement preflight" not in render_text(plan)
    assert plan_to_json(plan)["findings"] == []
