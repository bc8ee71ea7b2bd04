"""Stacks whose secrets and env files are age-encrypted: decrypted in memory, hidden everywhere."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from support.age_keys import Key

from stackctl.core.convert.config_output import render_stack_yaml
from stackctl.core.convert.convert import convert_stack
from stackctl.core.history.sealed_env import is_sealed, seal_service_spec
from stackctl.core.load.loading import LoadResult, load_stack
from stackctl.core.model.state import LABEL_SENSITIVE_ENV, ClusterState
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.saved_plan import state_to_json
from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_markdown import render_markdown
from stackctl.core.render.render_text import render_text
from stackctl.errors import Severity, StackFileError

SECRET = b"pl41n-s3cret-value\n"
TOKEN = "env-plaintext-4711"
DB_PASS = "var-plaintext-0815"

STACK = """\
services:
  web:
    image: stackctl-demo/web:1
    env_file: app.env.age
    environment:
      DB_URL: "postgres://app:${DB_PASS}@db/app"
      PLAIN: visible
    secrets: [db_password]
secrets:
  db_password:
    file: db_password.txt.age
"""


@pytest.fixture
def project(tmp_path: Path, key: Key) -> Path:
    (tmp_path / "stack.yml").write_text(STACK)
    (tmp_path / "db_password.txt.age").write_bytes(key.encrypt(SECRET))
    (tmp_path / "app.env.age").write_bytes(key.encrypt(f"GREETING={TOKEN}\n".encode()))
    (tmp_path / "vars.env.age").write_bytes(
        key.encrypt(f"DB_PASS={DB_PASS}\n".encode(), armor=True)
    )
    return tmp_path


def load(project: Path, *identities: Path, check_only: bool = False) -> LoadResult:
    return load_stack(
        ["stack.yml"],
        env={},
        env_files=["vars.env.age"],
        cwd=str(project),
        age_identity_files=[str(i) for i in identities],
        age_check_only=check_only,
    )


def errors(project: Path, *identities: Path) -> list[str]:
    with pytest.raises(StackFileError) as caught:
        load(project, *identities)
    found = [f for f in caught.value.findings if f.severity is Severity.ERROR]
    for finding in found:
        text = json.dumps(finding.to_json())
        assert TOKEN not in text and DB_PASS not in text and "s3cret" not in text
    return [f"{f.location} {f.code} {f.message}" for f in found]


def test_secret_is_decrypted_and_hashed_over_its_plaintext(project: Path, key: Key) -> None:
    secret = load(project, key.identity_file).stack.secrets["db_password"]
    assert secret.content == SECRET
    assert secret.content_sha256 == hashlib.sha256(SECRET).hexdigest()


def test_reencrypting_to_new_recipients_keeps_the_secret_name(
    project: Path, key: Key, new_key: Callable[[str], Key]
) -> None:
    before = convert_stack(load(project, key.identity_file).stack, "shop").secrets
    other = new_key("other")
    (project / "db_password.txt.age").write_bytes(other.encrypt(SECRET, armor=True))
    after = convert_stack(load(project, key.identity_file, other.identity_file).stack, "shop")
    assert list(after.secrets) == list(before)


def test_env_values_are_decrypted_and_marked_sensitive(project: Path, key: Key) -> None:
    service = load(project, key.identity_file).stack.services["web"]
    assert service.environment["GREETING"] == TOKEN
    assert service.environment["DB_URL"] == f"postgres://app:{DB_PASS}@db/app"
    assert service.sensitive_env == ("DB_URL", "GREETING")


def test_no_output_of_the_core_shows_a_decrypted_value(project: Path, key: Key) -> None:
    stack = load(project, key.identity_file).stack
    desired = convert_stack(stack, "shop")
    spec = desired.services["shop_web"].spec
    assert spec["Labels"][LABEL_SENSITIVE_ENV] == "DB_URL,GREETING"
    shown = [
        render_stack_yaml(stack),
        json.dumps(state_to_json(desired), default=str),  # what a saved plan stores
        json.dumps(dict(seal_service_spec("shop_web", spec)), default=str),  # a revision
    ]
    # A plan against a cluster running other values of the same variables.
    live_spec = json.loads(json.dumps(spec))
    live_spec["TaskTemplate"]["ContainerSpec"]["Env"] = [
        "DB_URL=old-url-value",
        "GREETING=old-greeting-value",
        "PLAIN=visible",
    ]
    live = ClusterState(
        "shop",
        services={
            "shop_web": type(desired.services["shop_web"])(
                **{
                    **desired.services["shop_web"].__dict__,
                    "spec": live_spec,
                    "id": "x",
                    "version": 1,
                }
            )
        },
        secrets=desired.secrets,
    )
    plan = plan_changes(desired, live)
    changed = [f for c in plan.changes for f in c.fields]
    assert changed and all(f.sensitive for f in changed if "Env[" in f.path)
    shown += [render_text(plan), json.dumps(plan_to_json(plan)), render_markdown(plan)]
    for text in shown:
        for value in (TOKEN, DB_PASS, "old-greeting-value", "old-url-value"):
            assert value not in text
    assert "PLAIN: visible" in shown[0]  # other values are shown as before
    sealed = seal_service_spec("shop_web", spec)["TaskTemplate"]["ContainerSpec"]["Env"]
    assert [is_sealed(item.partition("=")[2]) for item in sealed] == [True, True, False]


def test_interpolating_a_secret_variable_outside_environment_is_refused(
    project: Path, key: Key
) -> None:
    text = STACK.replace("    secrets: [db_password]\n", "    command: [run, '${DB_PASS}']\n")
    (project / "stack.yml").write_text(text + 'x-note: "${DB_PASS:+set}"\n')
    found = errors(project, key.identity_file)
    assert [e.split(" ", 2)[1] for e in found] == ["SC033", "SC033"], found
    assert found[0].startswith("stack.yml:8:") and found[1].startswith("stack.yml:12:")


def test_no_identity(project: Path) -> None:
    found = errors(project)
    assert len(found) == 3, found
    assert any(e.startswith("stack.yml:11:") and "SC032" in e and "no identity" in e for e in found)
    assert any(e.startswith("stack.yml:4:") and "app.env.age" in e for e in found)
    assert any(e.startswith("vars.env.age") and "no identity" in e for e in found)


def test_no_matching_identity(project: Path, new_key: Callable[[str], Key]) -> None:
    found = errors(project, new_key("stranger").identity_file)
    assert len(found) == 3
    assert all("none of the identities" in e for e in found)


def test_corrupt_truncated_and_passphrase_files(
    project: Path, key: Key, passphrase_encrypted: bytes
) -> None:
    data = key.encrypt(SECRET)
    (project / "db_password.txt.age").write_bytes(data[:60])
    assert any("truncated" in e for e in errors(project, key.identity_file))
    # A payload cut short passes the header check and fails in decryption.
    (project / "db_password.txt.age").write_bytes(data[:-5])
    assert any("corrupt or truncated" in e for e in errors(project, key.identity_file))
    (project / "db_password.txt.age").write_bytes(passphrase_encrypted)
    assert any("passphrase" in e for e in errors(project, key.identity_file))


def test_identity_file_problems(project: Path, tmp_path: Path) -> None:
    assert any("cannot be read" in e for e in errors(project, tmp_path / "missing.key"))
    bad = tmp_path / "bad.key"
    bad.write_text("AGE-SECRET-KEY-1NOTAKEY\n")
    found = errors(project, bad)
    assert any("malformed" in e for e in found) and not any("NOTAKEY" in e for e in found)


def test_check_only_validates_without_any_identity(project: Path, key: Key) -> None:
    result = load(project, check_only=True)
    assert not [f for f in result.findings if f.code == "SC042"]  # unknown, not unset
    (project / "app.env.age").write_bytes(b"age-encryption.org/v1\n-> X25519\n")
    with pytest.raises(StackFileError, match="not a valid age file"):
        load(project, check_only=True)


def test_malformed_lines_of_an_encrypted_env_file_are_not_quoted(project: Path, key: Key) -> None:
    (project / "app.env.age").write_bytes(key.encrypt(b"=leaked-line-value\n"))
    found = errors(project, key.identity_file)
    assert found and not any("leaked" in e for e in found)
