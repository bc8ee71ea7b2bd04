"""`stackctl config` output: docker's representation, and never secret contents."""

from __future__ import annotations

import yaml
from support.validation import normalized

from stackctl.core.convert.config_output import render_stack_yaml, stack_to_document

TEXT = """\
services:
  web:
    image: nginx:1.25
    ports: ['8080:80']
    secrets: [token]
    healthcheck: {test: curl -f localhost, interval: 1m, timeout: 1500ms}
    deploy:
      replicas: 2
      update_config: {monitor: 60s, delay: 10s, order: start-first}
      resources:
        limits: {cpus: '0.50', memory: 50M}
secrets:
  token:
    file: ./token.txt
"""


def test_config_output_uses_docker_units_and_long_syntax() -> None:
    stack = normalized(TEXT, files={"/stack/token.txt": b"TOP-SECRET-VALUE"})
    doc = stack_to_document(stack)
    web = doc["services"]["web"]
    assert web["ports"] == [{"mode": "ingress", "target": 80, "published": 8080, "protocol": "tcp"}]
    assert web["healthcheck"] == {
        "test": ["CMD-SHELL", "curl -f localhost"],
        "timeout": "1.5s",
        "interval": "1m0s",
    }
    assert web["deploy"]["update_config"] == {
        "delay": "10s",
        "monitor": "1m0s",
        "order": "start-first",
    }
    assert web["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": "52428800"}
    assert web["secrets"] == [
        {"source": "token", "target": "token", "uid": "0", "gid": "0", "mode": 0o444}
    ]
    assert doc["secrets"] == {"token": {"file": "/stack/token.txt"}}


def test_secret_contents_are_never_rendered() -> None:
    stack = normalized(TEXT, files={"/stack/token.txt": b"TOP-SECRET-VALUE"})
    text = render_stack_yaml(stack)
    assert "TOP-SECRET-VALUE" not in text
    assert "token.txt" in text


def test_rendered_yaml_normalizes_to_the_same_stack() -> None:
    stack = normalized(TEXT, files={"/stack/token.txt": b"x"})
    again = normalized(render_stack_yaml(stack), files={"/stack/token.txt": b"x"})
    assert again == stack
    assert yaml.safe_load(render_stack_yaml(again)) == yaml.safe_load(render_stack_yaml(stack))
