"""Service conversion: each rule docker stack deploy + the engine apply, checked in isolation."""

from __future__ import annotations

from typing import Any

from support.stack_builders import S, every_key_stack, file_object, service, stack

from stackctl.core.convert.convert import convert_stack
from stackctl.core.model.model import (
    CredentialSpec,
    Deploy,
    FileReference,
    Healthcheck,
    Mount,
    Network,
    Port,
    RestartPolicy,
    ServiceMode,
    ServiceNetwork,
    UpdateConfig,
    Volume,
)


def _spec(svc: Any, name: str = "st", **stack_kwargs: Any) -> dict[str, Any]:
    state = convert_stack(stack({svc.name: svc}, **stack_kwargs), name)
    return dict(state.services[f"{name}_{svc.name}"].spec)


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = spec["TaskTemplate"]["ContainerSpec"]
    return result


def test_names_and_labels_are_namespaced() -> None:
    spec = _spec(service("web", "nginx:1", labels={"a": "1"}), "shop")
    assert spec["Name"] == "shop_web"
    assert spec["Labels"] == {
        "com.docker.stack.namespace": "shop",
        "com.docker.stack.image": "nginx:1",
    }
    assert _container(spec)["Labels"] == {"a": "1", "com.docker.stack.namespace": "shop"}
    assert _container(spec)["Image"] == "nginx:1"


def test_deploy_labels_go_on_the_service_not_the_container() -> None:
    svc = service("web", deploy=Deploy(labels={"tier": "front"}))
    spec = _spec(svc)
    assert spec["Labels"]["tier"] == "front"
    assert "tier" not in _container(spec)["Labels"]


def test_environment_is_a_sorted_list_and_none_means_inherit() -> None:
    spec = _spec(service("web", environment={"B": "2", "A_B": "x", "A": None, "E": ""}))
    assert _container(spec)["Env"] == ["A", "A_B=x", "B=2", "E="]


def test_entrypoint_is_command_and_command_is_args() -> None:
    spec = _spec(service("web", entrypoint=("/bin/sh", "-c"), command=("echo hi",)))
    assert _container(spec)["Command"] == ["/bin/sh", "-c"]
    assert _container(spec)["Args"] == ["echo hi"]


def test_engine_defaults_are_spelled_out() -> None:
    spec = _spec(service("web"))
    task = spec["TaskTemplate"]
    assert task["ForceUpdate"] == 0 and task["Runtime"] == "container"
    assert task["Resources"] == {} and task["Placement"] == {}
    assert _container(spec)["Isolation"] == "default"
    assert _container(spec)["Privileges"] == {"CredentialSpec": None, "SELinuxContext": None}
    assert spec["Mode"] == {"Replicated": {"Replicas": 1}}
    assert spec["EndpointSpec"] == {"Mode": "vip"}
    # Left out when the file says nothing (the engine stores nothing either).
    for absent in ("RestartPolicy", "LogDriver"):
        assert absent not in task
    for absent in ("UpdateConfig", "RollbackConfig"):
        assert absent not in spec
    for absent in ("StopGracePeriod", "Healthcheck", "DNSConfig", "Init", "Env", "Mounts"):
        assert absent not in _container(spec)


def test_default_network_with_service_alias() -> None:
    state = convert_stack(stack({"web": service("web")}), "st")
    assert state.services["st_web"].spec["TaskTemplate"]["Networks"] == [
        {"Target": "st_default", "Aliases": ["web"]}
    ]
    net = state.networks["st_default"]
    assert net.spec["Driver"] == "overlay" and not net.external
    assert net.spec["Labels"] == {"com.docker.stack.namespace": "st"}


def test_declared_aliases_come_first_then_the_service_name() -> None:
    svc = service("api", networks=(ServiceNetwork("back", aliases=("db-api",)),))
    spec = _spec(svc, networks={"back": Network(name="back")})
    assert spec["TaskTemplate"]["Networks"] == [{"Target": "st_back", "Aliases": ["db-api", "api"]}]


def test_external_and_builtin_networks() -> None:
    svc = service("web", networks=(ServiceNetwork("proxy"), ServiceNetwork("hostnet")))
    state = convert_stack(
        stack(
            {"web": svc},
            networks={
                "proxy": Network(name="proxy", external=True, external_name="traefik-public"),
                "hostnet": Network(name="hostnet", external=True, external_name="host"),
                "unused": Network(name="unused"),
            },
        ),
        "st",
    )
    assert state.services["st_web"].spec["TaskTemplate"]["Networks"] == [
        {"Target": "host"},  # built-in networks take no aliases
        {"Target": "traefik-public", "Aliases": ["web"]},
    ]
    assert set(state.networks) == {"traefik-public", "host"}  # unused networks are not created
    assert state.networks["traefik-public"].external
    assert dict(state.networks["traefik-public"].spec) == {"Name": "traefik-public"}


def test_modes() -> None:
    def mode(**deploy: Any) -> Any:
        return _spec(service("w", deploy=Deploy(**deploy)))["Mode"]

    assert mode(replicas=0) == {"Replicated": {"Replicas": 0}}
    assert mode(replicas=3) == {"Replicated": {"Replicas": 3}}
    assert mode(mode=ServiceMode.GLOBAL) == {"Global": {}}
    assert mode(mode=ServiceMode.GLOBAL_JOB) == {"GlobalJob": {}}
    assert mode(mode=ServiceMode.REPLICATED_JOB) == {
        "ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}
    }
    assert mode(mode=ServiceMode.REPLICATED_JOB, replicas=4) == {
        "ReplicatedJob": {"MaxConcurrent": 4, "TotalCompletions": 4}
    }


def test_restart_policy_defaults_and_explicit_zeroes() -> None:
    def policy(p: RestartPolicy) -> Any:
        return _spec(service("w", deploy=Deploy(restart_policy=p)))["TaskTemplate"]["RestartPolicy"]

    assert policy(RestartPolicy()) == {"Condition": "any", "MaxAttempts": 0}
    assert policy(RestartPolicy(condition="none", delay=0, window=0)) == {
        "Condition": "none",
        "Delay": 0,
        "MaxAttempts": 0,
        "Window": 0,
    }


def test_update_config_defaults_and_dropped_zeroes() -> None:
    spec = _spec(
        service(
            "w",
            deploy=Deploy(
                update_config=UpdateConfig(parallelism=2, delay=0, monitor=0),
                rollback_config=UpdateConfig(order="start-first", max_failure_ratio=0.5),
            ),
        )
    )
    assert spec["UpdateConfig"] == {
        "Parallelism": 2,
        "FailureAction": "pause",
        "MaxFailureRatio": 0,
        "Order": "stop-first",
    }
    assert spec["RollbackConfig"] == {
        "Parallelism": 1,
        "FailureAction": "pause",
        "MaxFailureRatio": 0.5,
        "Order": "start-first",
    }


def test_healthcheck() -> None:
    def check(h: Healthcheck) -> Any:
        return _container(_spec(service("w", healthcheck=h)))["Healthcheck"]

    assert check(Healthcheck(disable=True)) == {"Test": ["NONE"]}
    assert check(Healthcheck(test=("CMD", "true"), retries=0, interval=3 * S)) == {
        "Test": ["CMD", "true"],
        "Interval": 3 * S,
    }
    # API 1.41 has no StartInterval: it is not sent.
    assert "StartInterval" not in check(Healthcheck(test=("NONE",), start_interval=S))


def test_ports_sorted_by_published_port() -> None:
    svc = service(
        "w",
        ports=(Port(80, 8001), Port(81), Port(80, 8000), Port(53, 53, "udp", "host")),
    )
    assert _spec(svc)["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 81, "PublishMode": "ingress"},
        {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 53, "PublishMode": "host"},
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8000, "PublishMode": "ingress"},
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8001, "PublishMode": "ingress"},
    ]


def test_endpoint_mode_dnsrr() -> None:
    assert _spec(service("w", deploy=Deploy(endpoint_mode="DNSRR")))["EndpointSpec"] == {
        "Mode": "dnsrr"
    }


def test_capabilities_normalized_like_the_cli() -> None:
    c = _container(
        _spec(service("w", cap_add=("net_admin", "SYS_TIME"), cap_drop=("sys_time", "MKNOD")))
    )
    assert c["CapabilityAdd"] == ["CAP_NET_ADMIN", "CAP_SYS_TIME"]
    assert c["CapabilityDrop"] == ["CAP_MKNOD"]  # adding wins over dropping
    c = _container(_spec(service("w", cap_add=("ALL", "NET_ADMIN"))))
    assert c["CapabilityAdd"] == ["ALL"]


def test_extra_hosts_in_swarmkit_notation_keep_order() -> None:
    c = _container(_spec(service("w", extra_hosts=("b:10.0.0.2", "a:10.0.0.1", "v6:::1"))))
    assert c["Hosts"] == ["10.0.0.2 b", "10.0.0.1 a", "::1 v6"]


def test_mounts() -> None:
    svc = service(
        "w",
        volumes=(
            Mount("volume", "/data", source="data", volume_nocopy=True),
            Mount("volume", "/ext", source="ext"),
            Mount("volume", "/anon"),
            Mount("bind", "/b", source="/tmp", read_only=True, consistency="cached"),
            Mount("tmpfs", "/t", tmpfs_size=1000, tmpfs_mode=0o1777),
        ),
    )
    volumes = {
        "data": Volume("data", driver="local", labels={"k": "v"}),
        "ext": Volume("ext", external=True, external_name="shared-ext"),
    }
    assert _container(_spec(svc, volumes=volumes))["Mounts"] == [
        {
            "Type": "volume",
            "Source": "st_data",
            "Target": "/data",
            "VolumeOptions": {
                "NoCopy": True,
                "Labels": {"com.docker.stack.namespace": "st", "k": "v"},
                "DriverConfig": {"Name": "local"},
            },
        },
        {"Type": "volume", "Source": "shared-ext", "Target": "/ext", "VolumeOptions": {}},
        {"Type": "volume", "Target": "/anon"},
        {"Type": "bind", "Source": "/tmp", "Target": "/b", "ReadOnly": True},
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1000}},
    ]


def test_dns_and_misc_container_fields() -> None:
    c = _container(
        _spec(
            service(
                "w",
                dns_search=("x.com",),
                init=False,
                stop_grace_period=0,
                user="1000",
                working_dir="/srv",
                hostname="h",
                tty=True,
                stdin_open=True,
                read_only=True,
                stop_signal="SIGINT",
                sysctls={"net.core.somaxconn": "1024"},
            )
        )
    )
    assert c["DNSConfig"] == {"Search": ["x.com"]}
    assert c["Init"] is False and c["StopGracePeriod"] == 0
    assert (c["User"], c["Dir"], c["Hostname"], c["StopSignal"]) == ("1000", "/srv", "h", "SIGINT")
    assert c["TTY"] and c["OpenStdin"] and c["ReadOnly"]
    assert c["Sysctls"] == {"net.core.somaxconn": "1024"}


def test_credential_spec_config_adds_a_runtime_reference_by_name() -> None:
    svc = service(
        "w",
        credential_spec=CredentialSpec(config="cred"),
        configs=(FileReference("cred", "/c"),),
    )
    state = convert_stack(stack({"w": svc}, configs={"cred": file_object("cred", b"{}")}), "st")
    cfg_name = next(iter(state.configs))
    c = state.services["st_w"].spec["TaskTemplate"]["ContainerSpec"]
    assert c["Privileges"]["CredentialSpec"] == {"Config": cfg_name, "File": "", "Registry": ""}
    assert c["Configs"] == [
        {"File": {"Name": "/c", "UID": "0", "GID": "0", "Mode": 0o444}, "ConfigName": cfg_name},
        {"Runtime": {}, "ConfigName": cfg_name},
    ]


def test_every_key_stack_converts_deterministically() -> None:
    first = convert_stack(every_key_stack(), "st")
    second = convert_stack(every_key_stack(), "st")
    assert first == second
    assert set(first.services) == {
        f"st_{name}"
        for name in ("web", "worker", "job", "plain", "edge", "once", "everywhere-once")
    }
    assert set(first.networks) == {"st_front", "st_back", "st_default", "host"}
    assert first.networks["host"].external
