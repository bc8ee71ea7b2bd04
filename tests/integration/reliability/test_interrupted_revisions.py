"""Write-ahead revisions: a SIGKILLed apply leaves a revision that says what it was doing.

For each write phase (after recording intent, while creating configs, between
service updates, during the health wait, before the final mark) the apply of
v2 over a running v1 is killed at that checkpoint. Then, once the dead
holder's lock lease ran out:

- ``status`` (text and ``--json``) names revision 2 interrupted, says how much of
  it live runs, and never reports drift for what stackctl itself wrote;
- ``history`` lists revision 2 as ``interrupted``;
- ``diff`` of the *other* file (v1) marks no drift either (the alternating-tags
  case that used to report "changed outside stackctl");
- a re-run of apply converges and records revision 3, which *completes*
  revision 2 (the same release): ``history --json`` gives 3 ``completes: 2`` and
  revision 2's changes (never "no changes"), 2 ``completedBy: 3``; ``status``
  names 3 applied, completing 2; ``diff`` exits 0 with no drift line;
- the re-run sees what the killed apply wrote pass its health gate before it
  writes anything of its own.

Also: rollback over an interrupted revision, rollback while an apply holds the
lock, and a saved plan refused over an interrupted revision.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from support.checkpoints import go_on, pause_at, wait_for_checkpoint
from support.reliability import V1, V2, apply, assert_lock_frees_within_lease, spawn, stackctl
from support.testkit import new_stack_name, remove_stack_objects

from stackctl.engine.client import EngineClient, connect
from stackctl.rollout.checkpoints import COUNT_ENV, KILL_ENV, POINTS

pytestmark = pytest.mark.usefixtures("demo_images")

DRIFT = "outside stackctl"


@dataclass(frozen=True)
class Phase:
    point: str
    count: int  # the N-th time the point is reached
    live: frozenset[str]  # what status may say of how much of revision 2 runs


PHASES = (
    Phase("intent-recorded", 1, frozenset({"none"})),  # nothing written yet
    Phase("objects-created", 1, frozenset({"none"})),  # new config created, no service
    Phase("service-submitted", 1, frozenset({"partial"})),  # db submitted, api not yet
    Phase("watching", 1, frozenset({"partial", "full"})),  # waiting on db's health gate
    Phase("recording", 1, frozenset({"full"})),  # converged, not yet marked
)


@pytest.fixture
def client() -> EngineClient:
    return connect()


def test_phases_name_real_checkpoints() -> None:
    assert {p.point for p in PHASES} <= set(POINTS)


def _json(result: object) -> object:
    exit_code, stdout, stderr = result  # type: ignore[misc]
    assert exit_code == 0, f"exit {exit_code}\n{stdout}\n{stderr}"
    return json.loads(stdout)


def kill_v2_at(stack: str, workdir: Path, client: EngineClient, point: str, count: int) -> None:
    """v1 applied, then v2's apply SIGKILLed at ``point``; returns once its lock expired."""
    first = apply(stack, V1.write(workdir))
    assert first.exit_code == 0, first.stdout + first.stderr
    killed = apply(stack, V2.write(workdir), env={KILL_ENV: point, COUNT_ENV: str(count)})
    killed_at = time.time()
    assert killed.exit_code == -9, f"not killed at {point}: {killed}"
    assert_lock_frees_within_lease(client, stack, killed_at)


def check_phase(phase: Phase, stack: str, workdir: Path, client: EngineClient) -> None:
    kill_v2_at(stack, workdir, client, phase.point, phase.count)
    v1, v2 = V1.write(workdir), V2.write(workdir)

    status = _json(stackctl("status", stack, "--json"))
    assert isinstance(status, dict)
    assert status["revision"] == 2, status
    assert status["outcome"] == "interrupted", status
    assert status["drift"] is False, status
    cut = status["interrupted"]
    assert cut["revision"] == 2 and cut["previous"] == 1 and not cut["running"], cut
    assert cut["live"] in phase.live, (phase, cut)
    text = stackctl("status", stack)
    assert text.exit_code == 0, text
    assert "revision 2 INTERRUPTED" in text.stdout, text.stdout
    assert "drift: no" in text.stdout and "drift: YES" not in text.stdout, text.stdout

    history = _json(stackctl("history", stack, "--json"))["revisions"]  # type: ignore[index]
    assert [(e["number"], e["outcome"]) for e in history] == [  # type: ignore[index,union-attr]
        (1, "applied"),
        (2, "interrupted"),
    ], history

    # going back to the other file: what the killed apply wrote is not drift
    back = stackctl("diff", stack, "-c", v1)
    assert back.exit_code in (0, 2), back
    assert DRIFT not in back.stdout, back.stdout

    rerun = apply(stack, v2)
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    history = _json(stackctl("history", stack, "--json"))["revisions"]  # type: ignore[index]
    assert [(e["number"], e["outcome"], e["current"]) for e in history] == [  # type: ignore[index,union-attr]
        (1, "applied", False),
        (2, "interrupted", False),
        (3, "applied", True),
    ], history
    check_completed(history, stack)  # type: ignore[arg-type]
    diff = stackctl("diff", stack, "-c", v2)
    assert diff.exit_code == 0, diff
    assert DRIFT not in diff.stdout, diff.stdout
    after = _json(stackctl("status", stack, "--json"))
    assert isinstance(after, dict)
    assert (after["revision"], after["outcome"], after["drift"]) == (3, "applied", False), after
    assert after["interrupted"] is None and after["completes"] == 2, after
    text = stackctl("status", stack)
    assert "revision 3 (applied" in text.stdout, text.stdout
    assert "it completes interrupted revision 2" in text.stdout, text.stdout


def check_completed(history: list[dict[str, object]], stack: str) -> None:
    """Revision 3, the re-run of revision 2's release, says it completed 2: 2's
    changes (the release's), what the re-run itself wrote apart, never "no changes"."""
    first, cut, done = history
    assert (first["completes"], first["completedBy"]) == (None, None), first
    assert (cut["completes"], cut["completedBy"]) == (None, 3), cut
    assert done["completes"] == 2 and done["completedBy"] is None, done
    assert done["sourceDigest"] == cut["sourceDigest"], (cut, done)
    assert cut["changes"] not in ("", "no changes"), cut
    assert str(done["changes"]).startswith(f"completes 2: {cut['changes']}; this run: "), done
    assert "no changes" not in str(done["changes"]), done
    table = stackctl("history", stack)
    assert "interrupted (completed by 3)" in table.stdout, table.stdout


def test_kill_at_each_write_phase(
    docker_client: docker.DockerClient, tmp_path: Path, client: EngineClient
) -> None:
    """Each phase on its own stack, a few at a time (independent stacks)."""

    def one(phase: Phase) -> str | None:
        stack = new_stack_name()
        workdir = tmp_path / phase.point
        workdir.mkdir()
        try:
            check_phase(phase, stack, workdir, client)
        except AssertionError as error:
            return f"{phase.point}: {error}"
        finally:
            remove_stack_objects(docker_client, stack)
        return None

    with ThreadPoolExecutor(max_workers=3) as pool:
        failures = [f for f in pool.map(one, PHASES) if f is not None]
    assert not failures, "\n\n".join(failures)


@pytest.fixture
def stack(docker_client: docker.DockerClient) -> object:
    name = new_stack_name()
    yield name
    remove_stack_objects(docker_client, name)


def test_rerun_sees_what_the_killed_apply_wrote_converge_before_it_writes(
    stack: str, tmp_path: Path, client: EngineClient
) -> None:
    """Killed right after db's new spec was submitted (api not yet): the re-run does
    not write api until db passed its health gate, then records revision 3 as
    completing revision 2."""
    kill_v2_at(stack, tmp_path, client, "service-submitted", 1)
    rerun = apply(stack, V2.write(tmp_path), "--json")
    assert rerun.exit_code == 0, rerun.stdout + rerun.stderr
    events = [json.loads(line) for line in rerun.stdout.splitlines() if line.startswith("{")]
    seen = [(e["event"], e.get("service") or e.get("name")) for e in events]
    db, api = f"{stack}_db", f"{stack}_api"
    assert ("resource_updated", db) not in seen, seen  # the killed apply wrote db
    converged_db = seen.index(("service_converged", db))
    written_api = seen.index(("resource_updated", api))
    assert converged_db < written_api, seen
    finished = events[-1]
    assert finished["event"] == "apply_finished" and finished["outcome"] == "applied", finished
    history = _json(stackctl("history", stack, "--json"))["revisions"]  # type: ignore[index]
    check_completed(history, stack)  # type: ignore[arg-type]
    assert str(history[2]["changes"]).endswith("; this run: 1 rolling"), history  # type: ignore[index]


def test_rollback_over_an_interrupted_revision(
    stack: str, tmp_path: Path, client: EngineClient
) -> None:
    """The default target is the last applied revision before the interrupted one;
    the rollback supersedes it and the cluster runs v1 again."""
    kill_v2_at(stack, tmp_path, client, "service-submitted", 1)
    result = stackctl("rollback", stack, "--yes", "--timeout", "240s")
    assert result.exit_code == 0, result
    assert "revision 2 never finished" in result.stderr, result.stderr
    history = _json(stackctl("history", stack, "--json"))["revisions"]  # type: ignore[index]
    assert [(e["number"], e["outcome"], e["rollbackTo"]) for e in history] == [  # type: ignore[index,union-attr]
        (1, "applied", None),
        (2, "interrupted", None),
        (3, "applied", 1),
    ], history
    diff = stackctl("diff", stack, "-c", V1.write(tmp_path))
    assert diff.exit_code == 0 and DRIFT not in diff.stdout, diff


def test_saved_plan_refused_over_an_interrupted_revision(
    stack: str, tmp_path: Path, client: EngineClient
) -> None:
    kill_v2_at(stack, tmp_path, client, "service-submitted", 1)
    v2 = V2.write(tmp_path)
    plan = tmp_path / "plan.json"
    saved = stackctl("diff", stack, "-c", v2, "--out", str(plan))
    assert saved.exit_code == 2, saved
    refused = stackctl("apply", stack, "-c", v2, "--plan", str(plan), "--yes")
    assert refused.exit_code == 1, refused
    assert "revision 2 is interrupted" in refused.stderr, refused.stderr
    assert f"stackctl apply {stack} -c {v2}" in refused.stderr, refused.stderr
    history = _json(stackctl("history", stack, "--json"))["revisions"]  # type: ignore[index]
    assert len(history) == 2, history  # type: ignore[arg-type]
    # the printed command resolves it
    fixed = apply(stack, v2)
    assert fixed.exit_code == 0, fixed


def test_rollback_while_an_apply_holds_the_lock(
    stack: str, tmp_path: Path, client: EngineClient
) -> None:
    """Refused at once naming the holder; with --lock-timeout it waits, and since
    the apply it waited for changed the stack, refuses its plan as stale (as apply
    does); run again, it rolls back."""
    first = apply(stack, V1.write(tmp_path))
    assert first.exit_code == 0, first
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()
    running = spawn(
        "apply", stack, "-c", V2.write(tmp_path), "--yes", "--timeout", "240s",
        env=pause_at("watching", pause_dir),
    )  # fmt: skip
    waiting = None
    try:
        wait_for_checkpoint(running, pause_dir, "watching", timeout=120)  # the health wait
        status = _json(stackctl("status", stack, "--json"))
        assert isinstance(status, dict)
        assert status["outcome"] == "in_progress" and status["interrupted"]["running"], status
        refused = stackctl("rollback", stack, "--yes")
        assert refused.exit_code == 1, refused
        assert f"stack {stack} is locked by" in refused.stderr, refused.stderr
        waiting = spawn("rollback", stack, "--yes", "--lock-timeout", "120s", "--timeout", "240s")
        assert waiting.stdout is not None
        shown = waiting.stdout.readline()  # its plan is made before it waits for the lock
        assert shown.startswith(f"Rolling back stack {stack}"), shown
        go_on(pause_dir, "watching")
        assert running.wait(timeout=240) == 0, running.communicate()
        out, err = waiting.communicate(timeout=240)
        assert waiting.returncode == 1, out + err
        assert "changed in the cluster since the plan was shown" in err, err
    finally:
        for proc in (running, waiting):
            if proc is not None and proc.poll() is None:
                proc.kill()
    again = stackctl("rollback", stack, "--yes", "--timeout", "240s")
    assert again.exit_code == 0, again
    history = _json(stackctl("history", stack, "--json"))["revisions"]  # type: ignore[index]
    assert [(e["number"], e["outcome"], e["rollbackTo"]) for e in history] == [  # type: ignore[index,union-attr]
        (1, "applied", None),
        (2, "applied", None),
        (3, "applied", 1),
    ], history
