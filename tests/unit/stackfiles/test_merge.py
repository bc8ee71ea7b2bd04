"""Every merge rule, and locations surviving the merge."""

from __future__ import annotations

from typing import Any

from support.stackfile_builders import parse

from stackctl.core.load.merge import (
    LocatedDocument,
    merge_documents,
    port_identity,
    volume_identity,
)


def _doc(text: str, file: str) -> LocatedDocument:
    parsed = parse(text, file)
    return LocatedDocument(parsed.data, parsed.locations)


def _merge(*texts: str) -> LocatedDocument:
    return merge_documents([_doc(t, f"f{i}.yml") for i, t in enumerate(texts)])


def _web(*service_yaml: str) -> dict[str, Any]:
    texts = [
        "services:\n  web:\n" + "".join("    " + ln + "\n" for ln in s.split("\n"))
        for s in service_yaml
    ]
    return _merge(*texts).data["services"]["web"]  # type: ignore[no-any-return]


def test_mappings_merge_recursively_and_scalars_override() -> None:
    web = _web(
        "image: a\nuser: root\ndeploy:\n  replicas: 1\n  resources:\n    limits: {cpus: '1'}",
        "image: b\ndeploy:\n  resources:\n    limits: {memory: 1g}",
    )
    assert web == {
        "image": "b",
        "user": "root",
        "deploy": {"replicas": 1, "resources": {"limits": {"cpus": "1", "memory": "1g"}}},
    }


def test_services_and_top_level_sections_from_both_files() -> None:
    merged = _merge(
        "services:\n  a: {image: a}\nnetworks:\n  front: {driver: overlay}\n",
        "services:\n  b: {image: b}\nnetworks:\n  front: {attachable: true}\n  back: {}\n",
    ).data
    assert set(merged["services"]) == {"a", "b"}
    assert merged["networks"] == {
        "front": {"driver": "overlay", "attachable": True},
        "back": {},
    }


def test_null_never_erases() -> None:
    web = _web("image: a\nenvironment: {A: '1'}", "image:\nenvironment:")
    assert web == {"image": "a", "environment": {"A": "1"}}


def test_command_entrypoint_and_healthcheck_test_are_replaced() -> None:
    web = _web(
        "command: [a, b]\nentrypoint: [x]\nhealthcheck:\n  test: [CMD, one]\n  retries: 3",
        "command: [c]\nentrypoint: sh -c y\nhealthcheck:\n  test: [CMD, two]",
    )
    assert web["command"] == ["c"]
    assert web["entrypoint"] == "sh -c y"
    assert web["healthcheck"] == {"test": ["CMD", "two"], "retries": 3}


def test_ports_merge_by_identity() -> None:
    web = _web(
        "ports:\n  - 80:80\n  - 443:443",
        "ports:\n  - target: 80\n    published: 80\n  - 8080:8080/udp\n  - '443:443'",
    )
    assert web["ports"] == [
        {"target": 80, "published": 80},
        "443:443",
        "8080:8080/udp",
    ]


def test_port_identity_short_and_long_are_equivalent() -> None:
    assert port_identity("127.0.0.1:8080:80/udp") == port_identity(
        {"host_ip": "127.0.0.1", "published": "8080", "target": 80, "protocol": "udp"}
    )
    assert port_identity("80") == port_identity({"target": 80})
    assert port_identity(80) == port_identity("80")
    assert port_identity("[::1]:80:80") == ("::1", "80", "80", "tcp")
    assert port_identity("80:80") != port_identity("80:80/udp")


def test_volumes_merge_by_target() -> None:
    web = _web(
        "volumes:\n  - data:/data\n  - /logs",
        "volumes:\n  - other:/data:ro\n  - type: tmpfs\n    target: /tmp",
    )
    assert web["volumes"] == ["other:/data:ro", "/logs", {"type": "tmpfs", "target": "/tmp"}]
    assert volume_identity("c:\\data:/data") == ("target", "/data")


def test_secrets_and_configs_merge_by_source() -> None:
    web = _web(
        "secrets:\n  - db\n  - api\nconfigs:\n  - source: conf\n    target: /a",
        "secrets:\n  - source: db\n    target: /run/db\nconfigs:\n  - source: conf\n    target: /b",
    )
    assert web["secrets"] == [{"source": "db", "target": "/run/db"}, "api"]
    assert web["configs"] == [{"source": "conf", "target": "/b"}]


def test_environment_labels_sysctls_merge_by_key_in_both_forms() -> None:
    web = _web(
        "environment:\n  - A=1\n  - B=2\nlabels:\n  x: '1'\nsysctls:\n  - net.a=1",
        "environment:\n  B: '3'\n  C: '4'\nlabels:\n  - y=2\nsysctls:\n  net.b: '2'",
    )
    assert web["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert web["labels"] == {"x": "1", "y": "2"}
    assert web["sysctls"] == {"net.a": "1", "net.b": "2"}


def test_deploy_labels_merge_by_key() -> None:
    web = _web("deploy:\n  labels: [a=1, b=2]", "deploy:\n  labels: {b: '3'}")
    assert web["deploy"]["labels"] == {"a": "1", "b": "3"}


def test_list_environment_in_both_files_dedupes_by_name() -> None:
    web = _web("environment: [A=1, B=2]", "environment: [A=9]")
    assert web["environment"] == {"A": "9", "B": "2"}


def test_service_networks_list_and_mapping_forms() -> None:
    web = _web(
        "networks:\n  - front\n  - back",
        "networks:\n  back:\n    aliases: [db]\n  extra:",
    )
    assert web["networks"] == {"front": None, "back": {"aliases": ["db"]}, "extra": None}


def test_network_aliases_are_replaced_other_settings_merge() -> None:
    web = _web(
        "networks:\n  n:\n    aliases: [a, b]\n    ipv4_address: 10.0.0.2",
        "networks:\n  n:\n    aliases: [c]",
    )
    assert web["networks"] == {"n": {"aliases": ["c"], "ipv4_address": "10.0.0.2"}}


def test_both_network_lists_are_unioned() -> None:
    assert _web("networks: [a, b]", "networks: [b, c]")["networks"] == ["a", "b", "c"]


def test_logging_same_driver_merges_options_other_driver_replaces() -> None:
    same = _web(
        "logging:\n  driver: json-file\n  options: {max-size: 1m}",
        "logging:\n  options: {max-file: '3'}",
    )
    assert same["logging"] == {
        "driver": "json-file",
        "options": {"max-size": "1m", "max-file": "3"},
    }
    other = _web(
        "logging:\n  driver: json-file\n  options: {max-size: 1m}",
        "logging:\n  driver: syslog",
    )
    assert other["logging"] == {"driver": "syslog"}


def test_ulimits_entries_replace_whole() -> None:
    web = _web(
        "ulimits:\n  nofile: {soft: 1, hard: 2}\n  nproc: 10",
        "ulimits:\n  nofile: {soft: 5}",
    )
    assert web["ulimits"] == {"nofile": {"soft": 5}, "nproc": 10}


def test_other_lists_are_unioned_in_order() -> None:
    web = _web(
        "dns: [1.1.1.1]\ncap_add: [NET_ADMIN]\ndeploy:\n  placement:\n    constraints: [a==b]",
        "dns: [8.8.8.8, 1.1.1.1]\ncap_add: [SYS_TIME]\n"
        "deploy:\n  placement:\n    constraints: [c==d]",
    )
    assert web["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert web["cap_add"] == ["NET_ADMIN", "SYS_TIME"]
    assert web["deploy"]["placement"]["constraints"] == ["a==b", "c==d"]


def test_string_and_list_forms_union() -> None:
    assert _web("dns: 1.1.1.1", "dns: [8.8.8.8]")["dns"] == ["1.1.1.1", "8.8.8.8"]


def test_type_changes_replace() -> None:
    assert _web("healthcheck: {disable: true}", "healthcheck: nope")["healthcheck"] == "nope"


def test_three_files_merge_in_order() -> None:
    merged = _merge(
        "services:\n  web: {image: a, user: x}\n",
        "services:\n  web: {image: b}\n",
        "services:\n  web: {image: c}\n",
    )
    assert merged.data["services"]["web"] == {"image": "c", "user": "x"}
    assert merged.locations[("services", "web", "image")].file == "f2.yml"
    assert merged.locations[("services", "web", "user")].file == "f0.yml"


def test_locations_survive_merging() -> None:
    merged = _merge(
        "services:\n  web:\n    image: a\n    ports:\n      - 80:80\n"
        "    environment:\n      - A=1\n",
        "services:\n  web:\n    ports:\n      - 81:81\n    environment:\n      B: '2'\n"
        "  db:\n    image: p\n",
    )
    locs = merged.locations
    assert (locs[("services", "web", "image")].file, locs[("services", "web", "image")].line) == (
        "f0.yml",
        3,
    )
    assert locs[("services", "web", "ports", 0)].file == "f0.yml"
    assert locs[("services", "web", "ports", 1)].file == "f1.yml"
    assert locs[("services", "web", "ports", 1)].line == 4
    assert locs[("services", "web", "environment", "A")].file == "f0.yml"
    assert locs[("services", "web", "environment", "B")].file == "f1.yml"
    assert locs[("services", "db", "image")].file == "f1.yml"
    assert ("services", "web", "environment", 0) not in locs


def test_replaced_subtree_drops_old_locations() -> None:
    merged = _merge(
        "services:\n  web:\n    command: [a, b, c]\n",
        "services:\n  web:\n    command: [z]\n",
    )
    assert merged.locations[("services", "web", "command", 0)].file == "f1.yml"
    assert ("services", "web", "command", 2) not in merged.locations


def test_inputs_are_not_modified() -> None:
    base = _doc("services:\n  web:\n    environment: {A: '1'}\n", "a.yml")
    over = _doc("services:\n  web:\n    environment: {B: '2'}\n", "b.yml")
    merge_documents([base, over])
    assert base.data == {"services": {"web": {"environment": {"A": "1"}}}}
    assert ("services", "web", "environment", "B") not in base.locations


def test_merge_of_nothing_and_one() -> None:
    assert merge_documents([]).data == {}
    single = _doc("services: {}\n", "a.yml")
    assert merge_documents([single]).data == {"services": {}}
