"""Semantic checks (SC2xx), ignored keys (SC3xx) and Compose-Specification-only keys."""

from __future__ import annotations

import pytest
from support.validation import errors, findings, warnings

from stackctl.core.validate.semantic import stack_name_findings
from stackctl.errors import Severity

BASE = "services:\n  web:\n    image: nginx:1.25\n"

# (case id, YAML, code, path, line, fragment of the message)
ERROR_CASES = [
    (
        "undefined network",
        BASE + "    networks: [frontend]\nnetworks:\n  front: {}\n",
        "SC201",
        "services.web.networks[0]",
        4,
        "network 'frontend' is not defined",
    ),
    (
        "undefined config",
        BASE + "    configs: [app]\n",
        "SC202",
        "services.web.configs[0]",
        4,
        "config 'app' is not defined",
    ),
    (
        "undefined secret (long syntax)",
        BASE + "    secrets:\n      - source: token\n",
        "SC203",
        "services.web.secrets[0]",
        5,
        "secret 'token' is not defined",
    ),
    (
        "undefined named volume",
        BASE + "    volumes: ['data:/var/lib/data']\n",
        "SC204",
        "services.web.volumes[0]",
        4,
        "volume 'data' is not defined",
    ),
    (
        "undefined credential_spec config",
        BASE + "    credential_spec: {config: cred}\n",
        "SC202",
        "services.web.credential_spec.config",
        4,
        "config 'cred' is not defined",
    ),
    (
        "duplicate published port across services",
        BASE + "    ports: ['8080:80']\n  api:\n    image: api:1\n    ports: ['8080:8000']\n",
        "SC205",
        "services.api.ports[0]",
        7,
        "published port 8080/tcp is already used by service 'web'",
    ),
    (
        "duplicate published port from a range",
        BASE + "    ports: ['8000-8002:80-82', {target: 90, published: 8001}]\n",
        "SC205",
        "services.web.ports[1]",
        4,
        "published port 8001/tcp is already used",
    ),
    (
        "duration without unit",
        BASE + "    stop_grace_period: '10'\n",
        "SC206",
        "services.web.stop_grace_period",
        4,
        "duration '10' has no unit",
    ),
    (
        "malformed duration",
        BASE + "    healthcheck:\n      interval: 10 seconds\n",
        "SC206",
        "services.web.healthcheck.interval",
        5,
        "'10 seconds' is not a duration",
    ),
    (
        "negative duration",
        BASE + "    deploy:\n      update_config:\n        delay: -5s\n",
        "SC206",
        "services.web.deploy.update_config.delay",
        6,
        "negative",
    ),
    (
        "malformed byte size",
        BASE + "    deploy:\n      resources:\n        limits:\n          memory: 512mb-ish\n",
        "SC207",
        "services.web.deploy.resources.limits.memory",
        7,
        "'512mb-ish' is not a byte size",
    ),
    (
        "malformed cpus",
        BASE + "    deploy:\n      resources:\n        limits:\n          cpus: half\n",
        "SC208",
        "services.web.deploy.resources.limits.cpus",
        7,
        "'half' is not a number of CPUs",
    ),
    (
        "too precise cpus",
        BASE + "    deploy:\n      resources:\n        limits:\n          cpus: '0.0000000001'\n",
        "SC208",
        "services.web.deploy.resources.limits.cpus",
        7,
        "too precise",
    ),
    (
        "constraint without operator",
        BASE + "    deploy:\n      placement:\n        constraints: ['node.role=manager']\n",
        "SC209",
        "services.web.deploy.placement.constraints[0]",
        6,
        "'node.role=manager' is not a placement constraint",
    ),
    (
        "constraint with unknown attribute",
        BASE + "    deploy:\n      placement:\n        constraints: ['node.rol == manager']\n",
        "SC209",
        "services.web.deploy.placement.constraints[0]",
        6,
        "unknown constraint attribute 'node.rol'",
    ),
    (
        "constraint with a bad role",
        BASE + "    deploy:\n      placement:\n        constraints: ['node.role == leader']\n",
        "SC209",
        "services.web.deploy.placement.constraints[0]",
        6,
        "node.role can be manager or worker",
    ),
    (
        "replicas with global mode",
        BASE + "    deploy:\n      mode: global\n      replicas: 2\n",
        "SC210",
        "services.web.deploy.replicas",
        6,
        "replicas cannot be used with mode: global",
    ),
    (
        "dnsrr with ingress ports",
        BASE + "    ports: ['80:80']\n    deploy:\n      endpoint_mode: dnsrr\n",
        "SC210",
        "services.web.deploy.endpoint_mode",
        6,
        "endpoint_mode: dnsrr cannot be used with ports published in ingress mode",
    ),
    (
        "external network with a driver",
        BASE + "networks:\n  shared:\n    external: true\n    driver: overlay\n",
        "SC211",
        "networks.shared.driver",
        7,
        "external network 'shared' cannot also set driver",
    ),
    (
        "external secret with a file",
        BASE + "secrets:\n  token:\n    external: true\n    file: ./token\n",
        "SC211",
        "secrets.token.file",
        7,
        "external secret 'token' cannot also set file",
    ),
    (
        "service name longer than Swarm allows",
        "services:\n  " + "s" * 62 + ":\n    image: nginx:1.25\n",
        "SC212",
        "services." + "s" * 62,
        2,
        "characters long",
    ),
    (
        "malformed short port",
        BASE + "    ports: ['80:http']\n",
        "SC213",
        "services.web.ports[0]",
        4,
        "'http' is not a valid container port",
    ),
    (
        "port range size mismatch",
        BASE + "    ports: ['8000-8002:80-81']\n",
        "SC213",
        "services.web.ports[0]",
        4,
        "differ in size",
    ),
    (
        "unknown protocol",
        BASE + "    ports: ['53:53/icmp']\n",
        "SC213",
        "services.web.ports[0]",
        4,
        "protocol 'icmp'",
    ),
    (
        "volume with too many parts",
        BASE + "    volumes: ['/a:/b:ro:extra']\n",
        "SC214",
        "services.web.volumes[0]",
        4,
        "too many",
    ),
    (
        "volume with unknown option",
        BASE + "    volumes: ['/a:/b:readonly']\n",
        "SC214",
        "services.web.volumes[0]",
        4,
        "unknown option 'readonly'",
    ),
    (
        "depends_on cycle",
        "services:\n  a:\n    image: a:1\n    depends_on: [b]\n  b:\n    image: b:1\n"
        "    depends_on: [a]\n",
        "SC215",
        "services.b.depends_on",
        7,
        "cycle: a -> b -> a",
    ),
    (
        "healthcheck disable with test",
        BASE + "    healthcheck:\n      disable: true\n      test: [CMD, true]\n",
        "SC217",
        "services.web.healthcheck",
        4,
        "both disable: true and test",
    ),
    (
        "credential spec with two sources",
        BASE + "    credential_spec: {file: a.json, registry: b}\n",
        "SC218",
        "services.web.credential_spec",
        4,
        "give only one",
    ),
    (
        "bad legacy restart",
        BASE + "    restart: sometimes\n",
        "SC219",
        "services.web.restart",
        4,
        "'sometimes' is not a restart policy",
    ),
    (
        "Compose file format 2",
        "version: '2.4'\n" + BASE,
        "SC021",
        "version",
        1,
        "version '2.4' is not supported",
    ),
    (
        "compose-spec platform",
        BASE + "    platform: linux/amd64\n",
        "SC020",
        "services.web.platform",
        4,
        "docker stack deploy does not support",
    ),
    (
        "compose-spec top-level name",
        "name: myproject\n" + BASE,
        "SC020",
        "name",
        1,
        "docker stack deploy does not support",
    ),
    (
        "compose-spec config content",
        BASE + "configs:\n  app:\n    content: hello\n",
        "SC020",
        "configs.app.content",
        6,
        "docker stack deploy does not support",
    ),
    (
        "no services",
        "networks:\n  n: {}\n",
        "SC200",
        "",
        1,
        "the stack defines no services",
    ),
]


@pytest.mark.parametrize(
    ("text", "code", "path", "line", "fragment"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_semantic_error_is_located(
    text: str, code: str, path: str, line: int, fragment: str
) -> None:
    found = [f for f in errors(text) if f.code == code]
    assert len(found) == 1, [(f.code, f.path, f.message) for f in errors(text)]
    finding = found[0]
    assert finding.path == path
    assert finding.location.line == line
    assert fragment in finding.message


def test_undefined_reference_suggests_the_close_name() -> None:
    (finding,) = errors(BASE + "    networks: [frontend]\nnetworks:\n  front: {}\n")
    assert finding.hint == "did you mean 'front'?"


def test_default_network_needs_no_declaration() -> None:
    assert not errors(BASE + "    networks: [default]\n")


def test_ports_in_host_mode_may_repeat_across_services() -> None:
    text = (
        "services:\n"
        "  a:\n    image: a:1\n    ports: [{target: 80, published: 80, mode: host}]\n"
        "  b:\n    image: b:1\n    ports: [{target: 80, published: 80, mode: host}]\n"
    )
    assert not errors(text)


def test_dnsrr_with_host_mode_ports_is_fine() -> None:
    text = BASE + "    ports: [{target: 80, published: 80, mode: host}]\n"
    assert not errors(text + "    deploy: {endpoint_mode: dnsrr}\n")


def test_same_port_on_different_protocols_is_fine() -> None:
    assert not errors(BASE + "    ports: ['53:53/tcp', '53:53/udp']\n")


@pytest.mark.parametrize(
    "key", ["build: .", "container_name: web", "privileged: true", "links: [db]", "devices: [x]"]
)
def test_keys_swarm_ignores_are_warnings_naming_the_key_and_line(key: str) -> None:
    found = findings(BASE + f"    {key}\n")
    assert [(f.severity, f.code, f.location.line) for f in found] == [
        (Severity.WARNING, "SC301", 4)
    ]
    assert key.split(":")[0] in found[0].message
    assert found[0].hint


def test_host_ip_in_short_port_is_a_warning() -> None:
    (finding,) = warnings(BASE + "    ports: ['127.0.0.1:8080:80']\n")
    assert finding.code == "SC302"
    assert "127.0.0.1" in finding.message


def test_deprecated_external_name_warns() -> None:
    (finding,) = warnings(BASE + "volumes:\n  data:\n    external:\n      name: legacy\n")
    assert finding.code == "SC303"
    assert finding.path == "volumes.data.external.name"


def test_unused_network_warns_that_it_will_not_be_created() -> None:
    text = (
        BASE
        + "    networks: [front]\nnetworks:\n  front: {}\n  spare: {}\n  ext: {external: true}\n"
    )
    (finding,) = warnings(text)
    assert finding.code == "SC304"
    assert finding.path == "networks.spare"
    assert finding.location.line == 7


def test_default_network_counts_as_used_by_services_without_networks() -> None:
    assert not warnings(BASE + "networks:\n  default: {driver_opts: {encrypted: ''}}\n")


def test_service_without_image_warns_about_build() -> None:
    found = warnings("services:\n  web:\n    build: .\n")
    codes = sorted(f.code for f in found)
    assert codes == ["SC220", "SC301"]


def test_undefined_dependency_is_a_warning() -> None:
    (finding,) = warnings(BASE + "    depends_on: [db]\n")
    assert finding.code == "SC215"


def test_depends_on_with_condition_is_supported() -> None:
    text = (
        "services:\n  web:\n    image: web:1\n    depends_on:\n"
        "      db: {condition: service_healthy}\n  db:\n    image: db:1\n"
    )
    assert not findings(text)


def test_full_service_names_checked_against_the_stack_name() -> None:
    (finding,) = stack_name_findings(["a" * 40, "short"], "s" * 30)
    assert finding.code == "SC212"
    assert finding.path == "services." + "a" * 40
    assert not stack_name_findings(["a" * 40], "prod")
