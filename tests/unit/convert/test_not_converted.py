"""Keys docker stack deploy does not send to the engine are not converted either
(docs/conversion.md, "Keys docker stack deploy does not pass ...")."""

from __future__ import annotations

import json
from pathlib import Path

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import load_stack

FILE = """
services:
  web:
    image: nginx:1.25
    build: ./web
    container_name: the-web
    depends_on: [db]
    restart: always
    deploy:
      restart_policy: {condition: on-failure}
    oom_score_adj: 500
    healthcheck: {test: [CMD, "true"], interval: 5s, start_interval: 2s}
    networks:
      back: {ipv4_address: 172.28.0.10, ipv6_address: "2001:db8::10"}
    x-team: payments
  db:
    image: postgres:16
networks:
  back: {}
"""


def test_keys_docker_does_not_send_are_not_converted(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(FILE)
    loaded = load_stack([str(tmp_path / "stack.yml")], env={}, cwd=str(tmp_path))
    state = convert_stack(loaded.stack, "st")
    spec = state.services["st_web"].spec
    text = json.dumps(spec)
    for absent in ("the-web", "./web", "172.28.0.10", "2001:db8::10", "payments", "OomScoreAdj"):
        assert absent not in text, absent
    assert "StartInterval" not in spec["TaskTemplate"]["ContainerSpec"]["Healthcheck"]
    # deploy.restart_policy wins over restart:, and depends_on orders waves only
    assert spec["TaskTemplate"]["RestartPolicy"]["Condition"] == "on-failure"
    assert "db" not in json.dumps(spec["TaskTemplate"])
