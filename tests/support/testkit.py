"""Helpers for tests that talk to a real Docker engine (``from support.testkit import ...``).

tests/ is on sys.path while pytest runs (tests/conftest.py lives there, outside any
package), so any test module can import the ``support`` package.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import docker
import docker.errors
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

NAMESPACE_LABEL = "com.docker.stack.namespace"
# stackctl's own objects that carry the stack by this label instead of the namespace
# label (revision records, the apply lock): removed with the stack too.
STACKCTL_STACK_LABEL = "io.stackctl.stack"

CLEANUP_TIMEOUT_S = 60.0


# The prefix that marks a skip the test documents as impossible on this kind of
# machine (tests/conftest.py counts these apart and lets them pass under CI).
IMPOSSIBLE_HERE = "impossible on this machine: "


def in_ci() -> bool:
    """True in CI (``CI`` set, as .ci/run runs it), where a skipped guarantee fails."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_guarantee(reason: str) -> NoReturn:
    """The one way a test skips a guarantee it could not check here: a skip on a
    developer's machine, a failure under CI (./dev installs everything tests need)."""
    if in_ci():
        pytest.fail(f"CI: a guarantee was not checked: {reason}", pytrace=False)
    pytest.skip(reason)


def skip_impossible_here(reason: str) -> NoReturn:
    """Skip, even in CI, because this kind of machine cannot provide what the test
    needs (the caller documents why); the reason is printed in the run's summary."""
    pytest.skip(IMPOSSIBLE_HERE + reason)


def guarantee_needs(available: bool, reason: str) -> pytest.MarkDecorator:
    """Marker form of ``skip_guarantee``: skip unless ``available`` (CI: a failure,
    turned into one by tests/conftest.py)."""
    return pytest.mark.skipif(not available, reason=reason)


def impossible_here_unless(available: bool, reason: str) -> pytest.MarkDecorator:
    """Marker form of ``skip_impossible_here``: a documented skip, even in CI."""
    return pytest.mark.skipif(not available, reason=IMPOSSIBLE_HERE + reason)


def require_module(name: str, why: str) -> Any:
    """``import name``, or skip the guarantee (a failure under CI) saying ``why``."""

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        skip_guarantee(f"{why}: cannot import {name} ({exc})")


def engine_unavailable(reason: str) -> NoReturn:
    """Fail (CI) or skip (a developer's machine) because the engine is missing."""
    skip_guarantee(reason)


def connect_manager(base_url: str | None = None) -> docker.DockerClient:
    """A docker SDK client to a reachable Swarm manager, or fail/skip with the reason."""

    try:
        client = (
            docker.DockerClient(base_url=base_url, timeout=60)
            if base_url
            else docker.from_env(timeout=60)
        )
        client.ping()
        swarm = client.info().get("Swarm", {})
    except Exception as exc:
        engine_unavailable(f"no Docker engine reachable ({exc}); run ./dev cluster")
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        client.close()
        engine_unavailable("the Docker engine is not a Swarm manager; run ./dev cluster")
    return client


def wait_until(
    predicate: Callable[[], bool], *, timeout: float, interval: float = 0.5, what: str
) -> None:
    """Poll ``predicate`` until true; raise AssertionError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _label_filter(label: str, value: str) -> dict[str, Any]:
    return {"label": [f"{label}={value}"]}


def remove_stack_objects(client: docker.DockerClient, stack: str) -> list[str]:
    """Remove every service, network, config and secret of ``stack``.

    Services go first; then we wait (bounded) until their tasks' containers are gone,
    because a network cannot be removed while containers are attached to it. Returns
    what could not be removed (empty when all went).
    """

    api = client.api
    leftovers: list[str] = []
    by_namespace = _label_filter(NAMESPACE_LABEL, stack)
    service_ids = [s["ID"] for s in api.services(filters=by_namespace)]
    for service_id in service_ids:
        with contextlib.suppress(docker.errors.NotFound):
            api.remove_service(service_id)

    def containers_gone() -> bool:
        return not any(
            api.containers(all=True, filters={"label": f"com.docker.swarm.service.id={sid}"})
            for sid in service_ids
        )

    with contextlib.suppress(AssertionError):
        wait_until(containers_gone, timeout=CLEANUP_TIMEOUT_S, what="task containers")

    def remove_all(kind: str, listed: Sequence[Mapping[str, Any]], remove: Any) -> None:
        for obj in listed:
            obj_id = obj.get("ID") or obj.get("Id")
            for _attempt in range(20):
                try:
                    remove(obj_id)
                    break
                except docker.errors.NotFound:
                    break
                except docker.errors.APIError:
                    time.sleep(0.5)  # still in use by tasks that are going away
            else:
                leftovers.append(f"{kind} {obj_id}")

    remove_all("network", api.networks(filters=by_namespace), api.remove_network)
    for label in (NAMESPACE_LABEL, STACKCTL_STACK_LABEL):
        flt = _label_filter(label, stack)
        remove_all("config", api.configs(filters=flt), api.remove_config)
        remove_all("secret", api.secrets(filters=flt), api.remove_secret)
    return leftovers


def service_container_file(client: docker.DockerClient, service: str, path: str) -> str:
    """The text of ``path`` inside the one running container of ``service``; waits
    (bounded) while a start-first update still runs the old container beside the new."""
    label = {"label": f"com.docker.swarm.service.name={service}"}
    wait_until(
        lambda: len(client.containers.list(filters=label)) == 1,
        timeout=60,
        what=f"one running container of {service}",
    )
    (container,) = client.containers.list(filters=label)
    code, output = container.exec_run(["cat", path])
    assert code == 0, output
    return bytes(output).decode()


def new_stack_name() -> str:
    """A stack name no other test (or engineer) uses: 't' + 8 hex digits."""
    return f"t{secrets.token_hex(4)}"


class CliResult(NamedTuple):
    """What a ``stackctl`` run returned: unpacks as (exit_code, stdout, stderr)."""

    exit_code: int
    stdout: str
    stderr: str


RunStackctl = Callable[..., CliResult]


def run_stackctl_process(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: str | None = None,
    timeout: float = 300.0,
) -> CliResult:
    """Run ``python -m stackctl ARGS`` (the same interpreter as the tests).

    ``env`` is added to (not replacing) the current environment; colour is off so
    outputs are plain text.
    """
    full_env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "stackctl", *args],
        env=full_env,
        cwd=cwd or REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


class LineCollector:
    """Reads a subprocess's text stream in a thread, line by line, as it comes, so a
    test can wait (bounded) for a line instead of sleeping and still get the whole
    stream afterwards. ``stamps`` holds when each line arrived (time.monotonic())."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.stamps: list[float] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self.stamps.append(time.monotonic())
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait_for(self, text: str, *, timeout: float) -> None:
        """Return once a line containing ``text`` arrived; AssertionError otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise AssertionError(f"no line with {text!r} in:\n{''.join(self.lines)}")
                self._changed.wait(left)

    def text(self, timeout: float = 60) -> str:
        """Everything read, once the stream ended (the process exited)."""
        self._thread.join(timeout)
        return "".join(self.lines)


class MeasuredRun(NamedTuple):
    """A finished child process and its peak resident memory (the kernel's count)."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss_bytes: int


def run_measuring_peak_rss(
    argv: Sequence[str],
    *,
    input_text: str = "",
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120,
) -> MeasuredRun:
    """Run ``argv`` and return its peak RSS from ``wait4`` (ru_maxrss of that one
    child): every allocation counts, the C YAML parser's included, which a Python
    allocation tracer (tracemalloc) never sees."""

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=out, stderr=err, env=env, cwd=cwd
        )
        assert proc.stdin is not None
        try:
            proc.stdin.write(input_text.encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass  # it stopped reading (refused the input early): still measured
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"{argv} did not finish within {timeout:.0f}s")
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return MeasuredRun(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss * 1024,  # Linux reports KiB
        )
