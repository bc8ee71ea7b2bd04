"""Builders for revision tests: a small desired ClusterState and a revision of it.

Shared by the unit and integration revision tests (imported by module name).
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType

from stackctl.core.history.revision import Actor, Outcome, Revision, new_revision
from stackctl.core.model.state import ClusterState, ResourceKind, ResourceState
from stackctl.core.plan.plan_model import Effect, Plan, ResourceChange


def sample_state(stack: str = "shop", config_hash: str = "a" * 64) -> ClusterState:
    config_name = f"{stack}_app-{config_hash[:8]}"
    secret_name = f"{stack}_db_password-{'b' * 8}"
    web = ResourceState(
        kind=ResourceKind.SERVICE,
        name=f"{stack}_web",
        spec={
            "Name": f"{stack}_web",
            "Labels": {"com.docker.stack.namespace": stack, "com.docker.stack.image": "web:1"},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": "web:1",
                    "Env": ["A=1"],
                    "Configs": [{"ConfigName": config_name, "File": {"Name": "/app.conf"}}],
                    "Secrets": [{"SecretName": secret_name, "File": {"Name": "/run/secrets/db"}}],
                },
                "Networks": [{"Target": f"{stack}_default"}],
            },
            "Mode": {"Replicated": {"Replicas": 2}},
        },
    )
    return ClusterState(
        stack=stack,
        networks=MappingProxyType(
            {
                f"{stack}_default": ResourceState(
                    kind=ResourceKind.NETWORK,
                    name=f"{stack}_default",
                    spec={"Name": f"{stack}_default", "Driver": "overlay"},
                )
            }
        ),
        configs=MappingProxyType(
            {
                config_name: ResourceState(
                    kind=ResourceKind.CONFIG,
                    name=config_name,
                    spec={"Name": config_name, "Labels": {"io.stackctl.name": "app"}},
                    content_sha256=config_hash,
                )
            }
        ),
        secrets=MappingProxyType(
            {
                secret_name: ResourceState(
                    kind=ResourceKind.SECRET,
                    name=secret_name,
                    spec={"Name": secret_name, "Labels": {}},
                    content_sha256="b" * 64,
                )
            }
        ),
        services=MappingProxyType({web.name: web}),
    )


def sample_plan(state: ClusterState) -> Plan:
    changes = [
        ResourceChange(kind=r.kind, name=r.name, effect=Effect.CREATE, desired=r)
        for kind in ResourceKind
        for r in state.of_kind(kind).values()
    ]
    return Plan(stack=state.stack, changes=tuple(changes))


def sample_revision(
    stack: str = "shop", outcome: Outcome = Outcome.APPLIED, config_hash: str = "a" * 64
) -> Revision:
    state = sample_state(stack, config_hash)
    return new_revision(
        desired=state,
        plan=sample_plan(state),
        outcome=outcome,
        created_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        actor=Actor(user="alice", host="box"),
        source_digest="c" * 64,
    )
