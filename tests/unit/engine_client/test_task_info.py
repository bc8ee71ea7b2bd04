"""Tasks as the Engine API lists them, read into the rollout's TaskInfo."""

from __future__ import annotations

from stackctl.engine.writer import task_info


def test_the_container_pid_is_read_and_absent_when_the_engine_gives_none() -> None:
    raw = {
        "ID": "t1",
        "ServiceID": "s1",
        "DesiredState": "running",
        "Status": {
            "State": "running",
            "Message": "started",
            "ContainerStatus": {"ContainerID": "c1", "PID": 0, "ExitCode": 0},
        },
    }
    exited = task_info(raw)
    assert (exited.state, exited.pid, exited.exit_code) == ("running", 0, 0)
    raw["Status"]["ContainerStatus"]["PID"] = 4242  # type: ignore[index]
    assert task_info(raw).pid == 4242
    del raw["Status"]["ContainerStatus"]["PID"]  # type: ignore[attr-defined]
    assert task_info(raw).pid == 0  # a zero PID left out (omitempty): the container exited
    pending = task_info({"ID": "t2", "DesiredState": "running", "Status": {"State": "pending"}})
    assert pending.pid is None and pending.exit_code is None
