"""The sensitive-name rule: hides what looks secret, keeps the obvious look-alikes."""

from __future__ import annotations

import pytest

from stackctl.core.render.redact import is_sensitive_name, is_sensitive_path, redact_env_list


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASSWORD",
        "MYSQL_ROOT_PASSWD",
        "POSTGRESPASSWORD",
        "API_KEY",
        "api-key",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "ACCESSTOKEN",
        "refreshTokens",
        "DB_PASS",
        "AUTH",
        "BASIC_AUTH_HEADER",
        "PRIVATE_KEY_PEM",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "stripeApiKey",
        "secret",
    ],
)
def test_sensitive_names(name: str) -> None:
    assert is_sensitive_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "KEYBOARD_LAYOUT",
        "MONKEY_MODE",
        "AUTHOR",
        "PASSENGER_COUNT",
        "TOKENIZERS_PARALLELISM",
        "DB_HOST",
        "PATH",
        "PWD",
        "HOCKEY",
        "KEYSPACE",
    ],
)
def test_look_alikes_are_shown(name: str) -> None:
    assert not is_sensitive_name(name)


def test_paths_and_env_lists() -> None:
    assert is_sensitive_path("TaskTemplate.ContainerSpec.Env[DB_PASSWORD]")
    assert not is_sensitive_path("TaskTemplate.ContainerSpec.Env[DB_HOST]")
    assert not is_sensitive_path("Labels[DB_PASSWORD]")
    assert redact_env_list(["A=1", "API_TOKEN=x=y", "SECRET"]) == [
        "A=1",
        "API_TOKEN=(sensitive)",
        "SECRET",
    ]
