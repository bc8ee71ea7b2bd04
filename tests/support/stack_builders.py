"""Test-only builders of normalized ``Stack`` objects (no loader involved).

``every_key_stack()`` is the normalized form of ``tests/fixtures/every-key.yml``
written out by hand, so the conversion can be tested without the loader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stackctl.core.model.model import (
    CredentialSpec,
    Deploy,
    FileObject,
    FileReference,
    GenericResource,
    Healthcheck,
    IPAMPool,
    Logging,
    Mount,
    Network,
    Placement,
    Port,
    ResourceLimits,
    Resources,
    RestartPolicy,
    Service,
    ServiceMode,
    ServiceNetwork,
    Stack,
    Ulimit,
    UpdateConfig,
    Volume,
    frozen_map,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
S = 1_000_000_000  # one second in ns


def file_object(name: str, content: bytes | None = None, **kwargs: Any) -> FileObject:
    digest = hashlib.sha256(content).hexdigest() if content is not None else None
    return FileObject(name=name, content=content, content_sha256=digest, **kwargs)


def stack(
    services: Mapping[str, Service] | None = None,
    *,
    networks: Mapping[str, Network] | None = None,
    volumes: Mapping[str, Volume] | None = None,
    configs: Mapping[str, FileObject] | None = None,
    secrets: Mapping[str, FileObject] | None = None,
) -> Stack:
    return Stack(
        services=frozen_map(services),
        networks=frozen_map(networks),
        volumes=frozen_map(volumes),
        configs=frozen_map(configs),
        secrets=frozen_map(secrets),
    )


def service(name: str, image: str = "img:1", **kwargs: Any) -> Service:
    for key in ("environment", "labels", "sysctls"):
        if key in kwargs:
            kwargs[key] = frozen_map(kwargs[key])
    return Service(name=name, image=image, **kwargs)


def _content(name: str) -> bytes:
    return (FIXTURES / "every-key" / name).read_bytes()


def every_key_stack() -> Stack:
    """``tests/fixtures/every-key.yml``, normalized by hand."""
    image = "stackctl-test/every-key:1"
    web = service(
        "web",
        image,
        entrypoint=("/bin/sh", "-c"),
        command=("httpd -f -p 8080",),
        environment={"B_VAR": "2", "A_VAR": "1", "EMPTY": "", "NO_VALUE": None},
        labels={"com.example.container": "yes"},
        ports=(
            Port(target=8080, published=18080, protocol="tcp", mode="host"),
            Port(target=9090, published=19090, protocol="udp", mode="ingress"),
            Port(target=7000, mode="ingress"),
        ),
        volumes=(
            Mount(type="volume", source="data", target="/data", volume_nocopy=True),
            Mount(
                type="bind",
                source="/tmp",
                target="/hosttmp",
                read_only=True,
                bind_propagation="rprivate",
            ),
            Mount(type="tmpfs", target="/scratch", tmpfs_size=1048576),
            Mount(type="volume", target="/anonymous"),
            Mount(type="volume", source="named", target="/named", read_only=True),
        ),
        networks=(
            ServiceNetwork(name="back"),
            ServiceNetwork(name="front", aliases=("www", "web-alias")),
        ),
        configs=(
            FileReference(
                source="app_conf", target="/etc/app.conf", uid="100", gid="101", mode=0o440
            ),
            FileReference(source="extra_conf", target="extra_conf"),
        ),
        secrets=(
            FileReference(source="api_key", target="api_key_file", mode=0o400),
            FileReference(source="token", target="token"),
        ),
        healthcheck=Healthcheck(
            test=("CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/ || exit 1"),
            interval=10 * S,
            timeout=2 * S,
            retries=3,
            start_period=5 * S,
        ),
        deploy=Deploy(
            mode=ServiceMode.REPLICATED,
            replicas=0,
            labels=frozen_map({"com.example.service": "web"}),
            update_config=UpdateConfig(
                parallelism=2,
                delay=5 * S,
                failure_action="rollback",
                monitor=10 * S,
                max_failure_ratio=0.1,
                order="start-first",
            ),
            rollback_config=UpdateConfig(
                parallelism=1,
                delay=1 * S,
                failure_action="pause",
                monitor=5 * S,
                max_failure_ratio=0.2,
                order="stop-first",
            ),
            resources=Resources(
                limits=ResourceLimits(nano_cpus=500_000_000, memory_bytes=64 << 20, pids=100),
                reservations=ResourceLimits(
                    nano_cpus=100_000_000,
                    memory_bytes=16 << 20,
                    generic_resources=(GenericResource(kind="gpu", value=1),),
                ),
            ),
            restart_policy=RestartPolicy(
                condition="on-failure", delay=3 * S, max_attempts=4, window=30 * S
            ),
            placement=Placement(
                constraints=("node.role == manager",),
                preferences=("node.labels.az",),
                max_replicas_per_node=2,
            ),
            endpoint_mode="vip",
        ),
        user="1000:1000",
        working_dir="/srv",
        hostname="web-host",
        dns=("1.1.1.1", "8.8.8.8"),
        dns_search=("example.com",),
        extra_hosts=("somehost:10.0.0.1", "otherhost:10.0.0.2"),
        cap_add=("NET_ADMIN",),
        cap_drop=("MKNOD",),
        sysctls={"net.core.somaxconn": "1024"},
        ulimits=(Ulimit("nproc", 500, 500), Ulimit("nofile", 1000, 2000)),
        init=True,
        read_only=True,
        tty=True,
        stdin_open=True,
        stop_signal="SIGTERM",
        stop_grace_period=20 * S,
        logging=Logging(driver="json-file", options=frozen_map({"max-size": "1m"})),
        isolation="default",
    )
    worker = service(
        "worker",
        image,
        deploy=Deploy(
            mode=ServiceMode.GLOBAL,
            endpoint_mode="dnsrr",
            restart_policy=RestartPolicy(condition="any"),
        ),
        healthcheck=Healthcheck(disable=True),
    )
    job = service(
        "job", image, command=("true",), deploy=Deploy(mode=ServiceMode.REPLICATED_JOB, replicas=0)
    )
    plain = service("plain", image)
    edge = service(
        "edge",
        "stackctl-test/every-key",
        cap_add=("ALL",),
        cap_drop=("net_raw",),
        init=False,
        stop_grace_period=0,
        credential_spec=CredentialSpec(config="cred_spec"),
        configs=(FileReference(source="cred_spec", target="/cred.json"),),
        healthcheck=Healthcheck(test=("CMD", "true"), retries=0),
        ports=(Port(target=81), Port(target=82), Port(target=83, protocol="udp")),
        volumes=(
            Mount(type="tmpfs", target="/t", tmpfs_mode=0o1777),
            Mount(type="volume", source="shared", target="/shared"),
            Mount(type="bind", source="/tmp", target="/b", consistency="cached"),
        ),
        logging=Logging(options=frozen_map({"max-size": "2m"})),
        ulimits=(Ulimit("nofile", 100, 100),),
        networks=(ServiceNetwork(name="hostnet"),),
        deploy=Deploy(
            replicas=0,
            # restart: on-failure:3 (legacy key, used because restart_policy is absent)
            restart_policy=RestartPolicy(condition="on-failure", max_attempts=3),
            update_config=UpdateConfig(parallelism=3, delay=0, monitor=0),
            rollback_config=UpdateConfig(order="start-first"),
            resources=Resources(limits=ResourceLimits(memory_bytes=10 << 20)),
        ),
    )
    once = service("once", image, deploy=Deploy(mode=ServiceMode.REPLICATED_JOB))
    everywhere_once = service(
        "everywhere-once",
        image,
        deploy=Deploy(
            mode=ServiceMode.GLOBAL_JOB,
            restart_policy=RestartPolicy(condition="none", delay=0, window=0),
        ),
    )
    return stack(
        {
            "web": web,
            "worker": worker,
            "job": job,
            "plain": plain,
            "edge": edge,
            "once": once,
            "everywhere-once": everywhere_once,
        },
        networks={
            "hostnet": Network(name="hostnet", external=True, external_name="host"),
            "front": Network(
                name="front",
                driver="overlay",
                attachable=True,
                labels=frozen_map({"com.example.net": "front"}),
                driver_opts=frozen_map({"encrypted": ""}),
            ),
            "back": Network(
                name="back", internal=True, ipam_config=(IPAMPool(subnet="10.231.0.0/24"),)
            ),
        },
        volumes={
            "data": Volume(
                name="data", driver="local", labels=frozen_map({"com.example.vol": "data"})
            ),
            "named": Volume(name="named"),
            "shared": Volume(
                name="shared", external=True, external_name="stackctl-parity-shared-volume"
            ),
        },
        configs={
            "app_conf": file_object(
                "app_conf", _content("app.conf"), labels=frozen_map({"com.example.cfg": "app"})
            ),
            "extra_conf": file_object("extra_conf", _content("extra.conf")),
            "cred_spec": file_object("cred_spec", _content("cred.json")),
        },
        secrets={
            "api_key": file_object(
                "api_key", _content("api_key.txt"), labels=frozen_map({"com.example.sec": "api"})
            ),
            "token": file_object("token", _content("token.txt")),
        },
    )
