"""Adopting docker-named configs holding the file's content; secrets renamed, with a reason."""

from __future__ import annotations

import hashlib

from stackctl.core.convert.adopt import adopt_docker_configs, secret_rename_reasons
from stackctl.core.convert.convert import convert_stack
from stackctl.core.model.model import FileObject, FileReference, Service, Stack
from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Effect

CONF = b"listen 80;\n"
TOKEN = b"s3cret"


def _stack(conf: bytes = CONF) -> Stack:
    return Stack(
        services={
            "web": Service(
                name="web",
                image="nginx:1",
                configs=(FileReference(source="conf", target="conf"),),
                secrets=(FileReference(source="token", target="token"),),
            )
        },
        configs={"conf": FileObject(name="conf", content=conf)},
        secrets={"token": FileObject(name="token", content=TOKEN)},
    )


def _docker_object(kind: ResourceKind, name: str, digest: str | None) -> ResourceState:
    spec = {"Name": name, "Labels": {"com.docker.stack.namespace": "shop"}}
    return ResourceState(kind, name, spec, id="x1", version=3, content_sha256=digest)


def _docker_live(conf: bytes = CONF) -> ClusterState:
    """What `docker stack deploy` leaves: <stack>_<key> objects, services referencing them."""
    desired = convert_stack(_stack(), "shop")
    service = desired.services["shop_web"]
    container = service.spec["TaskTemplate"]["ContainerSpec"]
    container["Configs"][0]["ConfigName"] = "shop_conf"
    container["Secrets"][0]["SecretName"] = "shop_token"
    config = _docker_object(ResourceKind.CONFIG, "shop_conf", hashlib.sha256(conf).hexdigest())
    # Secrets come back without data: no hash.
    secret = _docker_object(ResourceKind.SECRET, "shop_token", None)
    return ClusterState(
        "shop",
        networks=desired.networks,
        configs={"shop_conf": config},
        secrets={"shop_token": secret},
        services={"shop_web": ResourceState(ResourceKind.SERVICE, "shop_web", service.spec)},
    )


def test_config_with_the_files_content_is_adopted_under_its_name() -> None:
    live = _docker_live()
    adopted = adopt_docker_configs(convert_stack(_stack(), "shop"), live)
    assert list(adopted.configs) == ["shop_conf"]
    assert adopted.configs["shop_conf"].spec == live.configs["shop_conf"].spec
    refs = adopted.services["shop_web"].spec["TaskTemplate"]["ContainerSpec"]["Configs"]
    assert refs[0]["ConfigName"] == "shop_conf"
    assert adopt_docker_configs(adopted, live) == adopted  # idempotent


def test_adopted_config_restarts_nothing_but_the_secret_is_renamed_with_a_reason() -> None:
    live = _docker_live()
    desired = adopt_docker_configs(convert_stack(_stack(), "shop"), live)
    plan = plan_changes(desired, live)
    by_name = {c.name: c for c in plan.changes}
    assert "shop_conf" not in by_name or by_name["shop_conf"].effect is Effect.NONE
    (secret,) = [c for c in plan.changes if c.kind is ResourceKind.SECRET and c.desired]
    assert secret.effect is Effect.CREATE
    assert secret.reason is not None and "replaces shop_token" in secret.reason
    assert "never returns a secret's content" in secret.reason
    service = by_name["shop_web"]  # restarted for the secret only, never the config
    assert [f.path for f in service.fields] == [
        "TaskTemplate.ContainerSpec.Secrets[token].SecretName"
    ]


def test_changed_content_gets_the_content_addressed_name_again() -> None:
    live = _docker_live()
    desired = convert_stack(_stack(conf=b"listen 8080;\n"), "shop")
    assert adopt_docker_configs(desired, live) == desired


def test_stackctl_own_or_external_objects_are_not_adopted() -> None:
    desired = convert_stack(_stack(), "shop")
    own = desired.configs[next(iter(desired.configs))]
    live = ClusterState("shop", configs={own.name: own})
    assert adopt_docker_configs(desired, live) == desired
    assert secret_rename_reasons(desired, ClusterState("shop")) == {}
