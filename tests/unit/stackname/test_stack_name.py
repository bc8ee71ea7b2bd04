"""Stack names: refused before anything is read or written, at the engine's boundaries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stackctl.core.model.model import FileObject, Network, Service, Stack
from stackctl.core.validate.stack_name import (
    STACK_NAME_MAX,
    check_stack_name,
    derived_name_findings,
    stack_name_problem,
)
from stackctl.errors import StackctlError


@pytest.mark.parametrize(
    "name",
    ["a", "A1", "shop", "shop-prod", "shop_v2", "a-_-b", "9lives", "x" * STACK_NAME_MAX],
)
def test_names_the_engine_accepts_everywhere(name: str) -> None:
    assert stack_name_problem(name) is None
    check_stack_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "Bad Name!",
        "shop.prod",  # services and networks cannot hold a dot
        "-shop",
        "shop-",
        "_shop",
        "shop_",
        "sh/op",
        "shöp",
        "shop\n",
        "x" * (STACK_NAME_MAX + 1),
    ],
)
def test_names_some_derived_object_would_be_refused(name: str) -> None:
    assert stack_name_problem(name) is not None
    with pytest.raises(StackctlError):
        check_stack_name(name)


def test_message_says_the_rule_plainly() -> None:
    problem = stack_name_problem("Bad Name!") or ""
    assert "'Bad Name!'" in problem and "letters and digits" in problem
    assert "DNS name component" in problem
    assert "41 characters" in (stack_name_problem("x" * 41) or "")


def _stack(service: str = "web", network: str = "front", config: str = "conf") -> Stack:
    return Stack(
        services={service: Service(name=service, image="busybox")},
        networks={network: Network(name=network)},
        configs={config: FileObject(name=config, content=b"x")},
    )


def test_derived_names_at_the_limits() -> None:
    stack = "s" * 30
    # service/network: 30 + 1 + 32 = 63 fits, 64 does not
    assert not derived_name_findings(stack, _stack(service="a" * 32, network="n" * 32))
    findings = derived_name_findings(stack, _stack(service="a" * 33, network="n" * 33))
    assert sorted(f.path for f in findings) == [f"networks.{'n' * 33}", f"services.{'a' * 33}"]
    assert all("Swarm allows at most 63" in f.message for f in findings)
    # config: 30 + 1 + key + 11 ("-<10 hex>") <= 64 -> key <= 22
    assert not derived_name_findings(stack, _stack(config="c" * 22))
    (finding,) = derived_name_findings(stack, _stack(config="c" * 23))
    assert finding.path == f"configs.{'c' * 23}" and "65 characters" in finding.message


def test_external_and_named_objects_keep_their_own_names() -> None:
    stack = Stack(
        services={"web": Service(name="web", image="busybox")},
        networks={"n" * 60: Network(name="n" * 60, external=True)},
        configs={"c" * 60: FileObject(name="c" * 60, external_name="short", content=b"x")},
    )
    assert not derived_name_findings("shop", stack)


def _run(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=60,
        # No engine reachable: a command that got past the name check would say so.
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp),
            "NO_COLOR": "1",
            "DOCKER_HOST": f"unix://{tmp}/no-engine.sock",
        },
    )


@pytest.mark.parametrize(
    "args",
    [
        ("diff", "Bad Name!", "-c", "stack.yml"),
        ("apply", "Bad Name!", "-c", "stack.yml", "--yes"),
        ("status", "Bad Name!"),
        ("history", "Bad Name!"),
        ("rm", "Bad Name!", "--yes"),
        ("rollback", "Bad Name!", "--yes"),
        ("unlock", "Bad Name!"),
        ("validate", "--stack", "Bad Name!", "-c", "stack.yml"),
    ],
)
def test_every_command_refuses_a_bad_name_first(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "stack.yml").write_text("services:\n  web:\n    image: busybox\n")
    done = _run(tmp_path, *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "stack name 'Bad Name!' is not valid" in done.stderr
    assert "Traceback" not in done.stderr


def test_diff_refuses_a_derived_name_too_long(tmp_path: Path) -> None:
    (tmp_path / "stack.yml").write_text(f"services:\n  {'w' * 40}:\n    image: busybox\n")
    done = _run(tmp_path, "diff", "s" * 30, "-c", "stack.yml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Swarm allows at most 63" in done.stderr
