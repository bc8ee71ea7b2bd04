"""Configs and secrets: content-addressed names, labels, references, no content in specs."""

from __future__ import annotations

import hashlib
import json

from support.stack_builders import every_key_stack, file_object, service, stack

from stackctl.core.convert.convert import convert_stack
from stackctl.core.model.model import FileObject, FileReference

SECRET = b"hunter2-very-secret"


def _state(content: bytes = SECRET, **kwargs: object) -> object:
    svc = service(
        "app",
        secrets=(FileReference("db_password", "db_password"),),
        configs=(FileReference("conf", "/etc/app.conf"),),
    )
    return convert_stack(
        stack(
            {"app": svc},
            secrets={"db_password": file_object("db_password", content, **kwargs)},  # type: ignore[arg-type]
            configs={"conf": file_object("conf", b"port=1")},
        ),
        "shop",
    )


def test_names_carry_the_content_hash_and_labels_say_where_from() -> None:
    state = convert_stack(
        stack(
            {"app": service("app", secrets=(FileReference("pw", "pw"),))},
            secrets={"pw": file_object("pw", SECRET)},
        ),
        "shop",
    )
    digest = hashlib.sha256(SECRET).hexdigest()
    name = f"shop_pw-{digest[:10]}"
    secret = state.secrets[name]
    assert secret.content_sha256 == digest
    assert secret.spec["Labels"] == {
        "com.docker.stack.namespace": "shop",
        "io.stackctl.name": "pw",
        "io.stackctl.content-sha256": digest,
    }
    ref = state.services["shop_app"].spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert ref == [
        {
            "File": {"Name": "pw", "UID": "0", "GID": "0", "Mode": 0o444},  # as docker sends it
            "SecretName": name,
        }
    ]


def test_new_content_is_a_new_object_and_the_service_follows() -> None:
    before = convert_stack(
        stack(
            {"app": service("app", configs=(FileReference("c", "/c"),))},
            configs={"c": file_object("c", b"v1")},
        ),
        "s",
    )
    after = convert_stack(
        stack(
            {"app": service("app", configs=(FileReference("c", "/c"),))},
            configs={"c": file_object("c", b"v2")},
        ),
        "s",
    )
    assert set(before.configs).isdisjoint(after.configs)
    ref = after.services["s_app"].spec["TaskTemplate"]["ContainerSpec"]["Configs"][0]
    assert ref["ConfigName"] == next(iter(after.configs))


def test_content_never_appears_in_the_state() -> None:
    state = every_key_stack()
    converted = convert_stack(state, "st")
    dumped = json.dumps(
        [
            [dict(r.spec), r.name, r.content_sha256]
            for kind in (converted.configs, converted.secrets, converted.services)
            for r in kind.values()
        ]
    )
    for obj in list(state.secrets.values()) + list(state.configs.values()):
        assert obj.content
        assert obj.content.decode().strip() not in dumped
    assert SECRET.decode() not in repr(FileObject(name="x", content=SECRET))


def test_declared_name_and_external_are_kept() -> None:
    state = convert_stack(
        stack(
            {"app": service("app", secrets=(FileReference("a", "a"), FileReference("b", "b")))},
            secrets={
                "a": file_object("a", SECRET, external_name="fixed_name"),
                "b": FileObject(name="b", external=True, external_name="made_elsewhere"),
            },
        ),
        "s",
    )
    assert set(state.secrets) == {"fixed_name", "made_elsewhere"}
    assert state.secrets["made_elsewhere"].external
    assert dict(state.secrets["made_elsewhere"].spec) == {"Name": "made_elsewhere"}
    assert not state.secrets["fixed_name"].external
    refs = state.services["s_app"].spec["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert [r["SecretName"] for r in refs] == ["fixed_name", "made_elsewhere"]


def test_hash_computed_when_loader_gave_only_content() -> None:
    obj = FileObject(name="c", content=b"abc")
    state = convert_stack(stack({}, configs={"c": obj}), "s")
    digest = hashlib.sha256(b"abc").hexdigest()
    assert list(state.configs) == [f"s_c-{digest[:10]}"]


def test_templating_and_secret_driver() -> None:
    state = convert_stack(
        stack(
            {},
            configs={"t": file_object("t", b"{{.Service.Name}}", template_driver="golang")},
            secrets={"d": FileObject(name="d", driver="vault", driver_opts={"path": "x"})},
        ),
        "s",
    )
    (config,) = state.configs.values()
    assert config.spec["Templating"] == {"Name": "golang"}
    (secret,) = state.secrets.values()
    assert secret.name == "s_d"  # no content, no hash suffix
    assert secret.spec["Driver"] == {"Name": "vault", "Options": {"path": "x"}}
