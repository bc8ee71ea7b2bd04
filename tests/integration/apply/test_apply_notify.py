"""``stackctl apply --notify URL`` from a pipeline: the agent's notification document,
POSTed to a real HTTP receiver, for each way an apply ends; a receiver that is down
is a warning, never a different exit code."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support.http_receiver import Receiver
from support.testkit import REPO_ROOT

pytestmark = pytest.mark.usefixtures("demo_images")

SCHEMA = json.loads((REPO_ROOT / "schemas" / "notification.schema.json").read_text())
COMMIT = "0123456789abcdef0123456789abcdef01234567"
ENV_VALUE = "apply-n0tify-env-value"


def write_stack(directory: Path, image: str) -> str:
    path = directory / "stack.yml"
    path.write_text(
        f"""services:
  web:
    image: {image}
    stop_grace_period: 1s
    environment:
      TOKEN: "{ENV_VALUE}"
    deploy:
      replicas: 1
      update_config: {{parallelism: 1, delay: 0s, order: start-first, monitor: 1s}}
x-stackctl:
  ignore: [SC102]
"""
    )
    return str(path)


def test_each_way_an_apply_ends_is_notified(
    stack_name: str, tmp_path: Path, run_stackctl: Any
) -> None:
    env = {"GITHUB_SHA": COMMIT}
    with Receiver() as receiver:

        def apply(image: str, expected: int) -> dict[str, Any]:
            file = write_stack(tmp_path, image)
            before = len(receiver.bodies)
            result = run_stackctl(
                "apply", stack_name, "-c", file, "--yes", "--timeout", "2m",
                "--pending-timeout", "30s", "--notify", receiver.url, env=env,
            )  # fmt: skip
            assert result.exit_code == expected, result.stdout + result.stderr
            # sent before the command exits: it is there already, exactly one
            documents = receiver.documents()
            assert len(documents) == before + 1, documents
            jsonschema.validate(documents[-1], SCHEMA)
            return documents[-1]

        applied = apply("stackctl-demo/web:1", 0)
        assert (applied["outcome"], applied["revision"], applied["commit"]) == (
            "applied",
            1,
            COMMIT,
        )
        assert applied["servicesChanged"] == [f"{stack_name}_web"]
        assert applied["source"] == "apply" and applied["stack"] == stack_name
        unchanged = apply("stackctl-demo/web:1", 0)
        assert (unchanged["outcome"], unchanged["revision"]) == ("no_change", None)
        rolled = apply("stackctl-demo/web:broken", 3)
        assert (rolled["outcome"], rolled["revision"]) == ("rolled_back", 2)
        assert rolled["servicesChanged"] == [f"{stack_name}_web"]
        refused = apply("stackctl-demo/web:1\n    bogus_key: 1", 1)
        assert refused["outcome"] == "error" and "stack.yml" in refused["message"]
        assert len(receiver.bodies) == 4  # one notification per apply
        for body in receiver.bodies:
            assert ENV_VALUE.encode() not in body


def test_a_receiver_that_is_down_is_a_warning_and_the_exit_code_stays(
    stack_name: str, tmp_path: Path, run_stackctl: Any
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/T0/B0/t0ken"
    file = write_stack(tmp_path, "stackctl-demo/web:1")
    result = run_stackctl("apply", stack_name, "-c", file, "--yes", "--notify", url)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"warning: notify: json http://127.0.0.1:{port}/…" in result.stderr
    assert "exit code is unchanged" in result.stderr
    assert "t0ken" not in result.stdout + result.stderr
