#!/usr/bin/env python3
"""Terminal screenshots for the README, made from real runs on the local Swarm.

Runs the real ``stackctl`` in a pseudo-terminal (so it colours its output and
shows its live rollout table, as a person would see it), feeds the bytes to a
terminal emulator (pyte), and renders the screen to SVG with rich:

- ``docs/img/plan.svg``: ``stackctl diff`` of the demo stack, version 1 -> 2;
- ``docs/img/rollout.svg``: ``stackctl apply`` of that change, captured while
  the rolling update is in progress;
- ``docs/img/rolled-back.svg``: a broken release caught by the health gate
  and rolled back (the end of that run).

It deploys the demo stack (``stacks/demo/stack.yml``) under a fresh stack name
and removes it afterwards. Needs ``./dev cluster`` (engine, Swarm, demo images).

Usage: ``.venv/bin/python scripts/screenshots.py [--port 18190]``
"""

from __future__ import annotations

import argparse
import fcntl
import io
import os
import pty
import secrets
import select
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyte
from rich.console import Console
from rich.style import Style
from rich.text import Text

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
STACK_FILE = "stacks/demo/stack.yml"
STACKCTL = str(Path(sys.executable).with_name("stackctl"))
COLUMNS, ROWS = 112, 60


@dataclass
class Session:
    """What a command printed to its terminal, and the screens seen along the way."""

    command: str
    exit_code: int
    screen: list[Text]
    snapshot: list[Text] | None


def run_in_terminal(
    args: list[str], env: dict[str, str], want: Callable[[str], bool] | None = None
) -> Session:
    """Run ``args`` in a pty of COLUMNS x ROWS; keep the last screen for which ``want``
    holds (checked as output arrives) and the final screen."""
    screen = pyte.Screen(COLUMNS, ROWS)
    stream = pyte.ByteStream(screen)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    process = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, close_fds=True
    )
    os.close(slave)
    snapshot: list[Text] | None = None
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                data = b""
            if not data:
                break
            stream.feed(data)
            if want is not None and want("\n".join(screen.display)):
                snapshot = render_screen(screen)
        elif process.poll() is not None:
            break
    os.close(master)
    code = process.wait()
    shown = " ".join(a if a != STACKCTL else "stackctl" for a in args)
    return Session(shown, code, render_screen(screen), snapshot)


def render_screen(screen: pyte.Screen) -> list[Text]:
    """The screen's lines as rich Text, colours and bold kept, trailing blank lines cut."""
    lines: list[Text] = []
    for y in range(screen.lines):
        row = screen.buffer[y]
        text = Text()
        run, run_key = "", None
        for x in range(screen.columns):
            char = row[x]
            key = (char.fg, char.bg, char.bold)
            if key != run_key and run:
                text.append(run, style=_style(row[x - 1]))
                run = ""
            run, run_key = run + char.data, key
        if run:
            text.append(run, style=_style(row[screen.columns - 1]))
        text.rstrip()
        lines.append(text)
    while lines and not lines[-1].plain.strip():
        lines.pop()
    return lines


def _style(char: pyte.screens.Char) -> Style:
    def colour(name: str) -> str | None:
        if name == "default":
            return None
        if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
            return f"#{name}"
        return {"brown": "yellow"}.get(name, name)

    return Style(color=colour(char.fg), bgcolor=colour(char.bg), bold=char.bold)


def save_svg(lines: list[Text], title: str, path: Path, prompt: str) -> None:
    console = Console(record=True, width=COLUMNS, file=io.StringIO(), force_terminal=True)
    console.print(Text("$ ", style="bold green") + Text(prompt, style="bold"))
    for line in lines:
        console.print(line, overflow="ignore", crop=False)
    console.save_svg(str(path), title=title)
    print(f"wrote {path.relative_to(ROOT)}")


def stackctl(args: list[str], env: dict[str, str]) -> int:
    """Run stackctl off a terminal (setup and cleanup steps, not pictured)."""
    result = subprocess.run([STACKCTL, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 2):
        print(result.stdout + result.stderr, file=sys.stderr)
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the README screenshots.")
    parser.add_argument("--port", type=int, default=18190, help="host port for the demo web")
    args = parser.parse_args(argv)
    stack = f"shot{secrets.token_hex(3)}"
    base = {
        **os.environ,
        "DEMO_PORT": str(args.port),
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "LINES": str(ROWS),
    }
    base.pop("NO_COLOR", None)
    v1 = {**base, "DEMO_VERSION": "1"}
    v2 = {**base, "DEMO_VERSION": "2", "API_VERSION": "2"}
    broken = {**v2, "DEMO_VERSION": "broken"}
    IMG.mkdir(parents=True, exist_ok=True)
    try:
        if stackctl(["apply", stack, "-c", STACK_FILE, "--yes"], v1) != 0:
            print("could not deploy the demo stack; run ./dev cluster first", file=sys.stderr)
            return 1

        plan = run_in_terminal([STACKCTL, "diff", stack, "-c", STACK_FILE], v2)
        prompt = f"DEMO_VERSION=2 API_VERSION=2 stackctl diff {stack} -c {STACK_FILE}"
        save_svg(plan.screen, "stackctl diff", IMG / "plan.svg", prompt)

        def rolling(text: str) -> bool:
            return "updating" in text and "converged" in text and "applied:" not in text

        rollout = run_in_terminal(
            [STACKCTL, "apply", stack, "-c", STACK_FILE, "--yes"], v2, want=rolling
        )
        if rollout.exit_code != 0 or rollout.snapshot is None:
            print(f"rollout: exit {rollout.exit_code}, no in-progress screen", file=sys.stderr)
            print("\n".join(line.plain for line in rollout.screen), file=sys.stderr)
            return 1
        prompt = f"DEMO_VERSION=2 API_VERSION=2 stackctl apply {stack} -c {STACK_FILE} --yes"
        save_svg(rollout.snapshot, "stackctl apply (rolling)", IMG / "rollout.svg", prompt)

        failed = run_in_terminal([STACKCTL, "apply", stack, "-c", STACK_FILE, "--yes"], broken)
        if failed.exit_code != 3:
            print(f"broken release: exit {failed.exit_code}, expected 3", file=sys.stderr)
            print("\n".join(line.plain for line in failed.screen), file=sys.stderr)
            return 1
        prompt = f"DEMO_VERSION=broken API_VERSION=2 stackctl apply {stack} -c {STACK_FILE} --yes"
        save_svg(failed.screen, "stackctl apply (rolled back)", IMG / "rolled-back.svg", prompt)
        return 0
    finally:
        stackctl(["rm", stack, "--yes"], base)


if __name__ == "__main__":
    sys.exit(main())
