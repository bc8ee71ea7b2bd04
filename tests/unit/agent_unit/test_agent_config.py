"""agent.yml: parsed into typed settings; every problem located by file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackctl.agent.config import load_config, parse_config
from stackctl.errors import StackctlError, StackFileError

GOOD = """\
interval: 30s
state_dir: /srv/agent
listen: 127.0.0.1:8476
stacks:
  - name: shop
    repo: https://git.example.com/ops/deploy.git
    files: [shop/stack.yml, shop/prod.yml]
    env_files: [shop/prod.env]
    drift: correct
    prune: true
    apply: {timeout: 5m, on_failure: pause, max_concurrent: 2}
  - name: blog
    repo: /srv/git/blog.git
    ref: v1.2.0
    interval: 2m
    files: [stack.yml]
"""


def errors(text: str) -> list[tuple[str, str]]:
    with pytest.raises(StackFileError) as caught:
        parse_config(text, "agent.yml")
    return [(str(f.location), f.message) for f in caught.value.findings]


def test_a_full_config_becomes_typed_settings_with_defaults() -> None:
    config = parse_config(GOOD, "agent.yml")
    shop, blog = config.stacks
    assert (config.interval, config.state_dir, config.concurrency) == (30.0, "/srv/agent", 4)
    assert (shop.branch, shop.ref, shop.interval, shop.drift, shop.prune) == (
        "main",
        None,
        30.0,
        "correct",
        True,
    )
    assert shop.files == ("shop/stack.yml", "shop/prod.yml")
    assert (shop.apply.timeout, shop.apply.on_failure, shop.apply.max_concurrent) == (
        300.0,
        "pause",
        2,
    )
    assert (blog.branch, blog.ref, blog.interval, blog.drift) == (None, "v1.2.0", 120.0, "report")
    assert blog.apply.pending_timeout == 120.0


def test_every_error_is_reported_at_its_line_with_a_hint() -> None:
    found = errors(
        "interval: soon\n"
        "stacks:\n"
        "  - name: shop\n"
        "    repo: x\n"
        "    files: [a.yml]\n"
        "    drift: reprot\n"
        "    apply: {timeout: 10m, timout: 3s}\n"
        "  - name: blog\n"
        "    files: []\n"
    )
    assert ("agent.yml:1:1", "the string 'soon' does not have the expected form") in found
    assert (
        "agent.yml:6:5",
        "the string 'reprot' is not allowed here; use one of: report, correct",
    ) in found
    assert ("agent.yml:7:27", "unknown key 'timout' in stacks[0].apply") in found
    assert ("agent.yml:8:5", "required key 'repo' is missing") in found
    assert ("agent.yml:9:5", "must not be empty") in found


def test_duplicate_stacks_and_branch_with_ref_are_refused() -> None:
    found = errors(
        "stacks:\n"
        "  - {name: shop, repo: x, files: [a.yml]}\n"
        "  - name: shop\n"
        "    repo: y\n"
        "    branch: main\n"
        "    ref: v1\n"
        "    files: [a.yml]\n"
    )
    assert [where for where, _ in found] == ["agent.yml:3:5", "agent.yml:6:5"]
    assert "listed twice" in found[0][1] and "either branch or ref" in found[1][1]


def test_bad_yaml_is_located_and_a_missing_file_is_a_plain_error(tmp_path: object) -> None:
    assert errors("stacks: [\n")[0][0].startswith("agent.yml:")
    with pytest.raises(StackctlError, match="cannot read the agent config"):
        load_config("/nonexistent/agent.yml")


def test_age_identity_files_are_read_beside_agent_yml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STACKCTL_AGE_IDENTITY_FILE", raising=False)
    text = "age_identity_files: [keys/agent.key, /run/secrets/age]\n" + GOOD.split("\n", 3)[3]
    config = parse_config("interval: 30s\n" + text, str(tmp_path / "agent.yml"))
    for stack in config.stacks:
        assert stack.age_identity_files == (
            str(tmp_path / "keys" / "agent.key"),
            "/run/secrets/age",
        )


def test_age_identity_defaults_to_the_cli_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACKCTL_AGE_IDENTITY_FILE", "/keys/id.txt")
    assert parse_config(GOOD, "agent.yml").stacks[0].age_identity_files == ("/keys/id.txt",)
    monkeypatch.delenv("STACKCTL_AGE_IDENTITY_FILE")
    assert parse_config(GOOD, "agent.yml").stacks[0].age_identity_files == ()


def test_credentials_keep_only_a_password_file_path_read_beside_agent_yml(
    tmp_path: Path,
) -> None:
    config_file = tmp_path / "agent.yml"
    config_file.write_text(
        "stacks:\n"
        "  - name: shop\n"
        "    repo: https://git.example.com/ops/deploy.git\n"
        "    files: [stack.yml]\n"
        "    credentials: {username: deploy, password_file: git.token}\n"
        "  - name: blog\n"
        "    repo: https://ci@git.example.com/ops/blog.git\n"
        "    files: [stack.yml]\n"
        "    credentials: {password_file: /run/secrets/git_token}\n"
    )
    shop, blog = load_config(str(config_file)).stacks
    assert shop.credentials is not None and blog.credentials is not None
    assert (shop.credentials.username, shop.credentials.password_file) == (
        "deploy",
        str(tmp_path / "git.token"),
    )
    assert (blog.credentials.username, blog.credentials.password_file) == (
        "",
        "/run/secrets/git_token",
    )


def test_credentials_need_http_and_a_user_name_and_only_known_keys() -> None:
    found = errors(
        "stacks:\n"
        "  - name: a\n"
        "    repo: git@github.com:o/r.git\n"
        "    files: [s.yml]\n"
        "    credentials: {username: u, password_file: p}\n"
        "  - name: b\n"
        "    repo: https://git.example.com/r.git\n"
        "    files: [s.yml]\n"
        "    credentials: {password_file: p}\n"
    )
    assert [where for where, _ in found] == ["agent.yml:5:5", "agent.yml:9:5"]
    assert "http:// and https://" in found[0][1]
    assert "username" in found[1][1]
    # a password written into agent.yml is refused, and not repeated in the error
    (where, message), *_ = errors(
        "stacks:\n"
        "  - name: c\n"
        "    repo: https://git.example.com/r.git\n"
        "    files: [s.yml]\n"
        "    credentials: {username: u, password_file: p, password: hunter2}\n"
    )
    assert where.startswith("agent.yml:5:") and "password" in message
    assert "hunter2" not in message
