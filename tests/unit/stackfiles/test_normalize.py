"""Normalization: short syntax to long, units, defaults, deterministic order."""

from __future__ import annotations

import hashlib

import pytest
from support.validation import normalized

from stackctl.core.model.model import (
    DependsOn,
    FileReference,
    Mount,
    Port,
    RestartPolicy,
    ServiceMode,
    ServiceNetwork,
    Ulimit,
)
from stackctl.core.model.normalize import normalize_document
from stackctl.errors import StackFileError


def _web(extra: str, tail: str = "") -> str:
    return "services:\n  web:\n    image: nginx:1.25\n" + extra + tail


@pytest.mark.parametrize(
    ("spec", "ports"),
    [
        ("80", (Port(target=80),)),
        ("'8080:80'", (Port(target=80, published=8080),)),
        ("'8080:80/udp'", (Port(target=80, published=8080, protocol="udp"),)),
        ("'127.0.0.1:5000:5000'", (Port(target=5000, published=5000),)),
        ("'3000-3001'", (Port(target=3000), Port(target=3001))),
        (
            "'9090-9091:8080-8081'",
            (Port(target=8080, published=9090), Port(target=8081, published=9091)),
        ),
        ("{target: 80, published: 8080, mode: host}", (Port(80, 8080, "tcp", "host"),)),
        (
            "{target: 80, published: '8080-8081'}",
            (Port(target=80, published=8080), Port(target=80, published=8081)),
        ),
    ],
)
def test_port_syntaxes(spec: str, ports: tuple[Port, ...]) -> None:
    stack = normalized(_web(f"    ports: [{spec}]\n"))
    assert stack.services["web"].ports == ports


@pytest.mark.parametrize(
    ("spec", "mount"),
    [
        ("/var/lib/data", Mount(type="volume", target="/var/lib/data")),
        ("/opt/data:/data", Mount(type="bind", source="/opt/data", target="/data")),
        ("./static:/www:ro", Mount("bind", "/www", "/stack/static", read_only=True)),
        (".:/code", Mount(type="bind", source="/stack", target="/code")),
        ("~/conf:/etc/conf", Mount(type="bind", source="/home/u/conf", target="/etc/conf")),
        ("data:/data:nocopy", Mount("volume", "/data", "data", volume_nocopy=True)),
        ("/a:/b:rshared", Mount("bind", "/b", "/a", bind_propagation="rshared")),
        (
            "{type: tmpfs, target: /tmp, tmpfs: {size: 64m, mode: '1777'}}",
            Mount("tmpfs", "/tmp", tmpfs_size=64 * 1024**2, tmpfs_mode=0o1777),
        ),
        (
            "{type: bind, source: ./opt, target: /opt, read_only: true}",
            Mount("bind", "/opt", "/stack/opt", read_only=True),
        ),
    ],
)
def test_volume_syntaxes(spec: str, mount: Mount) -> None:
    volumes = "volumes:\n  data: {}\n"
    stack = normalized(
        _web(
            f"    volumes: ['{spec}']\n" if spec[0] != "{" else f"    volumes: [{spec}]\n", volumes
        )
    )
    assert stack.services["web"].volumes == (mount,)


def test_configs_and_secrets_get_dockers_defaults_and_content_hash() -> None:
    stack = normalized(
        _web(
            "    configs:\n      - app\n      - {source: extra, target: /etc/x.conf, mode: 0440}\n"
            "    secrets: [token]\n",
            "configs:\n  app: {file: ./app.conf}\n  extra: {external: true}\n"
            "secrets:\n  token: {file: /run/token.txt, labels: [team=a]}\n",
        ),
        files={"/stack/app.conf": b"hello", "/run/token.txt": b"s3cret"},
    )
    web = stack.services["web"]
    assert web.configs == (
        FileReference(source="app", target="app"),
        FileReference(source="extra", target="/etc/x.conf", mode=0o440),
    )
    assert web.secrets == (FileReference(source="token", target="token", mode=0o444),)
    token = stack.secrets["token"]
    assert token.content == b"s3cret"
    assert token.content_sha256 == hashlib.sha256(b"s3cret").hexdigest()
    assert dict(token.labels) == {"team": "a"}
    assert stack.configs["app"].file == "/stack/app.conf"
    assert stack.configs["extra"].external and stack.configs["extra"].content is None
    assert "s3cret" not in repr(stack)


def test_unreadable_config_file_is_a_located_error() -> None:
    with pytest.raises(StackFileError) as caught:
        normalized(_web("    configs: [app]\n", "configs:\n  app: {file: ./missing.conf}\n"))
    (finding,) = caught.value.findings
    assert finding.path == "configs.app.file"
    assert "missing.conf" in finding.message


def test_environment_list_and_mapping_forms_agree() -> None:
    as_list = normalized(_web("    environment: [A=1, B=x=y, C, D=]\n"))
    as_map = normalized(_web("    environment: {A: 1, B: x=y, C: null, D: ''}\n"))
    expected = {"A": "1", "B": "x=y", "C": None, "D": ""}
    assert dict(as_list.services["web"].environment) == expected
    assert as_list == as_map


def test_labels_sysctls_and_extra_hosts() -> None:
    stack = normalized(
        _web(
            "    labels: [a=1, b]\n    sysctls: {net.core.somaxconn: 1024}\n"
            "    extra_hosts: {db: 10.0.0.2}\n"
        )
    )
    web = stack.services["web"]
    assert dict(web.labels) == {"a": "1", "b": ""}
    assert dict(web.sysctls) == {"net.core.somaxconn": "1024"}
    assert web.extra_hosts == ("db:10.0.0.2",)


def test_units_become_integers() -> None:
    stack = normalized(
        _web(
            "    stop_grace_period: 1m30s\n"
            "    healthcheck: {test: curl -f localhost, interval: 10s, retries: 3}\n"
            "    deploy:\n"
            "      update_config: {delay: 500ms, monitor: 1m}\n"
            "      resources:\n"
            "        limits: {cpus: '0.5', memory: 512m, pids: 100}\n"
            "        reservations:\n"
            "          memory: 1g\n"
            "          generic_resources: [{discrete_resource_spec: {kind: gpu, value: 2}}]\n"
        )
    )
    web = stack.services["web"]
    assert web.stop_grace_period == 90_000_000_000
    assert web.healthcheck is not None
    assert web.healthcheck.test == ("CMD-SHELL", "curl -f localhost")
    assert web.healthcheck.interval == 10_000_000_000
    update = web.deploy.update_config
    assert update is not None and (update.delay, update.monitor) == (500_000_000, 60_000_000_000)
    resources = web.deploy.resources
    assert resources is not None and resources.limits is not None
    assert (resources.limits.nano_cpus, resources.limits.memory_bytes) == (500_000_000, 512 << 20)
    assert resources.reservations is not None
    assert resources.reservations.memory_bytes == 1 << 30
    assert resources.reservations.generic_resources[0].value == 2


def test_command_string_is_split_like_a_shell() -> None:
    stack = normalized(_web("    command: sh -c 'echo \"hi there\"'\n"))
    assert stack.services["web"].command == ("sh", "-c", 'echo "hi there"')


def test_external_and_name_forms() -> None:
    stack = normalized(
        _web(
            "",
            "networks:\n  a: {external: true}\n  b: {external: {name: real-b}}\n"
            "  c: {name: custom-c, driver: overlay, attachable: true}\n  d:\n",
        )
    )
    nets = stack.networks
    assert (nets["a"].external, nets["a"].external_name) == (True, None)
    assert (nets["b"].external, nets["b"].external_name) == (True, "real-b")
    assert (nets["c"].external, nets["c"].external_name, nets["c"].attachable) == (
        False,
        "custom-c",
        True,
    )
    assert nets["d"].driver is None


def test_service_networks_sorted_with_options() -> None:
    stack = normalized(
        _web(
            "    networks:\n      z: {aliases: [web-z]}\n      a:\n",
            "networks:\n  z: {}\n  a: {}\n",
        )
    )
    assert stack.services["web"].networks == (
        ServiceNetwork(name="a"),
        ServiceNetwork(name="z", aliases=("web-z",)),
    )


def test_legacy_restart_maps_to_a_restart_policy() -> None:
    stack = normalized(_web("    restart: on-failure:3\n"))
    assert stack.services["web"].deploy.restart_policy == RestartPolicy(
        condition="on-failure", max_attempts=3
    )
    explicit = normalized(
        _web("    restart: always\n    deploy: {restart_policy: {condition: none}}\n")
    )
    assert explicit.services["web"].deploy.restart_policy == RestartPolicy(condition="none")


def test_depends_on_forms_and_ulimits() -> None:
    stack = normalized(
        "services:\n  web:\n    image: w:1\n    depends_on: {db: {condition: service_healthy}}\n"
        "    ulimits: {nproc: 512, nofile: {soft: 1, hard: 2}}\n"
        "  db:\n    image: d:1\n  api:\n    image: a:1\n    depends_on: [db]\n"
    )
    assert stack.services["web"].depends_on == (DependsOn("db", "service_healthy"),)
    assert stack.services["api"].depends_on == (DependsOn("db", "service_started"),)
    assert stack.services["web"].ulimits == (Ulimit("nofile", 1, 2), Ulimit("nproc", 512, 512))


def test_mode_settings_and_extensions() -> None:
    stack = normalized(
        "x-stackctl: {ignore: [SC104, SC101]}\n"
        "services:\n  agent:\n    image: a:1\n    deploy: {mode: global}\n    x-team: infra\n"
    )
    agent = stack.services["agent"]
    assert agent.deploy.mode is ServiceMode.GLOBAL
    assert dict(agent.extensions) == {"x-team": "infra"}
    assert stack.settings.ignore == ("SC101", "SC104")


def test_order_in_the_file_does_not_change_the_model() -> None:
    one = normalized(
        "services:\n  b:\n    image: b:1\n    secrets: [y, x]\n  a:\n    image: a:1\n"
        "secrets:\n  x: {external: true}\n  y: {external: true}\n"
    )
    two = normalized(
        "secrets:\n  y: {external: true}\n  x: {external: true}\n"
        "services:\n  a:\n    image: a:1\n  b:\n    image: b:1\n    secrets: [x, y]\n"
    )
    assert one == two
    assert list(one.services) == ["a", "b"]


def test_normalize_without_working_dir_keeps_paths() -> None:
    data = {"services": {"web": {"image": "w:1", "volumes": ["./d:/d"]}}}
    stack = normalize_document(data, read_file=lambda path: b"")
    assert stack.services["web"].volumes[0].source == "./d"


def test_sections_repeated_across_services_normalize_alike_and_others_do_not() -> None:
    # Identical sections are normalized once and shared (the results are frozen).
    deploy = "    deploy: {replicas: 2, update_config: {delay: 5s}}\n"
    health = "    healthcheck: {test: [CMD, 'true'], interval: 5s}\n"
    stack = normalized(
        "services:\n"
        + "".join(f"  s{i}:\n    image: x\n" + deploy + health for i in range(3))
        + "  legacy:\n    image: x\n    restart: on-failure\n"
        + deploy
        + "    healthcheck: {test: [CMD, 'true'], interval: 5s, retries: 1}\n"
    )
    first, legacy = stack.services["s0"], stack.services["legacy"]
    assert all(stack.services[f"s{i}"].deploy == first.deploy for i in range(3))
    assert first.deploy.replicas == 2 and first.deploy.update_config is not None
    assert first.deploy.restart_policy is None
    assert legacy.deploy.restart_policy == RestartPolicy(condition="on-failure")
    assert legacy.deploy.replicas == 2
    assert first.healthcheck is not None and first.healthcheck.retries is None
    assert legacy.healthcheck is not None and legacy.healthcheck.retries == 1
